//! The plugins this Chorus runs: bundled ones from the binary, installed ones from the
//! data directory, each loaded with the operator's grant and limits.

use super::engine::{LoadError, Plugin, PluginEngine};
use super::limits::Limits;
use super::manifest::{Manifest, ManifestError};
use super::policy::Grant;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use url::Url;

/// A plugin compiled into the binary.
#[derive(Debug, Clone, Copy)]
pub struct BundledPlugin {
    pub manifest: &'static str,
    pub component: &'static [u8],
    pub sha256: &'static str,
}

/// What the operator decided about plugins.
#[derive(Debug, Clone, Default)]
pub struct PluginSettings {
    /// API base per platform id, overriding the platform's own (sandboxes, local fakes).
    pub api_bases: BTreeMap<String, Url>,
    /// Hosts the operator allows per platform id (like `api_bases`: the operator thinks in
    /// platforms, and a plugin's id may differ from its platform's); a plugin declaring
    /// others is refused.
    pub allowed_hosts: BTreeMap<String, Vec<String>>,
    /// Local stand-ins for declared hosts per platform id (`upload.x.com` → a loopback
    /// simulator), reachable like the API base.
    pub local_origins: BTreeMap<String, Vec<(String, Url)>>,
    pub limits: Limits,
    /// Accounts of federated platforms may name plain-HTTP loopback servers (local fakes,
    /// tests); off in production, where an account's server must be public HTTPS.
    pub loopback_account_servers: bool,
    /// Where installed plugins live (`<data_dir>/plugins`).
    pub install_dir: Option<PathBuf>,
}

/// Why installing a plugin failed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("a plugin with id {0:?} is bundled with Chorus and cannot be replaced by an installed one")]
    Bundled(String),
    #[error("no install directory is configured")]
    NoInstallDir,
}

/// The loaded plugins, by id.
pub struct PluginRegistry {
    engine: PluginEngine,
    settings: PluginSettings,
    plugins: BTreeMap<String, Arc<Plugin>>,
    bundled_ids: Vec<String>,
}

impl PluginRegistry {
    /// Loads the bundled plugins (any failure is an error: the binary is broken) and the
    /// installed ones (a failure is reported and that plugin skipped, so one bad install
    /// cannot keep the hub from starting).
    pub async fn load(
        engine: PluginEngine,
        settings: PluginSettings,
        bundled: &[BundledPlugin],
    ) -> Result<(Self, Vec<LoadError>), LoadError> {
        let mut reg = Self {
            engine,
            settings,
            plugins: BTreeMap::new(),
            bundled_ids: Vec::new(),
        };
        for b in bundled {
            let mut manifest = Manifest::from_toml(Path::new("bundled plugin.toml"), b.manifest)?;
            manifest.sha256 = Some(b.sha256.to_owned());
            let plugin = reg.load_one(manifest, b.component).await?;
            reg.bundled_ids.push(plugin.id().to_owned());
            reg.plugins.insert(plugin.id().to_owned(), plugin);
        }
        let mut problems = Vec::new();
        if let Some(dir) = reg.settings.install_dir.clone() {
            for manifest_path in installed_manifests(&dir) {
                match reg.load_path(&manifest_path).await {
                    Ok(p) if reg.bundled_ids.iter().any(|b| b == p.id()) => {
                        tracing::warn!(
                            plugin = p.id(),
                            "ignoring an installed plugin that shadows a bundled one"
                        );
                    }
                    Ok(p) => {
                        reg.plugins.insert(p.id().to_owned(), p);
                    }
                    Err(e) => problems.push(e),
                }
            }
        }
        Ok((reg, problems))
    }

    pub fn get(&self, id: &str) -> Option<Arc<Plugin>> {
        self.plugins.get(id).cloned()
    }

    pub fn list(&self) -> impl Iterator<Item = &Arc<Plugin>> {
        self.plugins.values()
    }

    /// The plugin that serves `platform`: `preferred` (the one a delivery was adapted by)
    /// when it is installed and for that platform, else the first for the platform.
    pub fn for_platform(&self, platform: &str, preferred: Option<&str>) -> Option<Arc<Plugin>> {
        if let Some(p) = preferred.and_then(|id| self.get(id))
            && p.manifest.platform == platform
        {
            return Some(p);
        }
        self.list().find(|p| p.manifest.platform == platform).cloned()
    }

    pub fn is_bundled(&self, id: &str) -> bool {
        self.bundled_ids.iter().any(|b| b == id)
    }

    pub fn engine(&self) -> &PluginEngine {
        &self.engine
    }

    /// Loads a plugin from its manifest path (the component next to it) without installing.
    pub async fn load_path(&self, manifest_path: &Path) -> Result<Arc<Plugin>, LoadError> {
        let manifest = Manifest::load(manifest_path)?;
        let component_path = manifest_path
            .parent()
            .unwrap_or(Path::new("."))
            .join(&manifest.component);
        let bytes = std::fs::read(&component_path).map_err(|source| {
            LoadError::Manifest(ManifestError::Read {
                path: component_path.clone(),
                source,
            })
        })?;
        self.load_one(manifest, &bytes).await
    }

    /// Verifies and loads the plugin at `manifest_path`, then copies it into the install
    /// directory so it loads on every start.
    pub async fn install(&mut self, manifest_path: &Path) -> Result<Arc<Plugin>, InstallError> {
        let dir = self.settings.install_dir.clone().ok_or(InstallError::NoInstallDir)?;
        let plugin = self.load_path(manifest_path).await?;
        if self.is_bundled(plugin.id()) {
            return Err(InstallError::Bundled(plugin.id().to_owned()));
        }
        let target = dir.join(plugin.id());
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| InstallError::Io { path, source }
        };
        std::fs::create_dir_all(&target).map_err(io(&target))?;
        let src_component = manifest_path
            .parent()
            .unwrap_or(Path::new("."))
            .join(&plugin.manifest.component);
        std::fs::copy(&src_component, target.join(&plugin.manifest.component)).map_err(io(&src_component))?;
        std::fs::copy(manifest_path, target.join("plugin.toml")).map_err(io(manifest_path))?;
        self.plugins.insert(plugin.id().to_owned(), plugin.clone());
        Ok(plugin)
    }

    async fn load_one(&self, manifest: Manifest, component: &[u8]) -> Result<Arc<Plugin>, LoadError> {
        let grant = self.settings.grant_for(&manifest)?;
        let plugin = self
            .engine
            .load(manifest, component, true, grant, self.settings.limits.clone())
            .await?;
        Ok(Arc::new(plugin))
    }
}

impl PluginSettings {
    /// What the operator grants `manifest`: every setting is looked up by the plugin's
    /// platform, so two plugins for one platform get the same policy.
    pub fn grant_for(&self, manifest: &Manifest) -> Result<Grant, ManifestError> {
        let platform = &manifest.platform;
        Grant::for_manifest(
            manifest,
            self.allowed_hosts.get(platform).map(Vec::as_slice),
            self.api_bases.get(platform).cloned(),
        )?
        .with_local_origins(self.local_origins.get(platform).map_or(&[][..], Vec::as_slice))
        .map(|g| Grant {
            loopback_accounts: self.loopback_account_servers,
            ..g
        })
        .map_err(|message| ManifestError::Grant {
            id: manifest.id.clone(),
            message,
        })
    }
}

fn installed_manifests(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path().join("plugin.toml"))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operators_host_list_binds_a_plugin_whose_id_is_not_its_platform() {
        let m = Manifest::from_toml(
            Path::new("plugin.toml"),
            "id='x-community'\nname='X'\nversion='0.1.0'\napi_version='0.1.0'\nplatform='x'\nauthor='a'\ncomponent='x.wasm'\n[capabilities]\nhttp_hosts=['api.x.com','collector.example']",
        )
        .unwrap();
        let mut settings = PluginSettings::default();
        settings.allowed_hosts.insert("x".into(), vec!["api.x.com".into()]);
        let e = settings.grant_for(&m).unwrap_err();
        assert!(e.to_string().contains("collector.example"), "{e}");
        settings
            .allowed_hosts
            .insert("x".into(), vec!["api.x.com".into(), "collector.example".into()]);
        assert_eq!(settings.grant_for(&m).unwrap().hosts.len(), 2);
    }
}

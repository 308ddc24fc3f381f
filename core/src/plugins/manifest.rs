//! `plugin.toml`: who a plugin is and what it asks for. The host grants nothing beyond it.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Contract versions this host can run. A plugin built against another is refused.
pub const SUPPORTED_API_VERSIONS: &[&str] = super::bindings::SUPPORTED;

/// A plugin's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Unique id, e.g. `x`; lowercase letters, digits and `-`.
    pub id: String,
    pub name: String,
    /// The plugin's own version (semver).
    pub version: String,
    /// The WIT contract it implements, e.g. `0.1.0`.
    pub api_version: String,
    /// The platform id its `describe` reports.
    pub platform: String,
    pub author: String,
    /// The component file, relative to the manifest.
    pub component: String,
    /// Hex sha256 of the component. Bundled plugins get it from the build.
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub capabilities: Capabilities,
}

/// What a plugin may reach.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// Hosts it may call over HTTPS: exact names, or `*.example.com` for subdomains.
    #[serde(default)]
    pub http_hosts: Vec<String>,
    /// Which of `http_hosts` receive the account's credentials: the platform's own API
    /// origins. Hosts left out (CDNs, pre-signed upload URLs) never see a token. When empty,
    /// only the host of the platform's default API base does.
    #[serde(default)]
    pub credential_hosts: Vec<String>,
    /// Each account names its own server (a federated platform: Mastodon, Bluesky's
    /// self-hosted PDSes). The account's API base is then reachable in that account's
    /// calls, over HTTPS to a public address, and receives that account's token only.
    #[serde(default)]
    pub account_api_base: bool,
}

/// Why a manifest or component was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{path}: cannot read the manifest: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("plugin {id}: `{field}` {message}")]
    Field {
        id: String,
        field: &'static str,
        message: String,
    },
    #[error(
        "plugin {id} targets plugin API {found}, which this Chorus does not run; supported: {supported}. \
         Rebuild it against a supported chorus-plugin-sdk"
    )]
    UnsupportedApi {
        id: String,
        found: String,
        supported: String,
    },
    #[error(
        "plugin {id}: the component's sha256 is {actual}, but the manifest says {expected}; refusing a component that is not the one described"
    )]
    HashMismatch {
        id: String,
        expected: String,
        actual: String,
    },
    #[error(
        "plugin {id}: the manifest has no sha256 for its component; add `sha256 = \"{actual}\"` if this is the component you built"
    )]
    HashMissing { id: String, actual: String },
    #[error("plugin {id} asks to reach {host}, which the operator does not allow (allowed: {allowed})")]
    HostNotAllowed { id: String, host: String, allowed: String },
    #[error("plugin {id}: {message}")]
    Grant { id: String, message: String },
}

impl Manifest {
    pub fn from_toml(origin: &Path, text: &str) -> Result<Self, ManifestError> {
        let m: Manifest = toml::from_str(text).map_err(|e| ManifestError::Parse {
            path: origin.to_owned(),
            message: e.to_string(),
        })?;
        m.validate()?;
        Ok(m)
    }

    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(path, &text)
    }

    fn validate(&self) -> Result<(), ManifestError> {
        let field = |field, message: &str| ManifestError::Field {
            id: self.id.clone(),
            field,
            message: message.to_owned(),
        };
        let ident_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 32
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !s.starts_with('-')
                && !s.ends_with('-')
        };
        if !ident_ok(&self.id) {
            return Err(field("id", "must be 1-32 lowercase letters, digits and '-'"));
        }
        if !ident_ok(&self.platform) {
            return Err(field("platform", "must be 1-32 lowercase letters, digits and '-'"));
        }
        if self.name.trim().is_empty() {
            return Err(field("name", "must not be empty"));
        }
        if self.version.split('.').count() != 3 || !self.version.split('.').all(|p| p.parse::<u64>().is_ok()) {
            return Err(field("version", "must be a semantic version such as 1.2.0"));
        }
        if !SUPPORTED_API_VERSIONS.contains(&self.api_version.as_str()) {
            return Err(ManifestError::UnsupportedApi {
                id: self.id.clone(),
                found: self.api_version.clone(),
                supported: SUPPORTED_API_VERSIONS.join(", "),
            });
        }
        if self.component.contains("..") || Path::new(&self.component).is_absolute() {
            return Err(field("component", "must be a file name next to the manifest"));
        }
        if let Some(h) = &self.sha256 {
            if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(field("sha256", "must be 64 hexadecimal characters"));
            }
        }
        for h in &self.capabilities.http_hosts {
            let bare = h.strip_prefix("*.").unwrap_or(h);
            let ok = !bare.is_empty()
                && bare.contains('.')
                && bare
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                && bare.parse::<std::net::IpAddr>().is_err();
            if !ok {
                return Err(field(
                    "capabilities.http_hosts",
                    &format!(
                        "{h:?} is not a host name (IP addresses and paths are not allowed; use e.g. \"api.example.com\" or \"*.example.com\")"
                    ),
                ));
            }
        }
        for h in &self.capabilities.credential_hosts {
            if !self.capabilities.http_hosts.contains(h) {
                return Err(field(
                    "capabilities.credential_hosts",
                    &format!(
                        "{h:?} is not in http_hosts ({}); a credential host must be declared there too",
                        self.capabilities.http_hosts.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Checks `component` against the manifest's hash; `required` refuses a missing hash.
    pub fn verify(&self, component: &[u8], required: bool) -> Result<String, ManifestError> {
        let actual = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(component));
        match &self.sha256 {
            Some(expected) if !expected.eq_ignore_ascii_case(&actual) => Err(ManifestError::HashMismatch {
                id: self.id.clone(),
                expected: expected.clone(),
                actual,
            }),
            None if required => Err(ManifestError::HashMissing {
                id: self.id.clone(),
                actual,
            }),
            _ => Ok(actual),
        }
    }
}

/// Whether `host` matches a declared pattern (`api.x.com`, or `*.x.com` for subdomains).
pub fn host_matches(pattern: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(domain) => host.ends_with(&format!(".{}", domain.to_ascii_lowercase())),
        None => host == pattern.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "x"
name = "X"
version = "0.1.0"
api_version = "0.1.0"
platform = "x"
author = "me"
component = "x.wasm"
[capabilities]
http_hosts = ["api.x.com", "*.twimg.com"]
"#;

    #[test]
    fn parses_and_matches_hosts() {
        let m = Manifest::from_toml(Path::new("plugin.toml"), GOOD).unwrap();
        assert!(host_matches(&m.capabilities.http_hosts[0], "API.x.com"));
        assert!(host_matches(&m.capabilities.http_hosts[1], "pbs.twimg.com"));
        assert!(!host_matches(&m.capabilities.http_hosts[1], "twimg.com"));
        assert!(!host_matches("api.x.com", "api.x.com.evil.io"));
    }

    #[test]
    fn refuses_unsupported_api_versions_and_ip_hosts() {
        let e = Manifest::from_toml(
            Path::new("p.toml"),
            &GOOD.replace("api_version = \"0.1.0\"", "api_version = \"9.0.0\""),
        )
        .unwrap_err();
        assert!(e.to_string().contains("supported: 0.1.0, 0.2.0"), "{e}");
        let e = Manifest::from_toml(Path::new("p.toml"), &GOOD.replace("\"api.x.com\",", "\"10.0.0.1\",")).unwrap_err();
        assert!(e.to_string().contains("capabilities.http_hosts"), "{e}");
        let e = Manifest::from_toml(
            Path::new("p.toml"),
            &format!("{GOOD}credential_hosts = [\"collector.example\"]\n"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("capabilities.credential_hosts"), "{e}");
        let m = Manifest::from_toml(
            Path::new("p.toml"),
            &format!("{GOOD}credential_hosts = [\"api.x.com\"]\n"),
        )
        .unwrap();
        assert_eq!(m.capabilities.credential_hosts, ["api.x.com"]);
        let e = Manifest::from_toml(Path::new("p.toml"), &format!("{GOOD}\nextra = 1")).unwrap_err();
        assert!(e.to_string().contains("extra"), "{e}");
    }

    #[test]
    fn verifies_the_component_hash() {
        let mut m = Manifest::from_toml(Path::new("p.toml"), GOOD).unwrap();
        assert!(matches!(
            m.verify(b"wasm", true),
            Err(ManifestError::HashMissing { .. })
        ));
        let actual = m.verify(b"wasm", false).unwrap();
        m.sha256 = Some(actual.clone());
        assert_eq!(m.verify(b"wasm", true).unwrap(), actual);
        assert!(matches!(
            m.verify(b"other", true),
            Err(ManifestError::HashMismatch { .. })
        ));
    }
}

//! Settings: built-in defaults, overridden by `chorus.toml`, overridden by environment
//! variables (`CHORUS_*`), overridden by command-line flags. Every setting is listed in
//! `docs/configuration.md`; every check here names the setting and what is allowed.

use chorus_core::plugins::{Limits, PluginSettings};
use chorus_core::secrets::{KeyError, SecretKey};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./chorus-data";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event, for a terminal.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The contents of `chorus.toml`. Unknown keys are errors, so a typo is never ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub bind: Option<String>,
    pub log_format: Option<LogFormat>,
    pub log_level: Option<String>,
    pub secret_key: Option<String>,
    #[serde(default)]
    pub worker: WorkerFileConfig,
    /// Per platform id: `[platforms.x] api_base = "..."`, `allowed_hosts = [...]`.
    #[serde(default)]
    pub platforms: BTreeMap<String, PlatformFileConfig>,
    #[serde(default)]
    pub plugins: PluginsFileConfig,
    #[serde(default)]
    pub media: MediaFileConfig,
    #[serde(default)]
    pub webhooks: WebhooksFileConfig,
}

/// `[webhooks]`: where webhooks may go.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksFileConfig {
    /// Allow webhook URLs on private, loopback and link-local addresses (an operator's
    /// internal systems). Off: public https hosts only. `CHORUS_WEBHOOKS_ALLOW_PRIVATE=true`.
    pub allow_private: Option<bool>,
}

/// `[media]`: where media bytes are kept and how platforms reach them.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaFileConfig {
    /// Where platforms fetch media from (`https://chorus.example.com`): the base of signed
    /// media URLs. Default: `http://` and the bind address (reachable from this machine only).
    pub public_base_url: Option<String>,
    /// `[media.s3]`: an S3-compatible bucket instead of files under the data directory (for
    /// workers on several machines). The secret may also come from
    /// `CHORUS_MEDIA_S3_SECRET_ACCESS_KEY`.
    pub s3: Option<chorus_core::media::S3Settings>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformFileConfig {
    pub api_base: Option<String>,
    pub allowed_hosts: Option<Vec<String>>,
    /// Local stand-ins for declared hosts: `{ "upload.x.com" = "http://127.0.0.1:9001" }`.
    #[serde(default)]
    pub local_origins: BTreeMap<String, String>,
    /// The operator's OAuth app on this platform (for refreshing tokens); the secret may
    /// also come from `CHORUS_PLATFORM_<ID>_CLIENT_SECRET`.
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// Overrides the plugin's token endpoint (a sandbox, a local fake).
    pub token_url: Option<String>,
    /// Overrides the plugin's authorize endpoint (a sandbox, a local fake).
    pub authorize_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginsFileConfig {
    pub memory_mib: Option<u64>,
    pub adapt_ms: Option<u64>,
    pub publish_seconds: Option<u64>,
    pub http_requests_per_call: Option<u32>,
    /// Let accounts of federated platforms (Mastodon) name plain-HTTP loopback servers:
    /// for local fakes only; production accounts must be on public HTTPS servers.
    pub loopback_account_servers: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerFileConfig {
    pub tick_seconds: Option<u64>,
}

/// Values given on the command line or in the environment (clap reads both).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub bind: Option<String>,
    pub log_format: Option<LogFormat>,
    pub log_level: Option<String>,
    pub secret_key: Option<String>,
    /// `CHORUS_PLATFORM_<ID>_API_BASE` values, by platform id.
    pub platform_api_bases: BTreeMap<String, String>,
    /// `CHORUS_PLATFORM_<ID>_CLIENT_ID`, `_CLIENT_SECRET`, `_TOKEN_URL`, by platform id.
    pub platform_oauth: BTreeMap<String, OAuthOverride>,
}

/// OAuth app settings of one platform from the environment.
#[derive(Debug, Clone, Default)]
pub struct OAuthOverride {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub token_url: Option<String>,
    pub authorize_url: Option<String>,
}

impl Overrides {
    /// Reads `CHORUS_PLATFORM_<ID>_API_BASE` variables (`<ID>` upper-case, `-` as `_`).
    pub fn platform_api_bases_from_env() -> BTreeMap<String, String> {
        std::env::vars()
            .filter_map(|(k, v)| {
                let id = k.strip_prefix("CHORUS_PLATFORM_")?.strip_suffix("_API_BASE")?;
                Some((id.to_ascii_lowercase().replace('_', "-"), v))
            })
            .collect()
    }

    /// Reads `CHORUS_PLATFORM_<ID>_CLIENT_ID`, `_CLIENT_SECRET`, `_TOKEN_URL` and `_AUTHORIZE_URL`.
    pub fn platform_oauth_from_env() -> BTreeMap<String, OAuthOverride> {
        let mut out: BTreeMap<String, OAuthOverride> = BTreeMap::new();
        for (k, v) in std::env::vars() {
            let Some(rest) = k.strip_prefix("CHORUS_PLATFORM_") else {
                continue;
            };
            for (suffix, field) in [
                ("_CLIENT_ID", 0),
                ("_CLIENT_SECRET", 1),
                ("_TOKEN_URL", 2),
                ("_AUTHORIZE_URL", 3),
            ] {
                if let Some(id) = rest.strip_suffix(suffix) {
                    let o = out.entry(id.to_ascii_lowercase().replace('_', "-")).or_default();
                    let slot = match field {
                        0 => &mut o.client_id,
                        1 => &mut o.client_secret,
                        2 => &mut o.token_url,
                        _ => &mut o.authorize_url,
                    };
                    *slot = Some(v.clone()).filter(|v| !v.trim().is_empty());
                }
            }
        }
        out
    }
}

/// The settings in force, after every source was applied and checked.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub bind: SocketAddr,
    pub log_format: LogFormat,
    pub log_level: String,
    /// Hex key from the config or `CHORUS_SECRET_KEY`; else a file in the data dir.
    secret_key: Option<String>,
    pub worker_tick: Duration,
    /// API bases, host allow-lists and limits for plugins.
    pub plugins: PluginSettings,
    /// The operator's OAuth apps, by platform (token refresh).
    pub oauth: chorus_core::oauth::OAuthClients,
    /// Media storage and the public base of media URLs.
    pub media: MediaFileConfig,
    /// Private webhook targets allowed (`[webhooks] allow_private`).
    pub webhooks_allow_private: bool,
}

/// A setting that cannot be used, with where it came from and what is allowed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: cannot read it: {source}")]
    ReadFile { path: PathBuf, source: std::io::Error },

    #[error("config file {path}: {message}")]
    ParseFile { path: PathBuf, message: String },

    #[error(
        "bind {value:?} is not an address and port; use IP:PORT such as 127.0.0.1:8080 or 0.0.0.0:8080 (--bind, CHORUS_BIND or `bind` in chorus.toml)"
    )]
    Bind { value: String },

    #[error(
        "data_dir {path}: cannot create or write to it ({source}); choose a writable directory with --data-dir, CHORUS_DATA_DIR or `data_dir` in chorus.toml"
    )]
    DataDir { path: PathBuf, source: std::io::Error },

    #[error(
        "log_level {value:?} is not a level or filter; use error, warn, info, debug, trace, or a filter such as \"info,chorus=debug\""
    )]
    LogLevel { value: String },

    #[error("platforms.{platform} OAuth app: {message}")]
    OAuth { platform: String, message: String },

    #[error("worker.tick_seconds must be between 1 and 3600, got {value}")]
    WorkerTick { value: u64 },

    #[error("secret_key: {0}")]
    SecretKey(#[from] KeyError),

    #[error(
        "{setting} {value:?} {reason}; use https://HOST[:PORT], or http:// only on a loopback address (127.0.0.1, [::1]) for local sandboxes"
    )]
    ApiBase {
        setting: String,
        value: String,
        reason: String,
    },

    #[error("plugins.{setting} must be between {min} and {max}, got {value}")]
    PluginLimit {
        setting: &'static str,
        value: u64,
        min: u64,
        max: u64,
    },
}

impl Settings {
    /// Applies the sources in order and checks each value. Touches no disk beyond reading
    /// the config file; [`Settings::prepare_data_dir`] does the writing.
    pub fn resolve(o: Overrides) -> Result<Self, ConfigError> {
        let file = match &o.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let data_dir = o
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let database_url = o
            .database_url
            .or(file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("chorus.db").display()));
        let bind_text = o.bind.or(file.bind).unwrap_or_else(|| DEFAULT_BIND.to_owned());
        let bind = bind_text.parse().map_err(|_| ConfigError::Bind {
            value: bind_text.clone(),
        })?;
        let log_level = o.log_level.or(file.log_level).unwrap_or_else(|| "info".to_owned());
        if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            return Err(ConfigError::LogLevel { value: log_level });
        }
        let tick = file.worker.tick_seconds.unwrap_or(5);
        if !(1..=3600).contains(&tick) {
            return Err(ConfigError::WorkerTick { value: tick });
        }
        let plugins = plugin_settings(&data_dir, &file.platforms, &file.plugins, &o.platform_api_bases)?;
        let oauth = oauth_clients(&file.platforms, &o.platform_oauth)?;
        let mut media = file.media;
        if let Some(url) = std::env::var("CHORUS_PUBLIC_BASE_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
        {
            media.public_base_url = Some(url);
        }
        if let Some(public_base) = &media.public_base_url {
            match url::Url::parse(public_base) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                _ => {
                    return Err(ConfigError::ParseFile {
                        path: o.config.clone().unwrap_or_else(|| "CHORUS_PUBLIC_BASE_URL".into()),
                        message: format!(
                            "media.public_base_url {public_base:?} is not an http(s) URL; use the address platforms reach Chorus at, e.g. https://chorus.example.com"
                        ),
                    });
                }
            }
        }
        if let Some(s3) = &mut media.s3
            && let Ok(secret) = std::env::var("CHORUS_MEDIA_S3_SECRET_ACCESS_KEY")
        {
            s3.secret_access_key = Some(secret);
        }
        let webhooks_allow_private = match std::env::var("CHORUS_WEBHOOKS_ALLOW_PRIVATE") {
            Ok(v) if !v.trim().is_empty() => match v.trim() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                other => {
                    return Err(ConfigError::ParseFile {
                        path: "CHORUS_WEBHOOKS_ALLOW_PRIVATE".into(),
                        message: format!("{other:?} is not true or false"),
                    });
                }
            },
            _ => file.webhooks.allow_private.unwrap_or(false),
        };
        Ok(Settings {
            webhooks_allow_private,
            media,
            plugins,
            oauth,
            data_dir,
            database_url,
            bind,
            log_format: o.log_format.or(file.log_format).unwrap_or(LogFormat::Human),
            log_level,
            secret_key: o.secret_key.or(file.secret_key),
            worker_tick: Duration::from_secs(tick),
        })
    }

    /// Creates the data directory if needed and proves it is writable.
    pub fn prepare_data_dir(&self) -> Result<(), ConfigError> {
        let err = |source| ConfigError::DataDir {
            path: self.data_dir.clone(),
            source,
        };
        std::fs::create_dir_all(&self.data_dir).map_err(err)?;
        // One name per process: several processes (a worker, a command) share a data dir,
        // and one must not remove the probe another is about to remove.
        let probe = self.data_dir.join(format!(
            ".chorus-write-test-{}-{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::write(&probe, b"ok").map_err(err)?;
        std::fs::remove_file(&probe).map_err(err)
    }

    /// The key that seals platform credentials.
    /// The media library: files under `data_dir/media`, or the `[media.s3]` bucket; URLs
    /// signed with a key derived from the secret key.
    pub fn media_library(&self) -> anyhow::Result<chorus_core::media::MediaLibrary> {
        self.media_library_served_at(self.bind)
    }

    /// [`Settings::media_library`] for a server bound to `addr` (where port `0` picked one):
    /// URLs start with `media.public_base_url`, else `http://ADDR`.
    pub fn media_library_served_at(&self, addr: SocketAddr) -> anyhow::Result<chorus_core::media::MediaLibrary> {
        use chorus_core::media::{MediaLibrary, MediaStorage, UrlSigner};
        let storage = match &self.media.s3 {
            Some(s3) => MediaStorage::s3(s3)?,
            None => MediaStorage::local(&self.data_dir.join("media"))?,
        };
        let base = self
            .media
            .public_base_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        Ok(MediaLibrary::new(
            storage,
            Some(UrlSigner::new(&self.secret_key()?, &base)),
        ))
    }

    pub fn secret_key(&self) -> Result<SecretKey, ConfigError> {
        Ok(match &self.secret_key {
            Some(hex) => SecretKey::from_hex("secret_key (CHORUS_SECRET_KEY)", hex)?,
            None => SecretKey::load_or_create(&self.data_dir.join("secret.key"))?,
        })
    }
}

/// OAuth apps from `[platforms.ID]` and the environment (which wins, field by field).
fn oauth_clients(
    platforms: &BTreeMap<String, PlatformFileConfig>,
    env: &BTreeMap<String, OAuthOverride>,
) -> Result<chorus_core::oauth::OAuthClients, ConfigError> {
    let mut out = chorus_core::oauth::OAuthClients::new();
    let ids: std::collections::BTreeSet<&String> = platforms.keys().chain(env.keys()).collect();
    for id in ids {
        let file = platforms.get(id);
        let e = env.get(id).cloned().unwrap_or_default();
        let pick = |env: Option<String>, file: Option<&String>| env.or_else(|| file.cloned());
        let client_id = pick(e.client_id, file.and_then(|f| f.client_id.as_ref()));
        let secret = pick(e.client_secret, file.and_then(|f| f.client_secret.as_ref()));
        let token_url = pick(e.token_url, file.and_then(|f| f.token_url.as_ref()));
        let authorize_url = pick(e.authorize_url, file.and_then(|f| f.authorize_url.as_ref()));
        let Some(client_id) = client_id else {
            if secret.is_some() || token_url.is_some() || authorize_url.is_some() {
                return Err(ConfigError::OAuth {
                    platform: id.clone(),
                    message: "a client secret, token URL or authorize URL is set but no client id; set platforms.ID.client_id \
                              or CHORUS_PLATFORM_<ID>_CLIENT_ID"
                        .into(),
                });
            }
            continue;
        };
        let token_url = token_url
            .map(|u| {
                let setting = format!("platforms.{id}.token_url");
                parse_api_base(&setting, &u)
            })
            .transpose()?;
        let authorize_url = authorize_url
            .map(|u| parse_api_base(&format!("platforms.{id}.authorize_url"), &u))
            .transpose()?;
        out.insert(
            id.clone(),
            chorus_core::oauth::OAuthClient {
                client_id,
                client_secret: secret,
                token_url,
                authorize_url,
            },
        );
    }
    Ok(out)
}

fn plugin_settings(
    data_dir: &Path,
    platforms: &BTreeMap<String, PlatformFileConfig>,
    limits: &PluginsFileConfig,
    env_bases: &BTreeMap<String, String>,
) -> Result<PluginSettings, ConfigError> {
    let mut settings = PluginSettings {
        install_dir: Some(data_dir.join("plugins")),
        loopback_account_servers: limits.loopback_account_servers.unwrap_or(false),
        ..PluginSettings::default()
    };
    let file_bases = platforms
        .iter()
        .filter_map(|(id, p)| p.api_base.as_ref().map(|b| (id, b, format!("platforms.{id}.api_base"))));
    let env = env_bases.iter().map(|(id, b)| {
        (
            id,
            b,
            format!("CHORUS_PLATFORM_{}_API_BASE", id.to_ascii_uppercase().replace('-', "_")),
        )
    });
    // Environment after file: the later insert wins.
    for (id, base, setting) in file_bases.chain(env) {
        settings.api_bases.insert(id.clone(), parse_api_base(&setting, base)?);
    }
    for (id, p) in platforms {
        if let Some(hosts) = &p.allowed_hosts {
            settings.allowed_hosts.insert(id.clone(), hosts.clone());
        }
        let mut origins = Vec::new();
        for (host, base) in &p.local_origins {
            origins.push((
                host.clone(),
                parse_api_base(&format!("platforms.{id}.local_origins.{host}"), base)?,
            ));
        }
        if !origins.is_empty() {
            settings.local_origins.insert(id.clone(), origins);
        }
    }
    let bounded = |setting: &'static str, value: Option<u64>, min: u64, max: u64, default: u64| match value {
        Some(v) if !(min..=max).contains(&v) => Err(ConfigError::PluginLimit {
            setting,
            value: v,
            min,
            max,
        }),
        Some(v) => Ok(v),
        None => Ok(default),
    };
    let d = Limits::default();
    settings.limits = Limits {
        memory_bytes: (bounded("memory_mib", limits.memory_mib, 8, 256, (d.memory_bytes >> 20) as u64)? << 20) as usize,
        adapt_time: Duration::from_millis(bounded(
            "adapt_ms",
            limits.adapt_ms,
            10,
            10_000,
            d.adapt_time.as_millis() as u64,
        )?),
        publish_time: Duration::from_secs(bounded(
            "publish_seconds",
            limits.publish_seconds,
            5,
            900,
            d.publish_time.as_secs(),
        )?),
        http_requests_per_call: bounded(
            "http_requests_per_call",
            limits.http_requests_per_call.map(u64::from),
            1,
            1000,
            d.http_requests_per_call.into(),
        )? as u32,
        ..d
    };
    Ok(settings)
}

/// An API base must be https, or http on loopback (local fakes and the offline sandbox).
fn parse_api_base(setting: &str, value: &str) -> Result<url::Url, ConfigError> {
    let err = |reason: &str| ConfigError::ApiBase {
        setting: setting.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let url = url::Url::parse(value).map_err(|e| err(&format!("is not a URL ({e})")))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(err("uses plain http on a non-loopback host")),
        _ => Err(err("is not an http(s) URL")),
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::ParseFile {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(contents: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chorus.toml");
        std::fs::write(&path, contents).unwrap();
        (dir, path)
    }

    #[test]
    fn defaults_put_sqlite_in_the_data_dir() {
        let s = Settings::resolve(Overrides::default()).unwrap();
        assert_eq!(s.bind.to_string(), DEFAULT_BIND);
        assert_eq!(s.database_url, "sqlite://./chorus-data/chorus.db");
        assert_eq!(s.log_format, LogFormat::Human);
    }

    #[test]
    fn flags_and_env_override_the_file() {
        let (_d, path) = file("bind = \"127.0.0.1:9000\"\ndata_dir = \"/srv/chorus\"\n[worker]\ntick_seconds = 2\n");
        let s = Settings::resolve(Overrides {
            config: Some(path.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((s.bind.port(), s.data_dir.to_str().unwrap()), (9000, "/srv/chorus"));
        assert_eq!(s.worker_tick, Duration::from_secs(2));
        let s = Settings::resolve(Overrides {
            config: Some(path),
            bind: Some("0.0.0.0:1".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.bind.port(), 1);
    }

    #[test]
    fn unknown_key_in_file_is_named() {
        let (_d, path) = file("bnd = \"127.0.0.1:1\"\n");
        let err = Settings::resolve(Overrides {
            config: Some(path),
            ..Default::default()
        })
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("chorus.toml") && msg.contains("bnd"), "{msg}");
    }

    #[test]
    fn bad_values_name_the_setting() {
        let e = Settings::resolve(Overrides {
            bind: Some("localhost".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().starts_with("bind \"localhost\""), "{e}");
        let e = Settings::resolve(Overrides {
            log_level: Some("loud[".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().starts_with("log_level"), "{e}");
        let (_d, path) = file("[worker]\ntick_seconds = 0\n");
        let e = Settings::resolve(Overrides {
            config: Some(path),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("worker.tick_seconds"), "{e}");
    }

    #[test]
    fn oauth_apps_come_from_file_and_env_and_a_secret_without_an_id_is_refused() {
        let (_d, path) =
            file("[platforms.x]\nclient_id = \"file-id\"\ntoken_url = \"http://127.0.0.1:9/2/oauth2/token\"\n");
        let mut env = BTreeMap::new();
        env.insert(
            "x".to_owned(),
            OAuthOverride {
                client_secret: Some("env-secret".into()),
                ..Default::default()
            },
        );
        let s = Settings::resolve(Overrides {
            config: Some(path.clone()),
            platform_oauth: env,
            ..Default::default()
        })
        .unwrap();
        let x = &s.oauth["x"];
        assert_eq!(x.client_id, "file-id");
        assert_eq!(x.client_secret.as_deref(), Some("env-secret"));
        assert_eq!(
            x.token_url.as_ref().unwrap().as_str(),
            "http://127.0.0.1:9/2/oauth2/token"
        );
        assert!(!format!("{x:?}").contains("env-secret"), "the secret is never printed");
        let mut env = BTreeMap::new();
        env.insert(
            "linkedin".to_owned(),
            OAuthOverride {
                client_secret: Some("s".into()),
                ..Default::default()
            },
        );
        let e = Settings::resolve(Overrides {
            platform_oauth: env,
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            e.to_string().contains("platforms.linkedin") && e.to_string().contains("client id"),
            "{e}"
        );
    }

    #[test]
    fn platform_api_bases_come_from_file_and_env_and_must_be_safe() {
        let (_d, path) = file("[platforms.x]\napi_base = \"https://api.x.com\"\nallowed_hosts = [\"api.x.com\"]\n");
        let mut env = BTreeMap::new();
        env.insert("linkedin".to_owned(), "http://127.0.0.1:9100".to_owned());
        let s = Settings::resolve(Overrides {
            config: Some(path),
            platform_api_bases: env,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.plugins.api_bases["x"].as_str(), "https://api.x.com/");
        assert_eq!(s.plugins.api_bases["linkedin"].as_str(), "http://127.0.0.1:9100/");
        assert_eq!(s.plugins.allowed_hosts["x"], ["api.x.com"]);

        let mut env = BTreeMap::new();
        env.insert("x".to_owned(), "http://api.example.com".to_owned());
        let e = Settings::resolve(Overrides {
            platform_api_bases: env,
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("CHORUS_PLATFORM_X_API_BASE \"http://api.example.com\" uses plain http"),
            "{e}"
        );
    }

    #[test]
    fn plugin_limits_are_bounded() {
        let (_d, path) = file("[plugins]\nmemory_mib = 4096\n");
        let e = Settings::resolve(Overrides {
            config: Some(path),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "plugins.memory_mib must be between 8 and 256, got 4096");
        let (_d, path) = file("[plugins]\nmemory_mib = 32\nadapt_ms = 250\n");
        let s = Settings::resolve(Overrides {
            config: Some(path),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            (s.plugins.limits.memory_bytes, s.plugins.limits.adapt_time),
            (32 << 20, Duration::from_millis(250))
        );
    }

    #[test]
    fn processes_sharing_a_data_dir_can_all_check_it_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings::resolve(Overrides {
            data_dir: Some(dir.path().to_owned()),
            ..Default::default()
        })
        .unwrap();
        let threads: Vec<_> = (0..32)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || (0..400).try_for_each(|_| s.prepare_data_dir().map_err(|e| e.to_string())))
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
    }

    #[test]
    fn data_dir_blocked_by_a_file_is_reported() {
        let (_d, path) = file("");
        let s = Settings::resolve(Overrides {
            data_dir: Some(path.join("sub")),
            ..Default::default()
        })
        .unwrap();
        let e = s.prepare_data_dir().unwrap_err();
        assert!(e.to_string().starts_with("data_dir"), "{e}");
    }
}

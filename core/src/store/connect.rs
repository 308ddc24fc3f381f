//! Opening the database: SQLite (embedded default) or PostgreSQL, then migrations.

use super::Store;
use crate::secrets::SecretKey;
use chorus_migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database};
use std::path::PathBuf;
use std::time::Duration;

/// Which database engine a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

/// Why the database could not be opened; each names the setting and what is allowed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "database_url {url:?} is not supported: use sqlite://PATH (e.g. sqlite://./chorus-data/chorus.db), \
         sqlite::memory:, or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
    )]
    UnsupportedScheme { url: String },

    #[error("database_url {url}: cannot create the directory {dir} for the SQLite file: {source}")]
    SqliteDirectory {
        url: String,
        dir: PathBuf,
        source: std::io::Error,
    },

    #[error("database_url {url}: cannot connect: {reason}")]
    Unreachable { url: String, reason: String },

    #[error("database_url {url}: migrating the schema failed: {reason}")]
    Migration { url: String, reason: String },
}

impl DatabaseKind {
    pub fn of(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// The filesystem path of a SQLite URL, if it names a file.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

impl Store {
    /// Connects without migrating (for `chorus migrate` and for checks).
    pub async fn connect(url: &str, key: SecretKey) -> Result<Self, ConnectError> {
        let shown = redact_url(url);
        let kind = DatabaseKind::of(url).ok_or_else(|| ConnectError::UnsupportedScheme { url: shown.clone() })?;
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(5))
            .sqlx_logging(std::env::var_os("CHORUS_SQL_LOG").is_some());
        match kind {
            DatabaseKind::Sqlite => {
                if let Some(dir) = sqlite_path(url)
                    .as_ref()
                    .and_then(|p| p.parent())
                    .filter(|d| !d.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(dir).map_err(|source| ConnectError::SqliteDirectory {
                        url: shown.clone(),
                        dir: dir.to_owned(),
                        source,
                    })?;
                }
                // WAL lets the web server read while the worker writes; foreign keys are
                // off by default in SQLite and the schema relies on them.
                opts.map_sqlx_sqlite_opts(|o| {
                    o.create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .foreign_keys(true)
                        .busy_timeout(Duration::from_secs(10))
                        // Audience queries read a whole brand: a 64 MiB page cache per
                        // connection (grown only as used) and memory-mapped reads keep a
                        // million-contact scan off the read() path.
                        .pragma("cache_size", "-65536")
                        .pragma("mmap_size", "1073741824")
                });
                if sqlite_path(url).is_none() {
                    // An in-memory database exists per connection: keep exactly one.
                    opts.max_connections(1).min_connections(1);
                } else {
                    // WAL readers never wait for the writer; writers queue on busy_timeout.
                    opts.max_connections(8);
                }
            }
            DatabaseKind::Postgres => {
                probe_postgres(url, &shown).await?;
                opts.max_connections(16);
            }
        }
        let db = Database::connect(opts).await.map_err(|e| ConnectError::Unreachable {
            url: shown,
            reason: e.to_string(),
        })?;
        Ok(Store {
            db,
            key,
            kind,
            write_gate: Default::default(),
        })
    }

    /// Connects and applies every pending migration.
    pub async fn open(url: &str, key: SecretKey) -> Result<Self, ConnectError> {
        let store = Self::connect(url, key).await?;
        store.migrate(url).await?;
        Ok(store)
    }

    /// Applies pending migrations; returns the names of those applied now.
    pub async fn migrate(&self, url: &str) -> Result<Vec<String>, ConnectError> {
        let pending = self.pending_migrations(url).await?;
        Migrator::up(&self.db, None)
            .await
            .map_err(|e| migration_error(url, e))?;
        Ok(pending)
    }

    /// The migrations this binary knows that the database has not had yet.
    pub async fn pending_migrations(&self, url: &str) -> Result<Vec<String>, ConnectError> {
        Ok(Migrator::get_pending_migrations(&self.db)
            .await
            .map_err(|e| migration_error(url, e))?
            .iter()
            .map(|m| m.name().to_owned())
            .collect())
    }
}

/// Tries a plain TCP connection first: the pool retries refused connections until its
/// timeout and then reports only "timed out", while this names the actual cause.
async fn probe_postgres(url: &str, shown: &str) -> Result<(), ConnectError> {
    let unreachable = |reason: String| ConnectError::Unreachable {
        url: shown.to_owned(),
        reason,
    };
    let parsed = url::Url::parse(url).map_err(|e| unreachable(format!("not a valid URL: {e}")))?;
    let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) else {
        return Ok(()); // a Unix socket given in the query string: let the driver handle it
    };
    let port = parsed.port().unwrap_or(5432);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect((host, port))).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(unreachable(format!(
            "{host}:{port}: {e}; is PostgreSQL running and listening there?"
        ))),
        Err(_) => Err(unreachable(format!("{host}:{port}: no answer within 5 s"))),
    }
}

fn migration_error(url: &str, e: sea_orm::DbErr) -> ConnectError {
    ConnectError::Migration {
        url: redact_url(url),
        reason: e.to_string(),
    }
}

/// A database of its own on a PostgreSQL server, for a run that must not leave rows behind
/// (`chorus bench dispatch`, the test suite): created from `admin_url` (a role allowed to
/// `CREATE DATABASE`), dropped by [`ScratchDatabase::drop`].
pub struct ScratchDatabase {
    admin_url: String,
    name: String,
    /// The scratch database's own URL.
    pub url: String,
}

impl ScratchDatabase {
    /// Creates `PREFIX_<uuid>` on the server of `admin_url`.
    pub async fn create(admin_url: &str, prefix: &str) -> Result<Self, ConnectError> {
        let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
        let unreachable = |reason: String| ConnectError::Unreachable {
            url: redact_url(admin_url),
            reason,
        };
        let mut url = url::Url::parse(admin_url).map_err(|e| unreachable(e.to_string()))?;
        url.set_path(&format!("/{name}"));
        let conn = Database::connect(admin_url)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let created = conn.execute_unprepared(&format!("CREATE DATABASE {name}")).await;
        conn.close().await.ok();
        created.map_err(|e| unreachable(format!("creating the scratch database {name}: {e}")))?;
        Ok(Self {
            admin_url: admin_url.to_owned(),
            name,
            url: url.to_string(),
        })
    }

    /// Drops the database, closing whatever is still connected to it.
    pub async fn drop(self) -> Result<(), ConnectError> {
        let unreachable = |reason: String| ConnectError::Unreachable {
            url: redact_url(&self.admin_url),
            reason,
        };
        let conn = Database::connect(&self.admin_url)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let dropped = conn
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .await;
        conn.close().await.ok();
        dropped.map(|_| ()).map_err(|e| unreachable(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(redact_url("postgres://u:pw@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn sqlite_paths_are_extracted() {
        assert_eq!(
            sqlite_path("sqlite://./d/c.db?mode=rwc"),
            Some(PathBuf::from("./d/c.db"))
        );
        assert_eq!(sqlite_path("sqlite:c.db"), Some(PathBuf::from("c.db")));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }
}

//! Shared fixtures for Chorus's tests: fresh databases (and, as they land, the platform
//! fakes). Every test gets its own database, so tests run in parallel and leave nothing
//! behind.
//!
//! The backend is chosen by `CHORUS_TEST_DATABASE_URL`: unset, each test gets a new SQLite
//! file in a temporary directory; set to a PostgreSQL server URL (for example
//! `postgres://postgres@127.0.0.1:5432/postgres`), each test gets a new database on that
//! server, dropped when the test ends.

pub mod media;
pub mod oracle;
pub mod plugins;
pub mod process;
pub mod queue;
pub mod s3;

use chorus_core::domain::WorkspaceKind;
use chorus_core::secrets::SecretKey;
use chorus_core::store::{NewBrand, NewWorkspace, ScratchDatabase, Store};

/// The environment variable that selects PostgreSQL for the test suite.
pub const PG_ENV: &str = "CHORUS_TEST_DATABASE_URL";

/// A database that exists for one test.
pub struct TestDatabase {
    /// The URL to hand to the code under test.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<ScratchDatabase>,
}

impl TestDatabase {
    /// A fresh, empty database on the backend the environment selects.
    pub async fn new() -> Self {
        match std::env::var(PG_ENV) {
            Ok(admin) if !admin.trim().is_empty() => Self::postgres(admin.trim()).await,
            _ => Self::sqlite(),
        }
    }

    /// Whether this run targets PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("chorus.db").display());
        Self {
            url,
            _dir: Some(dir),
            postgres: None,
        }
    }

    async fn postgres(admin: &str) -> Self {
        let scratch = ScratchDatabase::create(admin, "chorus_test")
            .await
            .unwrap_or_else(|e| panic!("{PG_ENV}={admin}: {e}"));
        Self {
            url: scratch.url.clone(),
            _dir: None,
            postgres: Some(scratch),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(scratch) = self.postgres.take() else {
            return;
        };
        // Drop runs outside any async context we can rely on: use a small runtime of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(scratch.drop()).ok()
        })
        .join();
    }
}

/// A migrated store on a fresh database.
pub struct TestStore {
    pub store: Store,
    pub db: TestDatabase,
}

impl TestStore {
    pub async fn new() -> Self {
        Self::with_key(SecretKey::generate()).await
    }

    /// A store whose credentials are sealed with `key` (to share it with a `chorus` process,
    /// given as `CHORUS_SECRET_KEY`).
    pub async fn with_key(key: SecretKey) -> Self {
        let db = TestDatabase::new().await;
        let store = Store::open(&db.url, key)
            .await
            .expect("open and migrate the test database");
        Self { store, db }
    }

    /// A workspace with one brand: the smallest tenant most tests need.
    pub async fn workspace_with_brand(&self, slug: &str) -> (uuid::Uuid, uuid::Uuid) {
        let ws = self
            .store
            .workspaces()
            .create(NewWorkspace {
                slug: slug.into(),
                name: format!("{slug} agency"),
                kind: WorkspaceKind::Agency,
            })
            .await
            .expect("create workspace");
        let brand = self
            .store
            .tenant(ws.id)
            .brands()
            .create(NewBrand {
                slug: format!("{slug}-brand"),
                name: "Brand".into(),
                timezone: "Europe/Stockholm".into(),
            })
            .await
            .expect("create brand");
        (ws.id, brand.id)
    }
}

/// An HTTP client for tests. Installs rustls's ring provider once (Chorus builds rustls
/// without a default provider, to share ring with sqlx instead of compiling aws-lc).
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .expect("build an HTTP client")
}

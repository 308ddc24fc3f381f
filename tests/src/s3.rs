//! A real S3-compatible server for tests: moto in server mode, from the pinned
//! `tests/oracles/moto/requirements.txt`, installed into `tests/oracles/moto/.venv` the first
//! time (`.ci/run` does it up front). Each [`S3Server`] is its own process on a free loopback
//! port, killed when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `moto_server` executable, installed if missing.
fn moto_server() -> PathBuf {
    crate::oracle::python_tool("moto", "moto_server")
}

/// A running S3-compatible server with one bucket.
pub struct S3Server {
    child: Child,
    pub endpoint: String,
    pub bucket: String,
}

impl S3Server {
    /// Starts a server and creates `bucket` in it.
    pub async fn start(bucket: &str) -> Self {
        let bin = moto_server();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let server = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: bucket.to_owned(),
        };
        let http = crate::http_client();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if http.get(&server.endpoint).send().await.is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not start on {}",
                server.endpoint
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let created = http
            .put(format!("{}/{bucket}", server.endpoint))
            .send()
            .await
            .expect("create the bucket");
        assert!(
            created.status().is_success(),
            "creating bucket {bucket}: {}",
            created.status()
        );
        server
    }

    /// Settings for Chorus's media storage in this server's bucket.
    pub fn settings(&self) -> chorus_core::media::S3Settings {
        chorus_core::media::S3Settings {
            bucket: self.bucket.clone(),
            endpoint: Some(self.endpoint.clone()),
            region: Some("us-east-1".into()),
            access_key_id: Some("chorus-test".into()),
            secret_access_key: Some("chorus-test-secret".into()),
            path_style: true,
            allow_http: true,
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! Python tools the tests compare Chorus with or drive it by (moto's S3 server, schemathesis),
//! each pinned in `tests/oracles/<name>/requirements.txt` and installed into that directory's
//! `.venv` the first time a test needs it (`.ci/run` installs them up front).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

static INSTALL: Mutex<()> = Mutex::new(());

/// The oracle's directory, `tests/oracles/<name>`.
pub fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("oracles").join(name)
}

/// The executable `exe` of the Python tool pinned in `tests/oracles/<name>`, installed into
/// its `.venv` if missing.
pub fn python_tool(name: &str, exe: &str) -> PathBuf {
    let dir = dir(name);
    let bin = dir.join(".venv/bin").join(exe);
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if !bin.exists() {
        let venv = dir.join(".venv");
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap_or_else(|e| panic!("python3 is needed to run {name}: {e}"));
        assert!(ok.success(), "python3 -m venv {} failed", venv.display());
        let out = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "-r"])
            .arg(dir.join("requirements.txt"))
            .output()
            .expect("run pip");
        assert!(
            out.status.success(),
            "installing {name} into {} failed: {}",
            venv.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    bin
}

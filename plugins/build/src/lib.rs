//! Used from build scripts (`chorus-plugins-bundled`, `chorus-tests`) to turn plugin crates
//! of this workspace into WebAssembly components, the way wasmtime's test-programs do:
//! a nested `cargo build --target wasm32-wasip2` with a target directory of its own, so it
//! never waits on the outer build's lock and every caller shares one set of artifacts.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const TARGET: &str = "wasm32-wasip2";

/// A component built from a crate.
#[derive(Debug, Clone)]
pub struct Built {
    pub package: String,
    pub wasm: PathBuf,
    pub sha256: String,
}

/// Builds `packages` (crate names in this workspace) as release components and returns
/// where each landed. `workspace` is the workspace root. Panics with an actionable message
/// when the target is missing or the build fails: build scripts report by panicking.
pub fn build_components(workspace: &Path, packages: &[&str]) -> Vec<Built> {
    ensure_target_installed();
    let target_dir = wasm_target_dir();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args(["build", "--release", "--target", TARGET, "--target-dir"])
        .arg(&target_dir);
    for p in packages {
        cmd.args(["-p", p]);
    }
    // Flags meant for the host build must not leak into the wasm build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("could not run cargo to build plugins: {e}"));
    if !status.success() {
        panic!("building the plugin components {packages:?} for {TARGET} failed (see the errors above)");
    }
    for dir in ["plugins/wit", "plugins/sdk/src", "plugins/sdk/Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", workspace.join(dir).display());
    }
    packages
        .iter()
        .map(|p| {
            let wasm = target_dir
                .join(TARGET)
                .join("release")
                .join(format!("{}.wasm", p.replace('-', "_")));
            let bytes = std::fs::read(&wasm).unwrap_or_else(|e| panic!("{} was not produced: {e}", wasm.display()));
            Built {
                package: (*p).to_owned(),
                sha256: hex::encode(Sha256::digest(&bytes)),
                wasm,
            }
        })
        .collect()
}

/// Tells cargo to rebuild when anything under `dir` changes.
pub fn rerun_if_changed(dir: &Path) {
    println!("cargo:rerun-if-changed={}", dir.display());
}

/// `<outer target dir>/wasm-plugins`, found from OUT_DIR (`<target>/<profile>/build/<pkg>/out`).
fn wasm_target_dir() -> PathBuf {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("called from a build script"));
    let target = out.ancestors().nth(4).expect("OUT_DIR is inside the target directory");
    target.join("wasm-plugins")
}

/// Installs the target with rustup when it is missing (so a fresh machine needs no manual
/// step), then fails with instructions only if that did not work.
fn ensure_target_installed() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    if check_target(&rustc).is_ok() {
        return;
    }
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", TARGET]);
    if let Ok(toolchain) = std::env::var("RUSTUP_TOOLCHAIN") {
        rustup.args(["--toolchain", &toolchain]);
    }
    match rustup.status() {
        Ok(s) if s.success() => println!("cargo:warning=installed the {TARGET} target with rustup"),
        Ok(s) => println!("cargo:warning=`rustup target add {TARGET}` failed ({s})"),
        Err(e) => println!("cargo:warning=could not run rustup to add {TARGET}: {e}"),
    }
    if let Err(message) = check_target(&rustc) {
        panic!("{message}");
    }
}

/// Whether `rustc`'s sysroot has the wasm32-wasip2 standard library; the error says how
/// to install it.
pub fn check_target(rustc: &str) -> Result<(), String> {
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if sysroot.is_some_and(|s| Path::new(&s).join("lib/rustlib").join(TARGET).exists()) {
        return Ok(());
    }
    Err(format!(
        "\n\nChorus plugins are WebAssembly components and need the {TARGET} target, which is not installed.\n\
         Install it with:\n\n    rustup target add {TARGET}\n\nthen build again.\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_target_names_the_command_that_installs_it() {
        // A stand-in rustc whose sysroot has no wasm32-wasip2 standard library.
        let dir = std::env::temp_dir().join(format!("chorus-fake-rustc-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sysroot/lib/rustlib")).unwrap();
        let script = dir.join("rustc");
        std::fs::write(&script, format!("#!/bin/sh\necho {}\n", dir.join("sysroot").display())).unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&script)
            .status()
            .unwrap();
        let err = check_target(script.to_str().unwrap()).unwrap_err();
        assert!(err.contains("rustup target add wasm32-wasip2"), "{err}");
        std::fs::create_dir_all(dir.join("sysroot/lib/rustlib/wasm32-wasip2")).unwrap();
        assert!(check_target(script.to_str().unwrap()).is_ok());
        std::fs::remove_dir_all(dir).unwrap();
    }
}

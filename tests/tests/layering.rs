//! The crate graph mirrors the architecture: the host never depends on the guest SDK (what
//! both need lives in `chorus-text`), the product never depends on test code (the
//! simulators `--demo` serves are a product crate), and the store never calls up into the
//! audience layer. Read from `cargo metadata` and the sources, so a shortcut fails here.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn metadata() -> Value {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root())
        .output()
        .expect("run cargo metadata");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// (name, manifest path) of the workspace packages `package` depends on (normal deps).
fn workspace_deps(meta: &Value, package: &str) -> Vec<(String, String)> {
    let pkg = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == package)
        .unwrap_or_else(|| panic!("no package {package}"));
    pkg["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"].is_null() && d["path"].is_string())
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_owned(),
                d["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_host_does_not_depend_on_the_guest_sdk() {
    let deps = workspace_deps(&metadata(), "chorus-core");
    assert!(
        deps.iter().all(|(name, _)| name != "chorus-plugin-sdk"),
        "chorus-core depends on the guest SDK: {deps:?}"
    );
    assert!(deps.iter().any(|(name, _)| name == "chorus-text"), "{deps:?}");
}

#[test]
fn the_product_does_not_depend_on_test_code() {
    let meta = metadata();
    let tests_dir = root().join("tests");
    for package in [
        "chorus",
        "chorus-core",
        "chorus-simulators",
        "chorus-text",
        "chorus-plugin-sdk",
    ] {
        for (name, path) in workspace_deps(&meta, package) {
            assert!(
                !Path::new(&path).starts_with(&tests_dir),
                "{package} depends on {name}, which lives under tests/ ({path})"
            );
        }
    }
}

#[test]
fn the_store_does_not_import_the_audience_layer() {
    let store = root().join("core/src/store");
    let mut offenders = Vec::new();
    for entry in walk(&store) {
        let text = std::fs::read_to_string(&entry).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("crate::audience") {
                offenders.push(format!("{}:{}: {}", entry.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "the store reaches into audiences:\n{}",
        offenders.join("\n")
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

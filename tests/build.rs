//! Builds the test guests (plugins that misbehave on purpose) into components, like
//! wasmtime's test-programs, and writes each manifest with the component's sha256.

use std::path::Path;

const GUESTS: &[(&str, &str)] = &[
    ("chorus-guest-hostile", "hostile"),
    ("chorus-guest-v0-1-0", "contract-v0-1-0"),
];

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let tests = Path::new(&manifest_dir);
    let workspace = tests.parent().unwrap();
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let packages: Vec<&str> = GUESTS.iter().map(|(p, _)| *p).collect();
    for ((_, dir), built) in GUESTS
        .iter()
        .zip(chorus_plugin_build::build_components(workspace, &packages))
    {
        let src = tests.join("guests").join(dir);
        chorus_plugin_build::rerun_if_changed(&src);
        let target = out.join(dir);
        std::fs::create_dir_all(&target).unwrap();
        let manifest = std::fs::read_to_string(src.join("plugin.toml")).unwrap();
        let manifest = manifest.replacen(
            "[capabilities]",
            &format!("sha256 = \"{}\"\n\n[capabilities]", built.sha256),
            1,
        );
        std::fs::write(target.join("plugin.toml"), manifest).unwrap();
        let name = built.wasm.file_name().unwrap();
        std::fs::copy(&built.wasm, target.join(name)).unwrap();
    }
}

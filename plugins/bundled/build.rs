//! Builds every bundled plugin into a component and embeds it with its manifest and the
//! component's sha256, so `cargo run` and `cargo test` need no extra step.

use std::path::Path;

/// (crate, folder under plugins/) of each bundled plugin.
const BUNDLED: &[(&str, &str)] = &[
    ("chorus-plugin-mastodon", "mastodon"),
    ("chorus-plugin-x", "x"),
    ("chorus-plugin-linkedin", "linkedin"),
    ("chorus-plugin-facebook", "facebook"),
    ("chorus-plugin-bluesky", "bluesky"),
    ("chorus-plugin-instagram", "instagram"),
    ("chorus-plugin-tiktok", "tiktok"),
    ("chorus-plugin-pinterest", "pinterest"),
];

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let plugins = Path::new(&manifest_dir).parent().unwrap();
    let workspace = plugins.parent().unwrap();
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let packages: Vec<&str> = BUNDLED.iter().map(|(p, _)| *p).collect();
    let built = chorus_plugin_build::build_components(workspace, &packages);
    let mut list = String::from("&[\n");
    for ((_, dir), b) in BUNDLED.iter().zip(&built) {
        let src = plugins.join(dir);
        for watched in ["src", "plugin.toml", "Cargo.toml"] {
            chorus_plugin_build::rerun_if_changed(&src.join(watched));
        }
        std::fs::copy(&b.wasm, out.join(format!("{dir}.wasm"))).unwrap();
        list.push_str(&format!(
            "    chorus_core::plugins::BundledPlugin {{ manifest: include_str!({manifest:?}), component: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{dir}.wasm\")), sha256: {sha:?} }},\n",
            manifest = src.join("plugin.toml").display().to_string(),
            sha = b.sha256,
        ));
    }
    list.push(']');
    std::fs::write(out.join("bundled.rs"), list).unwrap();
}

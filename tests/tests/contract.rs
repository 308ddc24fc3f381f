//! Released contracts are frozen: a component built against a released WIT must keep
//! meaning the same thing to every later host. Changes go into a new `since_vX.Y.Z/`.

use sha2::{Digest, Sha256};
use std::path::Path;

/// Every released contract file and the sha256 it was released with. Add a line when a
/// version is released; never edit one (docs/plugins/versioning.md).
const RELEASED: &[(&str, &str)] = &[
    (
        "since_v0.1.0/plugin.wit",
        "9e2f5bea9263fc4b7460ce14372bff54fa164ee25388095bb14f06f1a130a8ed",
    ),
    (
        "since_v0.2.0/plugin.wit",
        "d79b6f4ec04b38175f7513e27e8640bfa9c5efae3b2eb9581bc8d95220467dd1",
    ),
];

#[test]
fn released_wit_files_are_byte_for_byte_what_was_released() {
    let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/wit");
    for (file, released) in RELEASED {
        let path = wit.join(file);
        let bytes =
            std::fs::read(&path).unwrap_or_else(|e| panic!("released contract {} is missing: {e}", path.display()));
        let now = hex::encode(Sha256::digest(&bytes));
        assert_eq!(
            &now, released,
            "plugins/wit/{file} changed after its release. Released contracts are frozen: \
             revert the change and put it in a new since_vX.Y.Z/ folder instead"
        );
    }
}

/// `since_v0.1.0` -> (0, 1, 0).
fn version_of(folder: &str) -> (u32, u32, u32) {
    let v: Vec<u32> = folder
        .trim_start_matches("since_v")
        .split('.')
        .map(|n| n.parse().unwrap_or_else(|_| panic!("{folder}: not since_vX.Y.Z")))
        .collect();
    assert_eq!(v.len(), 3, "{folder}: not since_vX.Y.Z");
    (v[0], v[1], v[2])
}

#[test]
fn only_a_version_newer_than_every_released_one_may_still_change() {
    let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/wit");
    let newest_released = RELEASED
        .iter()
        .map(|(f, _)| version_of(f.split('/').next().unwrap()))
        .max()
        .unwrap();
    for entry in std::fs::read_dir(&wit).unwrap() {
        let dir = entry.unwrap().path();
        let folder = dir.file_name().unwrap().to_string_lossy().into_owned();
        for file in std::fs::read_dir(&dir).unwrap() {
            let rel = format!("{folder}/{}", file.unwrap().file_name().to_string_lossy());
            let listed = RELEASED.iter().any(|(f, _)| *f == rel);
            assert!(
                listed || version_of(&folder) > newest_released,
                "plugins/wit/{rel} is not listed as released, yet its version is not newer \
                 than the newest released one: a released version gained a file"
            );
        }
    }
}

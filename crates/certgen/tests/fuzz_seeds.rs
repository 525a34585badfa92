//! The fuzz targets' bodies (`fuzz/bodies/`) over their seed corpus (`fuzz/seeds/`), so every `cargo test`
//! compiles them and runs them on known inputs; `cargo fuzz` runs the same bodies for long searches
//! (docs/reliability.md).

use std::path::{Path, PathBuf};

#[path = "../../../fuzz/bodies/inspect.rs"]
mod inspect_body;
#[path = "../../../fuzz/bodies/subject_name.rs"]
mod subject_name_body;

/// Every file of `fuzz/seeds/TARGET`, sorted, with its contents.
fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds")
        .join(target);
    let mut seeds: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("seed entry").path();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, bytes)
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

#[test]
fn the_inspect_fuzz_body_survives_its_seeds() {
    for (_, bytes) in seeds("inspect") {
        inspect_body::body(&bytes);
    }
}

#[test]
fn the_subject_name_fuzz_body_holds_on_its_seeds() {
    for (path, bytes) in seeds("subject_name") {
        let text =
            std::str::from_utf8(&bytes).unwrap_or_else(|e| panic!("{} is not UTF-8: {e}", path.display()));
        subject_name_body::body(text);
    }
}

//! certgen's inspect entry points on arbitrary file contents (PEM or DER certificates, chains, CSRs, junk):
//! reading, describing, linting and verifying never panic, whether the input is the certificate under test or
//! the CA it is checked against (so fuzzed name constraints reach the constraint checks). The entry points take
//! paths, so each input goes to one scratch file; a real CA and leaf (the seed corpus) sit beside it.
//!
//! The body of the `inspect` fuzz target, also run over `fuzz/seeds/inspect` by certgen's `fuzz_seeds` test.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use certgen::inspect::{self, Usage};

struct Scratch {
    input: PathBuf,
    ca: PathBuf,
    leaf: PathBuf,
}

static SCRATCH: LazyLock<Scratch> = LazyLock::new(|| {
    let dir = std::env::temp_dir().join(format!("certgen-fuzz-inspect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("scratch file");
        path
    };
    Scratch {
        input: dir.join("input"),
        ca: write("ca.pem", include_bytes!("../seeds/inspect/ca.pem")),
        leaf: write("leaf.cer", include_bytes!("../seeds/inspect/leaf.cer")),
    }
});

fn exercise(input: &Path, ca: &Path, leaf: &Path) {
    let _ = inspect::load_objects(input);
    let _ = inspect::describe_file(input);
    let _ = inspect::lint_file(input, None, None);
    let _ = inspect::lint_file(input, Some(ca), None);
    let _ = inspect::lint_file(leaf, Some(input), None);
    let _ = inspect::verify_files(ca, input, Some("localhost"), Usage::Server);
    let _ = inspect::verify_files(input, leaf, Some("localhost"), Usage::Client);
}

/// One fuzz input: `bytes` as the contents of the file every entry point reads. Not reentrant (one scratch file).
pub fn body(bytes: &[u8]) {
    let scratch = &*SCRATCH;
    if std::fs::write(&scratch.input, bytes).is_ok() {
        exercise(&scratch.input, &scratch.ca, &scratch.leaf);
    }
}

//! Every code block in `docs/clients.md` runs against the `wsecho` binary, so the documentation cannot drift:
//! the Python and Node blocks run as written with the URL and CA path pointed at a test server; the Rust block
//! must be byte-for-byte `examples/rust-client/src/main.rs`, which runs too. (The browser block runs in Chromium
//! in `browser.rs`.)

mod support;

use std::process::Command;
use std::time::Duration;
use support::{ServeProcess, TestCerts, run, skip_or_fail};

/// Cold `cargo run` of the Rust example may compile it first.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(300);
/// What the blocks say, replaced by the test server's values.
const DOC_URL: &str = "wss://localhost:8443/";
const DOC_CA: &str = "certs/ca.pem";

/// The fenced blocks of `lang` in docs/clients.md, in order.
fn blocks(lang: &str) -> Vec<String> {
    let doc = std::fs::read_to_string(support::repo_root().join("docs/clients.md")).expect("docs/clients.md");
    let fence = format!("```{lang}\n");
    doc.split(&fence)
        .skip(1)
        .map(|rest| rest.split("```\n").next().unwrap_or_default().to_string())
        .collect()
}

/// The one block of `lang` containing `marker`, pointed at `url` and the test CA.
fn block(lang: &str, marker: &str, url: &str, certs: &TestCerts) -> String {
    let mut found: Vec<String> = blocks(lang).into_iter().filter(|b| b.contains(marker)).collect();
    assert_eq!(
        found.len(),
        1,
        "docs/clients.md must have exactly one ```{lang} block with {marker:?}"
    );
    let code = found.remove(0);
    assert!(
        code.contains(DOC_URL) && code.contains(DOC_CA),
        "the {lang} block names {DOC_URL} and {DOC_CA}"
    );
    code.replace(DOC_URL, url)
        .replace(DOC_CA, &certs.ca_pem.display().to_string())
}

fn wss_url(server: &ServeProcess) -> String {
    format!("wss://localhost:{}/", server.wss_port.expect("wss listener"))
}

fn assert_echoed(cmd: &mut Command) {
    let finished = run(cmd, CLIENT_TIMEOUT);
    assert!(finished.status.success(), "{cmd:?}: {}", finished.output());
    assert_eq!(finished.stdout.trim(), "hello", "{cmd:?}: {}", finished.output());
}

#[test]
fn python_block_echoes() {
    let Some(python) = support::python_websockets("docs python block") else {
        return;
    };
    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss(&certs);
    let script = certs.dir.path().join("client.py");
    std::fs::write(&script, block("python", "websockets", &wss_url(&server), &certs)).expect("write script");
    assert_echoed(Command::new(python).arg(&script));
}

/// The Python block as written (only the URL pointed at the test server) finds `certs/ca.pem` beside itself from
/// any working directory, takes `$LOCALTLS_CA` over it, and without either says where it looked and what to run.
#[test]
fn python_block_finds_its_ca_from_any_folder_and_names_a_missing_one() {
    let Some(python) = support::python_websockets("docs python block, CA lookup") else {
        return;
    };
    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss(&certs);
    let code = block("python", "websockets", &wss_url(&server), &certs);
    let code = code.replace(&certs.ca_pem.display().to_string(), DOC_CA);
    let beside = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(beside.path().join("certs")).expect("certs folder");
    std::fs::copy(&certs.ca_pem, beside.path().join(DOC_CA)).expect("copy the CA");
    let script = beside.path().join("client.py");
    std::fs::write(&script, &code).expect("write script");
    assert_echoed(Command::new(&python).arg(&script).current_dir("/"));

    let alone = tempfile::tempdir().expect("temp dir");
    let script = alone.path().join("client.py");
    std::fs::write(&script, &code).expect("write script");
    assert_echoed(
        Command::new(&python)
            .arg(&script)
            .current_dir("/")
            .env("LOCALTLS_CA", &certs.ca_pem),
    );
    let missing = run(
        Command::new(&python)
            .arg(&script)
            .current_dir("/")
            .env_remove("LOCALTLS_CA"),
        CLIENT_TIMEOUT,
    );
    assert_eq!(missing.status.code(), Some(1), "{}", missing.output());
    let expected = format!(
        "no CA certificate at {}: run `cargo xtask certs`",
        alone.path().join(DOC_CA).display()
    );
    assert!(missing.stderr.contains(&expected), "{}", missing.output());
    assert!(!missing.stderr.contains("Traceback"), "{}", missing.output());
}

#[test]
fn node_block_echoes() {
    if !Command::new("node")
        .args(["-e", "require('ws')"])
        .status()
        .is_ok_and(|s| s.success())
    {
        skip_or_fail(
            "docs node block",
            "Node with the `ws` package is not available (NODE_PATH; `cargo xtask test`)",
        );
        return;
    }
    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss(&certs);
    let script = certs.dir.path().join("client.js");
    std::fs::write(&script, block("js", "require(\"ws\")", &wss_url(&server), &certs)).expect("write script");
    assert_echoed(Command::new("node").arg(&script));
}

#[test]
fn rust_block_is_the_example_and_echoes() {
    let example = support::repo_root().join("examples/rust-client/src/main.rs");
    let source = std::fs::read_to_string(&example).expect("examples/rust-client/src/main.rs");
    let rust = blocks("rust");
    assert_eq!(rust.len(), 1, "docs/clients.md has one ```rust block");
    assert_eq!(
        rust[0],
        source,
        "docs/clients.md's Rust block differs from {}",
        example.display()
    );

    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss(&certs);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = support::repo_root().join("Cargo.toml");
    assert_echoed(
        Command::new(cargo)
            .args(["run", "--quiet", "--package", "rust-client", "--manifest-path"])
            .arg(manifest)
            .arg("--")
            .arg(wss_url(&server))
            .arg(&certs.ca_pem),
    );
}

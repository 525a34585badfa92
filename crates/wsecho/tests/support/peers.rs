//! Real peers (Python, Node, browsers, system tools) and the skip-or-fail rule for a missing one: a skip line
//! normally, a failure under `LOCALTLS_REQUIRE_PEERS=1`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// True when CI demands every real peer (`LOCALTLS_REQUIRE_PEERS=1`): a missing tool is then a failure.
pub fn peers_required() -> bool {
    std::env::var("LOCALTLS_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// Reports a missing external tool: panics under `LOCALTLS_REQUIRE_PEERS=1`, otherwise prints a skip line.
/// The caller returns from the test after this.
pub fn skip_or_fail(test: &str, why: &str) {
    if peers_required() {
        panic!("{test}: {why} (LOCALTLS_REQUIRE_PEERS=1, so this is a failure; run `cargo xtask test`)");
    }
    eprintln!("SKIP {test}: {why} (set LOCALTLS_REQUIRE_PEERS=1 to make this a failure)");
}

/// Whether `program` can be started at all (with a harmless argument such as `version`); its exit status does
/// not matter, since some tools (certutil) exit non-zero on their help text.
pub fn installed(program: &str, harmless_arg: &str) -> bool {
    Command::new(program)
        .arg(harmless_arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// The Python with the test peers installed: `LOCALTLS_PYTHON`, else the repo's venv, else `python3`.
pub fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("LOCALTLS_PYTHON") {
        return python.into();
    }
    let venv = repo_root().join(".ci-cache/venv/bin/python");
    if venv.exists() { venv } else { "python3".into() }
}

/// The Python that can `import websockets`, or `None` after [`skip_or_fail`] said why not.
pub fn python_websockets(test: &str) -> Option<PathBuf> {
    let python = python();
    let probe = Command::new(&python).args(["-c", "import websockets"]).status();
    if probe.is_ok_and(|s| s.success()) {
        return Some(python);
    }
    skip_or_fail(
        test,
        &format!(
            "{} cannot import websockets (run `cargo xtask test`)",
            python.display()
        ),
    );
    None
}

/// A maker of `node` commands that can `require('ws')` (`NODE_PATH`, else the repo's `.ci-cache`), or `None` after
/// [`skip_or_fail`] said why not.
pub fn node_with_ws(test: &str) -> Option<impl Fn() -> Command> {
    let node_modules = std::env::var_os("NODE_PATH")
        .unwrap_or_else(|| repo_root().join(".ci-cache/node/node_modules").into());
    let node = move || {
        let mut cmd = Command::new("node");
        cmd.env("NODE_PATH", &node_modules);
        cmd
    };
    let probe = node().args(["-e", "require('ws')"]).status();
    if probe.is_ok_and(|s| s.success()) {
        return Some(node);
    }
    skip_or_fail(test, "`node` with the `ws` package on NODE_PATH is not available");
    None
}

/// The workspace root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether to go on with `test`, which changes the system trust store: true inside its private copy of the store
/// ([`super::private_store`]); false once it passed there, or after [`skip_or_fail`] said why there is none.
pub fn in_private_system_store(test: &str) -> bool {
    match super::private_store::run_privately(test) {
        Ok(inside) => inside,
        Err(no) => {
            skip_or_fail(test, &format!("{}; {}", no.why, no.fix));
            false
        }
    }
}

/// `tests/peers/echo_server.py ARGS` (Python `websockets`) on a free loopback port: the process, killed when
/// dropped, and the `ws://127.0.0.1:PORT` URL it announced.
pub fn python_echo_server(python: &Path, args: &[&str]) -> (super::KillOnDrop, String) {
    let mut child = Command::new(python)
        .arg(repo_root().join("tests/peers/echo_server.py"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // It logs a traceback for every client that leaves without a close frame.
        .stderr(Stdio::null())
        .spawn()
        .expect("start the Python echo server");
    let stdout = child.stdout.take().expect("piped stdout");
    let server = super::KillOnDrop(child);
    let line = testkit::lines(stdout, None)
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the Python echo server printed its listening line");
    let url = line
        .strip_prefix("listening ")
        .expect("listening line")
        .to_string();
    (server, url)
}

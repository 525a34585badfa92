//! Shared by the real-peer, browser and Autobahn tests: test certificates, the `wsecho` binary as a child process,
//! external tools with bounded run times, and the skip-or-fail rule for missing peers.
//!
//! Every child process lives in a [`KillOnDrop`], so a failing assertion never leaves a server or browser behind.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How long the server may take to print its listening lines.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// A child process that is killed (and reaped) when dropped.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// True when CI demands every real peer (`LOCALTLS_REQUIRE_PEERS=1`): a missing tool is then a failure.
fn peers_required() -> bool {
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

/// The workspace root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh CA and a `localhost 127.0.0.1 ::1` server certificate from certgen, in a temporary directory.
pub struct TestCerts {
    pub dir: tempfile::TempDir,
    pub ca_pem: PathBuf,
    pub ca_cer: PathBuf,
    /// The server certificate alone (no chain).
    pub leaf_pem: PathBuf,
    pub fullchain: PathBuf,
    pub key: PathBuf,
}

impl TestCerts {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let certs = certgen::CertsDir::new(dir.path());
        let ca = certs
            .create_ca(&certgen::CaOptions::default())
            .expect("test CA")
            .files;
        let names = certgen::SubjectName::parse_all(["localhost", "127.0.0.1", "::1"]).expect("names");
        let leaf = certs
            .issue(&names, &certgen::LeafOptions::default())
            .expect("localhost certificate")
            .files;
        TestCerts {
            ca_pem: ca.cert_pem,
            ca_cer: ca.cert_der,
            leaf_pem: leaf.cert_pem,
            fullchain: leaf.fullchain_pem,
            key: leaf.key_pem,
            dir,
        }
    }
}

/// A running `wsecho serve` on loopback with OS-chosen ports.
pub struct Server {
    pub ws_port: u16,
    pub wss_port: Option<u16>,
    _process: KillOnDrop,
}

impl Server {
    /// Plain ws only, with extra `serve` flags (limits).
    pub fn ws(extra: &[&str]) -> Self {
        let mut args: Vec<OsString> = ["serve", "--ws", "127.0.0.1:0"].map(OsString::from).into();
        args.extend(extra.iter().map(OsString::from));
        Self::spawn(&args, false)
    }

    /// ws and wss with the test certificate; `/ca.cer` serves the test CA.
    pub fn ws_and_wss(certs: &TestCerts) -> Self {
        let mut args: Vec<OsString> = ["serve", "--ws", "127.0.0.1:0", "--wss", "127.0.0.1:0"]
            .map(OsString::from)
            .into();
        for (flag, path) in [
            ("--cert", &certs.fullchain),
            ("--key", &certs.key),
            ("--ca", &certs.ca_cer),
        ] {
            args.push(flag.into());
            args.push(path.into());
        }
        Self::spawn(&args, true)
    }

    /// Starts the binary and waits (bounded) for its `listening ws://…` / `listening wss://…` lines.
    fn spawn(args: &[OsString], with_wss: bool) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wsecho"))
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the wsecho binary");
        let stdout = child.stdout.take().expect("piped stdout");
        let process = KillOnDrop(child);
        let (lines, received) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let (mut ws_port, mut wss_port) = (None, None);
        let mut seen = Vec::new();
        while ws_port.is_none() || (with_wss && wss_port.is_none()) {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = received.recv_timeout(left) else {
                panic!(
                    "wsecho printed no listening lines within {STARTUP_TIMEOUT:?}; stdout so far: {seen:?}"
                );
            };
            // e.g. "listening wss://127.0.0.1:41234 page https://localhost:41234/"
            let url = line
                .strip_prefix("listening ")
                .and_then(|rest| rest.split_whitespace().next());
            if let Some(url) = url {
                let port = url_port(url).unwrap_or_else(|| panic!("no port in {line:?}"));
                if url.starts_with("wss://") {
                    wss_port = Some(port);
                } else if url.starts_with("ws://") {
                    ws_port = Some(port);
                }
            }
            seen.push(line);
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        thread::spawn(move || while received.recv().is_ok() {});
        Server {
            ws_port: ws_port.expect("ws port"),
            wss_port,
            _process: process,
        }
    }
}

/// The port of `scheme://host:port/...`.
fn url_port(url: &str) -> Option<u16> {
    let authority = url.split("://").nth(1)?.split('/').next()?;
    authority.rsplit_once(':')?.1.parse().ok()
}

/// What a finished external command printed.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// Both streams, for assertion messages and pattern checks.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs a command to completion with stdin closed, killing it and panicking if it outlives `timeout`.
pub fn run(cmd: &mut Command, timeout: Duration) -> Finished {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    let stdout = collect(child.stdout.take());
    let stderr = collect(child.stderr.take());
    let mut child = KillOnDrop(child);
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("wait for child") {
            break status;
        }
        if Instant::now() > deadline {
            drop(child);
            panic!(
                "{shown} did not finish within {timeout:?}; stdout: {}; stderr: {}",
                stdout.join().unwrap_or_default(),
                stderr.join().unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    Finished {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

fn collect(stream: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut stream) = stream {
            let mut bytes = Vec::new();
            let _ = stream.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    })
}

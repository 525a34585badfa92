//! `wsecho serve` as a child process on loopback with OS-chosen ports: started from the built binary, its banner
//! read (bounded), killed when dropped.

use std::ffi::OsString;
use std::fs::File;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::certs::TestCerts;
use super::process::{KillOnDrop, WSECHO};

/// How long the server may take to print its banner.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `wsecho serve`.
pub struct ServeProcess {
    process: KillOnDrop,
    /// The whole banner, up to the `stop with Ctrl-C` line.
    pub banner: Vec<String>,
    /// The `listening` lines' URLs in banner order.
    pub urls: Vec<String>,
    /// The port of the first ws listener.
    pub ws_port: u16,
    /// The port of the first wss listener, if any.
    pub wss_port: Option<u16>,
}

/// `--ws LISTEN --wss LISTEN --cert chain --key key --ca ca_cer`.
fn tls_args(listen: &str, chain: &Path, key: &Path, ca_cer: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["--ws", listen, "--wss", listen].map(OsString::from).into();
    for (flag, path) in [("--cert", chain), ("--key", key), ("--ca", ca_cer)] {
        args.push(flag.into());
        args.push(path.into());
    }
    args
}

impl ServeProcess {
    /// Plain ws only, with extra `serve` flags (limits).
    pub fn ws(extra: &[&str]) -> ServeProcess {
        let mut args: Vec<OsString> = ["--ws", "127.0.0.1:0"].map(OsString::from).into();
        args.extend(extra.iter().map(OsString::from));
        ServeProcess::start(&args)
    }

    /// ws and wss with the test certificate; `/ca.cer` serves the test CA.
    pub fn ws_and_wss(certs: &TestCerts) -> ServeProcess {
        ServeProcess::ws_and_wss_with(&certs.server_chain, &certs.server_key, &certs.ca_cer)
    }

    /// ws and wss serving the certificate chain `chain` with `key`; `/ca.cer` serves `ca_cer`.
    pub fn ws_and_wss_with(chain: &Path, key: &Path, ca_cer: &Path) -> ServeProcess {
        ServeProcess::start(&tls_args("127.0.0.1:0", chain, key, ca_cer))
    }

    /// ws and wss on every interface (`0.0.0.0`, so a phone on the LAN could connect) with the test certificate
    /// and CA, plus `extra` flags. The tests themselves connect over loopback only.
    pub fn ws_and_wss_everywhere(certs: &TestCerts, extra: &[&str]) -> ServeProcess {
        let mut args = tls_args("0.0.0.0:0", &certs.server_chain, &certs.server_key, &certs.ca_cer);
        args.extend(extra.iter().map(OsString::from));
        ServeProcess::start(&args)
    }

    /// What the banner tells other devices to open: the URL of `other devices: scan to ..., or open URL` (the
    /// one in the QR code), then that of `other devices, then: URL` when there is one.
    pub fn device_urls(&self) -> Vec<String> {
        let start = self
            .banner
            .iter()
            .filter_map(|line| line.strip_prefix("other devices: scan to "))
            .filter_map(|rest| rest.split(", or open ").nth(1));
        let then = self
            .banner
            .iter()
            .filter_map(|line| line.strip_prefix("other devices, then: "));
        start.chain(then).map(str::to_owned).collect()
    }

    /// `wsecho serve ARGS`, logging warnings and errors to the test's stderr.
    pub fn start(args: &[impl AsRef<std::ffi::OsStr>]) -> ServeProcess {
        ServeProcess::spawn(args, Stdio::inherit(), "warn")
    }

    /// `wsecho serve ARGS`, logging everything from `info` up into the file `log`.
    pub fn start_logging_to(args: &[impl AsRef<std::ffi::OsStr>], log: &Path) -> ServeProcess {
        let file = File::create(log).expect("server log file");
        ServeProcess::spawn(args, Stdio::from(file), "info")
    }

    fn spawn(args: &[impl AsRef<std::ffi::OsStr>], stderr: Stdio, rust_log: &str) -> ServeProcess {
        let mut child = Command::new(WSECHO)
            .arg("serve")
            .args(args)
            .env("RUST_LOG", rust_log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start the wsecho binary");
        let stdout = child.stdout.take().expect("piped stdout");
        let process = KillOnDrop(child);
        // Keeps draining stdout after the banner so the server never blocks on a full pipe.
        let received = testkit::lines(stdout, None);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut banner = Vec::new();
        while !banner
            .last()
            .is_some_and(|line: &String| line.starts_with("stop with"))
        {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = received.recv_timeout(left) else {
                panic!(
                    "wsecho serve printed no whole banner within {STARTUP_TIMEOUT:?}; stdout so far: {banner:?}"
                );
            };
            banner.push(line);
        }
        // e.g. "listening wss://localhost:41234 page https://localhost:41234/"
        let urls: Vec<String> = banner
            .iter()
            .filter_map(|line| line.strip_prefix("listening "))
            .filter_map(|rest| rest.split_whitespace().next())
            .map(str::to_string)
            .collect();
        let port = |scheme: &str| {
            let prefix = format!("{scheme}://");
            let url = urls.iter().find(|url| url.starts_with(&prefix))?;
            Some(url_port(url).unwrap_or_else(|| panic!("no port in {url:?}")))
        };
        ServeProcess {
            ws_port: port("ws").unwrap_or_else(|| panic!("no ws listener in {banner:?}")),
            wss_port: port("wss"),
            process,
            urls,
            banner,
        }
    }

    /// The first URL with this scheme (`ws` or `wss`).
    pub fn url(&self, scheme: &str) -> String {
        let prefix = format!("{scheme}://");
        self.urls
            .iter()
            .find(|url| url.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {scheme} listener in {:?}", self.banner))
            .clone()
    }

    pub fn pid(&self) -> u32 {
        self.process.0.id()
    }

    pub fn still_running(&mut self) -> bool {
        matches!(self.process.0.try_wait(), Ok(None))
    }

    /// Waits for the server to exit, at most `timeout`.
    pub fn wait_within(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.process.0.try_wait().expect("wait for wsecho serve") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "wsecho serve did not exit within {timeout:?}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The `serve` arguments for ws and wss on free ports serving `chain` with `key`, and `ca_cer` at `/ca.cer`;
/// append more flags to them.
pub fn ws_and_wss_args(chain: &Path, key: &Path, ca_cer: &Path) -> Vec<OsString> {
    tls_args("127.0.0.1:0", chain, key, ca_cer)
}

/// The port of `scheme://host:port/...`.
fn url_port(url: &str) -> Option<u16> {
    let authority = url.split("://").nth(1)?.split('/').next()?;
    authority.rsplit_once(':')?.1.parse().ok()
}

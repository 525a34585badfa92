//! The `wsecho serve` process under attack: spawned from the built binary (so its memory can be read from
//! /proc), with the harness's test certificates, small limits, and its log kept in a file for failure reports.
//! (The harness's own `Server` hides the process id and takes no limits on wss, hence this spawner.)

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::harness::{KillOnDrop, TestCerts};
use super::wire::{IO_WAIT, Listener};

/// The limits the suite runs the server with; the cases are built around them.
pub const MAX_MESSAGE: usize = 64 * 1024;
pub const MAX_CONNECTIONS: usize = 50;
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(4);

/// A running `wsecho serve`; killed when dropped.
pub struct Server {
    process: KillOnDrop,
    pub ws: Listener,
    pub wss: Listener,
    log: PathBuf,
    _certs: TestCerts,
}

impl Server {
    pub fn start() -> Server {
        let certs = TestCerts::new();
        let log = certs.dir.path().join("server.log");
        let log_file = std::fs::File::create(&log).expect("server log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_wsecho"))
            .arg("serve")
            .args(["--ws", "127.0.0.1:0", "--wss", "127.0.0.1:0"])
            .arg("--cert")
            .arg(&certs.fullchain)
            .arg("--key")
            .arg(&certs.key)
            .args(["--max-message-size", &MAX_MESSAGE.to_string()])
            .args(["--max-frame-size", &MAX_MESSAGE.to_string()])
            .args(["--max-connections", &MAX_CONNECTIONS.to_string()])
            .args(["--handshake-timeout", &HANDSHAKE_TIMEOUT.as_secs().to_string()])
            .args(["--idle-timeout", &IDLE_TIMEOUT.as_secs().to_string()])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .expect("spawn wsecho serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let process = KillOnDrop(child);

        // The banner names every listener's URL on stdout; keep draining stdout afterwards so the server never
        // blocks on a full pipe.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let (mut ws, mut wss) = (None, None);
        while ws.is_none() || wss.is_none() {
            let line = match rx.recv_timeout(Duration::from_secs(10)) {
                Ok(line) => line,
                Err(_) => {
                    panic!(
                        "wsecho serve printed no ws:// and wss:// URLs within 10 s; log:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
            };
            for word in line.split_whitespace() {
                if let Some(port) = port_of(word, "ws://") {
                    ws.get_or_insert(port);
                } else if let Some(port) = port_of(word, "wss://") {
                    wss.get_or_insert(port);
                }
            }
        }
        let addr = |port: Option<u16>| SocketAddr::from(([127, 0, 0, 1], port.unwrap_or_default()));
        Server {
            ws: Listener {
                addr: addr(ws),
                tls: None,
            },
            wss: Listener {
                addr: addr(wss),
                tls: Some(client_config(&certs.ca_pem)),
            },
            process,
            log,
            _certs: certs,
        }
    }

    pub fn listeners(&self) -> [&Listener; 2] {
        [&self.ws, &self.wss]
    }

    /// The server's resident memory in KiB (VmRSS of /proc/PID/status).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.0.id()))
            .expect("server process status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS line in /proc/PID/status")
    }

    /// Open WebSocket connections as `/stats` reports them.
    pub async fn open_connections(&self) -> Result<u64, String> {
        let mut tcp = self.ws.connect_tcp().await?;
        let request = b"GET /stats HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        let mut body = Vec::new();
        tokio::time::timeout(IO_WAIT, async {
            tcp.write_all(request).await?;
            tcp.read_to_end(&mut body).await
        })
        .await
        .map_err(|_| "GET /stats timed out".to_string())?
        .map_err(|e| format!("GET /stats: {e}"))?;
        let json_start = body
            .iter()
            .position(|&b| b == b'{')
            .ok_or("GET /stats returned no JSON")?;
        let stats: serde_json::Value =
            serde_json::from_slice(&body[json_start..]).map_err(|e| format!("GET /stats JSON: {e}"))?;
        stats["open_connections"]
            .as_u64()
            .ok_or_else(|| format!("no open_connections in /stats: {stats}"))
    }

    /// Polls `/stats` until no WebSocket connection is open.
    pub async fn wait_no_connections(&self, within: Duration) -> Result<Duration, String> {
        let start = tokio::time::Instant::now();
        loop {
            let open = self.open_connections().await?;
            if open == 0 {
                return Ok(start.elapsed());
            }
            if start.elapsed() > within {
                return Err(format!(
                    "{open} connections still open {within:?} after the clients left"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines of the server's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    pub fn still_running(&mut self) -> bool {
        matches!(self.process.0.try_wait(), Ok(None))
    }
}

/// The port of `ws://127.0.0.1:PORT`-like words (with or without a path or trailing punctuation).
fn port_of(word: &str, scheme: &str) -> Option<u16> {
    let rest = word
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .strip_prefix(scheme)?;
    let authority = rest.split('/').next()?;
    let port = authority.rsplit(':').next()?;
    port.trim_end_matches(|c: char| !c.is_ascii_digit()).parse().ok()
}

fn client_config(ca_pem: &std::path::Path) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_pem).expect("read ca.pem") {
        roots.add(cert.expect("CA certificate")).expect("add CA root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

//! The `wsecho serve` process under attack: a [`ServeProcess`] (so its memory can be read from /proc) with the
//! test certificates, small limits, and its log kept in a file for failure reports.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

use super::support::{IO_WAIT, Io, upgrade};
use super::support::{ServeProcess, TestCerts, client_tls};

/// The limits the suite runs the server with; the cases are built around them.
pub const MAX_MESSAGE: usize = 64 * 1024;
pub const MAX_CONNECTIONS: usize = 50;
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(4);

/// A running `wsecho serve`; killed when dropped.
pub struct Server {
    process: ServeProcess,
    pub ws: Listener,
    pub wss: Listener,
    log: PathBuf,
    _certs: TestCerts,
}

impl Server {
    pub fn start() -> Server {
        let certs = TestCerts::new();
        let log = certs.dir.path().join("server.log");
        let (max_message, max_connections) = (MAX_MESSAGE.to_string(), MAX_CONNECTIONS.to_string());
        let (handshake, idle) = (
            HANDSHAKE_TIMEOUT.as_secs().to_string(),
            IDLE_TIMEOUT.as_secs().to_string(),
        );
        let mut args: Vec<OsString> = ["--ws", "127.0.0.1:0", "--wss", "127.0.0.1:0", "--cert"]
            .map(OsString::from)
            .into();
        args.push(certs.server_chain.clone().into());
        args.push("--key".into());
        args.push(certs.server_key.clone().into());
        for (flag, value) in [
            ("--max-message-size", &max_message),
            ("--max-frame-size", &max_message),
            ("--max-connections", &max_connections),
            ("--handshake-timeout", &handshake),
            ("--idle-timeout", &idle),
        ] {
            args.push(flag.into());
            args.push(value.into());
        }
        let process = ServeProcess::start_logging_to(&args, &log);
        let addr = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
        Server {
            ws: Listener {
                addr: addr(process.ws_port),
                tls: None,
            },
            wss: Listener {
                addr: addr(process.wss_port.expect("wss listener")),
                tls: Some(client_tls(&certs.ca_pem, None)),
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
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.pid()))
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
        self.process.still_running()
    }
}

/// One of the server's listeners.
#[derive(Clone)]
pub struct Listener {
    pub addr: SocketAddr,
    /// `Some` for the wss listener: the client config that trusts the test CA.
    pub tls: Option<Arc<ClientConfig>>,
}

impl Listener {
    pub fn name(&self) -> &'static str {
        if self.tls.is_some() { "wss" } else { "ws" }
    }

    /// A TCP connection, with TLS completed on the wss listener.
    pub async fn connect(&self) -> Result<Io, String> {
        self.wrap(self.connect_tcp().await?).await
    }

    /// A bare TCP connection, even on the wss listener.
    pub async fn connect_tcp(&self) -> Result<TcpStream, String> {
        let tcp = timeout(IO_WAIT, TcpStream::connect(self.addr))
            .await
            .map_err(|_| format!("connect to {} timed out", self.addr))?
            .map_err(|e| format!("connect to {}: {e}", self.addr))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(tcp)
    }

    /// Completes TLS over `tcp` on the wss listener; passes it through on the ws listener.
    pub async fn wrap(&self, tcp: TcpStream) -> Result<Io, String> {
        let Some(config) = &self.tls else {
            return Ok(Box::new(tcp));
        };
        let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        let tls = timeout(IO_WAIT, TlsConnector::from(config.clone()).connect(name, tcp))
            .await
            .map_err(|_| "TLS handshake timed out".to_string())?
            .map_err(|e| format!("TLS handshake failed: {e}"))?;
        Ok(Box::new(tls))
    }

    /// A connection that completed a valid WebSocket upgrade (101).
    pub async fn upgraded(&self) -> Result<Io, String> {
        upgrade(self.connect().await?).await
    }
}

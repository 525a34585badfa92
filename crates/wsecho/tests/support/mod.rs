//! Shared by the in-process server and client tests: test certificates, the server on free ports, and an
//! independent client (tokio-rustls + tokio-tungstenite, not wsecho's own client code).
#![allow(dead_code)] // each test binary uses a different part of this module

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::{Request, Response};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use wsecho::server::{Config, RunningServer, TlsFiles};

/// Bound on every single wait in the tests.
pub const WAIT: Duration = Duration::from_secs(10);

/// Awaits `future` for at most [`WAIT`]; a hang is a test failure, not a stuck test run.
pub async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(WAIT, future)
        .await
        .expect("timed out waiting (bounded test wait)")
}

/// A CA with a server certificate (localhost, 127.0.0.1, ::1) and a client certificate, in a temporary dir.
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub certs: certgen::CertsDir,
    pub ca_pem: PathBuf,
    pub ca_cer: PathBuf,
    pub server_chain: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().expect("temp dir");
        let certs = certgen::CertsDir::new(dir.path());
        let ca = certs
            .create_ca(&certgen::CaOptions::default())
            .expect("create CA")
            .files;
        let server = issue_server(&certs, false);
        let client_options = certgen::LeafOptions {
            kind: certgen::LeafKind::Client,
            ..Default::default()
        };
        let client = certs
            .issue(
                &certgen::SubjectName::parse_all(["alice"]).expect("name"),
                &client_options,
            )
            .expect("issue client cert")
            .files;
        Pki {
            certs,
            ca_pem: ca.cert_pem,
            ca_cer: ca.cert_der,
            server_chain: server.fullchain_pem,
            server_key: server.key_pem,
            client_cert: client.fullchain_pem,
            client_key: client.key_pem,
            dir,
        }
    }

    /// Issues a new server certificate over the old files (as a renewal would) and returns its serial.
    pub fn reissue_server(&self) -> String {
        issue_server(&self.certs, true);
        leaf_serial(&self.server_chain)
    }
}

fn issue_server(certs: &certgen::CertsDir, force: bool) -> certgen::LeafFiles {
    let names = certgen::SubjectName::parse_all(["localhost", "127.0.0.1", "::1"]).expect("names");
    let options = certgen::LeafOptions {
        force,
        ..Default::default()
    };
    certs.issue(&names, &options).expect("issue server cert").files
}

/// Serial number (hex, as x509-parser prints it) of the first certificate in a PEM file.
pub fn leaf_serial(pem: &Path) -> String {
    let der = CertificateDer::from_pem_file(pem).expect("read PEM certificate");
    serial_of(&der)
}

pub fn serial_of(der: &CertificateDer<'_>) -> String {
    let (_, cert) = x509_parser::parse_x509_certificate(der).expect("parse certificate");
    cert.raw_serial_as_string()
}

/// Server settings: ws and (with a PKI) wss on free loopback ports.
pub fn config(pki: Option<&Pki>) -> Config {
    let any_port = "127.0.0.1:0".parse().expect("address");
    Config {
        ws: vec![any_port],
        wss: pki.map(|_| vec![any_port]).unwrap_or_default(),
        tls: pki.map(|pki| TlsFiles {
            cert: pki.server_chain.clone(),
            key: pki.server_key.clone(),
        }),
        ..Config::default()
    }
}

pub async fn start(config: Config) -> RunningServer {
    within(wsecho::server::start(config))
        .await
        .expect("server starts")
}

/// The URL of the server's first ws (`tls = false`) or wss listener.
pub fn url(server: &RunningServer, tls: bool) -> String {
    server.listener(tls).expect("listener of that kind").url.clone()
}

/// Client TLS trusting only `ca`, optionally presenting a client certificate.
pub fn client_tls(ca: &Path, identity: Option<(&Path, &Path)>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("read CA") {
        roots.add(cert.expect("CA PEM")).expect("add CA");
    }
    let builder = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots);
    let config = match identity {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .expect("read client cert")
                .collect::<Result<Vec<_>, _>>()
                .expect("client cert PEM");
            let key = PrivateKeyDer::from_pem_file(key).expect("read client key");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client identity")
        }
        None => builder.with_no_client_auth(),
    };
    Arc::new(config)
}

pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

pub type Ws = WebSocketStream<Box<dyn Io>>;

/// Opens a TCP (and, with `tls`, TLS) stream to the host and port of `url`.
pub async fn open_stream(url: &str, tls: Option<Arc<ClientConfig>>) -> std::io::Result<Box<dyn Io>> {
    let uri: tokio_tungstenite::tungstenite::http::Uri = url.parse().expect("URL");
    let host = uri
        .host()
        .expect("host")
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().expect("port");
    let tcp = TcpStream::connect((host.as_str(), port)).await?;
    match tls {
        None => Ok(Box::new(tcp)),
        Some(config) => {
            let name = ServerName::try_from(host).expect("server name");
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await?;
            Ok(Box::new(tls))
        }
    }
}

/// A WebSocket handshake with a prepared request (for extra headers); the error shows a refusal's HTTP status.
pub async fn connect_request(
    request: Request,
    tls: Option<Arc<ClientConfig>>,
) -> Result<(Ws, Response), WsError> {
    let url = request.uri().to_string();
    let stream = open_stream(&url, tls).await?;
    tokio_tungstenite::client_async(request, stream).await
}

/// The HTTP status with which the server refuses a WebSocket handshake; panics if it is accepted.
pub async fn refusal_status(request: Request, tls: Option<Arc<ClientConfig>>) -> u16 {
    match within(connect_request(request, tls)).await {
        Err(WsError::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
        Ok(_) => panic!("expected an HTTP refusal, the handshake succeeded"),
    }
}

/// Connects to `url`; wss trusts the PKI's CA only.
pub async fn connect(url: &str, pki: Option<&Pki>) -> Ws {
    let tls = url
        .starts_with("wss:")
        .then(|| client_tls(&pki.expect("wss needs a PKI").ca_pem, None));
    let request = url.into_client_request().expect("request");
    within(connect_request(request, tls))
        .await
        .expect("WebSocket connects")
        .0
}

/// The next message that is not a ping or pong.
pub async fn next_message(ws: &mut Ws) -> Message {
    loop {
        match within(futures_util::StreamExt::next(ws)).await {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(message)) => return message,
            Some(Err(e)) => panic!("read failed: {e}"),
            None => panic!("connection ended without a close frame"),
        }
    }
}

/// An HTTP response as the tests see it.
pub struct HttpResponse {
    pub status: u16,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The HTTP status, headers (lower-case names) and body of `GET path` on a ws/wss listener.
pub async fn http_get(base_url: &str, path: &str, pki: Option<&Pki>) -> HttpResponse {
    let host = base_url.split("://").nth(1).expect("host");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n");
    http_exchange(base_url, &request, pki).await
}

/// Sends a raw request and returns status, headers and body (read up to its Content-Length; a 101 has none).
pub async fn http_exchange(base_url: &str, request: &str, pki: Option<&Pki>) -> HttpResponse {
    let tls = base_url
        .starts_with("wss:")
        .then(|| client_tls(&pki.expect("PKI").ca_pem, None));
    let mut stream = within(open_stream(base_url, tls)).await.expect("connect");
    within(stream.write_all(request.as_bytes()))
        .await
        .expect("send request");
    let mut raw = Vec::new();
    loop {
        if let Some(response) = complete_response(&raw) {
            return response;
        }
        let mut chunk = [0u8; 4096];
        let read = within(stream.read(&mut chunk)).await.expect("read response");
        assert!(
            read > 0,
            "connection closed mid-response: {:?}",
            String::from_utf8_lossy(&raw)
        );
        raw.extend_from_slice(&chunk[..read]);
    }
}

/// Status, headers (lower-case names) and body once `raw` holds a whole response.
fn complete_response(raw: &[u8]) -> Option<HttpResponse> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let length = header(&headers, "content-length").map_or(0, |v| v.parse().expect("content-length"));
    let body = &raw[split + 4..];
    (body.len() >= length).then(|| HttpResponse {
        status,
        body: body[..length].to_vec(),
        headers,
    })
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// The `wsecho` binary built for these tests.
pub const WSECHO: &str = env!("CARGO_BIN_EXE_wsecho");

/// Exit code, stdout and stderr of a finished `wsecho` run.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `wsecho ARGS` with `stdin` as its input, bounded by [`WAIT`] (killed if it hangs).
pub async fn run_wsecho(args: &[&str], stdin: &str) -> Run {
    use std::process::Stdio;
    let mut child = tokio::process::Command::new(WSECHO)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn wsecho");
    let mut input = child.stdin.take().expect("stdin");
    within(input.write_all(stdin.as_bytes()))
        .await
        .expect("write stdin");
    drop(input);
    let output = within(child.wait_with_output()).await.expect("wsecho runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `wsecho serve ARGS` as a child process, killed when dropped.
pub struct ServeProcess {
    pub child: tokio::process::Child,
    /// The `listening` lines' URLs in banner order.
    pub urls: Vec<String>,
    /// The whole banner, up to the `stop with Ctrl-C` line.
    pub banner: Vec<String>,
}

impl ServeProcess {
    /// Starts `wsecho serve ARGS` and reads its banner (bounded).
    pub async fn start(args: &[&str]) -> ServeProcess {
        use std::process::Stdio;
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new(WSECHO)
            .arg("serve")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn wsecho serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let mut banner = Vec::new();
        loop {
            let line = within(lines.next_line()).await.expect("read banner");
            let line = line.unwrap_or_else(|| panic!("wsecho serve exited during start-up: {banner:?}"));
            let done = line.starts_with("stop with");
            banner.push(line);
            if done {
                break;
            }
        }
        let urls = banner
            .iter()
            .filter_map(|line| line.strip_prefix("listening "))
            .filter_map(|rest| rest.split_whitespace().next())
            .map(str::to_string)
            .collect();
        ServeProcess { child, urls, banner }
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
}

/// Completes a WebSocket handshake on a raw TCP stream, for frames tungstenite's client would not send or hide.
pub async fn raw_websocket(url: &str) -> Box<dyn Io> {
    let mut stream = within(open_stream(url, None)).await.expect("connect");
    let host = url.trim_start_matches("ws://");
    let handshake = format!(
        "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    within(stream.write_all(handshake.as_bytes()))
        .await
        .expect("send handshake");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        within(stream.read_exact(&mut byte))
            .await
            .expect("read handshake response");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    stream
}

/// One server frame as sent: first header byte (FIN, opcode) and the (unmasked) payload.
pub struct RawFrame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

pub async fn read_frame(stream: &mut Box<dyn Io>) -> RawFrame {
    let mut header = [0u8; 2];
    within(stream.read_exact(&mut header))
        .await
        .expect("frame header");
    let len = match header[1] & 0x7f {
        126 => {
            let mut ext = [0u8; 2];
            within(stream.read_exact(&mut ext)).await.expect("length");
            usize::from(u16::from_be_bytes(ext))
        }
        127 => {
            let mut ext = [0u8; 8];
            within(stream.read_exact(&mut ext)).await.expect("length");
            usize::try_from(u64::from_be_bytes(ext)).expect("length fits")
        }
        short => usize::from(short),
    };
    let mut payload = vec![0u8; len];
    within(stream.read_exact(&mut payload))
        .await
        .expect("frame payload");
    RawFrame {
        fin: header[0] & 0x80 != 0,
        opcode: header[0] & 0x0f,
        payload,
    }
}

/// The close code of a close frame.
pub fn close_code_of(frame: &RawFrame) -> Option<u16> {
    (frame.opcode == 0x8 && frame.payload.len() >= 2)
        .then(|| u16::from_be_bytes([frame.payload[0], frame.payload[1]]))
}

/// A masked client frame with FIN set (mask key 0, so the payload stays readable in a capture).
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x80 | opcode];
    match payload.len() {
        len @ 0..=125 => frame.push(0x80 | len as u8),
        len @ 126..=0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(payload);
    frame
}

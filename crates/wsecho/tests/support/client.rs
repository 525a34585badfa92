//! An independent client for the in-process tests (tokio-rustls + tokio-tungstenite, not wsecho's own client
//! code): TLS that trusts only the test CA, WebSocket handshakes, and raw HTTP exchanges.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::{Request, Response};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::certs::TestCerts;
use super::wire::Io;
use super::within;

/// Client TLS trusting only `ca`, optionally presenting a client certificate.
pub fn client_tls(ca: &Path, identity: Option<(&Path, &Path)>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("read CA") {
        roots.add(cert.expect("CA PEM")).expect("add CA");
    }
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
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

pub type Ws = WebSocketStream<Io>;

/// Opens a TCP (and, with `tls`, TLS) stream to the host and port of `url`.
pub async fn open_stream(url: &str, tls: Option<Arc<ClientConfig>>) -> std::io::Result<Io> {
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

/// Connects to `url`; wss trusts the test CA only.
pub async fn connect(url: &str, certs: Option<&TestCerts>) -> Ws {
    let tls = url
        .starts_with("wss:")
        .then(|| client_tls(&certs.expect("wss needs test certificates").ca_pem, None));
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
pub async fn http_get(base_url: &str, path: &str, certs: Option<&TestCerts>) -> HttpResponse {
    let host = base_url.split("://").nth(1).expect("host");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n");
    http_exchange(base_url, &request, certs).await
}

/// Sends a raw request and returns status, headers and body (read up to its Content-Length; a 101 has none).
pub async fn http_exchange(base_url: &str, request: &str, certs: Option<&TestCerts>) -> HttpResponse {
    let tls = base_url
        .starts_with("wss:")
        .then(|| client_tls(&certs.expect("test certificates").ca_pem, None));
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

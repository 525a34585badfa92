//! `wsecho client`'s library side: connect to a ws:// or wss:// URL (TLS via tokio-rustls with only the CA you
//! name), then check echoes ([`check_echo`]) or relay lines of input ([`relay`]). Printing is the caller's job.
//! [`connect_deflate`] offers permessage-deflate and carries the messages on the compressed path
//! ([`DeflateStream`]); [`Connection`] carries either kind of connection, for [`check_echo`], [`close`] and
//! [`relay`] alike.

mod compressed;
mod connection;

pub use compressed::{DeflateReceiver, DeflateSender, DeflateStream};
pub use connection::{Connection, Received, Receiver, Sender};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use certgen::accept_any_chain::AcceptAnyChain;
use rustls::pki_types::ServerName;
use rustls::{AlertDescription, ClientConfig};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue, Uri};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::ws::deflate;
use crate::{Error, tls};

/// The certificate authorities a client trusts for the server certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// Only this CA (PEM), e.g. `certs/ca.pem`.
    File(PathBuf),
    /// The operating system's roots, as its own programs verify (`--ca system`): on Linux the distribution's
    /// bundle, or `SSL_CERT_FILE`/`SSL_CERT_DIR` when set; on Windows and macOS the system verifier.
    System,
}

impl Roots {
    /// What a certificate the roots do not vouch for is told: why, and the fix.
    fn untrusted_hint(&self) -> &'static str {
        match self {
            Roots::File(_) => {
                " (the server certificate was not issued by the --ca you passed; pass the CA that issued it)"
            }
            Roots::System => {
                " (the server certificate is not trusted by the system roots: give a server a public certificate, \
                 e.g. `wsecho serve --acme`, or pass --ca FILE with the CA that issued it)"
            }
        }
    }
}

/// Whom to trust and who to be on wss:// connections.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// The roots trusted for the server certificate.
    pub ca: Option<Roots>,
    /// Client certificate chain (PEM) for mutual TLS; needs `key`.
    pub cert: Option<PathBuf>,
    /// Client private key (PEM).
    pub key: Option<PathBuf>,
    /// Accept any server certificate. Only for debugging; announced loudly.
    pub insecure: bool,
}

/// How to open a connection.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub tls: TlsOptions,
    /// Subprotocols to offer, in order of preference.
    pub protocols: Vec<String>,
    /// Extra request headers, e.g. `("Origin", "https://localhost:8443")`.
    pub headers: Vec<(String, String)>,
    /// Bound on TCP connect + TLS + WebSocket handshake.
    pub timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            tls: TlsOptions::default(),
            protocols: Vec::new(),
            headers: Vec::new(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// A byte stream that is either plain TCP or TLS over TCP.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// An open client connection.
pub type ClientStream = WebSocketStream<Box<dyn Io>>;

/// What the server answered in the handshake.
#[derive(Debug, Clone)]
pub struct Connected {
    /// The subprotocol the server selected, if any.
    pub protocol: Option<String>,
    /// `TLS1.3` or `TLS1.2` on wss, `None` on ws.
    pub tls_version: Option<String>,
    /// The server's `Sec-WebSocket-Extensions` answer, if any.
    pub extensions: Option<String>,
}

/// Connects and completes the WebSocket handshake within `options.timeout`.
pub async fn connect(url: &str, options: &ConnectOptions) -> Result<(ClientStream, Connected), Error> {
    let fail = |detail: String| Error::Connect {
        url: url.to_string(),
        detail,
    };
    match tokio::time::timeout(options.timeout, connect_unbounded(url, options)).await {
        Ok(result) => result,
        Err(_) => Err(fail(format!(
            "no answer within {:?} (is the server running? raise --timeout if it is slow)",
            options.timeout
        ))),
    }
}

async fn connect_unbounded(url: &str, options: &ConnectOptions) -> Result<(ClientStream, Connected), Error> {
    let fail = |detail: String| Error::Connect {
        url: url.to_string(),
        detail,
    };
    let target = Target::parse(url)?;
    let mut request = url
        .into_client_request()
        .map_err(|e| Error::Usage(format!("bad URL {url}: {e}")))?;
    for (name, value) in &options.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::Usage(format!("bad header name {name:?} in --header")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| Error::Usage(format!("bad header value {value:?} in --header")))?;
        request.headers_mut().append(name, value);
    }
    if !options.protocols.is_empty() {
        let offer = HeaderValue::from_str(&options.protocols.join(", "))
            .map_err(|_| Error::Usage(format!("bad subprotocol in --protocol {:?}", options.protocols)))?;
        request.headers_mut().insert("Sec-WebSocket-Protocol", offer);
    }

    let tls_config = target.tls.then(|| tls_config(&options.tls)).transpose()?;
    let tcp = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| {
            fail(format!(
                "cannot connect: {e} (is `wsecho serve` running on that address?)"
            ))
        })?;
    let _ = tcp.set_nodelay(true);
    let (stream, tls_version): (Box<dyn Io>, Option<String>) = if let Some(config) = tls_config {
        let name = ServerName::try_from(target.host.clone())
            .map_err(|_| Error::Usage(format!("bad host name {:?} in {url}", target.host)))?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| {
                fail(format!(
                    "TLS handshake failed: {e}{}",
                    tls_hint(&e, options.tls.ca.as_ref())
                ))
            })?;
        let version = tls.get_ref().1.protocol_version().map(tls::version_name);
        (Box::new(tls), version)
    } else {
        (Box::new(tcp), None)
    };
    let (ws, response) = tokio_tungstenite::client_async_with_config(request, stream, None)
        .await
        .map_err(|e| fail(handshake_failure(e)))?;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    Ok((
        ws,
        Connected {
            protocol: header("Sec-WebSocket-Protocol"),
            tls_version,
            extensions: header("Sec-WebSocket-Extensions"),
        },
    ))
}

/// Connects like [`connect`], offering permessage-deflate; [`Connected::extensions`] says what the server
/// agreed to (`None`: it declined, and messages go uncompressed).
pub async fn connect_deflate(
    url: &str,
    options: &ConnectOptions,
) -> Result<(DeflateStream, Connected), Error> {
    let mut offering = options.clone();
    offering
        .headers
        .push(("Sec-WebSocket-Extensions".into(), deflate::CLIENT_OFFER.into()));
    let (ws, connected) = connect(url, &offering).await?;
    let stream = take_over_deflate(ws, connected.extensions.as_deref(), url)?;
    Ok((stream, connected))
}

/// The compressed path of a connection that offered [`deflate::CLIENT_OFFER`], given the server's
/// `Sec-WebSocket-Extensions` answer (`None`: it declined, and messages go uncompressed).
pub(crate) fn take_over_deflate(
    ws: ClientStream,
    extensions: Option<&str>,
    url: &str,
) -> Result<DeflateStream, Error> {
    let agreed = match extensions {
        None => None,
        Some(answer) => Some(deflate::accepted(answer).ok_or_else(|| Error::Connect {
            url: url.to_string(),
            detail: format!(
                "the server answered permessage-deflate with {answer:?}, which is not a valid answer to {:?}",
                deflate::CLIENT_OFFER
            ),
        })?),
    };
    Ok(DeflateStream::new(ws.into_inner(), agreed.as_ref()))
}

/// Host, port and scheme of a ws:// or wss:// URL.
struct Target {
    host: String,
    port: u16,
    tls: bool,
}

impl Target {
    fn parse(url: &str) -> Result<Target, Error> {
        let bad = |why: &str| {
            Error::Usage(format!(
                "bad URL {url:?}: {why} (expected ws://HOST:PORT/ or wss://HOST:PORT/)"
            ))
        };
        let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
        let tls = match uri.scheme_str() {
            Some("ws") => false,
            Some("wss") => true,
            _ => return Err(bad("scheme must be ws or wss")),
        };
        let host = uri.host().ok_or_else(|| bad("no host"))?;
        // `Uri` keeps the brackets of an IPv6 literal; sockets and TLS names want the bare address.
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        Ok(Target { host, port, tls })
    }
}

/// The rustls client configuration for `options`: only the given roots are trusted (or nothing is checked with
/// `insecure`), an optional client certificate, ALPN http/1.1, the aws-lc-rs provider.
pub fn tls_config(options: &TlsOptions) -> Result<Arc<ClientConfig>, Error> {
    let provider = tls::provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(tls::VERSIONS)
        .map_err(tls::setup_failed)?;
    let builder = if options.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyChain::new(&provider)))
    } else {
        match &options.ca {
            Some(Roots::File(ca)) => {
                builder.with_root_certificates(tls::read_roots("CA certificate (--ca)", ca)?)
            }
            Some(Roots::System) => {
                let verifier = rustls_platform_verifier::Verifier::new(provider).map_err(|e| {
                    Error::Runtime(format!(
                        "--ca system: cannot load this system's root certificates: {e}"
                    ))
                })?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(verifier))
            }
            None => {
                return Err(Error::Usage(
                    "wss:// needs --ca FILE (the CA that issued the server certificate, e.g. certs/ca.pem), --ca system \
                     (the OS roots, for a public certificate) or, for debugging only, --insecure"
                        .into(),
                ));
            }
        }
    };
    let mut config = match (&options.cert, &options.key) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(
                certgen::pem::read_chain(cert).map_err(tls::file_error("client certificate"))?,
                certgen::pem::read_key(key).map_err(tls::file_error("private key"))?,
            )
            .map_err(|e| Error::BadFile {
                what: "client certificate",
                path: cert.clone(),
                detail: format!("cannot be used with key {} ({e})", key.display()),
            })?,
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(Error::Usage(
                "--cert and --key go together: give both or neither".into(),
            ));
        }
    };
    config.alpn_protocols = tls::alpn();
    Ok(Arc::new(config))
}

/// A fix for the usual certificate failures, from the rustls error inside the I/O error and the roots trusted.
fn tls_hint(error: &std::io::Error, roots: Option<&Roots>) -> &'static str {
    use rustls::CertificateError::{BadSignature, NotValidForName, NotValidForNameContext, UnknownIssuer};
    let cause = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match cause {
        Some(rustls::Error::InvalidCertificate(UnknownIssuer | BadSignature)) => {
            roots.map_or("", Roots::untrusted_hint)
        }
        Some(rustls::Error::InvalidCertificate(NotValidForName | NotValidForNameContext { .. })) => {
            " (the certificate does not name this host; connect with a name it lists, e.g. localhost)"
        }
        _ => "",
    }
}

fn handshake_failure(error: WsError) -> String {
    match error {
        WsError::Http(response) => {
            let body = response
                .body()
                .as_deref()
                .map(|b| String::from_utf8_lossy(b).trim().to_string())
                .unwrap_or_default();
            format!(
                "server refused the WebSocket upgrade with HTTP {}: {body}",
                response.status()
            )
        }
        WsError::Io(e)
            if peer_alert(&e).is_some_and(|alert| alert == AlertDescription::CertificateRequired) =>
        {
            format!(
                "the server requires a client certificate: pass --cert and --key issued by its client CA ({e})"
            )
        }
        WsError::Io(e) if peer_alert(&e).is_some_and(|alert| alert == AlertDescription::UnknownCA) => {
            format!(
                "the server does not accept this client certificate: pass --cert/--key issued by its client CA ({e})"
            )
        }
        other => format!("WebSocket handshake failed: {other}"),
    }
}

/// The TLS alert the server sent, if that is what ended the connection.
fn peer_alert(error: &std::io::Error) -> Option<AlertDescription> {
    match error.get_ref()?.downcast_ref::<rustls::Error>()? {
        rustls::Error::AlertReceived(alert) => Some(*alert),
        _ => None,
    }
}

/// Sends `message` and checks that the same message, of the same kind, comes back within `timeout`.
pub async fn check_echo(ws: &mut Connection, message: Message, timeout: Duration) -> Result<(), Error> {
    let sent = sent_as(&message);
    ws.send(message.clone())
        .await
        .map_err(|e| Error::Echo(format!("sending {sent}: {e}")))?;
    let echo = tokio::time::timeout(timeout, next_data(ws))
        .await
        .map_err(|_| Error::Echo(format!("no echo of {sent} within {timeout:?}")))??;
    if echo == message {
        return Ok(());
    }
    Err(Error::Echo(format!(
        "echo differs: sent {sent}, got {}",
        describe(&echo)
    )))
}

/// A sent message in an error: a short text as it is, anything else by kind and size.
fn sent_as(message: &Message) -> String {
    match message {
        Message::Text(text) if text.len() <= 64 => format!("text {:?}", text.as_str()),
        other => format!(
            "the {} message of {} bytes",
            if other.is_text() { "text" } else { "binary" },
            other.len()
        ),
    }
}

/// The next text or binary message; a close or error ends the wait with an error.
async fn next_data(ws: &mut Connection) -> Result<Message, Error> {
    match ws.next().await? {
        Some(Received::Message(message)) => Ok(message),
        Some(Received::Closed(why)) => Err(Error::Echo(format!("server closed the connection: {why}"))),
        None => Err(Error::Echo(
            "server closed the connection without a close frame".into(),
        )),
    }
}

fn normal_close() -> CloseFrame {
    CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    }
}

/// Sends close 1000 and waits (bounded) for the server's reply.
pub async fn close(ws: &mut Connection, timeout: Duration) {
    if ws.send_close().await.is_ok() {
        let drain = async { while let Ok(Some(_)) = ws.next().await {} };
        let _ = tokio::time::timeout(timeout, drain).await;
    }
}

/// What the server sent during [`relay`], as text for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A text message as it is, a binary one as `<binary N bytes>`.
    Message(String),
    /// The server started the closing handshake: its close code and reason.
    ServerClosed(String),
}

/// Sends each line of `input` as a text message and passes every message that arrives to `show`, until the
/// server closes or `input` ends; then it closes normally, still passing on the echoes in flight until the
/// server's close reply (bounded by `timeout`). `input` is stdin for `wsecho client`, as its error says.
/// Sending and receiving run side by side on the connection's two halves, so neither waits for the other.
pub async fn relay(
    mut connection: Connection,
    input: impl AsyncBufRead + Unpin,
    timeout: Duration,
    mut show: impl FnMut(Incoming),
) -> Result<(), Error> {
    let (mut sender, mut receiver) = connection.split();
    let closing = std::cell::Cell::new(false);
    let send_lines = async {
        let mut lines = input.lines();
        while let Some(line) = lines
            .next_line()
            .await
            .map_err(|e| Error::Usage(format!("cannot read stdin: {e}")))?
        {
            sender.send(Message::text(line)).await?;
        }
        closing.set(true);
        // The server may already be gone; the receiver then ends at the stream's end.
        let _ = sender.send_close().await;
        tokio::time::sleep(timeout).await;
        Ok(())
    };
    let show_incoming = async {
        while let Some(received) = receiver.next().await? {
            match received {
                Received::Message(message) => show(Incoming::Message(describe(&message))),
                Received::Closed(why) if !closing.get() => show(Incoming::ServerClosed(why)),
                Received::Closed(_) => {}
            }
        }
        Ok(())
    };
    tokio::select! {
        sent = send_lines => sent,
        shown = show_incoming => shown,
    }
}

fn describe(message: &Message) -> String {
    match message {
        Message::Text(text) => text.to_string(),
        Message::Binary(bytes) => format!("<binary {} bytes>", bytes.len()),
        other => format!("<{} bytes control frame>", other.len()),
    }
}

fn close_text(frame: Option<&CloseFrame>) -> String {
    match frame {
        Some(frame) => format!("{} {}", u16::from(frame.code), frame.reason),
        None => "no close code".into(),
    }
}

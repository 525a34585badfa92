//! Opening the bench connections: URL -> address, TLS trust, bounded-concurrency handshakes with timeouts.

use super::options::{Load, Options};
use super::progress::Progress;
use crate::Error;
use crate::client::{Connection, Io, take_over_deflate, tls_config};
use crate::ws::deflate::CLIENT_OFFER;
use rustls::HandshakeKind;
use rustls::client::Resumption;
use rustls::pki_types::ServerName;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// One open bench connection, ws or wss, plain or offering permessage-deflate, and what its handshakes gave.
pub(crate) struct Conn {
    pub(crate) connection: Connection,
    /// Whether the TLS handshake resumed an earlier session (`None` for ws://).
    pub(crate) resumed: Option<bool>,
    /// The server's `Sec-WebSocket-Extensions` answer, when deflate was offered and accepted.
    pub(crate) extensions: Option<String>,
}

/// Where and how to connect; shared by all connection attempts.
pub(crate) struct Target {
    url: String,
    addr: SocketAddr,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    config: WebSocketConfig,
    /// Offer permessage-deflate and carry the messages on the compressed path.
    deflate: bool,
}

impl Target {
    pub(crate) async fn new(opts: &Options, progress: &dyn Progress) -> Result<Target, Error> {
        let bad_url = |why: &str| Error::Usage(format!("URL {}: {why}", opts.url));
        let request = opts
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| bad_url(&format!("{e} (expected ws://HOST:PORT/PATH or wss://...)")))?;
        let uri = request.uri();
        let secure = match uri.scheme_str() {
            Some("ws") => false,
            Some("wss") => true,
            _ => return Err(bad_url("the scheme must be ws:// or wss://")),
        };
        let host = uri
            .host()
            .ok_or_else(|| bad_url("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        let addr = tokio::net::lookup_host((host.as_str(), port))
            .await
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(|| bad_url(&format!("cannot resolve host {host}")))?;

        let tls = if secure {
            let name = ServerName::try_from(host.clone())
                .map_err(|e| bad_url(&format!("host {host} is not a valid TLS server name: {e}")))?;
            if opts.tls.insecure {
                progress.tls_unverified();
            }
            let mut config = tls_config(&opts.tls)?;
            if !opts.tls_resumption {
                Arc::make_mut(&mut config).resumption = Resumption::disabled();
            }
            Some((TlsConnector::from(config), name))
        } else {
            None
        };
        let config = WebSocketConfig::default().read_buffer_size(read_buffer_size(opts));
        Ok(Target {
            url: opts.url.clone(),
            addr,
            tls,
            config,
            deflate: opts.deflate,
        })
    }

    /// One connection: TCP, then TLS for wss://, then the WebSocket upgrade.
    pub(crate) async fn connect(&self) -> Result<Conn, String> {
        let tcp = TcpStream::connect(self.addr)
            .await
            .map_err(|e| format!("TCP connect to {}: {e}", self.addr))?;
        tcp.set_nodelay(true)
            .map_err(|e| format!("TCP_NODELAY on {}: {e}", self.addr))?;
        let (io, resumed): (Box<dyn Io>, _) = match &self.tls {
            None => (Box::new(tcp), None),
            Some((connector, name)) => {
                let tls = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| format!("TLS handshake with {}: {e}", self.url))?;
                let resumed = tls.get_ref().1.handshake_kind() == Some(HandshakeKind::Resumed);
                (Box::new(tls), Some(resumed))
            }
        };
        let handshake_error = |e| format!("WebSocket handshake with {}: {e}", self.url);
        // The URL was checked by `Target::new`.
        let mut request = self.url.as_str().into_client_request().map_err(handshake_error)?;
        if self.deflate {
            request
                .headers_mut()
                .insert("Sec-WebSocket-Extensions", HeaderValue::from_static(CLIENT_OFFER));
        }
        let (ws, response) = tokio_tungstenite::client_async_with_config(request, io, Some(self.config))
            .await
            .map_err(handshake_error)?;
        if !self.deflate {
            let connection = Connection::Plain(Box::new(ws));
            return Ok(Conn {
                connection,
                resumed,
                extensions: None,
            });
        }
        let extensions = response
            .headers()
            .get("Sec-WebSocket-Extensions")
            .map(|answer| String::from_utf8_lossy(answer.as_bytes()).into_owned());
        let stream = take_over_deflate(ws, extensions.as_deref(), &self.url).map_err(|e| e.to_string())?;
        Ok(Conn {
            connection: Connection::Deflate(Box::new(stream)),
            resumed,
            extensions,
        })
    }
}

/// Opens `count` connections, at most `concurrency` handshakes at a time, each bounded by `timeout`.
/// Returns the connections that opened and one message per failure.
pub(crate) async fn open_all(
    target: &Arc<Target>,
    count: usize,
    concurrency: usize,
    timeout: Duration,
    progress: &dyn Progress,
) -> (Vec<Conn>, Vec<String>) {
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut attempts = JoinSet::new();
    for _ in 0..count {
        let (target, permits) = (target.clone(), permits.clone());
        attempts.spawn(async move {
            let _permit = permits.acquire_owned().await;
            match tokio::time::timeout(timeout, target.connect()).await {
                Ok(result) => result,
                Err(_) => Err(format!(
                    "no connection to {} within {:.1} s",
                    target.url,
                    timeout.as_secs_f64()
                )),
            }
        });
    }
    let (mut open, mut errors) = (Vec::with_capacity(count), Vec::new());
    while let Some(attempt) = attempts.join_next().await {
        match attempt {
            Ok(Ok(conn)) => open.push(conn),
            Ok(Err(e)) => errors.push(e),
            Err(join) => errors.push(format!("connect task ended abnormally: {join}")),
        }
        progress.connection_attempted();
    }
    (open, errors)
}

/// The read buffer of each connection. tungstenite zero-fills its whole read buffer before every read, so its
/// 128 KiB default would cost the load generator more CPU than many servers spend per echo. One echo fits:
/// the payload and the largest frame header, at least 4 KiB. Idle connections exist to measure memory, so
/// they keep 4 KiB too.
fn read_buffer_size(opts: &Options) -> usize {
    const MAX_FRAME_HEADER: usize = 14;
    const SMALLEST: usize = 4 * 1024;
    const LARGEST: usize = 128 * 1024;
    match opts.load {
        Load::Idle => SMALLEST,
        Load::ClosedLoop | Load::Rate(_) | Load::Pipelined(_) | Load::Churn => {
            (opts.size + MAX_FRAME_HEADER).clamp(SMALLEST, LARGEST)
        }
    }
}

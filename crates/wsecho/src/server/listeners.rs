//! Listening sockets: accept TCP, run the TLS handshake on wss listeners, then serve HTTP/1.1 with upgrades, or
//! HTTP/2 with extended CONNECT (RFC 8441) when ALPN chose `h2`. The handshake timeout covers everything from TCP
//! accept until the WebSocket upgrade is done; an HTTP/2 connection, which carries many requests and WebSockets,
//! is closed once it has carried no WebSocket for that long.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::connection_facts::TlsFacts;
use super::http::{self, ConnContext};
use super::read_ahead::ReadAhead;
use super::shared::Shared;
use super::stats::Counters;
use super::tls::TlsState;
use crate::{Error, tls};

/// Largest request head hyper buffers (request line plus headers; over HTTP/2 the header list); larger requests
/// get 431.
const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// Pause after an accept error (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// A bound socket ready to accept; `tls` is set for wss listeners.
pub(crate) struct Listener {
    pub(crate) tcp: TcpListener,
    pub(crate) tls: Option<Arc<TlsState>>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) url: Arc<str>,
}

/// Pending connections the kernel queues per listener (tokio's `TcpListener::bind` uses the same).
const BACKLOG: i32 = 1024;

/// Listens on `addr`; `ipv6_only` keeps an IPv6 wildcard (`[::]`) off IPv4, which on Linux it would otherwise take
/// too (bindv6only=0), colliding with a `0.0.0.0` listener on the same port.
pub(crate) fn bind(addr: SocketAddr, ipv6_only: bool) -> Result<TcpListener, Error> {
    listen(addr, ipv6_only).map_err(|source| bind_error(addr, source))
}

/// A failed bind of `addr`, naming the port's holder when the port is in use.
fn bind_error(addr: SocketAddr, source: std::io::Error) -> Error {
    let holder = (source.kind() == std::io::ErrorKind::AddrInUse)
        .then(|| super::port_holder::port_holder(addr))
        .flatten();
    Error::Bind { addr, source, holder }
}

/// Fails with the [`Error::Bind`] a start would give (the port's holder named) when another program listens on one
/// of `addrs`; checks and lets go, so that a front end can learn it before it changes any file. An address this
/// machine lacks (no IPv6) is left to the start.
pub fn ensure_ports_free(addrs: &[SocketAddr]) -> Result<(), Error> {
    for &addr in addrs {
        if let Err(source) = socket(addr, addr.is_ipv6())
            && source.kind() == std::io::ErrorKind::AddrInUse
        {
            return Err(bind_error(addr, source));
        }
    }
    Ok(())
}

/// A listening socket made as `TcpListener::bind` makes it (SO_REUSEADDR on Unix, so that a restart finds its port
/// free at once), plus IPV6_V6ONLY when asked.
fn listen(addr: SocketAddr, ipv6_only: bool) -> std::io::Result<TcpListener> {
    let socket = socket(addr, ipv6_only)?;
    socket.set_nonblocking(true)?;
    TcpListener::from_std(socket.into())
}

/// A blocking socket listening on `addr`.
fn socket(addr: SocketAddr, ipv6_only: bool) -> std::io::Result<socket2::Socket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if ipv6_only {
        socket.set_only_v6(true)?;
    }
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket)
}

/// What every connection of every listener needs besides its socket.
#[derive(Clone)]
pub(crate) struct ConnectionSetup {
    pub(crate) shared: Arc<Shared>,
    pub(crate) handshake_timeout: Duration,
}

/// Accepts until shutdown; each connection runs in its own task holding an `alive` token.
pub(crate) async fn accept_loop(
    listener: Listener,
    setup: ConnectionSetup,
    alive: mpsc::Sender<()>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.tcp.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("{}: accept failed: {e}", listener.url);
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
            _ = super::shutdown::stopped(&mut shutdown) => return,
        };
        let connection = Connection {
            setup: setup.clone(),
            counters: listener.counters.clone(),
            listener_url: listener.url.clone(),
            peer,
            alive: alive.clone(),
            deadline: Instant::now() + setup.handshake_timeout,
        };
        let tls = listener.tls.as_ref().map(|tls| tls.acceptor());
        tokio::spawn(connection.run(stream, tls));
    }
}

struct Connection {
    setup: ConnectionSetup,
    counters: Arc<Counters>,
    listener_url: Arc<str>,
    peer: SocketAddr,
    alive: mpsc::Sender<()>,
    /// When the handshake timeout expires for this connection.
    deadline: Instant,
}

impl Connection {
    async fn run(self, stream: TcpStream, tls: Option<tokio_rustls::TlsAcceptor>) {
        // Echo traffic is latency-bound; small frames must not wait for Nagle.
        let _ = stream.set_nodelay(true);
        // rustls and the echo loop's WebSocket reader read 4 KiB per call: a read-ahead buffer lets a 16 KiB
        // message take two recv calls instead of four or five (and costs nothing while idle).
        let stream = ReadAhead::new(stream);
        let Some(acceptor) = tls else {
            return self.serve_http1(stream, TlsFacts::default()).await;
        };
        match tokio::time::timeout_at(self.deadline, acceptor.accept(stream)).await {
            Ok(Ok(tls_stream)) => {
                let connection = tls_stream.get_ref().1;
                let facts = TlsFacts::of(connection);
                if connection.alpn_protocol() == Some(tls::ALPN_H2) {
                    self.serve_http2(tls_stream, facts).await;
                } else {
                    self.serve_http1(tls_stream, facts).await;
                }
            }
            Ok(Err(e)) => tracing::info!("{} TLS handshake failed: {e}{}", self.peer, distrust_hint(&e)),
            Err(_) => tracing::info!("{} TLS handshake timed out", self.peer),
        }
    }

    /// What every request of the connection sees; the connection's `alive` token moves into it.
    fn context(self, tls: TlsFacts) -> Arc<ConnContext> {
        Arc::new(ConnContext {
            shared: self.setup.shared,
            counters: self.counters,
            listener_url: self.listener_url,
            peer: self.peer,
            tls,
            websockets: watch::Sender::new(0),
            _alive: self.alive,
        })
    }

    /// Serves HTTP/1.1 until the connection upgrades (the echo loop then runs in its own task), closes, reaches
    /// the handshake deadline without upgrading, or the server shuts down.
    async fn serve_http1<IO>(self, io: IO, tls: TlsFacts)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let peer = self.peer;
        let deadline = self.deadline;
        let mut shutdown = self.setup.shared.shutdown.clone();
        let ctx = self.context(tls);
        let service = service_fn(move |request| http::handle(request, ctx.clone()));
        let connection = http1::Builder::new()
            .max_buf_size(MAX_REQUEST_HEAD)
            .header_read_timeout(None)
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        tokio::select! {
            result = connection => {
                if let Err(e) = result {
                    tracing::debug!("{peer} HTTP connection ended: {e}");
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                tracing::debug!("{peer} no WebSocket upgrade within the handshake timeout; closing");
            }
            _ = super::shutdown::stopped(&mut shutdown) => {}
        }
    }

    /// Serves HTTP/2, announcing SETTINGS_ENABLE_CONNECT_PROTOCOL so that clients open WebSockets as extended
    /// CONNECT streams, each echoed in its own task. The connection ends when the client closes it; it is sent a
    /// GOAWAY when it has carried no WebSocket for the handshake timeout, or on shutdown (its WebSockets get their
    /// 1001 first), and dropped when that does not end it within another handshake timeout without WebSockets.
    async fn serve_http2<IO>(self, io: IO, tls: TlsFacts)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let peer = self.peer;
        let mut deadline = self.deadline;
        let timeout = self.setup.handshake_timeout;
        let mut shutdown = self.setup.shared.shutdown.clone();
        let ctx = self.context(tls);
        let mut websockets = ctx.websockets.subscribe();
        let service = service_fn(move |request| http::handle(request, ctx.clone()));
        let connection = http2::Builder::new(TokioExecutor::new())
            .enable_connect_protocol()
            .max_header_list_size(MAX_REQUEST_HEAD as u32)
            .serve_connection(TokioIo::new(io), service);
        tokio::pin!(connection);
        let mut closing = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!("{peer} HTTP/2 connection ended: {e}");
                    }
                    return;
                }
                () = no_websocket_until(&mut websockets, &mut deadline, timeout) => {
                    if closing {
                        tracing::debug!("{peer} HTTP/2 connection still open after GOAWAY; dropping it");
                        return;
                    }
                    tracing::debug!("{peer} no WebSocket on this HTTP/2 connection within the handshake timeout; closing");
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                    deadline = Instant::now() + timeout;
                }
                () = super::shutdown::stopped(&mut shutdown), if !closing => {
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}

/// Resolves once the connection has carried no WebSocket from `deadline` on. Each time its last WebSocket ends,
/// `deadline` moves to `timeout` from then.
async fn no_websocket_until(open: &mut watch::Receiver<usize>, deadline: &mut Instant, timeout: Duration) {
    loop {
        if *open.borrow_and_update() == 0 {
            tokio::select! {
                () = tokio::time::sleep_until(*deadline) => return,
                changed = open.changed() => if changed.is_err() { return },
            }
        } else {
            if open.wait_for(|open| *open == 0).await.is_err() {
                return;
            }
            *deadline = Instant::now() + timeout;
        }
    }
}

/// When a client rejects our certificate, the usual cause and fix (browsers report it with these alerts).
fn distrust_hint(error: &std::io::Error) -> &'static str {
    use rustls::AlertDescription::{BadCertificate, CertificateUnknown, UnknownCA};
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::AlertReceived(UnknownCA | BadCertificate | CertificateUnknown)) => {
            " (the client does not trust this certificate: import the CA, e.g. `certgen trust install`, or open /ca.cer on the device)"
        }
        _ => "",
    }
}

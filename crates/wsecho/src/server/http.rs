//! HTTP on every listener (hyper; HTTP/1.1, and HTTP/2 on wss listeners): the page and its assets, `/ca.cer`,
//! `/healthz`, `/stats`, `/whoami`, what devices/ serves for other devices (`/trust`, `/ca.mobileconfig`, `/qr/`),
//! and the WebSocket handshake on any path (an upgrade over HTTP/1.1, an extended CONNECT over HTTP/2):
//! handshake.rs decides the whole answer (including the fault plan and the broadcast room), and [`accept`] writes
//! it out as 101 (or 200) and starts the echo loop.
//!
//! A WebSocket counts in `/stats` and gets its `connected` log line once it has opened. Over HTTP/1.1 that is
//! when the upgrade completes. Over HTTP/2 a stream costs the client one HEADERS frame and one RST_STREAM, so a
//! client can open and reset thousands per second (the rapid reset of CVE-2023-44487, here on extended CONNECTs):
//! an HTTP/2 WebSocket opens with the client's first bytes, or once it has kept the stream for [`OPEN_GRACE`]
//! (a client that only listens, e.g. in a broadcast room). Requests reset before they opened are neither counted
//! nor logged one by one: a summary line sums them up at most once every [`RESET_SUMMARY_EVERY`].

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use certgen::acme::http01;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};

use super::assets;
use super::broadcast::Member;
use super::connection_facts::{ConnectionFacts, TlsFacts};
use super::echo::{self, Session};
use super::faults::{self, Faults};
use super::handshake::{self, Answer, Refusal};
use super::read_ahead::ReadAhead;
use super::response::{Body, text, with_type};
use super::shared::Shared;
use super::stats::{Counters, OpenConnection, Stats};
use crate::ws::deflate::Codec;
use crate::ws::frame::Role;

/// How long an HTTP/2 WebSocket that has sent nothing must keep its stream to count as opened.
const OPEN_GRACE: Duration = Duration::from_secs(1);
/// Longest gap between a request reset before it opened and the log line that sums it up with the others.
const RESET_SUMMARY_EVERY: Duration = Duration::from_secs(10);

/// One accepted TCP (or TLS) connection.
pub(crate) struct ConnContext {
    pub(crate) shared: Arc<Shared>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) listener_url: Arc<str>,
    pub(crate) peer: SocketAddr,
    pub(crate) tls: TlsFacts,
    /// WebSockets open on this connection (several at once over HTTP/2); the connection stays while it has one.
    pub(crate) websockets: watch::Sender<usize>,
    /// Held while the connection lives so that shutdown can wait for every connection to end.
    pub(crate) _alive: mpsc::Sender<()>,
}

/// Answers one request on a connection.
pub(crate) async fn handle(
    request: Request<Incoming>,
    ctx: Arc<ConnContext>,
) -> Result<Response<Body>, Infallible> {
    let response = if handshake::is_websocket_request(&request) {
        upgrade(request, ctx)
    } else {
        route(&request, &ctx)
    };
    Ok(response)
}

fn route(request: &Request<Incoming>, ctx: &ConnContext) -> Response<Body> {
    let shared = &ctx.shared;
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD are served here\n",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let uri = request.uri();
    if let Some(response) = shared.devices.respond(uri.path(), uri.query(), request.headers()) {
        return response;
    }
    if let Some(tokens) = &shared.acme_http01
        && uri.path().starts_with(http01::CHALLENGE_PATH)
    {
        return http01::respond(tokens, uri.path());
    }
    match request.uri().path() {
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/whoami" => {
            let facts = ConnectionFacts::of_request(request, ctx.peer, &ctx.listener_url, &ctx.tls);
            with_type(StatusCode::OK, "application/json", facts.to_json())
        }
        "/stats" => match serde_json::to_vec_pretty(&shared.snapshot()) {
            Ok(json) => with_type(StatusCode::OK, "application/json", json),
            Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, &format!("stats: {e}\n")),
        },
        "/ca.cer" => match &shared.ca_cer {
            Some(der) => {
                let mut response = with_type(StatusCode::OK, "application/pkix-cert", der.clone());
                response.headers_mut().insert(
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_static("attachment; filename=\"ca.cer\""),
                );
                response
            }
            None => text(
                StatusCode::NOT_FOUND,
                "no CA certificate configured: start the server with --ca certs/ca.cer (or ca.pem) to offer it here\n",
            ),
        },
        // Without an upgrade a fault URL is only checked, so that `curl` can tell whether a client's URL is right.
        faults::FAULT_PATH if shared.handshake.faults => {
            match faults::parse(request.uri().query().unwrap_or_default()) {
                Ok(_) => text(
                    StatusCode::UPGRADE_REQUIRED,
                    "a well-formed fault URL: connect a WebSocket client to it\n",
                ),
                Err(bad) => text(StatusCode::BAD_REQUEST, &format!("{bad}\n")),
            }
        }
        path => match assets::find(path) {
            Some((content_type, bytes)) => with_type(StatusCode::OK, content_type, Bytes::from_static(bytes)),
            None => text(
                StatusCode::NOT_FOUND,
                &format!("not found: {path} (the test page is at /, WebSocket upgrades work on any path)\n"),
            ),
        },
    }
}

/// Answers a WebSocket upgrade request: checks it, takes a connection slot, then accepts it.
fn upgrade(request: Request<Incoming>, ctx: Arc<ConnContext>) -> Response<Body> {
    let answer = match handshake::check(&request, &ctx.shared.handshake) {
        Ok(answer) => answer,
        Err(refusal) => return refuse(ctx.peer, &refusal),
    };
    match ctx.shared.stats.try_open(&ctx.counters) {
        Some(slot) => accept(request, ctx, answer, slot),
        None => refuse(ctx.peer, &Refusal::TooManyConnections),
    }
}

/// The HTTP error for a refused upgrade, its reason as the body, logged with the peer.
fn refuse(peer: SocketAddr, refusal: &Refusal) -> Response<Body> {
    let status = refusal.status();
    tracing::info!("{peer} upgrade refused with {}: {refusal}", status.as_u16());
    let mut response = text(status, &format!("{refusal}\n"));
    if *refusal == Refusal::UnsupportedVersion {
        response
            .headers_mut()
            .insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
    }
    response
}

/// Answers an accepted handshake (101 over HTTP/1.1, 200 over HTTP/2) and hands the upgraded connection, with its
/// slot, to the echo loop.
fn accept(
    mut request: Request<Incoming>,
    ctx: Arc<ConnContext>,
    answer: Answer,
    slot: OpenConnection,
) -> Response<Body> {
    let on_upgrade = hyper::upgrade::on(&mut request);
    let response = response_for(&answer);
    let facts =
        ConnectionFacts::of_request(&request, ctx.peer, &ctx.listener_url, &ctx.tls).accepted_by(&answer);
    let http2 = answer.accept_key.is_none();
    // The codec exists from the answer on (its zlib state comes with the first message), so that the room can be
    // joined now with the compression its members share.
    let deflate = answer
        .deflate
        .map(|deflate| Codec::new(&deflate.agreed, deflate.min_size, Role::Server));
    let room = answer.room.map(|room| {
        ctx.shared
            .rooms
            .join(&room, deflate.as_ref().and_then(Codec::shared))
    });
    let opening = Opening {
        slot,
        facts,
        deflate,
        faults: Faults::start(&answer.faults),
        room,
    };
    let on_connection = OnConnection::new(ctx.clone());

    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            reset_before_open(&ctx.shared.stats);
            return;
        };
        let stream = TokioIo::new(upgraded);
        if http2 {
            let mut stream = ReadAhead::new(stream);
            if !opens(&mut stream).await {
                reset_before_open(&ctx.shared.stats);
                return;
            }
            echo_on(stream, opening, &ctx).await;
        } else {
            echo_on(stream, opening, &ctx).await;
        }
        drop(on_connection);
    });
    response
}

/// The handshake's answer as HTTP: its status and headers, no body.
fn response_for(answer: &Answer) -> Response<Body> {
    let mut response = Response::new(Body::default());
    // RFC 8441 section 5: over HTTP/2 (no key) a 2xx answer to the extended CONNECT opens the WebSocket.
    *response.status_mut() = match answer.accept_key {
        Some(_) => StatusCode::SWITCHING_PROTOCOLS,
        None => StatusCode::OK,
    };
    let headers = response.headers_mut();
    if let Some(accept_key) = &answer.accept_key {
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        if let Ok(accept) = HeaderValue::from_str(accept_key) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
    }
    if let Some(protocol) = answer
        .protocol
        .as_ref()
        .and_then(|p| HeaderValue::from_str(p).ok())
    {
        headers.insert(header::SEC_WEBSOCKET_PROTOCOL, protocol);
    }
    if let Some(extensions) = answer
        .deflate
        .as_ref()
        .and_then(|deflate| HeaderValue::from_str(&deflate.agreed.response).ok())
    {
        headers.insert(header::SEC_WEBSOCKET_EXTENSIONS, extensions);
    }
    response
}

/// What the handshake decided for a WebSocket, waiting for its stream to open.
struct Opening {
    slot: OpenConnection,
    facts: ConnectionFacts,
    deflate: Option<Codec>,
    faults: Faults,
    room: Option<Member>,
}

/// Whether an HTTP/2 WebSocket stream opens: the client sends its first bytes (kept for the echo loop) or keeps
/// the stream for [`OPEN_GRACE`]. A stream that ends or is reset first never opened.
async fn opens<S: AsyncRead + Unpin>(stream: &mut ReadAhead<S>) -> bool {
    tokio::select! {
        biased;
        first = stream.first_bytes() => matches!(first, Ok(read) if read > 0),
        () = tokio::time::sleep(OPEN_GRACE) => true,
    }
}

/// Counts and logs an opened WebSocket, then runs its echo loop.
async fn echo_on<S: AsyncRead + AsyncWrite + Unpin>(stream: S, opening: Opening, ctx: &ConnContext) {
    let Opening {
        slot,
        facts,
        deflate,
        faults,
        room,
    } = opening;
    slot.opened(facts.http_version, facts.tls.tls_version.as_deref());
    tracing::info!("{}", facts.log_line());
    if deflate.is_some() {
        slot.compressed();
    }
    let peer = ctx.peer.to_string();
    let session = Session {
        conn: slot,
        deflate,
        faults,
        room,
        facts: &facts,
        peer: &peer,
    };
    let shared = &ctx.shared;
    echo::run(stream, session, &shared.echo, shared.shutdown.clone()).await;
}

/// Counts a WebSocket request reset before it opened. The first one since the last summary schedules the next, so
/// a flood of them costs one log line per [`RESET_SUMMARY_EVERY`] instead of one per request.
fn reset_before_open(stats: &Stats) {
    if !stats.count_reset_before_open() {
        return;
    }
    let stats = stats.clone();
    tokio::spawn(async move {
        tokio::time::sleep(RESET_SUMMARY_EVERY).await;
        let requests = stats.take_reset_before_open();
        tracing::info!(
            "{requests} WebSocket request(s) reset before they opened in the last {}s (an HTTP/2 rapid reset looks \
             like this); not counted as connections",
            RESET_SUMMARY_EVERY.as_secs()
        );
    });
}

/// Counts one WebSocket in [`ConnContext::websockets`] while it lives.
struct OnConnection(Arc<ConnContext>);

impl OnConnection {
    fn new(ctx: Arc<ConnContext>) -> Self {
        ctx.websockets.send_modify(|open| *open += 1);
        OnConnection(ctx)
    }
}

impl Drop for OnConnection {
    fn drop(&mut self) {
        self.0.websockets.send_modify(|open| *open -= 1);
    }
}

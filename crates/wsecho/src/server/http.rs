//! HTTP on every listener (hyper, HTTP/1.1): the page and its assets, `/ca.cer`, `/healthz`, `/stats`, what
//! devices/ serves for other devices (`/trust`, `/ca.mobileconfig`, `/qr/`), and the
//! WebSocket upgrade on any path: handshake.rs checks it, [`accept`] answers 101 and starts the echo loop.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::{mpsc, watch};

use super::assets;
use super::deflate::{self, Codec, DeflateSettings};
use super::devices::Devices;
use super::echo::{self, EchoSettings};
use super::frame_io::Role;
use super::handshake::{self, Accepted, Refusal, has_token};
use super::stats::{Counters, OpenConnection, Stats};
use super::tls::PeerTls;

pub(crate) type Body = Full<Bytes>;

/// Server-wide settings and state every connection reads.
pub(crate) struct Shared {
    pub(crate) stats: Stats,
    pub(crate) echo: EchoSettings,
    /// permessage-deflate as the server offers it; `None` declines every offer (`--deflate off`).
    pub(crate) deflate: Option<DeflateSettings>,
    /// `--protocol` values; empty means "echo the client's first offer".
    pub(crate) protocols: Vec<String>,
    /// `--allow-origin` values, normalised; empty means any origin.
    pub(crate) allowed_origins: Vec<String>,
    /// DER bytes of `--ca`, served at `/ca.cer`.
    pub(crate) ca_cer: Option<Bytes>,
    /// `/trust`, `/ca.mobileconfig` and the QR codes for other devices.
    pub(crate) devices: Devices,
    pub(crate) shutdown: watch::Receiver<bool>,
}

/// One accepted TCP (or TLS) connection.
pub(crate) struct ConnContext {
    pub(crate) shared: Arc<Shared>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) listener_url: Arc<str>,
    pub(crate) peer: SocketAddr,
    pub(crate) tls: PeerTls,
    /// Held while the connection lives so that shutdown can wait for every connection to end.
    pub(crate) _alive: mpsc::Sender<()>,
}

/// Answers one request on a connection.
pub(crate) async fn handle(
    request: Request<Incoming>,
    ctx: Arc<ConnContext>,
) -> Result<Response<Body>, Infallible> {
    let response = if has_token(request.headers(), header::UPGRADE, "websocket") {
        upgrade(request, ctx)
    } else {
        route(&request, &ctx.shared)
    };
    Ok(response)
}

fn route(request: &Request<Incoming>, shared: &Shared) -> Response<Body> {
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
    match request.uri().path() {
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/stats" => match serde_json::to_vec_pretty(&shared.stats.snapshot()) {
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
    let shared = &ctx.shared;
    let checked = handshake::check(
        request.method(),
        request.headers(),
        &shared.protocols,
        &shared.allowed_origins,
    );
    let accepted = match checked {
        Ok(accepted) => accepted,
        Err(refusal) => return refuse(ctx.peer, &refusal),
    };
    match shared.stats.try_open(&ctx.counters) {
        Some(slot) => accept(request, ctx, accepted, slot),
        None => refuse(ctx.peer, &Refusal::TooManyConnections),
    }
}

/// The HTTP error for a refused upgrade, logged with the peer.
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

/// Answers 101 for an accepted handshake and hands the upgraded connection, with its slot, to the echo loop.
fn accept(
    mut request: Request<Incoming>,
    ctx: Arc<ConnContext>,
    accepted: Accepted,
    slot: OpenConnection,
) -> Response<Body> {
    let on_upgrade = hyper::upgrade::on(&mut request);
    let settings = ctx.shared.deflate.as_ref();
    let deflate =
        settings.and_then(|s| deflate::negotiate(request.headers(), s).map(|agreed| (agreed, s.min_size)));
    let description = format!(
        "{} connected to {}{} origin {} subprotocol {} {} {}",
        ctx.peer,
        ctx.listener_url,
        request.uri().path(),
        accepted.origin.as_deref().unwrap_or("(none)"),
        accepted.protocol.as_deref().unwrap_or("(none)"),
        describe_tls(&ctx.tls),
        deflate
            .as_ref()
            .map_or("uncompressed", |(agreed, _)| agreed.response.as_str()),
    );
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let response_headers = response.headers_mut();
    response_headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    response_headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&accepted.accept_key) {
        response_headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    if let Some(protocol) = accepted.protocol.and_then(|p| HeaderValue::from_str(&p).ok()) {
        response_headers.insert(header::SEC_WEBSOCKET_PROTOCOL, protocol);
    }
    if let Some(extensions) = deflate
        .as_ref()
        .and_then(|(agreed, _)| HeaderValue::from_str(&agreed.response).ok())
    {
        response_headers.insert(header::SEC_WEBSOCKET_EXTENSIONS, extensions);
    }

    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(e) => {
                tracing::info!("{} upgrade failed: {e}", ctx.peer);
                return;
            }
        };
        tracing::info!("{description}");
        let shared = &ctx.shared;
        let codec = deflate.map(|(agreed, min_size)| {
            slot.compressed();
            Codec::new(&agreed, min_size, Role::Server)
        });
        let peer = ctx.peer.to_string();
        echo::run(
            TokioIo::new(upgraded),
            slot,
            &shared.echo,
            codec,
            &peer,
            shared.shutdown.clone(),
        )
        .await;
    });
    response
}

fn describe_tls(tls: &PeerTls) -> String {
    match (&tls.version, &tls.client_cert) {
        (None, _) => "plain".into(),
        (Some(version), None) => version.clone(),
        (Some(version), Some(cert)) => format!("{version} client certificate {cert}"),
    }
}

pub(crate) fn with_type(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(crate) fn text(status: StatusCode, body: &str) -> Response<Body> {
    with_type(status, "text/plain; charset=utf-8", body.to_string())
}

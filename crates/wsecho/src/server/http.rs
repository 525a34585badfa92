//! HTTP on every listener (hyper, HTTP/1.1): the page and its assets, `/ca.cer`, `/healthz`, `/stats`, and the
//! WebSocket upgrade on any path.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use super::assets;
use super::echo::{self, EchoSettings};
use super::stats::{Counters, Stats};
use super::tls::PeerTls;

type Body = Full<Bytes>;

/// Server-wide settings and state every connection reads.
pub(crate) struct Shared {
    pub(crate) stats: Stats,
    pub(crate) ws_config: WebSocketConfig,
    pub(crate) echo: EchoSettings,
    /// `--protocol` values; empty means "echo the client's first offer".
    pub(crate) protocols: Vec<String>,
    /// `--allow-origin` values, normalised; empty means any origin.
    pub(crate) allowed_origins: Vec<String>,
    /// DER bytes of `--ca`, served at `/ca.cer`.
    pub(crate) ca_cer: Option<Bytes>,
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

/// Validates a WebSocket handshake (RFC 6455 section 4.2), answers 101 and spawns the echo loop.
fn upgrade(mut request: Request<Incoming>, ctx: Arc<ConnContext>) -> Response<Body> {
    let headers = request.headers();
    let peer = ctx.peer;
    let refuse = |status: StatusCode, why: &str| {
        tracing::info!("{peer} upgrade refused with {}: {why}", status.as_u16());
        text(status, &format!("{why}\n"))
    };
    if request.method() != Method::GET {
        return refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "a WebSocket handshake must be a GET",
        );
    }
    if !has_token(headers, header::CONNECTION, "upgrade") {
        return refuse(StatusCode::BAD_REQUEST, "Connection header lacks \"Upgrade\"");
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        let mut response = refuse(
            StatusCode::UPGRADE_REQUIRED,
            "only Sec-WebSocket-Version 13 is supported",
        );
        response
            .headers_mut()
            .insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        return response;
    }
    let mut keys = headers.get_all(header::SEC_WEBSOCKET_KEY).iter();
    let key = match (keys.next(), keys.next()) {
        (Some(key), None) if is_valid_key(key.as_bytes()) => key.as_bytes().to_vec(),
        _ => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "Sec-WebSocket-Key must be present once and be 16 bytes in base64",
            );
        }
    };
    let origin = headers
        .get(header::ORIGIN)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    if let Some(origin) = &origin
        && !origin_allowed(&ctx.shared.allowed_origins, origin)
    {
        return refuse(StatusCode::FORBIDDEN, &format!("origin {origin} is not allowed"));
    }
    let protocol = select_protocol(headers, &ctx.shared.protocols);
    let Some(slot) = ctx.shared.stats.try_open(&ctx.counters) else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many connections (--max-connections reached); try again later",
        );
    };

    let on_upgrade = hyper::upgrade::on(&mut request);
    let path = request.uri().path().to_string();
    let description = format!(
        "{peer} connected to {}{path} origin {} subprotocol {} {}",
        ctx.listener_url,
        origin.as_deref().unwrap_or("(none)"),
        protocol.as_deref().unwrap_or("(none)"),
        describe_tls(&ctx.tls),
    );
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let response_headers = response.headers_mut();
    response_headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    response_headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(&key)) {
        response_headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    if let Some(protocol) = protocol.and_then(|p| HeaderValue::from_str(&p).ok()) {
        response_headers.insert(header::SEC_WEBSOCKET_PROTOCOL, protocol);
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
        let ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(shared.ws_config))
                .await;
        let peer = ctx.peer.to_string();
        echo::run(ws, slot, &shared.echo, &peer, shared.shutdown.clone()).await;
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

/// True when a comma-separated header (any of its occurrences) contains `token`, ignoring case.
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value
            .to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

fn is_valid_key(key: &[u8]) -> bool {
    data_encoding::BASE64
        .decode(key)
        .is_ok_and(|decoded| decoded.len() == 16)
}

/// Lower-cased and without a trailing slash, so `https://LOCALHOST:8443/` matches `https://localhost:8443`.
pub(crate) fn normalize_origin(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

fn origin_allowed(allowed: &[String], origin: &str) -> bool {
    allowed.is_empty() || allowed.contains(&normalize_origin(origin))
}

/// The first client-offered subprotocol that is configured, or without configuration the client's first offer.
fn select_protocol(headers: &HeaderMap, configured: &[String]) -> Option<String> {
    let mut offered = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty());
    if configured.is_empty() {
        offered.next().map(str::to_string)
    } else {
        offered
            .find(|p| configured.iter().any(|c| c == p))
            .map(str::to_string)
    }
}

fn with_type(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    with_type(status, "text/plain; charset=utf-8", body.to_string())
}

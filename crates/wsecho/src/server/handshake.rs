//! The WebSocket opening handshake as the server checks it, over HTTP/1.1 (RFC 6455 section 4.2.1: a GET with
//! `Upgrade: websocket`) and over HTTP/2 (RFC 8441: an extended CONNECT with `:protocol websocket`): a pure function
//! from a request and the server's [`Policy`] to the whole [`Answer`] (the accept key, the subprotocol, the
//! permessage-deflate parameters, the fault plan and the broadcast room), or to the [`Refusal`] to send instead.
//! Every decision about the answer is made here, once; http.rs only writes it out and upgrades, and the
//! connection's facts are taken from it.

use std::fmt;

use hyper::ext::Protocol;
use hyper::header::{self, HeaderMap};
use hyper::{Method, Request, StatusCode, Version};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::broadcast::{self, BadRoom};
use super::faults::{self, BadFault, FaultPlan};
use crate::ws::deflate::{self, Agreed, DeflateSettings};

/// What an upgrade may ask for, as the server is configured.
pub(crate) struct Policy {
    /// `--protocol` values; empty means "echo the client's first offer".
    pub(crate) protocols: Vec<String>,
    /// `--allow-origin` values, normalised; empty means any origin.
    pub(crate) allowed_origins: Vec<String>,
    /// permessage-deflate as the server offers it; `None` declines every offer (`--deflate off`).
    pub(crate) deflate: Option<DeflateSettings>,
    /// Whether the fault path fails on demand (off: `--no-faults`).
    pub(crate) faults: bool,
}

/// A handshake that passed every check: everything the answer says and the WebSocket starts with.
#[derive(Debug, PartialEq)]
pub(crate) struct Answer {
    /// The `Sec-WebSocket-Accept` value derived from the client's key; `None` over HTTP/2, which has no key.
    pub(crate) accept_key: Option<String>,
    /// The subprotocol to answer with, if any: the fault URL's `subprotocol=`, else one the client offered.
    pub(crate) protocol: Option<String>,
    /// The permessage-deflate the answer agrees to; `None`: the messages go uncompressed.
    pub(crate) deflate: Option<Compression>,
    /// What the fault URL asks of the connection; empty on every other path.
    pub(crate) faults: FaultPlan,
    /// The broadcast room a `/broadcast/ROOM` upgrade joins.
    pub(crate) room: Option<String>,
}

/// permessage-deflate as one connection uses it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Compression {
    /// The negotiated parameters, with the `Sec-WebSocket-Extensions` value that announces them.
    pub(crate) agreed: Agreed,
    /// Smallest message worth compressing (the server's setting; not negotiated).
    pub(crate) min_size: usize,
}

/// Why an upgrade request gets an HTTP error instead of 101.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    NotGet,
    NoConnectionUpgrade,
    /// An HTTP/2 extended CONNECT for a `:protocol` other than `websocket`.
    UnknownProtocol(String),
    /// Any `Sec-WebSocket-Version` but 13; the answer names the one supported.
    UnsupportedVersion,
    BadKey,
    OriginNotAllowed(String),
    /// The fault URL cannot be used.
    BadFault(BadFault),
    /// The fault URL asks for the upgrade to be refused with this status (`refuse=`).
    FaultRefuse(StatusCode),
    /// The broadcast room name cannot be used.
    BadRoom(BadRoom),
    /// Every connection slot is taken (`--max-connections`).
    TooManyConnections,
}

impl Refusal {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Refusal::NotGet => StatusCode::METHOD_NOT_ALLOWED,
            Refusal::NoConnectionUpgrade
            | Refusal::BadKey
            | Refusal::UnknownProtocol(_)
            | Refusal::BadFault(_)
            | Refusal::BadRoom(_) => StatusCode::BAD_REQUEST,
            Refusal::FaultRefuse(status) => *status,
            Refusal::UnsupportedVersion => StatusCode::UPGRADE_REQUIRED,
            Refusal::OriginNotAllowed(_) => StatusCode::FORBIDDEN,
            Refusal::TooManyConnections => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// The reason, as the response body and the log line say it.
impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotGet => f.write_str("a WebSocket handshake must be a GET"),
            Refusal::NoConnectionUpgrade => f.write_str("Connection header lacks \"Upgrade\""),
            Refusal::UnknownProtocol(protocol) => write!(
                f,
                "extended CONNECT for :protocol {protocol:?}; only \"websocket\" is served"
            ),
            Refusal::UnsupportedVersion => f.write_str("only Sec-WebSocket-Version 13 is supported"),
            Refusal::BadKey => {
                f.write_str("Sec-WebSocket-Key must be present once and be 16 bytes in base64")
            }
            Refusal::OriginNotAllowed(origin) => write!(f, "origin {origin} is not allowed"),
            Refusal::BadFault(bad) => write!(f, "{bad}"),
            Refusal::FaultRefuse(_) => f.write_str("refused as the fault URL asked (refuse=)"),
            Refusal::BadRoom(bad) => write!(f, "{bad}"),
            Refusal::TooManyConnections => {
                f.write_str("too many connections (--max-connections reached); try again later")
            }
        }
    }
}

/// Whether a request asks for a WebSocket: `Upgrade: websocket` over HTTP/1.1, a CONNECT with a `:protocol`
/// over HTTP/2 (any protocol; [`check`] refuses all but `websocket`).
pub(crate) fn is_websocket_request<B>(request: &Request<B>) -> bool {
    match request.version() {
        Version::HTTP_2 => {
            request.method() == Method::CONNECT && request.extensions().get::<Protocol>().is_some()
        }
        _ => has_token(request.headers(), header::UPGRADE, "websocket"),
    }
}

/// Checks a request that [`is_websocket_request`], in the order the refusals are tried. HTTP/1.1: method,
/// `Connection`, version, key; HTTP/2: `:protocol`, version. Then for both the origin (against the policy's
/// origins, normalised; empty allows any), the fault URL (faults.rs) and the room name (broadcast.rs). The
/// subprotocol is the fault URL's or one picked from the policy's, and deflate is negotiated from the offers.
pub(crate) fn check<B>(request: &Request<B>, policy: &Policy) -> Result<Answer, Refusal> {
    let headers = request.headers();
    let http2 = request.version() == Version::HTTP_2;
    if http2 {
        let protocol = request.extensions().get::<Protocol>().map(Protocol::as_str);
        if protocol != Some("websocket") {
            return Err(Refusal::UnknownProtocol(protocol.unwrap_or_default().into()));
        }
    } else {
        if request.method() != Method::GET {
            return Err(Refusal::NotGet);
        }
        if !has_token(headers, header::CONNECTION, "upgrade") {
            return Err(Refusal::NoConnectionUpgrade);
        }
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        return Err(Refusal::UnsupportedVersion);
    }
    let accept_key = if http2 {
        None
    } else {
        let mut keys = headers.get_all(header::SEC_WEBSOCKET_KEY).iter();
        match (keys.next(), keys.next()) {
            (Some(key), None) if is_valid_key(key.as_bytes()) => Some(derive_accept_key(key.as_bytes())),
            _ => return Err(Refusal::BadKey),
        }
    };
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = String::from_utf8_lossy(origin.as_bytes());
        if !origin_allowed(&policy.allowed_origins, &origin) {
            return Err(Refusal::OriginNotAllowed(origin.into_owned()));
        }
    }
    let uri = request.uri();
    let faults = faults::plan_for(uri.path(), uri.query(), policy.faults).map_err(Refusal::BadFault)?;
    if let Some(status) = faults.refuse {
        return Err(Refusal::FaultRefuse(status));
    }
    let room = broadcast::room_for(uri.path()).map_err(Refusal::BadRoom)?;
    let protocol = match &faults.subprotocol {
        Some(forced) => Some(forced.clone()),
        None => select_protocol(headers, &policy.protocols),
    };
    let deflate = policy.deflate.as_ref().and_then(|settings| {
        deflate::negotiate(headers, settings).map(|agreed| Compression {
            agreed,
            min_size: settings.min_size,
        })
    });
    Ok(Answer {
        accept_key,
        protocol,
        deflate,
        room: room.map(str::to_string),
        faults,
    })
}

/// True when a comma-separated header (any of its occurrences) contains `token`, ignoring case.
pub(crate) fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    comma_list(headers, name).any(|t| t.eq_ignore_ascii_case(token))
}

/// The items of a comma-separated header over all its occurrences, trimmed, empty ones skipped.
pub(crate) fn comma_list(headers: &HeaderMap, name: header::HeaderName) -> impl Iterator<Item = &str> {
    headers
        .get_all(name)
        .into_iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|item| !item.is_empty())
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
    let mut offered = comma_list(headers, header::SEC_WEBSOCKET_PROTOCOL);
    if configured.is_empty() {
        offered.next().map(str::to_string)
    } else {
        offered
            .find(|p| configured.iter().any(|c| c == p))
            .map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    /// The RFC 6455 example key and its accept value.
    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    fn request(extra: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("upgrade", "websocket"),
            ("connection", "keep-alive, Upgrade"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", KEY),
        ]
        .iter()
        .chain(extra)
        {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    /// The policy with these subprotocols and origins, faults on, deflate off.
    fn policy(protocols: &[String], allowed_origins: &[String]) -> Policy {
        Policy {
            protocols: protocols.to_vec(),
            allowed_origins: allowed_origins.to_vec(),
            deflate: None,
            faults: true,
        }
    }

    /// The answer for a plain echo path without deflate.
    fn plain(accept_key: Option<&str>, protocol: Option<&str>) -> Answer {
        Answer {
            accept_key: accept_key.map(str::to_string),
            protocol: protocol.map(str::to_string),
            deflate: None,
            faults: FaultPlan::default(),
            room: None,
        }
    }

    /// Checks an HTTP/1.1 request with these method and headers.
    fn check_h1(
        method: &Method,
        headers: &HeaderMap,
        protocols: &[String],
        allowed_origins: &[String],
    ) -> Result<Answer, Refusal> {
        check_h1_at("/", method, headers, &policy(protocols, allowed_origins))
    }

    /// Checks an HTTP/1.1 request to `uri` with these method and headers.
    fn check_h1_at(
        uri: &str,
        method: &Method,
        headers: &HeaderMap,
        policy: &Policy,
    ) -> Result<Answer, Refusal> {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .body(())
            .expect("request");
        *request.headers_mut() = headers.clone();
        check(&request, policy)
    }

    /// An HTTP/2 extended CONNECT for `protocol` with these headers.
    fn connect_h2(protocol: &'static str, headers: &[(&'static str, &'static str)]) -> Request<()> {
        let mut request = Request::builder()
            .method(Method::CONNECT)
            .version(Version::HTTP_2)
            .extension(Protocol::from_static(protocol))
            .body(())
            .expect("request");
        for (name, value) in headers {
            request
                .headers_mut()
                .append(*name, HeaderValue::from_static(value));
        }
        request
    }

    #[test]
    fn an_http2_extended_connect_is_accepted_without_a_key() {
        let request = connect_h2(
            "websocket",
            &[
                ("sec-websocket-version", "13"),
                ("sec-websocket-protocol", "chat"),
            ],
        );
        assert!(is_websocket_request(&request));
        assert_eq!(check(&request, &policy(&[], &[])), Ok(plain(None, Some("chat"))));
        let other = connect_h2("webtransport", &[("sec-websocket-version", "13")]);
        assert_eq!(
            check(&other, &policy(&[], &[])),
            Err(Refusal::UnknownProtocol("webtransport".into()))
        );
        let old = connect_h2("websocket", &[("sec-websocket-version", "8")]);
        assert_eq!(check(&old, &policy(&[], &[])), Err(Refusal::UnsupportedVersion));
        let mut plain_connect = Request::builder()
            .method(Method::CONNECT)
            .version(Version::HTTP_2)
            .body(())
            .expect("request");
        assert!(!is_websocket_request(&plain_connect));
        plain_connect
            .headers_mut()
            .insert("upgrade", HeaderValue::from_static("websocket"));
        assert!(
            !is_websocket_request(&plain_connect),
            "Upgrade means nothing in HTTP/2"
        );
    }

    #[test]
    fn a_valid_handshake_is_accepted_with_the_rfc_accept_key() {
        let offered = request(&[("sec-websocket-protocol", "chat, superchat")]);
        let accepted = check_h1(&Method::GET, &offered, &["superchat".into()], &[]).expect("valid handshake");
        assert_eq!(accepted, plain(Some(ACCEPT), Some("superchat")));
    }

    #[test]
    fn each_broken_part_has_its_refusal() {
        let ok = request(&[]);
        assert_eq!(check_h1(&Method::POST, &ok, &[], &[]), Err(Refusal::NotGet));
        let mut no_upgrade = ok.clone();
        no_upgrade.insert("connection", HeaderValue::from_static("keep-alive"));
        assert_eq!(
            check_h1(&Method::GET, &no_upgrade, &[], &[]),
            Err(Refusal::NoConnectionUpgrade)
        );
        let mut version_8 = ok.clone();
        version_8.insert("sec-websocket-version", HeaderValue::from_static("8"));
        assert_eq!(
            check_h1(&Method::GET, &version_8, &[], &[]),
            Err(Refusal::UnsupportedVersion)
        );
        let two_keys = request(&[("sec-websocket-key", KEY)]);
        assert_eq!(check_h1(&Method::GET, &two_keys, &[], &[]), Err(Refusal::BadKey));
        let foreign = request(&[("origin", "https://evil.example")]);
        let allowed = [normalize_origin("https://LOCALHOST:8443/")];
        assert_eq!(
            check_h1(&Method::GET, &foreign, &[], &allowed),
            Err(Refusal::OriginNotAllowed("https://evil.example".into()))
        );
        let own = request(&[("origin", "https://localhost:8443")]);
        assert!(check_h1(&Method::GET, &own, &[], &allowed).is_ok());
    }

    #[test]
    fn the_url_and_the_offers_decide_the_rest_of_the_answer() {
        let offered = request(&[
            ("sec-websocket-protocol", "chat"),
            ("sec-websocket-extensions", "permessage-deflate"),
        ]);
        let forced = check_h1_at(
            "/fault?subprotocol=other",
            &Method::GET,
            &offered,
            &policy(&[], &[]),
        )
        .expect("a fault URL with a subprotocol");
        assert_eq!(forced.protocol.as_deref(), Some("other"));
        assert_eq!(forced.faults.subprotocol.as_deref(), Some("other"));
        assert_eq!(forced.deflate, None, "deflate is off in this policy");
        let refused = check_h1_at("/fault?refuse=503", &Method::GET, &offered, &policy(&[], &[]));
        assert_eq!(
            refused,
            Err(Refusal::FaultRefuse(StatusCode::SERVICE_UNAVAILABLE))
        );
        let bad_room = check_h1_at("/broadcast/a*b", &Method::GET, &offered, &policy(&[], &[]));
        assert!(matches!(bad_room, Err(Refusal::BadRoom(_))), "{bad_room:?}");
        let compressing = Policy {
            deflate: Some(DeflateSettings::default()),
            ..policy(&[], &[])
        };
        let room = check_h1_at("/broadcast/lobby", &Method::GET, &offered, &compressing).expect("a room");
        assert_eq!(room.room.as_deref(), Some("lobby"));
        assert_eq!(room.protocol.as_deref(), Some("chat"));
        let deflate = room.deflate.expect("permessage-deflate agreed");
        assert!(deflate.agreed.response.starts_with("permessage-deflate"));
        assert_eq!(deflate.min_size, DeflateSettings::default().min_size);
    }
}

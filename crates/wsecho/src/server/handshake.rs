//! The WebSocket opening handshake as the server checks it, over HTTP/1.1 (RFC 6455 section 4.2.1: a GET with
//! `Upgrade: websocket`) and over HTTP/2 (RFC 8441: an extended CONNECT with `:protocol websocket`): a pure function
//! from a request to the [`Accepted`] plan for the answer (101, or 200 over HTTP/2), or to the [`Refusal`] to send
//! instead. Answering and upgrading are http.rs's job.

use std::fmt;

use hyper::ext::Protocol;
use hyper::header::{self, HeaderMap};
use hyper::{Method, Request, StatusCode, Version};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// A handshake that passed every check: what the answer needs.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Accepted {
    /// The `Sec-WebSocket-Accept` value derived from the client's key; `None` over HTTP/2, which has no key.
    pub(crate) accept_key: Option<String>,
    /// The subprotocol to answer with, if any.
    pub(crate) protocol: Option<String>,
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
    /// Every connection slot is taken (`--max-connections`).
    TooManyConnections,
}

impl Refusal {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Refusal::NotGet => StatusCode::METHOD_NOT_ALLOWED,
            Refusal::NoConnectionUpgrade | Refusal::BadKey | Refusal::UnknownProtocol(_) => {
                StatusCode::BAD_REQUEST
            }
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
/// `Connection`, version, key; HTTP/2: `:protocol`, version. Then for both the origin (against `allowed_origins`,
/// normalised; empty allows any), and the subprotocol is picked from `protocols`.
pub(crate) fn check<B>(
    request: &Request<B>,
    protocols: &[String],
    allowed_origins: &[String],
) -> Result<Accepted, Refusal> {
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
        if !origin_allowed(allowed_origins, &origin) {
            return Err(Refusal::OriginNotAllowed(origin.into_owned()));
        }
    }
    Ok(Accepted {
        accept_key,
        protocol: select_protocol(headers, protocols),
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

    /// Checks an HTTP/1.1 request with these method and headers.
    fn check_h1(
        method: &Method,
        headers: &HeaderMap,
        protocols: &[String],
        allowed_origins: &[String],
    ) -> Result<Accepted, Refusal> {
        let mut request = Request::builder().method(method).body(()).expect("request");
        *request.headers_mut() = headers.clone();
        check(&request, protocols, allowed_origins)
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
        assert_eq!(
            check(&request, &[], &[]),
            Ok(Accepted {
                accept_key: None,
                protocol: Some("chat".into())
            })
        );
        let other = connect_h2("webtransport", &[("sec-websocket-version", "13")]);
        assert_eq!(
            check(&other, &[], &[]),
            Err(Refusal::UnknownProtocol("webtransport".into()))
        );
        let old = connect_h2("websocket", &[("sec-websocket-version", "8")]);
        assert_eq!(check(&old, &[], &[]), Err(Refusal::UnsupportedVersion));
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
        assert_eq!(
            accepted,
            Accepted {
                accept_key: Some(ACCEPT.into()),
                protocol: Some("superchat".into())
            }
        );
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
}

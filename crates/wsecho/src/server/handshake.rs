//! The WebSocket opening handshake as the server checks it (RFC 6455 section 4.2.1): a pure function from a
//! request's method and headers to the [`Accepted`] plan for the 101 answer, or to the [`Refusal`] to send instead.
//! Answering and upgrading are http.rs's job.

use std::fmt;

use hyper::header::{self, HeaderMap};
use hyper::{Method, StatusCode};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// A handshake that passed every check: what the 101 answer and the connection's log line need.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Accepted {
    /// The `Sec-WebSocket-Accept` value derived from the client's key.
    pub(crate) accept_key: String,
    /// The client's `Origin`, if it sent one (it is allowed).
    pub(crate) origin: Option<String>,
    /// The subprotocol to answer with, if any.
    pub(crate) protocol: Option<String>,
}

/// Why an upgrade request gets an HTTP error instead of 101.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    NotGet,
    NoConnectionUpgrade,
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
            Refusal::NoConnectionUpgrade | Refusal::BadKey => StatusCode::BAD_REQUEST,
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

/// Checks a request that asks for `Upgrade: websocket`, in the order the refusals are tried: method,
/// `Connection`, version, key, origin (against `allowed_origins`, normalised; empty allows any); then picks the
/// subprotocol from `protocols`.
pub(crate) fn check(
    method: &Method,
    headers: &HeaderMap,
    protocols: &[String],
    allowed_origins: &[String],
) -> Result<Accepted, Refusal> {
    if method != Method::GET {
        return Err(Refusal::NotGet);
    }
    if !has_token(headers, header::CONNECTION, "upgrade") {
        return Err(Refusal::NoConnectionUpgrade);
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        return Err(Refusal::UnsupportedVersion);
    }
    let mut keys = headers.get_all(header::SEC_WEBSOCKET_KEY).iter();
    let accept_key = match (keys.next(), keys.next()) {
        (Some(key), None) if is_valid_key(key.as_bytes()) => derive_accept_key(key.as_bytes()),
        _ => return Err(Refusal::BadKey),
    };
    let origin = headers
        .get(header::ORIGIN)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    if let Some(origin) = &origin
        && !origin_allowed(allowed_origins, origin)
    {
        return Err(Refusal::OriginNotAllowed(origin.clone()));
    }
    Ok(Accepted {
        accept_key,
        origin,
        protocol: select_protocol(headers, protocols),
    })
}

/// True when a comma-separated header (any of its occurrences) contains `token`, ignoring case.
pub(crate) fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
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

    #[test]
    fn a_valid_handshake_is_accepted_with_the_rfc_accept_key() {
        let offered = request(&[("sec-websocket-protocol", "chat, superchat")]);
        let accepted = check(&Method::GET, &offered, &["superchat".into()], &[]).expect("valid handshake");
        assert_eq!(
            accepted,
            Accepted {
                accept_key: ACCEPT.into(),
                origin: None,
                protocol: Some("superchat".into())
            }
        );
    }

    #[test]
    fn each_broken_part_has_its_refusal() {
        let ok = request(&[]);
        assert_eq!(check(&Method::POST, &ok, &[], &[]), Err(Refusal::NotGet));
        let mut no_upgrade = ok.clone();
        no_upgrade.insert("connection", HeaderValue::from_static("keep-alive"));
        assert_eq!(
            check(&Method::GET, &no_upgrade, &[], &[]),
            Err(Refusal::NoConnectionUpgrade)
        );
        let mut version_8 = ok.clone();
        version_8.insert("sec-websocket-version", HeaderValue::from_static("8"));
        assert_eq!(
            check(&Method::GET, &version_8, &[], &[]),
            Err(Refusal::UnsupportedVersion)
        );
        let two_keys = request(&[("sec-websocket-key", KEY)]);
        assert_eq!(check(&Method::GET, &two_keys, &[], &[]), Err(Refusal::BadKey));
        let foreign = request(&[("origin", "https://evil.example")]);
        let allowed = [normalize_origin("https://LOCALHOST:8443/")];
        assert_eq!(
            check(&Method::GET, &foreign, &[], &allowed),
            Err(Refusal::OriginNotAllowed("https://evil.example".into()))
        );
        let own = request(&[("origin", "https://localhost:8443")]);
        assert!(check(&Method::GET, &own, &[], &allowed).is_ok());
    }
}

//! What one connection negotiated, in one place: HTTP and TLS versions, cipher suite, ALPN, SNI, key exchange
//! group, the client certificate, the subprotocols and extensions offered and accepted, Origin, User-Agent and the
//! remote address. `/whoami` serves them as JSON, a WebSocket's `info` command gets the same JSON, and the
//! server's connect log line lists the same fields, so the three always agree.

use std::net::SocketAddr;

use bytes::Bytes;
use hyper::header::{self, HeaderName};
use hyper::{Request, Version};
use rustls::ServerConnection;
use serde::Serialize;

use super::handshake::{Answer, comma_list};
use crate::tls;
use crate::ws::extensions;

/// The text message that asks for the connection's facts instead of an echo.
const INFO_COMMAND: &str = "info";

/// What the TLS handshake established; every field is `None` on a plain connection.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct TlsFacts {
    /// `TLS1.3` or `TLS1.2`.
    pub(crate) tls_version: Option<String>,
    /// The IANA name, e.g. `TLS_AES_256_GCM_SHA384` or `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`.
    pub(crate) cipher_suite: Option<String>,
    /// The protocol chosen by ALPN (`h2`, `http/1.1`); `None` when the client offered none.
    pub(crate) alpn: Option<String>,
    /// The host name the client asked for (SNI); `None` when it sent none (e.g. it connected to an IP address).
    pub(crate) sni: Option<String>,
    /// e.g. `X25519` or `secp256r1`.
    pub(crate) key_exchange_group: Option<String>,
    /// The subject of the verified client certificate (mutual TLS), e.g. `CN=alice`.
    pub(crate) client_cert_subject: Option<String>,
    /// Its serial number, hex as `certgen inspect` shows it.
    pub(crate) client_cert_serial: Option<String>,
}

impl TlsFacts {
    pub(crate) fn of(conn: &ServerConnection) -> Self {
        let client_cert = conn
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|der| certgen::Cert::from_der(der.clone().into_owned()).ok())
            .map(|cert| (cert.subject(), cert.serial()));
        let (client_cert_subject, client_cert_serial) = client_cert.unzip();
        TlsFacts {
            tls_version: conn.protocol_version().map(tls::version_name),
            cipher_suite: conn
                .negotiated_cipher_suite()
                .map(|suite| iana_suite_name(&format!("{:?}", suite.suite()))),
            alpn: conn
                .alpn_protocol()
                .map(|protocol| String::from_utf8_lossy(protocol).into_owned()),
            sni: conn.server_name().map(str::to_string),
            key_exchange_group: conn
                .negotiated_key_exchange_group()
                .map(|group| format!("{:?}", group.name())),
            client_cert_subject,
            client_cert_serial,
        }
    }
}

/// rustls names TLS 1.3 suites `TLS13_...`; IANA (and OpenSSL, and browsers) call them `TLS_...`.
fn iana_suite_name(rustls_name: &str) -> String {
    match rustls_name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => rustls_name.to_string(),
    }
}

/// Everything known about one request or WebSocket and the connection that carries it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ConnectionFacts {
    pub(crate) remote_addr: SocketAddr,
    /// The listener's URL as the banner shows it, e.g. `wss://localhost:8443`.
    pub(crate) listener: String,
    pub(crate) path: String,
    /// `HTTP/1.1` or `HTTP/2`.
    pub(crate) http_version: &'static str,
    #[serde(flatten)]
    pub(crate) tls: TlsFacts,
    pub(crate) origin: Option<String>,
    pub(crate) user_agent: Option<String>,
    /// `Sec-WebSocket-Protocol` offers, in the client's order.
    pub(crate) subprotocols_offered: Vec<String>,
    /// The subprotocol the server answered with.
    pub(crate) subprotocol: Option<String>,
    /// `Sec-WebSocket-Extensions` offers, each with its parameters.
    pub(crate) extensions_offered: Vec<String>,
    /// The extensions the server's answer accepted.
    pub(crate) extensions_accepted: Vec<String>,
}

impl ConnectionFacts {
    /// The facts a request shows, before any answer (nothing accepted yet).
    pub(crate) fn of_request<B>(
        request: &Request<B>,
        remote_addr: SocketAddr,
        listener: &str,
        tls: &TlsFacts,
    ) -> Self {
        let headers = request.headers();
        let single = |name: HeaderName| {
            headers
                .get(name)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        };
        ConnectionFacts {
            remote_addr,
            listener: listener.to_string(),
            path: request
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_string(),
            http_version: http_version_name(request.version()),
            tls: tls.clone(),
            origin: single(header::ORIGIN),
            user_agent: single(header::USER_AGENT),
            subprotocols_offered: owned(comma_list(headers, header::SEC_WEBSOCKET_PROTOCOL)),
            subprotocol: None,
            extensions_offered: owned(extensions::listed(headers)),
            extensions_accepted: Vec::new(),
        }
    }

    /// Adds what the server's handshake answer accepted: its subprotocol and extension.
    pub(crate) fn accepted_by(mut self, answer: &Answer) -> Self {
        self.subprotocol.clone_from(&answer.protocol);
        self.extensions_accepted = answer
            .deflate
            .iter()
            .map(|deflate| deflate.agreed.response.clone())
            .collect();
        self
    }

    /// The facts as the JSON document `/whoami` and `info` answer with.
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The reply to a data message: the facts for the `info` command, `None` (echo it) for anything else.
    pub(crate) fn answer(&self, text: bool, payload: &[u8]) -> Option<Bytes> {
        (text && payload == INFO_COMMAND.as_bytes()).then(|| Bytes::from(self.to_json()))
    }

    /// The connect log line: the remote address, then `key=value` pairs with the JSON's names in alphabetical
    /// order, absent values as `-`.
    pub(crate) fn log_line(&self) -> String {
        let json = serde_json::to_value(self).unwrap_or_default();
        let Some(fields) = json.as_object() else {
            return String::new();
        };
        let pairs: Vec<String> = fields
            .iter()
            .map(|(name, value)| format!("{name}={}", log_value(value)))
            .collect();
        format!("{} connected {}", self.remote_addr, pairs.join(" "))
    }
}

/// A JSON value as one log token: strings quoted only when they contain spaces, lists joined with commas.
fn log_value(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => "-".into(),
        Value::String(text) if text.is_empty() || text.contains([' ', '"']) => format!("{text:?}"),
        Value::String(text) => text.clone(),
        Value::Array(items) if items.is_empty() => "-".into(),
        Value::Array(items) => {
            let joined: Vec<String> = items
                .iter()
                .map(|item| item.as_str().map_or_else(|| item.to_string(), str::to_string))
                .collect();
            log_value(&Value::String(joined.join(",")))
        }
        other => other.to_string(),
    }
}

fn owned<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    values.map(str::to_string).collect()
}

/// `HTTP/1.1` or `HTTP/2`, as the page, the log and `/stats` name them.
pub(crate) fn http_version_name(version: Version) -> &'static str {
    match version {
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_09 => "HTTP/0.9",
        _ => "HTTP/1.1",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::faults::FaultPlan;

    fn facts() -> ConnectionFacts {
        let request = Request::builder()
            .uri("/room")
            .header("origin", "https://localhost:8443")
            .header("user-agent", "Mozilla/5.0 (X11) Test")
            .header("sec-websocket-protocol", "chat, superchat")
            .header(
                "sec-websocket-extensions",
                "permessage-deflate; client_max_window_bits, x-other",
            )
            .body(())
            .expect("request");
        let tls = TlsFacts {
            tls_version: Some("TLS1.3".into()),
            ..TlsFacts::default()
        };
        let answer = Answer {
            accept_key: None,
            protocol: Some("superchat".into()),
            deflate: None,
            faults: FaultPlan::default(),
            room: None,
        };
        ConnectionFacts::of_request(
            &request,
            "127.0.0.1:5000".parse().unwrap(),
            "wss://localhost:1",
            &tls,
        )
        .accepted_by(&answer)
    }

    #[test]
    fn offers_and_answers_are_split_per_item() {
        let facts = facts();
        assert_eq!(facts.subprotocols_offered, ["chat", "superchat"]);
        assert_eq!(facts.subprotocol.as_deref(), Some("superchat"));
        assert_eq!(
            facts.extensions_offered,
            ["permessage-deflate; client_max_window_bits", "x-other"]
        );
        assert!(facts.extensions_accepted.is_empty());
    }

    #[test]
    fn only_the_exact_info_command_is_answered() {
        let facts = facts();
        let reply = facts.answer(true, b"info").expect("info is answered");
        let json: serde_json::Value = serde_json::from_slice(&reply).unwrap();
        assert_eq!(json["http_version"], "HTTP/1.1");
        assert_eq!(json["tls_version"], "TLS1.3");
        assert_eq!(json["remote_addr"], "127.0.0.1:5000");
        assert!(facts.answer(true, b"info ").is_none());
        assert!(facts.answer(false, b"info").is_none());
    }

    #[test]
    fn the_log_line_names_every_field() {
        let line = facts().log_line();
        assert!(line.starts_with("127.0.0.1:5000 connected alpn=- "), "{line}");
        for token in [
            " remote_addr=127.0.0.1:5000 ",
            "http_version=HTTP/1.1",
            "tls_version=TLS1.3",
            "cipher_suite=-",
            "user_agent=\"Mozilla/5.0 (X11) Test\"",
            "subprotocols_offered=chat,superchat",
            "extensions_offered=\"permessage-deflate; client_max_window_bits,x-other\"",
        ] {
            assert!(line.contains(token), "{token} missing from {line}");
        }
    }

    #[test]
    fn tls13_suites_get_their_iana_names() {
        assert_eq!(
            iana_suite_name("TLS13_AES_256_GCM_SHA384"),
            "TLS_AES_256_GCM_SHA384"
        );
        assert_eq!(
            iana_suite_name("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        );
    }
}

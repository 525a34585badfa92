//! [`BoundListener`]: one listening socket as the banner, the page and other devices are told about it, and the
//! URLs it is announced under.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One bound listener as announced in the banner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundListener {
    pub tls: bool,
    /// The actual socket address (the real port when port 0 was asked for).
    pub local_addr: SocketAddr,
    /// WebSocket URL to connect to, e.g. `ws://127.0.0.1:8080` or `wss://localhost:8443`.
    pub url: String,
    /// The test page, e.g. `http://127.0.0.1:8080/` or `https://localhost:8443/`.
    pub page_url: String,
    /// The broken-certificate fixture it serves (`--bad-certs`), e.g. `expired`.
    pub bad_cert: Option<String>,
}

/// The URLs to announce for a bound address. With `--acme` the host is the certificate's first name; otherwise
/// wss uses `localhost` for IPv4 loopback and wildcard addresses because certificates name `localhost`; ws and
/// everything else use the IP literal.
pub(crate) fn announce(local_addr: SocketAddr, tls: bool, acme_host: Option<String>) -> BoundListener {
    let ip = local_addr.ip();
    let host = match (acme_host, ip) {
        (Some(name), _) => name,
        (None, IpAddr::V4(v4)) if tls && (v4.is_loopback() || v4.is_unspecified()) => "localhost".to_string(),
        (None, IpAddr::V4(v4)) if v4.is_unspecified() => Ipv4Addr::LOCALHOST.to_string(),
        (None, IpAddr::V4(v4)) => v4.to_string(),
        (None, IpAddr::V6(v6)) if v6.is_unspecified() => format!("[{}]", Ipv6Addr::LOCALHOST),
        (None, IpAddr::V6(v6)) => format!("[{v6}]"),
    };
    let port = local_addr.port();
    let (ws, page) = if tls { ("wss", "https") } else { ("ws", "http") };
    BoundListener {
        tls,
        local_addr,
        url: format!("{ws}://{host}:{port}"),
        page_url: format!("{page}://{host}:{port}/"),
        bad_cert: None,
    }
}

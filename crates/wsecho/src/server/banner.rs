//! The start-up banner, the one place the settings are announced: one `listening <ws url> page <page url>` line per
//! listener (scripts read these; a wildcard socket adds what it binds, as the URLs name loopback) and one
//! `bad certificate <name> <wss url> page <page url>` line per `--bad-certs` listener, then where to download the
//! CA, the origin, client-certificate, HTTP/2 and subprotocol policies when set, and how to stop.

use std::net::{IpAddr, SocketAddr};

use super::acme::Acme;
use super::bound_listener::BoundListener;
use super::config::Config;
use super::shared::Shared;
use super::tls::ClientAuth;

/// The banner's lines that only the configuration knows; the rest comes from the listeners and the shared state.
pub(crate) struct Banner {
    /// The client-certificate line, when `--client-ca` is set.
    client_certs: Option<String>,
    /// The HTTP/2 line, when there are wss listeners.
    http2: Option<&'static str>,
}

impl Banner {
    /// The lines for `config`, with `tls` telling whether any wss listener has a certificate.
    pub(crate) fn new(config: &Config, tls: bool) -> Self {
        let client_certs = config.client_ca.as_ref().map(|ca| {
            let required = match config.client_auth {
                ClientAuth::Required => "required",
                ClientAuth::Optional => "optional",
            };
            format!(
                "client certificates: {required}, verified against {}",
                ca.display()
            )
        });
        let http2 = tls.then_some(if config.http2 {
            "HTTP/2 on wss: on (ALPN h2 and http/1.1; WebSockets also by extended CONNECT)"
        } else {
            "HTTP/2 on wss: off (ALPN http/1.1 only)"
        });
        Banner { client_certs, http2 }
    }

    /// The whole banner, one `\n`-terminated line each.
    pub(crate) fn render(&self, listeners: &[BoundListener], shared: &Shared, acme: Option<&Acme>) -> String {
        let mut lines = vec![format!("wsecho {} echo server", env!("CARGO_PKG_VERSION"))];
        for listener in listeners {
            let line = match &listener.bad_cert {
                None => format!(
                    "listening {} page {}{}",
                    listener.url,
                    listener.page_url,
                    wildcard_note(listener.local_addr)
                ),
                Some(name) => format!(
                    "bad certificate {name} {} page {}",
                    listener.url, listener.page_url
                ),
            };
            lines.push(line);
        }
        if shared.ca_cer.is_some() {
            for listener in listeners.iter().filter(|l| l.bad_cert.is_none()) {
                lines.push(format!("CA download: {}ca.cer", listener.page_url));
            }
        }
        if let Some(fingerprint) = shared.devices.ca_fingerprint() {
            lines.push(format!("CA fingerprint (SHA-256): {fingerprint}"));
        }
        if let Some(devices) = shared.devices.banner() {
            lines.extend(devices.lines().map(str::to_owned));
        }
        let policy = &shared.handshake;
        if policy.allowed_origins.is_empty() {
            lines.push("origins: any (restrict with --allow-origin)".into());
        } else {
            lines.push(format!("origins: {}", policy.allowed_origins.join(", ")));
        }
        if let Some(acme) = acme {
            lines.push(acme.banner_line());
        }
        if let Some(client_certs) = &self.client_certs {
            lines.push(client_certs.clone());
        }
        if let Some(http2) = self.http2 {
            lines.push(http2.into());
        }
        if !policy.protocols.is_empty() {
            lines.push(format!("subprotocols: {}", policy.protocols.join(", ")));
        }
        if !policy.faults {
            lines.push("faults: off (--no-faults); /fault is a plain echo path".into());
        }
        lines.push("stop with Ctrl-C".into());
        lines.iter().map(|line| format!("{line}\n")).collect()
    }
}

/// For a wildcard socket, whose URLs name loopback, what it actually binds: ` (bound to 0.0.0.0:8080: every IPv4
/// address of this machine)`; nothing for any other socket.
fn wildcard_note(local_addr: SocketAddr) -> String {
    match local_addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            format!(" (bound to {local_addr}: every IPv4 address of this machine)")
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            format!(" (bound to {local_addr}: every IPv6 address of this machine)")
        }
        _ => String::new(),
    }
}

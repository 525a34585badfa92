//! `certgen inspect https://HOST:PORT` (or `wss://`): connect, and capture the chain the server sent whatever its
//! validity, so it can be described and diagnosed.
//!
//! The handshake accepts any certificate (that is the point: show the broken ones too) but still checks the
//! server's handshake signature with the certificate's key, so the chain shown is the one the server can prove;
//! only a key too weak for the crypto provider to check at all (RSA under 2048 bits) is taken unproven, and then `doctor`
//! rejects it for that weakness anyway.

use std::fmt;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::{ClientConfig, ClientConnection};
use rustls_pki_types::{CertificateDer, ServerName};
use time::OffsetDateTime;

use super::describe::{Description, KeyInfo, describe_certificate, key_info};
use crate::Error;
use crate::accept_any_chain::AcceptAnyChain;
use crate::cert::Cert;
use crate::error::InputError;

/// How long connecting and the handshake may take each.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A `https://` or `wss://` URL reduced to what the TLS handshake needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The DNS name or IP address, without brackets.
    pub host: String,
    pub port: u16,
}

impl Target {
    /// Parses `https://HOST[:PORT][/PATH]` or `wss://...` (port 443 by default; IPv6 in brackets).
    pub fn parse(url: &str) -> Result<Target, Error> {
        let bad = |reason: &str| {
            Error::Input(InputError::BadUrl {
                input: url.to_owned(),
                reason: reason.to_owned(),
            })
        };
        let rest = ["https://", "wss://"]
            .iter()
            .find_map(|scheme| url.strip_prefix(scheme))
            .ok_or_else(|| bad("use https://HOST[:PORT] or wss://HOST[:PORT]"))?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err(bad("a user name has no place here; give only HOST[:PORT]"));
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(bracketed) => {
                let (host, after) = bracketed
                    .split_once(']')
                    .ok_or_else(|| bad("an IPv6 address needs its closing `]`"))?;
                host.parse::<std::net::Ipv6Addr>()
                    .map_err(|_| bad("the part in brackets is not an IPv6 address"))?;
                (host, after.strip_prefix(':'))
            }
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        if host.is_empty() {
            return Err(bad("no host name"));
        }
        ServerName::try_from(host).map_err(|_| bad("the host is neither a DNS name nor an IP address"))?;
        let port = match port {
            None => 443,
            Some(port) => port
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad("the port must be a number from 1 to 65535"))?,
        };
        Ok(Target {
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// The name the client asks for and checks: an IP address or a DNS name.
    pub fn server_name(&self) -> ServerName<'static> {
        match self.host.parse::<IpAddr>() {
            Ok(ip) => ServerName::IpAddress(ip.into()),
            Err(_) => ServerName::try_from(self.host.clone()).expect("checked when parsed"),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// What a server presented in its handshake.
#[derive(Debug, Clone)]
pub struct Served {
    pub target: Target,
    pub address: SocketAddr,
    /// `TLSv1_3`, `TLSv1_2`.
    pub protocol: String,
    pub cipher_suite: String,
    /// Leaf first, in the order the server sent them.
    pub chain: Vec<CertificateDer<'static>>,
}

/// Connects to `target` and returns the chain it sends. A server that cannot be reached or completes no handshake
/// is an error saying so.
pub fn fetch_chain(target: &Target) -> Result<Served, Error> {
    let failed = |reason: String| Error::Connect {
        target: target.to_string(),
        reason,
    };
    let addresses: Vec<SocketAddr> = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| failed(format!("cannot resolve {}: {e}", target.host)))?
        .collect();
    let mut last_error = format!("{} resolves to no address", target.host);
    let mut connected = None;
    for address in addresses {
        match TcpStream::connect_timeout(&address, TIMEOUT) {
            Ok(stream) => {
                connected = Some((stream, address));
                break;
            }
            Err(e) => last_error = format!("cannot connect to {address}: {e} (is the server running?)"),
        }
    }
    let (mut stream, address) = connected.ok_or_else(|| failed(last_error))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| failed(e.to_string()))?;

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(AcceptAnyChain::new(&provider).or_accept_unprovable(weak_rsa_key));
    let config = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| failed(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    let mut tls =
        ClientConnection::new(Arc::new(config), target.server_name()).map_err(|e| failed(e.to_string()))?;
    while tls.is_handshaking() {
        tls.complete_io(&mut stream)
            .map_err(|e| failed(format!("the TLS handshake failed: {e}")))?;
    }
    let chain: Vec<CertificateDer<'static>> = tls
        .peer_certificates()
        .unwrap_or_default()
        .iter()
        .map(|c| c.clone().into_owned())
        .collect();
    let protocol = tls
        .protocol_version()
        .map_or_else(|| "unknown".to_owned(), |v| format!("{v:?}"));
    let cipher_suite = tls
        .negotiated_cipher_suite()
        .map_or_else(|| "unknown".to_owned(), |s| format!("{:?}", s.suite()));
    tls.send_close_notify();
    let _ = tls.complete_io(&mut stream);
    if chain.is_empty() {
        return Err(failed("the server sent no certificate".into()));
    }
    Ok(Served {
        target: target.clone(),
        address,
        protocol,
        cipher_suite,
        chain,
    })
}

impl Served {
    /// Each certificate the server sent, described as `certgen inspect FILE` describes one, its `file` being the
    /// URL it came from. A certificate that does not parse is an error naming its position.
    pub fn describe(&self) -> Result<Vec<Description>, Error> {
        let now = OffsetDateTime::now_utc();
        let origin = format!("https://{}", self.target);
        self.chain
            .iter()
            .enumerate()
            .map(|(i, der)| {
                let cert = Cert::from_der(der.clone()).map_err(|e| Error::Connect {
                    target: self.target.to_string(),
                    reason: format!("certificate #{} the server sent is malformed: {e}", i + 1),
                })?;
                let mut described = describe_certificate(&cert, now);
                described.file.clone_from(&origin);
                described.index = i + 1;
                Ok(described)
            })
            .collect()
    }
}

impl fmt::Display for Served {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}) sent {} certificate(s) over {}, {}",
            self.target,
            self.address,
            self.chain.len(),
            self.protocol,
            self.cipher_suite
        )
    }
}

/// Whether the leaf's key is an RSA key under 2048 bits, which the crypto provider cannot check a signature of at
/// all: taken unproven so that `doctor` can report the weak key instead of a failed connection.
fn weak_rsa_key(cert: &CertificateDer<'_>) -> bool {
    let key = x509_parser::parse_x509_certificate(cert)
        .ok()
        .map(|(_, parsed)| key_info(parsed.public_key()));
    matches!(
        key,
        Some(KeyInfo {
            algorithm,
            bits: Some(bits),
            ..
        }) if algorithm == "RSA" && bits < 2048
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_reduce_to_host_and_port() {
        let target = |url: &str| Target::parse(url).map(|t| (t.host, t.port));
        assert_eq!(
            target("https://localhost:8443/").ok(),
            Some(("localhost".into(), 8443))
        );
        assert_eq!(
            target("wss://LocalHost:8443/echo?x=1").ok(),
            Some(("localhost".into(), 8443))
        );
        assert_eq!(target("https://127.0.0.1").ok(), Some(("127.0.0.1".into(), 443)));
        assert_eq!(target("wss://[::1]:9443").ok(), Some(("::1".into(), 9443)));
        for (url, expected) in [
            ("http://localhost:8080/", "use https://"),
            ("localhost:8443", "use https://"),
            ("https://localhost:0/", "port must be a number"),
            ("https://localhost:http/", "port must be a number"),
            ("https://[::1/", "closing `]`"),
            ("https://user@localhost/", "user name"),
            ("https:///", "no host"),
        ] {
            let err = Target::parse(url).expect_err(url).to_string();
            assert!(err.contains(url) && err.contains(expected), "{url}: {err}");
            assert_eq!(Target::parse(url).expect_err(url).exit_code(), 2);
        }
    }
}

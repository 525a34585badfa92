//! tls-alpn-01 (RFC 8737): the CA opens TLS to `NAME:443` offering only the `acme-tls/1` ALPN protocol and expects
//! a self-signed certificate for the name whose critical acmeIdentifier extension holds the key authorization's
//! SHA-256. For an IP (RFC 8738) the TLS server name is the address's reverse-DNS name.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, RwLock};

use rcgen::{CertificateParams, CustomExtension, KeyPair};
use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::challenge::{ChallengeKind, PendingChallenge, Responder};
use super::error::Error as AcmeError;
use crate::{Error, SubjectName};

/// The ALPN protocol name of a validation handshake.
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// The validation certificates currently owed, by TLS server name; shared between the order and whatever serves
/// TLS.
#[derive(Debug, Clone, Default)]
pub struct AlpnCertificates {
    by_server_name: Arc<RwLock<HashMap<String, Arc<CertifiedKey>>>>,
}

impl AlpnCertificates {
    /// Is this handshake a validation (the client offers `acme-tls/1`)?
    pub fn is_validation(hello: &ClientHello<'_>) -> bool {
        hello
            .alpn()
            .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN))
    }

    /// The validation certificate for this handshake, when it is a validation of a pending name.
    pub fn for_hello(&self, hello: &ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if !Self::is_validation(hello) {
            return None;
        }
        let name = hello.server_name()?.to_ascii_lowercase();
        self.by_server_name
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&name)
            .cloned()
    }
}

impl Responder for AlpnCertificates {
    fn kind(&self) -> ChallengeKind {
        ChallengeKind::TlsAlpn01
    }

    fn present(&self, challenge: &PendingChallenge) -> Result<(), Error> {
        let certified = validation_certificate(&challenge.name, &challenge.digest)?;
        self.by_server_name
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(server_name(&challenge.name), Arc::new(certified));
        Ok(())
    }

    fn clear(&self, challenge: &PendingChallenge) -> Result<(), Error> {
        self.by_server_name
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&server_name(&challenge.name));
        Ok(())
    }
}

impl ResolvesServerCert for AlpnCertificates {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.for_hello(&hello)
    }
}

/// The TLS server name the CA sends for `name`: the name itself, or an IP's `in-addr.arpa` / `ip6.arpa` name.
fn server_name(name: &SubjectName) -> String {
    match name {
        SubjectName::Ip(IpAddr::V4(v4)) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        SubjectName::Ip(IpAddr::V6(v6)) => {
            let nibbles: Vec<String> = v6
                .octets()
                .iter()
                .rev()
                .flat_map(|byte| [byte & 0xf, byte >> 4])
                .map(|nibble| format!("{nibble:x}"))
                .collect();
            format!("{}.ip6.arpa", nibbles.join("."))
        }
        other => other.to_string().to_ascii_lowercase(),
    }
}

/// The RFC 8737 certificate: self-signed, the one name, the critical acmeIdentifier extension.
fn validation_certificate(name: &SubjectName, digest: &[u8; 32]) -> Result<CertifiedKey, Error> {
    let key = KeyPair::generate().map_err(|e| Error::crypto("making the tls-alpn-01 key", e))?;
    let mut params = CertificateParams::default();
    params.subject_alt_names = vec![name.to_san()?];
    params.custom_extensions = vec![CustomExtension::new_acme_identifier(digest)];
    let cert = params
        .self_signed(&key)
        .map_err(|e| Error::crypto("making the tls-alpn-01 certificate", e))?;
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let signing_key = rustls::crypto::aws_lc_rs::sign::any_supported_type(&key_der)
        .map_err(|e| Error::crypto("loading the tls-alpn-01 key", e))?;
    Ok(CertifiedKey::new(vec![cert.der().clone()], signing_key))
}

/// A TLS server answering only validation handshakes, for `certgen acme`; stops when dropped.
#[derive(Debug)]
pub struct TlsAlpn01Server {
    certificates: AlpnCertificates,
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl TlsAlpn01Server {
    /// Listens on `port` on every address (IPv6 and, dual-stack, IPv4): the CA connects from outside.
    pub async fn bind(port: u16) -> Result<Self, Error> {
        let addr = SocketAddr::from((Ipv6Addr::UNSPECIFIED, port));
        let listener = TcpListener::bind(addr).await.map_err(|e| {
            AcmeError::Responder(format!(
                "cannot listen on port {port} for tls-alpn-01: {e}; stop what uses it, or pick another --tls-port \
                 (a public CA always connects to port 443, so forward 443 to it)"
            ))
        })?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| Error::io("listen", addr.to_string(), e))?;
        let certificates = AlpnCertificates::default();
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| Error::crypto("setting up TLS for tls-alpn-01", e))?
                .with_no_client_auth()
                .with_cert_resolver(Arc::new(certificates.clone()));
        config.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
        let task = tokio::spawn(serve(listener, TlsAcceptor::from(Arc::new(config))));
        Ok(TlsAlpn01Server {
            certificates,
            local_addr,
            task,
        })
    }

    pub fn certificates(&self) -> &AlpnCertificates {
        &self.certificates
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Drop for TlsAlpn01Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Completes each handshake (that is the whole answer) and closes.
async fn serve(listener: TcpListener, acceptor: TlsAcceptor) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            if let Ok(mut tls) = acceptor.accept(stream).await {
                let _ = tls.shutdown().await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_names_of_addresses() {
        let v4 = SubjectName::parse("127.0.0.1").unwrap();
        assert_eq!(server_name(&v4), "1.0.0.127.in-addr.arpa");
        let v6 = SubjectName::parse("::1").unwrap();
        let expected = format!("1.{}ip6.arpa", "0.".repeat(31));
        assert_eq!(server_name(&v6), expected);
    }
}

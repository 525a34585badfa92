//! A TLS client verifier that accepts any server certificate chain but still checks the handshake signature with the
//! leaf's key, so the session is bound to the certificate shown: `certgen inspect https://...` and `doctor` must see
//! broken chains too, and `wsecho client --insecure` skips only the chain, never the proof of the key.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

/// Accepts every certificate chain, but checks handshake signatures, so the key is proven to match the leaf.
#[derive(Debug)]
pub struct AcceptAnyChain {
    algorithms: WebPkiSupportedAlgorithms,
    /// Says of a leaf whose signature failed to check that it is taken unproven anyway.
    unprovable: Option<fn(&CertificateDer<'_>) -> bool>,
}

impl AcceptAnyChain {
    /// Checks handshake signatures with the algorithms of `provider`.
    pub fn new(provider: &CryptoProvider) -> Self {
        AcceptAnyChain {
            algorithms: provider.signature_verification_algorithms,
            unprovable: None,
        }
    }

    /// Also accepts a signature that failed to check when `unprovable` says the leaf's key is one the provider
    /// cannot check at all (inspect's RSA under 2048 bits), so the caller can report the key instead of a failed
    /// connection.
    pub fn or_accept_unprovable(self, unprovable: fn(&CertificateDer<'_>) -> bool) -> Self {
        AcceptAnyChain {
            unprovable: Some(unprovable),
            ..self
        }
    }

    fn checked(
        &self,
        cert: &CertificateDer<'_>,
        result: Result<HandshakeSignatureValid, rustls::Error>,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        match (result, self.unprovable) {
            (Err(_), Some(unprovable)) if unprovable(cert) => Ok(HandshakeSignatureValid::assertion()),
            (result, _) => result,
        }
    }
}

impl ServerCertVerifier for AcceptAnyChain {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.checked(
            cert,
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms),
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.checked(
            cert,
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms),
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

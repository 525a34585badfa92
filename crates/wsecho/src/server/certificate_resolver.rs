//! The wss certificate when ACME supplies it: a rustls resolver the TLS state owns and the ACME task feeds in
//! memory after each order (the stored files are read only at start-up and on an explicit reload). With
//! tls-alpn-01 it also answers the CA's validation handshakes while an order is pending.

use std::path::Path;
use std::sync::{Arc, RwLock};

use certgen::acme::tls_alpn01::AlpnCertificates;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::certificate_source::CertificateSource;
use crate::{Error, tls};

/// The current pair, where it came from, and the validation certificates owed.
pub(crate) struct CertificateResolver {
    current: RwLock<Option<Arc<CertifiedKey>>>,
    source: RwLock<Option<CertificateSource>>,
    /// tls-alpn-01 only: the validation certificates, shared with the order that presents them.
    validations: Option<AlpnCertificates>,
    /// What a handshake waits for while there is no certificate, for the log.
    waiting_for: String,
}

impl std::fmt::Debug for CertificateResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateResolver")
            .field("waiting_for", &self.waiting_for)
            .finish()
    }
}

impl CertificateResolver {
    /// No certificate yet; `validations` when the CA validates by tls-alpn-01 on these listeners.
    pub(crate) fn new(validations: Option<AlpnCertificates>, waiting_for: String) -> Self {
        CertificateResolver {
            current: RwLock::new(None),
            source: RwLock::new(None),
            validations,
            waiting_for,
        }
    }

    /// Does it answer tls-alpn-01 validations (so ALPN must offer `acme-tls/1`)?
    pub(crate) fn answers_tls_alpn01(&self) -> bool {
        self.validations.is_some()
    }

    /// Serves `chain` with `key` to new handshakes from now on, with `source` for `/stats` and the banner.
    pub(crate) fn set(
        &self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        source: Option<CertificateSource>,
    ) -> Result<(), rustls::Error> {
        let signing_key = tls::provider().key_provider.load_private_key(key)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) =
            Some(Arc::new(CertifiedKey::new(chain, signing_key)));
        if source.is_some() {
            *self.source.write().unwrap_or_else(|p| p.into_inner()) = source;
        }
        Ok(())
    }

    /// Serves the pair stored in `chain_path` and `key_path` (the source stays as it was).
    pub(crate) fn load(&self, chain_path: &Path, key_path: &Path) -> Result<(), Error> {
        let chain = certgen::pem::read_chain(chain_path).map_err(tls::file_error("ACME certificate"))?;
        let key = certgen::pem::read_key(key_path).map_err(tls::file_error("private key"))?;
        self.set(chain, key, None).map_err(|e| Error::BadFile {
            what: "ACME key",
            path: key_path.to_path_buf(),
            detail: e.to_string(),
        })
    }

    pub(crate) fn set_source(&self, source: CertificateSource) {
        *self.source.write().unwrap_or_else(|p| p.into_inner()) = Some(source);
    }

    /// Where the serving certificate came from; `None` until there is one.
    pub(crate) fn source(&self) -> Option<CertificateSource> {
        self.source.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl ResolvesServerCert for CertificateResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if AlpnCertificates::is_validation(&hello) {
            return self.validations.as_ref()?.for_hello(&hello);
        }
        let current = self.current.read().unwrap_or_else(|p| p.into_inner()).clone();
        if current.is_none() {
            tracing::warn!("wss handshake refused: no certificate yet, {}", self.waiting_for);
        }
        current
    }
}

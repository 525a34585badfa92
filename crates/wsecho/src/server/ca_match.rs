//! Whether the server certificate chains to the CA offered at `/ca.cer`. A user who imports that CA and still
//! sees a certificate error was handed the wrong CA (typically after `certgen ca --force`), so start-up says so.

use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::{CertificateError, RootCertStore};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::tls;

/// Logs one WARN line when the chain in `cert` was not issued by the CA in `ca_der` (read from `ca`).
pub(crate) fn warn_if_unrelated(cert: &Path, ca: &Path, ca_der: &[u8]) {
    let Ok(chain) = certgen::pem::read_chain(cert) else {
        return; // The TLS setup has already reported an unreadable chain.
    };
    if !chains_to(&chain, ca_der) {
        tracing::warn!(
            "{} was not issued by the CA served at /ca.cer ({}): browsers that import that CA will reject this \
             server; reissue the certificate with this CA (`certgen issue ...`) or pass its own CA to --ca",
            cert.display(),
            ca.display()
        );
    }
}

/// True unless the verifier says the chain's issuer is unknown or its signature does not match: a name, time
/// or usage problem still means the chain leads to this CA.
fn chains_to(chain: &[CertificateDer<'static>], ca_der: &[u8]) -> bool {
    let Some((leaf, intermediates)) = chain.split_first() else {
        return true;
    };
    let mut roots = RootCertStore::empty();
    if roots.add(CertificateDer::from(ca_der.to_vec())).is_err() {
        return false;
    }
    let Ok(verifier) = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), tls::provider()).build()
    else {
        return false;
    };
    let name = ServerName::try_from("localhost").expect("a valid DNS name");
    !matches!(
        verifier.verify_server_cert(leaf, intermediates, &name, &[], UnixTime::now()),
        Err(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer | CertificateError::BadSignature
        ))
    )
}

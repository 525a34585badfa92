//! Where the serving certificate came from, for `/stats`, the test page and the banner: files given with `--cert`
//! (typically from the local CA) or an ACME CA, with its issuer, expiry and (for ACME) renewal time.

use certgen::Cert;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The `certificate` object of `/stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateSource {
    /// `files` (`--cert`/`--key`) or `acme` (`--acme`).
    pub source: String,
    /// The ACME CA's name (`letsencrypt`, or the directory's host); `None` for files.
    pub ca: Option<String>,
    /// The issuer's distinguished name in the certificate's order, e.g. `CN=certgen CA alice@laptop` or
    /// `C=US, O=Let's Encrypt, CN=R11`.
    pub issuer: String,
    pub serial: String,
    /// RFC 3339.
    pub not_after: String,
    /// RFC 3339; ACME only.
    pub renews_at: Option<String>,
}

impl CertificateSource {
    /// A certificate loaded from `--cert`.
    pub(crate) fn files(cert: &Cert) -> Self {
        Self::new(cert, "files", None, None)
    }

    /// A certificate from the ACME CA `ca`, renewing at `renews_at`.
    pub(crate) fn acme(cert: &Cert, ca: &str, renews_at: OffsetDateTime) -> Self {
        Self::new(cert, "acme", Some(ca.to_string()), Some(renews_at))
    }

    fn new(cert: &Cert, source: &str, ca: Option<String>, renews_at: Option<OffsetDateTime>) -> Self {
        CertificateSource {
            source: source.into(),
            ca,
            issuer: cert.issuer(),
            serial: cert.serial(),
            not_after: certgen::validity::rfc3339(cert.not_after()),
            renews_at: renews_at.map(certgen::validity::rfc3339),
        }
    }
}

//! [`CaOffer`]: the CA as other devices are offered it, by the trust page and the configuration profile: its name,
//! its fingerprints and the profile.

use certgen::cert::colon_hex;
use hyper::body::Bytes;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::mobileconfig;

/// The CA as the trust page and the profile present it.
pub(crate) struct CaOffer {
    /// The certificate's common name (or a stand-in when it has none).
    pub(crate) name: String,
    /// SHA-256 fingerprint, colon hex as `certgen inspect` prints it.
    pub(crate) sha256: String,
    /// SHA-1 thumbprint, what the Windows import dialog shows.
    pub(crate) sha1: String,
    /// `/ca.mobileconfig`.
    pub(crate) profile: Bytes,
}

impl CaOffer {
    pub(crate) fn new(der: &[u8]) -> CaOffer {
        let name = certgen::Cert::from_der(der.to_vec())
            .ok()
            .map(|cert| cert.subject_cn().to_owned())
            .filter(|cn| !cn.is_empty())
            .unwrap_or_else(|| "local development CA".to_owned());
        let sha256 = colon_hex(&Sha256::digest(der));
        let profile = mobileconfig::profile(der, &name, &sha256);
        CaOffer {
            sha1: colon_hex(&Sha1::digest(der)),
            profile: Bytes::from(profile),
            name,
            sha256,
        }
    }

    #[cfg(test)]
    pub(crate) fn for_test() -> CaOffer {
        CaOffer::new(b"not a certificate")
    }
}

//! What every certificate certgen makes starts from, CA and leaf alike: an empty subject, a random serial, a
//! checked common name and a standard key identifier.

use rcgen::{CertificateParams, KeyIdMethod, PublicKeyData, SerialNumber};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::error::InputError;

/// X.520 upper bound of a common name (RFC 5280 `ub-common-name`).
pub(crate) const MAX_CN_LEN: usize = 64;

/// rcgen's defaults without its placeholder subject (`CN=rcgen self signed cert`), for a certificate of `key`.
pub(crate) fn empty_params(key: &impl PublicKeyData) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.key_identifier_method = key_identifier(key);
    params
}

/// The subject key identifier of RFC 7093 method 1: the leftmost 160 bits of the SHA-256 of the subjectPublicKey
/// bits. rcgen's own method hashes the whole SubjectPublicKeyInfo, which no standard names. The CA's identifier is
/// read back from `ca.pem` as its leaves' authority key identifier, so older CAs keep matching their leaves.
fn key_identifier(key: &impl PublicKeyData) -> KeyIdMethod {
    KeyIdMethod::PreSpecified(Sha256::digest(key.der_bytes())[..20].to_vec())
}

/// 128 random bits, positive and always 16 bytes long in DER.
pub(crate) fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

/// A `--cn` value as given, refused when empty, too long or holding control characters.
pub(crate) fn checked_cn(cn: &str) -> Result<String, Error> {
    if cn.is_empty() || cn.len() > MAX_CN_LEN || cn.chars().any(char::is_control) {
        return Err(Error::Input(InputError::BadCn {
            cn: cn.to_string(),
            max: MAX_CN_LEN,
        }));
    }
    Ok(cn.to_string())
}

//! What every certificate certgen makes starts from, CA and leaf alike: an empty subject, a random serial and a
//! checked common name.

use rcgen::{CertificateParams, SerialNumber};

use crate::Error;

/// X.520 upper bound of a common name (RFC 5280 `ub-common-name`).
pub(crate) const MAX_CN_LEN: usize = 64;

/// rcgen's defaults without its placeholder subject (`CN=rcgen self signed cert`).
pub(crate) fn empty_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
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
        return Err(Error::BadCn {
            cn: cn.to_string(),
            max: MAX_CN_LEN,
        });
    }
    Ok(cn.to_string())
}

//! `certgen inspect`: what a certificate or CSR says, in the terms users compare with openssl.

use std::fmt;
use std::path::Path;

use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_parser::asn1_rs::Oid;
use x509_parser::certificate::X509Certificate;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{
    ExtendedKeyUsage, GeneralName, GeneralSubtree, KeyUsage, NameConstraints, ParsedExtension,
};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521, OID_PKCS1_RSAENCRYPTION,
    OID_SIG_ED448, OID_SIG_ED25519,
};
use x509_parser::prelude::{FromDer, oid_registry, oid2sn};
use x509_parser::public_key::PublicKey;
use x509_parser::x509::{AlgorithmIdentifier, SubjectPublicKeyInfo};

use super::objects::{ObjectKind, load_objects, malformed, shown};
use crate::Error;
use crate::cert::{Cert, SubjectAltName, colon_hex, ip_from_bytes};
use crate::validity::rfc3339;

/// Everything `inspect` shows about one certificate or CSR. Field names are the `--json` schema.
#[derive(Debug, Clone, Serialize)]
pub struct Description {
    /// The file as the user named it.
    pub file: String,
    /// 1-based position of this object in the file.
    pub index: usize,
    pub kind: ObjectKind,
    pub subject: String,
    /// Certificates only (a CSR has no issuer, serial or validity).
    pub issuer: Option<String>,
    /// Uppercase hex without sign byte or separators, as `openssl x509 -serial` prints it.
    pub serial: Option<String>,
    /// RFC 3339, UTC.
    pub not_before: Option<String>,
    pub not_after: Option<String>,
    /// Whole days until `not_after`; negative once expired.
    pub days_left: Option<i64>,
    pub subject_alt_names: Vec<SubjectAltName>,
    pub key: KeyInfo,
    pub signature_algorithm: String,
    pub key_usage: Vec<String>,
    pub extended_key_usage: Vec<String>,
    pub basic_constraints: Option<BasicConstraintsInfo>,
    pub name_constraints: Option<NameConstraintsInfo>,
    /// Colon-separated uppercase hex of the DER, as `openssl x509 -fingerprint` prints it.
    pub sha256_fingerprint: String,
    pub sha1_fingerprint: String,
    /// Validity window as parsed, for display; not part of the JSON schema.
    #[serde(skip)]
    validity: Option<(OffsetDateTime, OffsetDateTime)>,
}

/// The subject's public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// `RSA`, `ECDSA`, `Ed25519`, `Ed448`, or the algorithm's name/OID for anything else.
    pub algorithm: String,
    /// Modulus size for RSA, field size for elliptic curves.
    pub bits: Option<usize>,
    /// `P-256`, `P-384`, `P-521`, or the curve OID.
    pub curve: Option<String>,
}

impl fmt::Display for KeyInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.algorithm)?;
        match (&self.curve, self.bits) {
            (Some(curve), _) => write!(f, " {curve}"),
            (None, Some(bits)) if self.algorithm == "RSA" => write!(f, " {bits} bits"),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BasicConstraintsInfo {
    pub ca: bool,
    pub path_len: Option<u32>,
}

impl fmt::Display for BasicConstraintsInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.ca, self.path_len) {
            (true, Some(len)) => write!(f, "CA:TRUE, pathlen:{len}"),
            (true, None) => f.write_str("CA:TRUE"),
            (false, _) => f.write_str("CA:FALSE"),
        }
    }
}

/// Describes every certificate and CSR in `path`.
pub fn describe_file(path: &Path) -> Result<Vec<Description>, Error> {
    let now = OffsetDateTime::now_utc();
    load_objects(path)?
        .iter()
        .enumerate()
        .map(|(i, object)| {
            let what = format!("{} #{}", object.kind, i + 1);
            let described = match object.kind {
                ObjectKind::Certificate => Cert::from_der(object.der.clone())
                    .map(|cert| describe_certificate(&cert, now))
                    .map_err(|e| malformed(path, &what, e)),
                ObjectKind::Csr => X509CertificationRequest::from_der(&object.der)
                    .map(|(_, csr)| describe_csr(&csr))
                    .map_err(|e| malformed(path, &what, e)),
            };
            described.map(|mut d| {
                d.file = shown(path);
                d.index = i + 1;
                d
            })
        })
        .collect()
}

pub(crate) fn describe_certificate(cert: &Cert, now: OffsetDateTime) -> Description {
    let x509 = cert.x509();
    let (not_before, not_after) = (cert.not_before(), cert.not_after());
    let extensions = Extensions::of(&x509);
    Description {
        file: String::new(),
        index: 0,
        kind: ObjectKind::Certificate,
        subject: x509.subject().to_string(),
        issuer: Some(x509.issuer().to_string()),
        serial: Some(serial_hex(x509.raw_serial())),
        not_before: Some(rfc3339(not_before)),
        not_after: Some(rfc3339(not_after)),
        days_left: Some((not_after - now).whole_seconds().div_euclid(86_400)),
        subject_alt_names: extensions.subject_alt_names,
        key: key_info(x509.public_key()),
        signature_algorithm: algorithm_name(&x509.signature_algorithm),
        key_usage: extensions.key_usage,
        extended_key_usage: extensions.extended_key_usage,
        basic_constraints: extensions.basic_constraints,
        name_constraints: extensions.name_constraints,
        sha256_fingerprint: cert.sha256_colons(),
        sha1_fingerprint: cert.sha1_colons(),
        validity: Some((not_before, not_after)),
    }
}

fn describe_csr(csr: &X509CertificationRequest<'_>) -> Description {
    let der = csr.as_raw();
    let info = &csr.certification_request_info;
    let extensions = Extensions::collect(csr.requested_extensions().into_iter().flatten());
    Description {
        file: String::new(),
        index: 0,
        kind: ObjectKind::Csr,
        subject: info.subject.to_string(),
        issuer: None,
        serial: None,
        not_before: None,
        not_after: None,
        days_left: None,
        subject_alt_names: extensions.subject_alt_names,
        key: key_info(&info.subject_pki),
        signature_algorithm: algorithm_name(&csr.signature_algorithm),
        key_usage: extensions.key_usage,
        extended_key_usage: extensions.extended_key_usage,
        basic_constraints: extensions.basic_constraints,
        name_constraints: extensions.name_constraints,
        sha256_fingerprint: colon_hex(&Sha256::digest(der)),
        sha1_fingerprint: colon_hex(&Sha1::digest(der)),
        validity: None,
    }
}

/// The extensions `inspect` and `lint` care about, from a certificate or a CSR's request.
#[derive(Default)]
pub(crate) struct Extensions {
    pub(crate) subject_alt_names: Vec<SubjectAltName>,
    pub(crate) key_usage: Vec<String>,
    pub(crate) extended_key_usage: Vec<String>,
    pub(crate) basic_constraints: Option<BasicConstraintsInfo>,
    pub(crate) name_constraints: Option<NameConstraintsInfo>,
}

impl Extensions {
    pub(crate) fn of(cert: &X509Certificate<'_>) -> Self {
        Self::collect(cert.iter_extensions().map(|e| e.parsed_extension()))
    }

    pub(crate) fn collect<'a, 'b: 'a>(parsed: impl IntoIterator<Item = &'a ParsedExtension<'b>>) -> Self {
        let mut found = Self::default();
        for extension in parsed {
            match extension {
                ParsedExtension::SubjectAlternativeName(san) => found
                    .subject_alt_names
                    .extend(san.general_names.iter().map(SubjectAltName::from_general_name)),
                ParsedExtension::KeyUsage(usage) => found.key_usage = key_usage_names(usage),
                ParsedExtension::ExtendedKeyUsage(eku) => {
                    found.extended_key_usage = extended_key_usage_names(eku);
                }
                ParsedExtension::BasicConstraints(bc) => {
                    found.basic_constraints = Some(BasicConstraintsInfo {
                        ca: bc.ca,
                        path_len: bc.path_len_constraint,
                    });
                }
                ParsedExtension::NameConstraints(nc) => {
                    found.name_constraints = Some(NameConstraintsInfo::from_extension(nc));
                }
                _ => {}
            }
        }
        found
    }
}

/// A CA's name constraints, each subtree written as `openssl x509 -text` writes it
/// (`DNS:localhost`, `IP:127.0.0.0/255.0.0.0`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameConstraintsInfo {
    pub permitted: Vec<String>,
    pub excluded: Vec<String>,
}

impl NameConstraintsInfo {
    fn from_extension(constraints: &NameConstraints<'_>) -> Self {
        let shown = |list: &Option<Vec<GeneralSubtree<'_>>>| {
            list.iter().flatten().map(|s| subtree_text(&s.base)).collect()
        };
        Self {
            permitted: shown(&constraints.permitted_subtrees),
            excluded: shown(&constraints.excluded_subtrees),
        }
    }
}

/// An IP subtree is an address followed by its mask, 8 bytes for IPv4 and 32 for IPv6.
fn subtree_text(base: &GeneralName<'_>) -> String {
    if let GeneralName::IPAddress(bytes) = base {
        let (address, mask) = bytes.split_at(bytes.len() / 2);
        if let (Some(address), Some(mask)) = (ip_from_bytes(address), ip_from_bytes(mask)) {
            return format!("IP:{address}/{mask}");
        }
    }
    SubjectAltName::from_general_name(base).to_string()
}

/// Key usage bits in RFC 5280 order, named as `openssl x509 -text` names them.
const KEY_USAGE_NAMES: [&str; 9] = [
    "Digital Signature",
    "Non Repudiation",
    "Key Encipherment",
    "Data Encipherment",
    "Key Agreement",
    "Certificate Sign",
    "CRL Sign",
    "Encipher Only",
    "Decipher Only",
];

fn key_usage_names(usage: &KeyUsage) -> Vec<String> {
    KEY_USAGE_NAMES
        .iter()
        .enumerate()
        .filter(|(bit, _)| usage.flags >> bit & 1 == 1)
        .map(|(_, name)| name.to_string())
        .collect()
}

fn extended_key_usage_names(eku: &ExtendedKeyUsage<'_>) -> Vec<String> {
    let known = [
        (eku.server_auth, "serverAuth"),
        (eku.client_auth, "clientAuth"),
        (eku.code_signing, "codeSigning"),
        (eku.email_protection, "emailProtection"),
        (eku.time_stamping, "timeStamping"),
        (eku.ocsp_signing, "OCSPSigning"),
        (eku.any, "anyExtendedKeyUsage"),
    ];
    known
        .iter()
        .filter(|(present, _)| *present)
        .map(|(_, name)| name.to_string())
        .chain(eku.other.iter().map(ToString::to_string))
        .collect()
}

pub(crate) fn key_info(spki: &SubjectPublicKeyInfo<'_>) -> KeyInfo {
    let algorithm = &spki.algorithm.algorithm;
    if *algorithm == OID_PKCS1_RSAENCRYPTION {
        let bits = match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => Some(significant_bits(rsa.modulus)),
            _ => None,
        };
        return KeyInfo {
            algorithm: "RSA".into(),
            bits,
            curve: None,
        };
    }
    if *algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| Oid::try_from(p).ok());
        let (name, bits) = match curve {
            Some(oid) if oid == OID_EC_P256 => ("P-256".to_string(), Some(256)),
            Some(oid) if oid == OID_NIST_EC_P384 => ("P-384".to_string(), Some(384)),
            Some(oid) if oid == OID_NIST_EC_P521 => ("P-521".to_string(), Some(521)),
            Some(oid) => (oid.to_id_string(), None),
            None => ("unknown curve".to_string(), None),
        };
        return KeyInfo {
            algorithm: "ECDSA".into(),
            bits,
            curve: Some(name),
        };
    }
    let (name, bits) = if *algorithm == OID_SIG_ED25519 {
        ("Ed25519".to_string(), Some(256))
    } else if *algorithm == OID_SIG_ED448 {
        ("Ed448".to_string(), Some(456))
    } else {
        (oid_name(algorithm), None)
    };
    KeyInfo {
        algorithm: name,
        bits,
        curve: None,
    }
}

/// Bit length of a big-endian unsigned integer (DER integers may carry a leading zero byte).
fn significant_bits(be_bytes: &[u8]) -> usize {
    let trimmed: &[u8] = match be_bytes.iter().position(|&b| b != 0) {
        Some(first) => &be_bytes[first..],
        None => &[],
    };
    match trimmed.first() {
        Some(&top) => trimmed.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    }
}

pub(crate) fn algorithm_name(algorithm: &AlgorithmIdentifier<'_>) -> String {
    oid_name(&algorithm.algorithm)
}

fn oid_name(oid: &Oid<'_>) -> String {
    oid2sn(oid, oid_registry()).map_or_else(|_| oid.to_id_string(), str::to_string)
}

fn serial_hex(raw: &[u8]) -> String {
    let magnitude = match raw.iter().position(|&b| b != 0) {
        Some(first) => &raw[first..],
        None => &[0u8][..],
    };
    hex::encode_upper(magnitude)
}

/// `2027-12-27 12:00:00 UTC`.
fn human_time(time: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time.format(&format).unwrap_or_else(|_| time.to_string())
}

/// `396 days left`, `expired 3 days ago`, `not valid until 2027-...`.
pub(crate) fn validity_summary(
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    now: OffsetDateTime,
) -> String {
    if now < not_before {
        format!("not valid yet: starts in {} days", ceil_days(not_before - now))
    } else if now > not_after {
        match (now - not_after).whole_days() {
            0 => "expired less than a day ago".to_string(),
            1 => "expired 1 day ago".to_string(),
            n => format!("expired {n} days ago"),
        }
    } else {
        match (not_after - now).whole_days() {
            0 => "expires in less than a day".to_string(),
            1 => "1 day left".to_string(),
            n => format!("{n} days left"),
        }
    }
}

fn ceil_days(duration: time::Duration) -> i64 {
    (duration.whole_seconds() + 86_399) / 86_400
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

impl fmt::Display for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} #{}: {}", self.file, self.index, self.kind)?;
        let mut field = |name: &str, value: &str| writeln!(f, "  {name:<20}{value}");
        field("Subject:", &self.subject)?;
        if let Some(issuer) = &self.issuer {
            field("Issuer:", issuer)?;
        }
        if let Some(serial) = &self.serial {
            field("Serial:", serial)?;
        }
        if let Some((not_before, not_after)) = self.validity {
            field("Not before:", &human_time(not_before))?;
            let summary = validity_summary(not_before, not_after, OffsetDateTime::now_utc());
            field("Not after:", &format!("{} ({summary})", human_time(not_after)))?;
        }
        let names: Vec<String> = self.subject_alt_names.iter().map(ToString::to_string).collect();
        field("Names (SAN):", &list_or_none(&names))?;
        field("Key:", &self.key.to_string())?;
        field("Signature:", &self.signature_algorithm)?;
        field("Key usage:", &list_or_none(&self.key_usage))?;
        field("Extended usage:", &list_or_none(&self.extended_key_usage))?;
        if let Some(bc) = &self.basic_constraints {
            field("Basic constraints:", &bc.to_string())?;
        }
        if let Some(nc) = &self.name_constraints {
            field("Permitted names:", &list_or_none(&nc.permitted))?;
            field("Excluded names:", &list_or_none(&nc.excluded))?;
        }
        field("SHA-256:", &self.sha256_fingerprint)?;
        field("SHA-1:", &self.sha1_fingerprint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_subtrees_read_like_openssl() {
        let v4 = GeneralName::IPAddress(&[127, 0, 0, 0, 255, 0, 0, 0]);
        assert_eq!(subtree_text(&v4), "IP:127.0.0.0/255.0.0.0");
        let mut v6 = [0u8; 32];
        v6[15] = 1;
        v6[16..].fill(0xff);
        assert_eq!(
            subtree_text(&GeneralName::IPAddress(&v6)),
            "IP:::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        );
        assert_eq!(
            subtree_text(&GeneralName::DNSName(".localhost")),
            "DNS:.localhost"
        );
    }

    #[test]
    fn serial_drops_sign_byte_like_openssl() {
        assert_eq!(serial_hex(&[0x00, 0x9F, 0x01]), "9F01");
        assert_eq!(serial_hex(&[0x01]), "01");
        assert_eq!(serial_hex(&[0x00]), "00");
    }

    #[test]
    fn rsa_modulus_bits() {
        assert_eq!(significant_bits(&[0x00, 0x80, 0, 0]), 24);
        assert_eq!(significant_bits(&[0x01, 0xFF]), 9);
        assert_eq!(significant_bits(&[]), 0);
    }

    #[test]
    fn validity_wording() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(100);
        let day = time::Duration::days(1);
        assert_eq!(validity_summary(now - day, now + day * 10, now), "10 days left");
        assert_eq!(
            validity_summary(now - day * 9, now - day * 3, now),
            "expired 3 days ago"
        );
        assert_eq!(
            validity_summary(now + day * 2, now + day * 10, now),
            "not valid yet: starts in 2 days"
        );
    }
}

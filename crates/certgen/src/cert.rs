//! One type for a certificate read from disk or DER, and the facts every command wants from it: subject CN, names,
//! validity, CA flag, name constraints and fingerprints. Commands that need more (inspect's extensions, lint's
//! rules) take the parsed certificate from [`Cert::x509`]. Files are read by [`crate::pem`].

use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use rustls_pki_types::CertificateDer;
use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::x509::X509Name;

use crate::Error;
use crate::constraints::Constraints;
use crate::error::StoreError;
use crate::names::SubjectName;
use crate::{pem, store};

/// A parsed X.509 certificate. Construction checks that the DER parses, so every accessor is infallible.
#[derive(Debug, Clone)]
pub struct Cert {
    der: CertificateDer<'static>,
    subject_cn: String,
    subject_alt_names: Vec<SubjectAltName>,
    names: Vec<SubjectName>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    is_ca: bool,
    name_constraints: Result<Option<Constraints>, String>,
    sha256: [u8; 32],
    sha1: [u8; 20],
}

impl Cert {
    /// Parses one DER certificate; the error is x509-parser's reason.
    pub fn from_der(der: impl Into<CertificateDer<'static>>) -> Result<Self, String> {
        let der = der.into();
        let (_, x509) = x509_parser::parse_x509_certificate(&der).map_err(|e| e.to_string())?;
        let general_names: Vec<&GeneralName<'_>> = match x509.subject_alternative_name() {
            Ok(Some(san)) => san.value.general_names.iter().collect(),
            _ => Vec::new(),
        };
        let cert = Cert {
            subject_cn: common_name(x509.subject()).unwrap_or_default().to_string(),
            subject_alt_names: general_names
                .iter()
                .map(|name| SubjectAltName::from_general_name(name))
                .collect(),
            names: general_names
                .iter()
                .filter_map(|name| SubjectName::from_general_name(name).ok())
                .collect(),
            not_before: x509.validity().not_before.to_datetime(),
            not_after: x509.validity().not_after.to_datetime(),
            is_ca: x509.is_ca(),
            name_constraints: Constraints::from_certificate(&x509),
            sha256: Sha256::digest(&der).into(),
            sha1: Sha1::digest(&der).into(),
            der: CertificateDer::from(der.to_vec()),
        };
        Ok(cert)
    }

    /// The certificate rcgen just made.
    pub(crate) fn from_rcgen(cert: &rcgen::Certificate) -> Result<Self, Error> {
        Cert::from_der(cert.der().clone()).map_err(|e| Error::crypto("reading the new certificate", e))
    }

    /// The first certificate of PEM text read from `path` (later blocks are ignored); errors name `path`.
    pub fn from_pem(pem: &[u8], path: &Path) -> Result<Self, Error> {
        let bad = |reason: &str| {
            Error::Store(StoreError::BadFile {
                path: path.into(),
                reason: reason.into(),
            })
        };
        let der = pem::first_certificate(pem).map_err(|_| bad("not a PEM certificate"))?;
        Cert::from_der(der).map_err(|_| bad("not a valid X.509 certificate"))
    }

    /// The first certificate of a PEM file (`ca.pem`, `STEM.pem`).
    pub fn from_pem_file(path: &Path) -> Result<Self, Error> {
        Cert::from_pem(&store::read(path)?, path)
    }

    pub fn der(&self) -> &CertificateDer<'static> {
        &self.der
    }

    /// The subject's distinguished name in the certificate's order, e.g. `CN=alice`.
    pub fn subject(&self) -> String {
        self.x509().subject().to_string()
    }

    /// The issuer's distinguished name in the certificate's order, e.g. `C=US, O=Let's Encrypt, CN=R11`.
    pub fn issuer(&self) -> String {
        self.x509().issuer().to_string()
    }

    /// The serial number as colon-separated hex bytes, as `certgen inspect` shows it.
    pub fn serial(&self) -> String {
        self.x509().raw_serial_as_string()
    }

    /// The subject's first common name, empty when it has none.
    pub fn subject_cn(&self) -> &str {
        &self.subject_cn
    }

    /// The subjectAltName entries as written in the certificate.
    pub fn subject_alt_names(&self) -> &[SubjectAltName] {
        &self.subject_alt_names
    }

    /// The subjectAltName entries certgen can issue for, in canonical form; entries it cannot read are left out.
    pub fn names(&self) -> &[SubjectName] {
        &self.names
    }

    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// Basic constraints CA:TRUE.
    pub fn is_ca(&self) -> bool {
        self.is_ca
    }

    /// The nameConstraints extension; `Ok(None)` when there is none, `Err` with the reason when it cannot be read.
    pub fn name_constraints(&self) -> Result<Option<&Constraints>, &str> {
        match &self.name_constraints {
            Ok(constraints) => Ok(constraints.as_ref()),
            Err(reason) => Err(reason),
        }
    }

    /// The SHA-256 fingerprint as `AB:CD:...`, the way `certgen ca`, OpenSSL and keytool show it.
    pub fn sha256_colons(&self) -> String {
        colon_hex(&self.sha256)
    }

    /// The SHA-256 fingerprint in lowercase hex.
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256)
    }

    /// The SHA-1 fingerprint as `AB:CD:...`, as `openssl x509 -fingerprint -sha1` prints it.
    pub fn sha1_colons(&self) -> String {
        colon_hex(&self.sha1)
    }

    /// The SHA-1 thumbprint in uppercase hex, the identity Windows and macOS tools use.
    pub fn sha1_hex_upper(&self) -> String {
        hex::encode_upper(self.sha1)
    }

    /// The parsed certificate, for what the accessors above do not cover.
    pub fn x509(&self) -> X509Certificate<'_> {
        x509_parser::parse_x509_certificate(&self.der)
            .map(|(_, x509)| x509)
            .expect("Cert holds DER that parsed when it was made")
    }
}

/// The first common name of a subject (of a certificate or a CSR), when it is readable text.
pub(crate) fn common_name<'a>(subject: &'a X509Name<'_>) -> Option<&'a str> {
    subject.iter_common_name().next().and_then(|cn| cn.as_str().ok())
}

/// Uppercase hex pairs joined by `:`, the fingerprint format of OpenSSL and keytool.
pub fn colon_hex(bytes: &[u8]) -> String {
    let pairs: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
    pairs.join(":")
}

/// The files a command wrote and the certificate in them, so a caller never re-reads what was just made.
#[derive(Debug, Clone)]
pub struct Issued<Files> {
    pub files: Files,
    pub cert: Cert,
}

/// One subject alternative name as written in the certificate (not normalised or validated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum SubjectAltName {
    Dns(String),
    Ip(IpAddr),
    Email(String),
    Uri(String),
    /// A name type TLS does not use (directory name, other name, ...), in x509-parser's notation.
    Other(String),
}

impl SubjectAltName {
    pub(crate) fn from_general_name(name: &GeneralName<'_>) -> Self {
        match name {
            GeneralName::DNSName(dns) => Self::Dns(dns.to_string()),
            GeneralName::RFC822Name(email) => Self::Email(email.to_string()),
            GeneralName::URI(uri) => Self::Uri(uri.to_string()),
            GeneralName::IPAddress(bytes) => {
                ip_from_bytes(bytes).map_or_else(|| Self::Other(name.to_string()), Self::Ip)
            }
            other => Self::Other(other.to_string()),
        }
    }

    /// The name without its type: `localhost`, `127.0.0.1`, `me@example.test`.
    pub fn value(&self) -> String {
        match self {
            Self::Dns(text) | Self::Email(text) | Self::Uri(text) | Self::Other(text) => text.clone(),
            Self::Ip(ip) => ip.to_string(),
        }
    }
}

impl fmt::Display for SubjectAltName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dns(name) => write!(f, "DNS:{name}"),
            Self::Ip(ip) => write!(f, "IP:{ip}"),
            Self::Email(email) => write!(f, "email:{email}"),
            Self::Uri(uri) => write!(f, "URI:{uri}"),
            Self::Other(other) => f.write_str(other),
        }
    }
}

/// An IPv4 or IPv6 address from its 4 or 16 bytes.
pub(crate) fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

//! A short description of a certificate certgen wrote, for printing what a command did.

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::Error;
use crate::names::{Constraints, SubjectName};
use crate::store;

/// A short description of a written certificate, for printing what a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    pub subject_cn: String,
    pub names: Vec<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// SHA-256 of the DER certificate, uppercase hex pairs joined by `:`.
    pub sha256: String,
    /// Permitted name-constraint subtrees, `None` when the certificate has no constraints.
    pub permitted: Option<Vec<String>>,
}

impl CertSummary {
    /// Reads the first certificate of a PEM file.
    pub fn read(path: &std::path::Path) -> Result<Self, Error> {
        let bad = |reason: &str| Error::BadFile {
            path: path.into(),
            reason: reason.into(),
        };
        let pem = store::read(path)?;
        let der = CertificateDer::from_pem_slice(&pem).map_err(|_| bad("not a PEM certificate"))?;
        let (_, x509) = X509Certificate::from_der(&der).map_err(|_| bad("not a valid X.509 certificate"))?;
        let subject_cn = x509
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .unwrap_or_default();
        let names = match x509.subject_alternative_name() {
            Ok(Some(san)) => san.value.general_names.iter().map(general_name_text).collect(),
            _ => Vec::new(),
        };
        let permitted = Constraints::from_certificate(&x509)
            .map_err(|r| bad(&r))?
            .map(|c| c.permitted.iter().map(ToString::to_string).collect());
        Ok(CertSummary {
            subject_cn: subject_cn.to_string(),
            names,
            not_before: x509.validity().not_before.to_datetime(),
            not_after: x509.validity().not_after.to_datetime(),
            sha256: Sha256::digest(der.as_ref())
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(":"),
            permitted,
        })
    }
}

fn general_name_text(name: &x509_parser::extensions::GeneralName<'_>) -> String {
    SubjectName::from_general_name(name)
        .map(|n| n.to_string())
        .unwrap_or_else(|_| name.to_string())
}

//! Reading the files `inspect` is given: every certificate and CSR of a PEM or DER file, each checked to parse, and
//! a file holding neither named by what it holds instead. PEM blocks come from [`crate::pem`].

use std::fmt;
use std::path::{Path, PathBuf};

use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Serialize;
use x509_parser::certificate::X509Certificate;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::FromDer;

use crate::error::StoreError;
use crate::{Error, pem};

/// The two kinds of object `inspect` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    Certificate,
    Csr,
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Certificate => "certificate",
            Self::Csr => "certificate signing request",
        })
    }
}

/// One certificate or CSR read from a file, as DER, already checked to parse.
#[derive(Debug, Clone)]
pub struct Object {
    pub kind: ObjectKind,
    pub der: Vec<u8>,
}

/// Reads every certificate and CSR in `path`, in file order.
///
/// A PEM file may hold several blocks (a chain, CSRs, even a key, which is skipped and never
/// printed); anything else is tried as one DER certificate, then as one DER CSR. A file holding
/// neither is an error that says what was found instead.
pub fn load_objects(path: &Path) -> Result<Vec<Object>, Error> {
    let bytes = read_file(path)?;
    if pem::looks_like_pem(&bytes) {
        load_pem(path, &bytes)
    } else {
        load_der(path, bytes)
    }
}

/// Reads the certificates in `path` (leaf first, as TLS servers send them); a CSR is an error.
pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    load_objects(path)?
        .into_iter()
        .map(|object| match object.kind {
            ObjectKind::Certificate => Ok(CertificateDer::from(object.der)),
            ObjectKind::Csr => Err(not_a_certificate(
                path,
                "a CERTIFICATE REQUEST (sign it first with `certgen sign --csr`)",
            )),
        })
        .collect()
}

fn load_pem(path: &Path, bytes: &[u8]) -> Result<Vec<Object>, Error> {
    let mut objects = Vec::new();
    let mut other_labels: Vec<String> = Vec::new();
    for (index, block) in pem::labelled_blocks(bytes).enumerate() {
        let block = block.map_err(|e| malformed(path, &format!("PEM block #{}", index + 1), e))?;
        let kind = match block.label.as_str() {
            "CERTIFICATE" | "TRUSTED CERTIFICATE" | "X509 CERTIFICATE" => ObjectKind::Certificate,
            "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => ObjectKind::Csr,
            other => {
                if !other_labels.iter().any(|seen| seen == other) {
                    other_labels.push(other.to_string());
                }
                continue;
            }
        };
        check_parses(path, index + 1, kind, &block.der)?;
        objects.push(Object { kind, der: block.der });
    }
    if objects.is_empty() {
        let found = match other_labels.as_slice() {
            [] => "a PEM header but no complete PEM block".to_string(),
            labels => {
                let names: Vec<String> = labels.iter().map(|l| format!("a {l}")).collect();
                names.join(" and ")
            }
        };
        return Err(not_a_certificate(path, &found));
    }
    Ok(objects)
}

fn load_der(path: &Path, der: Vec<u8>) -> Result<Vec<Object>, Error> {
    for kind in [ObjectKind::Certificate, ObjectKind::Csr] {
        if check_parses(path, 1, kind, &der).is_ok() {
            return Ok(vec![Object { kind, der }]);
        }
    }
    let found = if der.is_empty() {
        "nothing (the file is empty)".to_string()
    } else if PrivateKeyDer::try_from(der.as_slice()).is_ok() {
        "a DER PRIVATE KEY".to_string()
    } else if std::str::from_utf8(&der).is_ok() {
        "text without a PEM block".to_string()
    } else {
        format!("{} bytes that are neither PEM nor DER", der.len())
    };
    Err(not_a_certificate(path, &found))
}

/// Fails with a message naming the object when `der` does not parse as `kind`.
fn check_parses(path: &Path, position: usize, kind: ObjectKind, der: &[u8]) -> Result<(), Error> {
    let what = format!("{kind} #{position}");
    match kind {
        ObjectKind::Certificate => x509_parser::parse_x509_certificate(der)
            .map(|_| ())
            .map_err(|e| malformed(path, &what, e)),
        ObjectKind::Csr => X509CertificationRequest::from_der(der)
            .map(|_| ())
            .map_err(|e| malformed(path, &what, e)),
    }
}

pub(crate) fn parse_certificate<'a>(der: &'a [u8], path: &Path) -> Result<X509Certificate<'a>, Error> {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, cert)| cert)
        .map_err(|e| malformed(path, "certificate", e))
}

/// Unreadable input is bad input (exit 2), named by its path.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| match Error::io("read", path, e) {
        Error::Io { source, .. } => Error::Store(StoreError::BadFile {
            path: path.to_path_buf(),
            reason: format!("cannot read it: {source}"),
        }),
        named => named,
    })
}

pub(crate) fn not_a_certificate(path: &Path, found: &str) -> Error {
    Error::Store(StoreError::BadFile {
        path: path.to_path_buf(),
        reason: format!("holds {found}, not a certificate"),
    })
}

pub(crate) fn malformed(path: &Path, what: &str, detail: impl fmt::Display) -> Error {
    Error::Store(StoreError::BadFile {
        path: path.to_path_buf(),
        reason: format!("{what} is malformed: {detail}"),
    })
}

/// The path shown to users: as they typed it.
pub(crate) fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// `STEM-key.pem` next to `STEM.pem`, `STEM-fullchain.pem` or `STEM.cer`: where `certgen issue`
/// puts the key of a certificate.
pub fn sibling_key_path(cert: &Path) -> Option<PathBuf> {
    let name = cert.file_name()?.to_str()?;
    let stem = name
        .strip_suffix("-fullchain.pem")
        .or_else(|| name.strip_suffix(".pem"))
        .or_else(|| name.strip_suffix(".cer"))
        .or_else(|| name.strip_suffix(".der"))
        .or_else(|| name.strip_suffix(".crt"))?;
    Some(cert.with_file_name(format!("{stem}-key.pem")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_for(file_name: &str, contents: &[u8]) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(file_name);
        std::fs::write(&path, contents).expect("write");
        match load_objects(&path) {
            Ok(objects) => panic!("{file_name} loaded as {} objects", objects.len()),
            Err(e) => {
                assert_eq!(e.exit_code(), 2, "{e}");
                e.to_string()
            }
        }
    }

    #[test]
    fn files_that_are_not_certificates_say_what_they_hold() {
        let key = rcgen::KeyPair::generate().expect("key");
        let cases: [(&str, Vec<u8>, &str); 5] = [
            (
                "ca-key.pem",
                key.serialize_pem().into_bytes(),
                "holds a PRIVATE KEY, not a certificate",
            ),
            (
                "key.der",
                key.serialize_der(),
                "holds a DER PRIVATE KEY, not a certificate",
            ),
            ("empty.pem", Vec::new(), "the file is empty"),
            ("notes.txt", b"hello\n".to_vec(), "text without a PEM block"),
            (
                "cut.pem",
                b"-----BEGIN CERTIFICATE-----\nMIIB\n".to_vec(),
                "cut.pem: PEM block #1 is malformed",
            ),
        ];
        for (name, contents, expected) in cases {
            let message = error_for(name, &contents);
            assert!(
                message.contains(name) && message.contains(expected),
                "{name}: {message}"
            );
            assert!(!message.contains('\n'), "{message}");
        }
    }

    #[test]
    fn a_csr_is_described_but_is_not_a_certificate() {
        let key = rcgen::KeyPair::generate().expect("key");
        let csr = rcgen::CertificateParams::new(vec!["host.test".to_string()])
            .expect("params")
            .serialize_request(&key)
            .expect("csr");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("host.csr");
        std::fs::write(&path, csr.pem().expect("pem")).expect("write");
        let objects = load_objects(&path).expect("load");
        assert_eq!(
            objects.iter().map(|o| o.kind).collect::<Vec<_>>(),
            vec![ObjectKind::Csr]
        );
        let err = load_certificates(&path).expect_err("a CSR is not a certificate");
        assert!(err.to_string().contains("CERTIFICATE REQUEST"), "{err}");
    }

    #[test]
    fn key_files_sit_next_to_their_certificates() {
        let key = |p: &str| sibling_key_path(Path::new(p)).map(|k| k.display().to_string());
        assert_eq!(key("certs/app.pem").as_deref(), Some("certs/app-key.pem"));
        assert_eq!(
            key("certs/app-fullchain.pem").as_deref(),
            Some("certs/app-key.pem")
        );
        assert_eq!(key("app.cer").as_deref(), Some("app-key.pem"));
        assert_eq!(key("app.p12"), None);
    }
}

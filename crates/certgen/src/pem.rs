//! The one reader of certificate and key files, for both crates and xtask: a chain of PEM certificates, the first
//! certificate of a file, a CA given as `ca.pem` or DER `ca.cer`, a private key, and every labelled block of a
//! file for `inspect`. Each refusal is a [`Problem`] whose text is the one line users see after the file's name,
//! so a cut file reads the same whichever command met it.
//!
//! rustls-pki-types parses the blocks; it skips labels it does not know, so [`labelled_blocks`], which must name
//! every block a file holds (`ENCRYPTED PRIVATE KEY`, `TRUSTED CERTIFICATE`), uses x509-parser's reader instead.

use std::path::{Path, PathBuf};

use rustls_pki_types::pem::{Error as PemError, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::pem::Pem;

/// Why a file does not hold what was asked for; the text is the reason shown after the file's name.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// The file could not be read (missing, no permission).
    #[error("{0}")]
    Unreadable(std::io::Error),
    #[error("is a directory, not a file")]
    Directory,
    /// A PEM block is broken: cut short, a malformed BEGIN line, bad base64.
    #[error("not valid PEM: {}", pem_error_text(.0))]
    BadPem(PemError),
    #[error(
        "holds no CERTIFICATE block (expected a PEM certificate, e.g. certgen's *-fullchain.pem or ca.pem)"
    )]
    NoCertificate,
    #[error("holds no usable PRIVATE KEY block ({}); expected e.g. certgen's *-key.pem", pem_error_text(.0))]
    NoKey(PemError),
    #[error("is neither a PEM nor a DER certificate; pass certgen's ca.cer or ca.pem")]
    NotCertificate,
}

/// A [`Problem`] with the file it is about.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct FileError {
    pub path: PathBuf,
    pub problem: Problem,
}

/// The bytes of `path`; a directory is named as one rather than as an I/O error.
fn read(path: &Path) -> Result<Vec<u8>, FileError> {
    std::fs::read(path).map_err(|source| FileError {
        path: path.to_path_buf(),
        problem: match source.kind() {
            std::io::ErrorKind::IsADirectory => Problem::Directory,
            _ => Problem::Unreadable(source),
        },
    })
}

/// Reads `path` and applies `parse` to its bytes, naming `path` in either failure.
fn read_with<T>(path: &Path, parse: impl FnOnce(&[u8]) -> Result<T, Problem>) -> Result<T, FileError> {
    parse(&read(path)?).map_err(|problem| FileError {
        path: path.to_path_buf(),
        problem,
    })
}

/// Every certificate of PEM text, in order; text without any gives none, a broken block an error.
pub fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, PemError> {
    CertificateDer::pem_slice_iter(pem).collect()
}

/// Every certificate of PEM text, in order (a chain: leaf first); text without any is an error.
pub fn chain(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Problem> {
    let certs = certificates(pem).map_err(Problem::BadPem)?;
    if certs.is_empty() {
        return Err(Problem::NoCertificate);
    }
    Ok(certs)
}

/// [`chain`] of the file `path`.
pub fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, FileError> {
    read_with(path, chain)
}

/// The certificates of PEM text that parse as PEM, skipping broken blocks: for trust bundles and store listings,
/// where one bad entry must not hide the others.
pub fn certificates_skipping_broken(pem: &[u8]) -> impl Iterator<Item = CertificateDer<'static>> + '_ {
    CertificateDer::pem_slice_iter(pem).flatten()
}

/// The first certificate of PEM text; later blocks are not read.
pub fn first_certificate(pem: &[u8]) -> Result<CertificateDer<'static>, Problem> {
    CertificateDer::from_pem_slice(pem).map_err(|e| match e {
        PemError::NoItemsFound => Problem::NoCertificate,
        other => Problem::BadPem(other),
    })
}

/// The first private key of PEM text (PKCS#8, PKCS#1 or SEC1).
pub fn key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, Problem> {
    PrivateKeyDer::from_pem_slice(pem).map_err(Problem::NoKey)
}

/// [`key`] of the file `path`.
pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, FileError> {
    read_with(path, key)
}

/// The first certificate of PEM text, or DER bytes as they are; either must parse as X.509. What `certgen ca`
/// writes twice (`ca.pem`, `ca.cer`) is accepted in both forms.
pub fn certificate_pem_or_der(bytes: &[u8]) -> Result<CertificateDer<'static>, Problem> {
    let der = match CertificateDer::from_pem_slice(bytes) {
        Ok(cert) => cert,
        Err(_) => CertificateDer::from(bytes.to_vec()),
    };
    match x509_parser::parse_x509_certificate(&der) {
        Ok(_) => Ok(der),
        Err(_) => Err(Problem::NotCertificate),
    }
}

/// [`certificate_pem_or_der`] of the file `path`.
pub fn read_certificate_pem_or_der(path: &Path) -> Result<CertificateDer<'static>, FileError> {
    read_with(path, certificate_pem_or_der)
}

/// Whether `bytes` look like PEM text (a BEGIN line somewhere) rather than DER.
pub fn looks_like_pem(bytes: &[u8]) -> bool {
    const BEGIN: &[u8] = b"-----BEGIN ";
    bytes.windows(BEGIN.len()).any(|window| window == BEGIN)
}

/// One PEM block as written: its label (`CERTIFICATE`, `ENCRYPTED PRIVATE KEY`, ...) and its decoded bytes.
#[derive(Debug)]
pub struct Block {
    pub label: String,
    pub der: Vec<u8>,
}

/// Every PEM block of `bytes` whatever its label, in order; an error carries x509-parser's reason.
pub fn labelled_blocks(bytes: &[u8]) -> impl Iterator<Item = Result<Block, String>> + '_ {
    Pem::iter_from_buffer(bytes).map(|block| {
        block
            .map(|pem| Block {
                label: pem.label,
                der: pem.contents,
            })
            .map_err(|e| e.to_string())
    })
}

/// A PEM parsing error as text: rustls-pki-types shows the marker or line it means as a list of byte values
/// (`missing section end marker: [80, 82, 73, ...]`); this names it as the text it is.
pub fn pem_error_text(err: &PemError) -> String {
    match err {
        PemError::MissingSectionEnd { end_marker } => format!(
            "the `-----END {}-----` line is missing, the file may be cut short",
            String::from_utf8_lossy(end_marker)
        ),
        PemError::IllegalSectionStart { line } => {
            format!(
                "a malformed BEGIN line `{}`",
                String::from_utf8_lossy(line).trim()
            )
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_errors_name_text_not_bytes() {
        let cut = b"-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n";
        let err = rustls_pki_types::PrivateKeyDer::from_pem_slice(cut).unwrap_err();
        assert_eq!(
            pem_error_text(&err),
            "the `-----END PRIVATE KEY-----` line is missing, the file may be cut short"
        );
        let bad_start = b"-----BEGIN CERTIFICATE\nAAAA\n-----END CERTIFICATE-----\n";
        let err = CertificateDer::from_pem_slice(bad_start).unwrap_err();
        assert_eq!(
            pem_error_text(&err),
            "a malformed BEGIN line `-----BEGIN CERTIFICATE`"
        );
    }
}

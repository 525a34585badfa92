//! Reading certificates and private keys from files, for the server and the client alike. Every failure is an
//! [`Error::ReadFile`] or an [`Error::BadFile`] naming the file, what it was given as (`what`) and what it should
//! hold.

use std::path::Path;

use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use certgen::cert::pem_error_text;

use crate::Error;

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::IsADirectory => bad_file(what, path, "is a directory, not a file"),
        _ => Error::ReadFile {
            what,
            path: path.to_path_buf(),
            source,
        },
    })
}

fn bad_file(what: &'static str, path: &Path, detail: impl Into<String>) -> Error {
    Error::BadFile {
        what,
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// Every certificate of a PEM file, in order (a chain: leaf first); a file without any is an error.
pub(crate) fn read_certs(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let pem = read(what, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_file(what, path, format!("not valid PEM: {}", pem_error_text(&e))))?;
    if certs.is_empty() {
        return Err(bad_file(
            what,
            path,
            "holds no CERTIFICATE block (expected a PEM certificate, e.g. certgen's *-fullchain.pem or ca.pem)",
        ));
    }
    Ok(certs)
}

/// The first private key of a PEM file (PKCS#8, PKCS#1 or SEC1).
pub(crate) fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    let what = "private key";
    let pem = read(what, path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        bad_file(
            what,
            path,
            format!(
                "holds no usable PRIVATE KEY block ({}); expected e.g. certgen's *-key.pem",
                pem_error_text(&e)
            ),
        )
    })
}

/// A root store holding every CA certificate of a PEM file: whom a client trusts, or whose client certificates a
/// server accepts.
pub(crate) fn read_roots(what: &'static str, path: &Path) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    for cert in read_certs(what, path)? {
        roots
            .add(cert)
            .map_err(|e| bad_file(what, path, format!("is not a usable CA certificate ({e})")))?;
    }
    Ok(roots)
}

/// The DER bytes of the first certificate of a PEM file, or of a DER file as it is.
pub(crate) fn read_cert_der(what: &'static str, path: &Path) -> Result<Vec<u8>, Error> {
    let bytes = read(what, path)?;
    let der = match CertificateDer::from_pem_slice(&bytes) {
        Ok(cert) => cert.as_ref().to_vec(),
        Err(_) => bytes,
    };
    if x509_parser::parse_x509_certificate(&der).is_err() {
        return Err(bad_file(
            what,
            path,
            "is neither a PEM nor a DER certificate; pass certgen's ca.cer or ca.pem",
        ));
    }
    Ok(der)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_key_and_a_directory_are_named_as_text() {
        let dir = tempfile::tempdir().unwrap();
        let cut = dir.path().join("cut-key.pem");
        std::fs::write(
            &cut,
            "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\n",
        )
        .unwrap();
        let err = read_key(&cut).unwrap_err().to_string();
        assert!(
            err.contains("the `-----END PRIVATE KEY-----` line is missing") && !err.contains("[80, 82"),
            "{err}"
        );
        let err = read_certs("certificate", dir.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("certificate {}: is a directory, not a file", dir.path().display())
        );
        assert_eq!(err.exit_code(), 2);
    }
}

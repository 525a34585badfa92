//! TLS settings the server and the client share: the one crypto provider, the protocol versions, the ALPN ids,
//! how a negotiated version is named, and how a certificate or key file certgen's reader refused is reported.

use std::path::Path;
use std::sync::Arc;

use certgen::pem::{FileError, Problem};
use rustls::crypto::CryptoProvider;
use rustls::{ProtocolVersion, RootCertStore, SupportedProtocolVersion};

use crate::Error;

/// The one crypto provider of this crate, installed explicitly on every config instead of a process default.
///
/// Its cipher suites put AES-128-GCM ahead of AES-256-GCM, the order browsers use on processors with AES
/// instructions: both are TLS's standard suites, and AES-128-GCM needs 10 AES rounds per block against 14 (in
/// docs/performance.md's provider table aws-lc-rs moves 444.6 MB/s with AES-128-GCM against 430.5 with AES-256-GCM,
/// 1.03x, and ring 1.54x); bulk encryption is most of what a wss echo of large messages costs.
/// ChaCha20-Poly1305 stays last but offered, for clients without AES instructions.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    use rustls::crypto::aws_lc_rs::cipher_suite::*;
    Arc::new(CryptoProvider {
        cipher_suites: vec![
            TLS13_AES_128_GCM_SHA256,
            TLS13_AES_256_GCM_SHA384,
            TLS13_CHACHA20_POLY1305_SHA256,
            TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ],
        ..rustls::crypto::aws_lc_rs::default_provider()
    })
}

/// TLS 1.3 and 1.2, offered by both sides.
pub(crate) const VERSIONS: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];

/// ALPN protocol id of HTTP/1.1, where WebSockets upgrade with a GET.
pub(crate) const ALPN_HTTP1: &[u8] = b"http/1.1";
/// ALPN protocol id of HTTP/2, where WebSockets open with an extended CONNECT (RFC 8441).
pub(crate) const ALPN_H2: &[u8] = b"h2";

/// The client's ALPN list: it speaks WebSockets over HTTP/1.1 only.
pub(crate) fn alpn() -> Vec<Vec<u8>> {
    vec![ALPN_HTTP1.to_vec()]
}

/// A config builder refused the provider or versions: a bug of this crate or of the build, not of any input.
pub(crate) fn setup_failed(error: rustls::Error) -> Error {
    Error::Runtime(format!("TLS setup failed: {error}"))
}

/// `TLS1.3` / `TLS1.2`, as shown in logs and by the client.
pub(crate) fn version_name(version: ProtocolVersion) -> String {
    match version {
        ProtocolVersion::TLSv1_3 => "TLS1.3".into(),
        ProtocolVersion::TLSv1_2 => "TLS1.2".into(),
        other => format!("{other:?}"),
    }
}

/// A file [`certgen::pem`] refused, as this crate's error naming what the file was given as (`what`, e.g.
/// "CA certificate (--ca)"): unreadable is [`Error::ReadFile`], anything else [`Error::BadFile`].
pub(crate) fn file_error(what: &'static str) -> impl FnOnce(FileError) -> Error {
    move |FileError { path, problem }| match problem {
        Problem::Unreadable(source) => Error::ReadFile { what, path, source },
        problem => Error::BadFile {
            what,
            path,
            detail: problem.to_string(),
        },
    }
}

/// A root store holding every CA certificate of a PEM file: whom a client trusts, or whose client certificates a
/// server accepts.
pub(crate) fn read_roots(what: &'static str, path: &Path) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    for cert in certgen::pem::read_chain(path).map_err(file_error(what))? {
        roots.add(cert).map_err(|e| Error::BadFile {
            what,
            path: path.to_path_buf(),
            detail: format!("is not a usable CA certificate ({e})"),
        })?;
    }
    Ok(roots)
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
        let err = certgen::pem::read_key(&cut)
            .map_err(file_error("private key"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the `-----END PRIVATE KEY-----` line is missing") && !err.contains("[80, 82"),
            "{err}"
        );
        let err = certgen::pem::read_chain(dir.path())
            .map_err(file_error("certificate"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("certificate {}: is a directory, not a file", dir.path().display())
        );
        assert_eq!(err.exit_code(), 2);
    }
}

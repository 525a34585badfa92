//! A throw-away CA and a certificate for localhost and 127.0.0.1, made with the certgen library, for the wss
//! servers `bench` and `soak` start.

use std::path::{Path, PathBuf};

/// A wss certificate for `wsecho serve`.
pub struct TlsFiles {
    /// The CA that issued the certificate, for the clients.
    pub ca: PathBuf,
    pub fullchain: PathBuf,
    pub key: PathBuf,
    /// The key and chain as PKCS#12 (for servers that read only that, e.g. websocat), with
    /// [`certgen::export::DEFAULT_P12_PASSWORD`].
    pub p12: PathBuf,
}

impl TlsFiles {
    /// Creates a new CA and the certificate in `dir`.
    pub fn create(dir: &Path) -> anyhow::Result<TlsFiles> {
        let certs = certgen::CertsDir::new(dir.to_path_buf());
        let ca = certs.create_ca(&certgen::CaOptions::default())?.files;
        let leaf = certs
            .issue(
                &certgen::SubjectName::parse_all(["localhost", "127.0.0.1"])?,
                &certgen::LeafOptions {
                    p12: true,
                    ..certgen::LeafOptions::default()
                },
            )?
            .files;
        let p12 = leaf
            .p12
            .ok_or_else(|| anyhow::anyhow!("certgen wrote no PKCS#12 file although asked to"))?;
        Ok(TlsFiles {
            ca: ca.cert_pem,
            fullchain: leaf.fullchain_pem,
            key: leaf.key_pem,
            p12,
        })
    }
}

//! The workspace's certs/ folder, where every task finds the CA and the server certificate.

use anyhow::bail;
use certgen::CertsDir;
use certgen::trust::CaCert;
use std::path::{Path, PathBuf};

/// File stem of the server certificate in certs/ (`localhost.pem`, `localhost-key.pem`, ...).
pub(super) const SERVER_STEM: &str = "localhost";

pub(super) fn certs_dir(root: &Path) -> CertsDir {
    CertsDir::new(root.join("certs"))
}

pub(super) fn load_ca(root: &Path) -> anyhow::Result<CaCert> {
    let path: PathBuf = certs_dir(root).ca_files().cert_pem;
    if !path.exists() {
        bail!("no CA in certs/: run `cargo xtask certs` (or `cargo xtask up`) first");
    }
    Ok(CaCert::load(&path)?)
}

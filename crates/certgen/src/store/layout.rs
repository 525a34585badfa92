//! Where a certs folder keeps its files: the CA's three, each leaf's four or five, and the names of backups.

use std::fs;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::Error;
use crate::error::StoreError;

/// A folder holding a CA (`ca.pem`, `ca-key.pem`, `ca.cer`) and the certificates it issued.
///
/// Every command is a method on this type, each in the file of its job:
///
/// | method | file |
/// |---|---|
/// | [`new`](Self::new), [`path`](Self::path), [`ca_files`](Self::ca_files), [`leaf_files`](Self::leaf_files) | `store/layout.rs` (this file) |
/// | [`recover`](Self::recover) | `store/recover.rs` (the commit journal, see `store/mod.rs`) |
/// | [`create_ca`](Self::create_ca), [`load_ca`](Self::load_ca) | `ca.rs` |
/// | [`issued_by_ca`](Self::issued_by_ca) | `orphan.rs` |
/// | [`issue`](Self::issue), [`self_signed`](Self::self_signed) | `leaf.rs` |
/// | [`sign_csr`](Self::sign_csr), [`sign_csr_file`](Self::sign_csr_file) | `csr.rs` |
/// | [`ensure_ca`](Self::ensure_ca), [`ensure_leaf`](Self::ensure_leaf) | `renew.rs` |
/// | [`make_broken`](Self::make_broken), [`broken_dir`](Self::broken_dir), [`fixture_files`](Self::fixture_files) | `broken.rs` |
#[derive(Debug, Clone)]
pub struct CertsDir {
    path: PathBuf,
}

/// Where a CA's files live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaFiles {
    /// The CA certificate, PEM: give it to programs (`--cacert`, `ssl.create_default_context(cafile=...)`).
    pub cert_pem: PathBuf,
    /// The CA private key, PKCS#8 PEM, mode 0600. Never leaves this folder.
    pub key_pem: PathBuf,
    /// The CA certificate, DER: import it on phones, Windows, macOS and in browsers.
    pub cert_der: PathBuf,
}

/// Where a leaf certificate's files live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafFiles {
    pub cert_pem: PathBuf,
    /// PKCS#8 PEM, mode 0600.
    pub key_pem: PathBuf,
    /// The leaf then the CA, PEM: what servers want as their certificate file.
    pub fullchain_pem: PathBuf,
    pub cert_der: PathBuf,
    /// PKCS#12 with the key and the chain, only with `--p12`.
    pub p12: Option<PathBuf>,
}

impl CertsDir {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CertsDir { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn ca_files(&self) -> CaFiles {
        CaFiles {
            cert_pem: self.path.join("ca.pem"),
            key_pem: self.path.join("ca-key.pem"),
            cert_der: self.path.join("ca.cer"),
        }
    }

    /// Where `STEM.pem`, `STEM-key.pem`, `STEM-fullchain.pem`, `STEM.cer` and (optionally) `STEM.p12` go.
    pub fn leaf_files(&self, stem: &str, p12: bool) -> LeafFiles {
        let file = |suffix: &str| self.path.join(format!("{stem}{suffix}"));
        LeafFiles {
            cert_pem: file(".pem"),
            key_pem: file("-key.pem"),
            fullchain_pem: file("-fullchain.pem"),
            cert_der: file(".cer"),
            p12: p12.then(|| file(".p12")),
        }
    }
}

impl CaFiles {
    pub(crate) fn all(&self) -> [&Path; 3] {
        [&self.cert_pem, &self.key_pem, &self.cert_der]
    }
}

impl LeafFiles {
    pub(crate) fn all(&self) -> impl Iterator<Item = &Path> {
        [&self.cert_pem, &self.key_pem, &self.fullchain_pem, &self.cert_der]
            .into_iter()
            .chain(&self.p12)
            .map(|p| &**p)
    }
}

/// Refuses to overwrite any of `paths` unless `force`.
pub(crate) fn refuse_existing<'a>(
    paths: impl IntoIterator<Item = &'a Path>,
    force: bool,
    hint: &'static str,
) -> Result<(), Error> {
    match paths.into_iter().find(|p| p.exists()) {
        Some(path) if !force => Err(Error::Store(StoreError::AlreadyExists {
            path: path.to_path_buf(),
            hint,
        })),
        _ => Ok(()),
    }
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, Error> {
    fs::read(path).map_err(|e| Error::io("read", path, e))
}

/// The current UTC time as `20260101T120000Z`, the part of a backup's name that tells backups apart.
pub(crate) fn backup_stamp() -> String {
    let t = OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `ca-key.pem` -> `ca-key-backup-20260101T120000Z.pem`.
pub(crate) fn backup_path(path: &Path, stamp: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    path.with_file_name(format!("{stem}-backup-{stamp}{ext}"))
}

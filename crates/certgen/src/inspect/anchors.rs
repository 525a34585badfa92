//! Where `doctor` looks for the rest of a chain: the roots a path may end at (the certs folder's CA, the system
//! bundle's roots) and the CA certificates in the certs folder that a server may have forgotten to send, each
//! with where it came from.

use std::path::{Path, PathBuf};

use rustls_pki_types::CertificateDer;

use crate::pem;
use crate::trust::{CaCert, system_bundle};

/// Where a certificate on the path came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Origin {
    Sent,
    /// The certs folder's CA (`ca.pem`).
    OurCa,
    /// A root of the system bundle.
    System(PathBuf),
    /// A CA certificate in the certs folder that the server should have sent but did not.
    Local(PathBuf),
}

/// A certificate a path may pass through or end at, and where it came from.
pub(super) struct Known {
    pub(super) der: CertificateDer<'static>,
    pub(super) origin: Origin,
}

/// The roots a path may end at: the certs folder's CA (`our_ca`) and the system bundle's roots.
pub(super) fn trust_anchors(our_ca: Option<&CaCert>) -> Vec<Known> {
    let mut anchors: Vec<Known> = our_ca
        .into_iter()
        .map(|ca| Known {
            der: ca.cert().der().clone(),
            origin: Origin::OurCa,
        })
        .collect();
    if let Ok(bundle) = system_bundle() {
        anchors.extend(pem_certificates(&bundle).into_iter().map(|der| Known {
            der,
            origin: Origin::System(bundle.clone()),
        }));
    }
    anchors
}

/// Every certificate of a PEM file; an unreadable file gives none.
fn pem_certificates(path: &Path) -> Vec<CertificateDer<'static>> {
    std::fs::read(path)
        .map(|bytes| pem::certificates_skipping_broken(&bytes).collect())
        .unwrap_or_default()
}

/// The CA certificates in the `.pem` files (other than keys) of the certs folder and the folders in it (such as
/// `broken/`): where a forgotten intermediate is.
pub(super) fn local_ca_certificates(dir: &Path) -> Vec<Known> {
    let entries = |dir: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|entries| entries.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    let top = entries(dir);
    let mut files: Vec<PathBuf> = top
        .iter()
        .filter(|p| p.is_dir())
        .flat_map(|sub| entries(sub))
        .chain(top.iter().cloned())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            p.is_file()
                && name.ends_with(".pem")
                && !name.ends_with("-key.pem")
                && name != crate::trust::BUNDLE_FILE
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .flat_map(|file| {
            pem_certificates(&file)
                .into_iter()
                .filter(|der| crate::cert::Cert::from_der(der.clone()).is_ok_and(|c| c.is_ca()))
                .map(move |der| Known {
                    der,
                    origin: Origin::Local(file.clone()),
                })
        })
        .collect()
}

//! Certificates a replaced CA leaves behind: signed by the old CA, they stop being trusted with it, so
//! `certgen ca --force` names each one with the command that issues it again from the new CA.

use std::path::{Path, PathBuf};

use crate::cert::Cert;
use crate::inspect::{Usage, verify_files};
use crate::store::CertsDir;

/// A certificate of a certs folder that chains to the folder's current CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    pub path: PathBuf,
    /// What it verifies for, so it is reissued as a server or as a client certificate.
    pub usage: Usage,
    /// The `certgen` command that issues it again, from the new CA, under the same file name.
    pub reissue: String,
}

impl CertsDir {
    /// The certificates in this folder (`STEM.pem`: no keys, full chains or backups) that chain to its current CA:
    /// what replacing the CA leaves without a trusted issuer. Sorted by path.
    pub fn issued_by_ca(&self) -> Vec<Orphan> {
        let ca = self.ca_files();
        let Ok(entries) = std::fs::read_dir(self.path()) else {
            return Vec::new();
        };
        let mut found: Vec<Orphan> = entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                name.ends_with(".pem")
                    && !name.ends_with("-key.pem")
                    && !name.ends_with("-fullchain.pem")
                    && !name.contains("-backup-")
                    && *path != ca.cert_pem
            })
            .filter_map(|path| {
                let usage = [Usage::Server, Usage::Client]
                    .into_iter()
                    .find(|usage| verify_files(&ca.cert_pem, &path, None, *usage).is_ok())?;
                let reissue = reissue_command(&path, usage, self.path());
                Some(Orphan { path, usage, reissue })
            })
            .collect();
        found.sort_by(|a, b| a.path.cmp(&b.path));
        found
    }
}

/// The `certgen` command that issues the certificate in `path` again, into `dir`, under the same file name.
fn reissue_command(path: &Path, usage: Usage, dir: &Path) -> String {
    let (names, stem) = match Cert::from_pem_file(path) {
        Ok(cert) if cert.names().is_empty() => (cert.subject_cn().to_owned(), cert.subject_cn().to_owned()),
        Ok(cert) => (
            cert.names()
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            cert.names()[0].file_stem(),
        ),
        Err(_) => ("NAMES".to_owned(), String::new()),
    };
    let own_stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let out = if own_stem == stem {
        String::new()
    } else {
        format!(" --out {own_stem}")
    };
    let task = match usage {
        Usage::Client => "client",
        Usage::Server => "issue",
    };
    format!("certgen {task} {names}{out} --force --dir {}", dir.display())
}

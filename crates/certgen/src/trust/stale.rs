//! CAs a store still trusts after they stopped being current: the ones `certgen ca --force` or `cargo xtask up
//! --lan` replaced (kept beside the new one as `ca-backup-*.pem`), and other certgen CAs found next to ours.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use rustls_pki_types::CertificateDer;

use super::ca_cert::{CaCert, entry_name};
use super::error::TrustError;
use super::host::Host;
use super::install::uninstall;
use super::report::{Change, Report};
use super::store::{Entry, TrustStore};
use super::store_kind::StoreKind;
use crate::cert::Cert;

/// A certgen entry in a store that is not the current CA.
#[derive(Debug, Serialize)]
pub struct StaleCa {
    pub store: StoreKind,
    pub location: String,
    /// The entry's name (`certgen-ca-...`).
    pub entry: String,
    /// The backup of the CA this folder replaced, when the entry is that CA; such an entry is a problem, since
    /// the replacement was meant to end its trust. Without one it is another certgen CA (another project's), only
    /// listed.
    pub replaced: Option<PathBuf>,
    /// The command that removes it.
    pub fix: String,
}

/// The CAs `dir` held before they were replaced: every `ca-backup-*.pem` that loads as a CA, oldest first.
pub fn replaced_cas(dir: &Path) -> Vec<CaCert> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut backups: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("ca-backup-") && n.ends_with(".pem"))
        })
        .collect();
    backups.sort();
    backups.iter().filter_map(|p| CaCert::load(p).ok()).collect()
}

/// What [`untrust_replaced`] did: one report per replaced CA that some store still held. Shown line by line, each
/// starting `old CA: `.
#[derive(Debug)]
pub struct Retired(pub Vec<Report>);

impl fmt::Display for Retired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for report in &self.0 {
            for line in report.to_string().lines() {
                writeln!(f, "old CA: {line}")?;
            }
        }
        Ok(())
    }
}

/// Removes every CA `dir` replaced (but not one restored as its `ca.pem`) from every store that trusts it under certgen's entry, so replacing a CA also
/// ends the old one's trust. Returns one report per replaced CA that was found somewhere, holding only the stores
/// where something happened (removed, needs `sudo`, or failed).
pub fn untrust_replaced(dir: &Path, host: &Host) -> Retired {
    // A backup that was put back as ca.pem is current again, not replaced.
    let current = CaCert::load(&dir.join("ca.pem")).ok();
    let reports = replaced_cas(dir)
        .iter()
        .filter(|old| !current.as_ref().is_some_and(|ca| ca.is(old.cert().der())))
        .map(|old| {
            let mut report = uninstall(old, host, &[], false);
            // Stores that do not exist here or lack their tool never held it.
            report.outcomes.retain(|o| {
                matches!(
                    o.result,
                    Ok(Change::Done(_) | Change::NeedsPrivilege(_))
                        | Err(TrustError::CommandFailed { .. } | TrustError::Unsupported(_))
                )
            });
            report
        })
        .filter(|report| !report.outcomes.is_empty())
        .collect();
    Retired(reports)
}

/// The certgen entries of `store` that are not `ca`, each matched against the CAs `replaced` (see [`StaleCa`]).
pub(super) fn stale_in(
    store: &dyn TrustStore,
    ca: &CaCert,
    replaced: &[CaCert],
    host: &Host,
) -> Vec<StaleCa> {
    let Ok(entries) = store.certgen_entries() else {
        return Vec::new();
    };
    // NSS lists every certificate with the same subject under each of their nicknames, so one certificate can
    // come back under several names (even ours): report it once, under the name certgen gives that certificate,
    // or else any name but ours, since the fix removes the entry by that name.
    let mut certificates: Vec<(Vec<u8>, Vec<Entry>)> = Vec::new();
    for entry in entries.into_iter().filter(|entry| !ca.is(&entry.der)) {
        match certificates.iter_mut().find(|(der, _)| *der == entry.der) {
            Some((_, names)) => names.push(entry),
            None => certificates.push((entry.der.clone(), vec![entry])),
        }
    }
    certificates
        .into_iter()
        .filter_map(|(der, mut names)| {
            let old = replaced.iter().find(|old| old.is(&der));
            let own = Cert::from_der(CertificateDer::from(der.clone()))
                .ok()
                .map(|cert| entry_name(&cert));
            let pick = names
                .iter()
                .position(|e| Some(&e.name) == own.as_ref())
                .or_else(|| names.iter().position(|e| e.name != ca.name()))?;
            let entry = names.swap_remove(pick);
            let fix = match old {
                Some(old) => host.invocation.trust_uninstall(old, &[store.kind()]),
                None => {
                    let sudo = if store.needs_privilege() && !cfg!(windows) {
                        "sudo "
                    } else {
                        ""
                    };
                    let commands: Vec<String> = entry.remove.iter().map(|c| format!("{sudo}{c}")).collect();
                    commands.join(" && ")
                }
            };
            Some(StaleCa {
                store: store.kind(),
                location: store.location(),
                entry: entry.name,
                replaced: old.map(|old| old.path().to_owned()),
                fix,
            })
        })
        .collect()
}

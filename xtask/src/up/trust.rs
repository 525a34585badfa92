//! `trust` and `untrust`: the CA into and out of this user's browser stores (and the OS store with `--system`);
//! for `up`, the trust step that offers to install certutil first and ends with the verdict line.

use super::args::{TrustArgs, UpArgs};
use super::certs_dir::load_ca;
use super::verdict::{browser_verdict, browsers};
use crate::nss_tools::{self, Consent};
use anyhow::bail;
use certgen::trust::{self, Host, StoreKind, TrustError};
use std::path::Path;

/// `trust`, installing certutil first when it is missing and the user agrees; returns the verdict line.
pub(super) fn trust_for_up(root: &Path, host: &Host, args: &UpArgs) -> anyhow::Result<String> {
    let ca = load_ca(root)?;
    let kinds = stores(args.system);
    let mut report = trust::install(&ca, host, &kinds, false);
    let mut fix = None;
    if lacks_certutil(&report) {
        match nss_tools::Install::for_this_machine() {
            Some(install) if nss_tools::offer(&install, Consent::from(args.yes)) => {
                report = trust::install(&ca, host, &kinds, false);
            }
            Some(install) => fix = Some(format!("{} && cargo xtask trust", install.shown())),
            None => {
                fix =
                    Some("install your distribution's NSS tools (certutil), then `cargo xtask trust`".into())
            }
        }
    }
    print!("{report}");
    let browsers = browsers(&report);
    let covered = browsers.iter().any(|b| b.fix.is_none());
    Ok(match (report.problems(), covered) {
        (None, false) if browsers.is_empty() => {
            "verdict: NOT trusted: no browser store found for this user; import certs/ca.cer by hand \
                      (docs/browsers.md)"
                .to_owned()
        }
        (None, _) => browser_verdict(&browsers, args.ports.wss_port),
        (Some(_), _) if fix.is_some() => format!(
            "verdict: NOT trusted (certutil is not installed): run `{}`, or import certs/ca.cer by hand \
             (docs/browsers.md)",
            fix.unwrap_or_default()
        ),
        (Some(problems), _) => format!(
            "verdict: NOT trusted ({problems}): fix that and run `cargo xtask trust`, or import certs/ca.cer by \
             hand (docs/browsers.md)"
        ),
    })
}

/// Whether the trust step failed only because certutil is not installed.
pub(super) fn lacks_certutil(report: &trust::Report) -> bool {
    report
        .outcomes
        .iter()
        .any(|o| matches!(o.result, Err(TrustError::ToolMissing { tool: "certutil", .. })))
}

pub fn trust(root: &Path, host: &Host, args: &TrustArgs) -> anyhow::Result<()> {
    let ca = load_ca(root)?;
    let report = trust::install(&ca, host, &stores(args.system), args.dry_run);
    finish(&report, report.problems())
}

/// Removes the CA from the stores `trust` (with the same `--system`) put it in; only our entries are touched.
pub fn untrust(root: &Path, host: &Host, args: &TrustArgs) -> anyhow::Result<()> {
    let ca = load_ca(root)?;
    let report = trust::uninstall(&ca, host, &stores(args.system), args.dry_run);
    finish(&report, report.problems())
}

/// Prints a trust report; its problems, if any, become the task's error (and exit code 1).
pub(super) fn finish(report: &dyn std::fmt::Display, problems: Option<String>) -> anyhow::Result<()> {
    print!("{report}");
    match problems {
        Some(problems) => bail!("{problems}"),
        None => Ok(()),
    }
}

/// The user's browsers always; the OS store only when asked, since changing it needs root.
pub(super) fn stores(system: bool) -> Vec<StoreKind> {
    let mut kinds = vec![StoreKind::Nss];
    if system {
        kinds.push(StoreKind::System);
    }
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_os_store_is_used_only_when_asked() {
        assert_eq!(stores(false), [StoreKind::Nss]);
        assert_eq!(stores(true), [StoreKind::Nss, StoreKind::System]);
    }
}

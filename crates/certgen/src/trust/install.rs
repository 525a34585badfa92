//! `install` and `uninstall`: what to do with the commands a store describes for one CA. Each store is asked where
//! it stands; its commands are then run, printed (`--dry-run`), or printed for `sudo` when the user lacks the
//! privileges. `uninstall` removes only the entry `install` made (named after the CA, see `ca_cert.rs`).

use super::ca_cert::CaCert;
use super::discover::{Skip, discover};
use super::error::TrustError;
use super::firefox;
use super::host::Host;
use super::report::{Action, Change, Outcome, Report};
use super::store::{Presence, TrustStore};
use super::store_kind::StoreKind;

/// Makes `ca` trusted in the selected stores (`kinds` empty: all of them).
pub fn install(ca: &CaCert, host: &Host, kinds: &[StoreKind], dry_run: bool) -> Report {
    apply(Action::Install, ca, host, kinds, dry_run)
}

/// Removes from the selected stores exactly the entries `install` made for `ca`.
pub fn uninstall(ca: &CaCert, host: &Host, kinds: &[StoreKind], dry_run: bool) -> Report {
    apply(Action::Uninstall, ca, host, kinds, dry_run)
}

fn apply(action: Action, ca: &CaCert, host: &Host, kinds: &[StoreKind], dry_run: bool) -> Report {
    let outcomes = discover(host, kinds)
        .into_iter()
        .map(|found| match found {
            Ok(store) => Outcome {
                kind: store.kind(),
                location: store.location(),
                browser: store.browser(),
                result: change(action, store.as_ref(), ca, dry_run),
            },
            Err((kind, skip)) => {
                let (location, browser, result) = match skip {
                    Skip::NotApplicable(reason) => (String::new(), None, Ok(Change::NotApplicable(reason))),
                    Skip::Error(err) => (String::new(), None, Err(err)),
                    Skip::NotCovered(firefox) => (
                        firefox.location,
                        Some(firefox::BROWSER),
                        Ok(Change::NotCovered(then_install(&firefox.reason, host, ca, kinds))),
                    ),
                    Skip::Unused(firefox) => (
                        firefox.location,
                        Some(firefox::BROWSER),
                        Ok(Change::Unused(then_install(&firefox.reason, host, ca, kinds))),
                    ),
                };
                Outcome {
                    kind,
                    location,
                    browser,
                    result,
                }
            }
        })
        .collect();
    Report {
        action,
        ca_name: ca.name(),
        outcomes,
    }
}

/// A first step (`start Firefox once`) followed by the install command that finishes the job, as this user runs it.
pub(super) fn then_install(first: &str, host: &Host, ca: &CaCert, kinds: &[StoreKind]) -> String {
    format!("{first}, then run `{}`", host.invocation.trust_install(ca, kinds))
}

fn change(action: Action, store: &dyn TrustStore, ca: &CaCert, dry_run: bool) -> Result<Change, TrustError> {
    let commands = match (action, store.presence(ca)?) {
        (Action::Install, Presence::Absent | Presence::Incomplete(_)) => store.install_commands(ca)?,
        (Action::Install, Presence::Ours) => return Ok(Change::Unchanged("already trusted".into())),
        (Action::Install, Presence::Foreign(entry)) => {
            return Ok(Change::Unchanged(format!(
                "already trusted as {entry} (not added by certgen)"
            )));
        }
        (Action::Uninstall, Presence::Ours | Presence::Incomplete(_)) => store.uninstall_commands(ca)?,
        (Action::Uninstall, Presence::Absent) => return Ok(Change::Unchanged("not there".into())),
        (Action::Uninstall, Presence::Foreign(entry)) => {
            return Ok(Change::Unchanged(format!(
                "trusted as {entry}, which certgen did not add; left in place"
            )));
        }
    };
    if dry_run {
        return Ok(Change::WouldRun(commands));
    }
    if store.needs_privilege() {
        return Ok(Change::NeedsPrivilege(commands));
    }
    for cmd in &commands {
        cmd.output()?;
    }
    Ok(Change::Done(commands))
}

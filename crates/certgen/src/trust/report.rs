//! The outcome of `install` and `uninstall`: what happened (or would) in each store, printed as people read it.

use std::fmt;

use super::command::Cmd;
use super::error::TrustError;
use super::store_kind::StoreKind;

/// Install or uninstall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Install,
    Uninstall,
}

/// What happened (or would happen) to one store.
#[derive(Debug)]
pub enum Change {
    /// The commands ran.
    Done(Vec<Cmd>),
    /// Nothing to do; the reason says why.
    Unchanged(String),
    /// `--dry-run`: these would run.
    WouldRun(Vec<Cmd>),
    /// The user lacks the privileges: these must be run by hand.
    NeedsPrivilege(Vec<Cmd>),
    /// The kind of store does not exist here.
    NotApplicable(String),
    /// A browser certgen found but cannot cover; the reason says what to do.
    NotCovered(String),
    /// A profile its browser does not start, without a store: nothing to do (the reason says why).
    Unused(String),
}

/// The outcome for one store.
#[derive(Debug)]
pub struct Outcome {
    pub kind: StoreKind,
    pub location: String,
    /// The browser that reads the store, when one does (`Chromium`, `Firefox`).
    pub browser: Option<&'static str>,
    pub result: Result<Change, TrustError>,
}

/// The outcome of `install` or `uninstall` over all selected stores.
#[derive(Debug)]
pub struct Report {
    pub action: Action,
    pub ca_name: String,
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// `None` when every store ended where it should (dry runs count as fine); otherwise a one-line summary. A
    /// browser certgen cannot cover is printed with its fix but not counted here: nothing failed, and `status`,
    /// which answers "will it be trusted", fails on it.
    pub fn problems(&self) -> Option<String> {
        let privileged = self
            .outcomes
            .iter()
            .filter(|o| matches!(o.result, Ok(Change::NeedsPrivilege(_))))
            .count();
        let failed = self.outcomes.iter().filter(|o| o.result.is_err()).count();
        let mut problems = Vec::new();
        if privileged > 0 {
            problems.push(format!(
                "{privileged} store(s) need administrator rights: run the commands shown above"
            ));
        }
        if failed > 0 {
            problems.push(format!("{failed} store(s) failed (see the errors above)"));
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self.action {
            Action::Install => "trusted now",
            Action::Uninstall => "removed",
        };
        for o in &self.outcomes {
            let place = if o.location.is_empty() {
                o.kind.to_string()
            } else {
                format!("{} {}", o.kind, o.location)
            };
            match &o.result {
                Ok(Change::Done(cmds)) => {
                    write_commands(f, &format!("{place}: {verb} ({})", self.ca_name), "ran", "", cmds)?
                }
                Ok(Change::Unchanged(why)) => writeln!(f, "{place}: {why}, nothing changed")?,
                Ok(Change::WouldRun(cmds)) => {
                    write_commands(f, &format!("{place}: dry run"), "would run", "", cmds)?
                }
                Ok(Change::NeedsPrivilege(cmds)) => {
                    let prefix = if cfg!(windows) { "" } else { "sudo " };
                    write_commands(
                        f,
                        &format!("{place}: needs administrator rights"),
                        "run",
                        prefix,
                        cmds,
                    )?
                }
                Ok(Change::NotApplicable(why)) => writeln!(f, "{place}: skipped ({why})")?,
                Ok(Change::NotCovered(why)) => writeln!(f, "{place}: not covered: {why}")?,
                Ok(Change::Unused(why)) => writeln!(f, "{place}: unused: {why}")?,
                Err(err) => writeln!(f, "{place}: error: {err}")?,
            }
        }
        Ok(())
    }
}

fn write_commands(
    f: &mut fmt::Formatter<'_>,
    head: &str,
    verb: &str,
    prefix: &str,
    cmds: &[Cmd],
) -> fmt::Result {
    writeln!(f, "{head}; {verb}:")?;
    for cmd in cmds {
        writeln!(f, "    {prefix}{cmd}")?;
    }
    Ok(())
}

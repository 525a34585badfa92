//! Installing `certutil` (the NSS tools) when `cargo xtask up` finds it missing: which package manager, the exact
//! command (with `sudo` when not root), and whether to run it — asked on a terminal, yes with `--yes`, and
//! without a terminal or `--yes` only printed, so a script never changes the machine unasked.

use std::io::{BufRead, IsTerminal, Write};
use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::time::Duration;

use crate::cmd;

/// A package install that hangs on a stalled mirror fails after this.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);

/// The package managers we know, each with the package that holds `certutil`.
const MANAGERS: [(&str, &[&str]); 5] = [
    ("apt-get", &["apt-get", "install", "-y", "libnss3-tools"]),
    ("dnf", &["dnf", "install", "-y", "nss-tools"]),
    ("pacman", &["pacman", "-S", "--noconfirm", "nss"]),
    (
        "zypper",
        &["zypper", "--non-interactive", "install", "mozilla-nss-tools"],
    ),
    ("brew", &["brew", "install", "nss"]),
];

/// The install command for this machine, and whether we may run it ourselves (root, or `sudo` is there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    pub argv: Vec<String>,
    pub runnable: bool,
}

impl Install {
    /// The command as a person types it.
    pub fn shown(&self) -> String {
        self.argv.join(" ")
    }

    /// What this machine needs, or `None` when no known package manager is on `PATH`.
    pub fn for_this_machine() -> Option<Install> {
        let (manager, argv) = MANAGERS.iter().find(|(manager, _)| on_path(manager))?;
        // Homebrew refuses to run as root, and needs no sudo.
        let root = *manager != "brew" && !is_root();
        Some(plan(argv, root, on_path("sudo")))
    }
}

/// `argv`, behind `sudo` when `needs_root`; runnable unless root is needed and there is no sudo.
fn plan(argv: &[&str], needs_root: bool, sudo: bool) -> Install {
    let mut full: Vec<String> = Vec::new();
    if needs_root {
        full.push("sudo".into());
    }
    full.extend(argv.iter().map(|arg| arg.to_string()));
    Install {
        argv: full,
        runnable: !needs_root || sudo,
    }
}

/// How the user said yes (or did not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// `--yes`.
    Given,
    /// Ask on the terminal.
    Ask,
    /// No terminal and no `--yes`: print the command, change nothing.
    PrintOnly,
}

impl Consent {
    pub fn from(yes: bool) -> Consent {
        if yes {
            Consent::Given
        } else if std::io::stdin().is_terminal() {
            Consent::Ask
        } else {
            Consent::PrintOnly
        }
    }
}

/// Offers to install the NSS tools; true when they were installed.
pub fn offer(install: &Install, consent: Consent) -> bool {
    let shown = install.shown();
    if !install.runnable {
        println!("certutil: not installed, and installing it needs root; run `{shown}`");
        return false;
    }
    let go = match consent {
        Consent::Given => true,
        Consent::PrintOnly => {
            println!("certutil: not installed; run `{shown}` (or pass --yes to let `cargo xtask up` run it)");
            false
        }
        Consent::Ask => ask(&format!(
            "certutil (the NSS tools browsers' trust is set with) is not installed. Run `{shown}` now? [Y/n] "
        )),
    };
    if !go {
        return false;
    }
    println!("certutil: installing: {shown}");
    let mut command = Command::new(&install.argv[0]);
    command.args(&install.argv[1..]);
    match cmd::run_within(&mut command, INSTALL_TIMEOUT) {
        Ok(()) if on_path("certutil") => true,
        Ok(()) => {
            println!("certutil: `{shown}` succeeded but certutil is still not on PATH");
            false
        }
        Err(err) => {
            println!("certutil: install failed ({err:#})");
            false
        }
    }
}

/// Asks a yes/no question on the terminal; Enter means yes.
fn ask(question: &str) -> bool {
    print!("{question}");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "" | "y" | "yes")
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Whether this process runs as root (the owner of `/proc/self` is the effective user).
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_runs_the_command_itself_others_through_sudo() {
        let apt = ["apt-get", "install", "-y", "libnss3-tools"];
        assert_eq!(
            plan(&apt, false, false),
            Install {
                argv: apt.map(String::from).to_vec(),
                runnable: true
            }
        );
        let with_sudo = plan(&apt, true, true);
        assert_eq!(with_sudo.shown(), "sudo apt-get install -y libnss3-tools");
        assert!(with_sudo.runnable);
        assert!(!plan(&apt, true, false).runnable, "no sudo: print only");
    }

    #[test]
    fn without_a_terminal_only_yes_consents() {
        // Tests run with stdin not a terminal (cargo test's harness), like CI and scripts.
        if std::io::stdin().is_terminal() {
            return;
        }
        assert_eq!(Consent::from(false), Consent::PrintOnly);
        assert_eq!(Consent::from(true), Consent::Given);
    }
}

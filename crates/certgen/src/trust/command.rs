//! External commands the trust stores run, shown to people exactly as they would type them.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::error::TrustError;
use crate::shell;

/// One external command: what `--dry-run` prints, what a user without privileges is told to run, and what
/// `install`/`uninstall` execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Cmd {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Runs the command with no standard input (so a password prompt fails instead of hanging) and returns its
    /// standard output; a non-zero exit is an error carrying the first line of its standard error.
    pub fn output(&self) -> Result<String, TrustError> {
        let (success, stdout, stderr) = self.execute()?;
        if success {
            Ok(stdout)
        } else {
            let detail = stderr
                .lines()
                .chain(stdout.lines())
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no output");
            Err(TrustError::CommandFailed {
                command: self.to_string(),
                detail: detail.trim().to_owned(),
            })
        }
    }

    /// Runs the command and reports only whether it exited with success (for queries such as "is this there?").
    pub fn succeeds(&self) -> Result<bool, TrustError> {
        Ok(self.execute()?.0)
    }

    fn execute(&self) -> Result<(bool, String, String), TrustError> {
        let out = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| TrustError::CommandFailed {
                command: self.to_string(),
                detail: e.to_string(),
            })?;
        Ok((
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", shell::quote(&self.program))?;
        for arg in &self.args {
            write!(f, " {}", shell::quote(arg))?;
        }
        Ok(())
    }
}

/// Finds `name` on `PATH` (with `.exe` on Windows), then in `extra` directories.
pub fn find_program(name: &str, extra: &[&str]) -> Option<PathBuf> {
    let file = if cfg!(windows) {
        format!("{name}.exe")
    } else {
        name.to_owned()
    };
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(extra.iter().map(PathBuf::from))
        .map(|dir| dir.join(&file))
        .find(|p| p.is_file())
}

/// Whether the current user may create files in `dir` (root, or a writable directory); probed by creating and
/// removing a file, which is the only check that holds for ACLs, read-only mounts and root alike.
pub fn dir_is_writable(dir: &Path) -> bool {
    let probe = dir.join(format!(".certgen-probe-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => std::fs::remove_file(&probe).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_only_what_the_shell_would_split() {
        let cmd = Cmd::new("certutil").args(["-A", "-t", "C,,", "-n", "it's a name", "-d", "sql:/home/a b"]);
        assert_eq!(
            cmd.to_string(),
            r#"certutil -A -t C,, -n 'it'\''s a name' -d 'sql:/home/a b'"#
        );
    }

    #[test]
    fn failing_command_reports_its_stderr() {
        let err = Cmd::new("sh")
            .args(["-c", "echo boom >&2; exit 3"])
            .output()
            .unwrap_err();
        assert!(err.to_string().contains("boom"), "{err}");
        assert!(!Cmd::new("sh").args(["-c", "exit 1"]).succeeds().unwrap());
    }
}

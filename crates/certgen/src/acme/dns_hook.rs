//! dns-01 through a command the user gives (`--dns-hook CMD`): certgen runs `CMD set NAME VALUE` before telling the
//! CA to look and `CMD clear NAME VALUE` afterwards, where NAME is `_acme-challenge.DOMAIN` (no trailing dot) and
//! VALUE the TXT record's text. The command runs through `sh -c`, so it may carry its own arguments; it should
//! return once the record is visible to the CA's resolvers.

use std::process::{Command, Stdio};

use super::challenge::{ChallengeKind, PendingChallenge, Responder};
use super::error::Error as AcmeError;
use crate::{Error, SubjectName};

#[derive(Debug, Clone)]
pub struct DnsHook {
    command: String,
}

impl DnsHook {
    pub fn new(command: impl Into<String>) -> Self {
        DnsHook {
            command: command.into(),
        }
    }

    /// The TXT record name for a challenge: a wildcard's authorization is for its base domain.
    pub fn record_name(name: &SubjectName) -> String {
        let text = name.to_string();
        format!("_acme-challenge.{}", text.trim_start_matches("*."))
    }

    fn run(&self, action: &str, challenge: &PendingChallenge) -> Result<(), Error> {
        let record = Self::record_name(&challenge.name);
        let output = Command::new("sh")
            .arg("-c")
            .arg(format!("{} \"$@\"", self.command))
            .arg("certgen-dns-hook")
            .args([action, &record, &challenge.dns_value])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| AcmeError::Responder(format!("cannot run --dns-hook `{}`: {e}", self.command)))?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last_line = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
        Err(AcmeError::Responder(format!(
            "--dns-hook `{} {action} {record} ...` failed ({}){}{last_line}",
            self.command,
            output.status,
            if last_line.is_empty() { "" } else { ": " }
        ))
        .into())
    }
}

impl Responder for DnsHook {
    fn kind(&self) -> ChallengeKind {
        ChallengeKind::Dns01
    }

    fn present(&self, challenge: &PendingChallenge) -> Result<(), Error> {
        self.run("set", challenge)
    }

    fn clear(&self, challenge: &PendingChallenge) -> Result<(), Error> {
        self.run("clear", challenge)
    }
}

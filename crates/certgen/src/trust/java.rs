//! The `cacerts` keystore of the JDK in `JAVA_HOME`, changed with that JDK's own `keytool`.

use std::path::PathBuf;

use super::ca_cert::CaCert;
use super::command::Cmd;
use super::error::TrustError;
use super::host::Host;
use super::store::{Detected, Presence, TrustStore};
use super::store_kind::StoreKind;

/// The password every JDK ships `cacerts` with.
const STOREPASS: &str = "changeit";

pub struct JavaKeystore {
    keytool: PathBuf,
    cacerts: PathBuf,
}

pub(super) fn detect(host: &Host) -> Detected {
    let Some(java_home) = &host.java_home else {
        return Detected::NotHere("JAVA_HOME is not set".into());
    };
    let keytool = java_home
        .join("bin")
        .join(if cfg!(windows) { "keytool.exe" } else { "keytool" });
    if !keytool.is_file() {
        return Detected::Broken(TrustError::ToolMissing {
            tool: "keytool",
            fix: format!(
                "JAVA_HOME={} has no bin/keytool; point JAVA_HOME at a JDK",
                java_home.display()
            ),
        });
    }
    // Java 9+ keeps it in lib/security, Java 8 in jre/lib/security.
    let Some(cacerts) = ["lib/security/cacerts", "jre/lib/security/cacerts"]
        .iter()
        .map(|p| java_home.join(p))
        .find(|p| p.is_file())
    else {
        return Detected::Broken(TrustError::NoStore {
            kind: StoreKind::Java,
            reason: format!("JAVA_HOME={} has no lib/security/cacerts", java_home.display()),
        });
    };
    Detected::Stores(vec![Box::new(JavaKeystore { keytool, cacerts })])
}

impl JavaKeystore {
    fn keytool(&self, command: &str) -> Cmd {
        Cmd::new(&self.keytool)
            .arg(command)
            .arg("-keystore")
            .arg(&self.cacerts)
            .args(["-storepass", STOREPASS])
    }
}

/// The alias `keytool -list` shows for the entry whose SHA-256 fingerprint is `fingerprint` (as `AB:CD:..`): the
/// fingerprint line follows the line that starts with the alias, e.g. `debian:foo.pem, Nov 1, 2025, trustedCertEntry,`.
fn alias_with_fingerprint<'a>(listing: &'a str, fingerprint: &str) -> Option<&'a str> {
    let lines: Vec<&str> = listing.lines().collect();
    let at = lines.iter().position(|line| line.contains(fingerprint))?;
    let entry = lines.get(at.checked_sub(1)?)?;
    entry.split(", ").next()
}

impl TrustStore for JavaKeystore {
    fn kind(&self) -> StoreKind {
        StoreKind::Java
    }

    fn location(&self) -> String {
        self.cacerts.display().to_string()
    }

    fn presence(&self, ca: &CaCert) -> Result<Presence, TrustError> {
        let listing = self.keytool("-list").output()?;
        Ok(
            match alias_with_fingerprint(&listing, &ca.cert().sha256_colons()) {
                Some(alias) if alias == ca.name() => Presence::Ours,
                Some(alias) => Presence::Foreign(format!("alias '{alias}'")),
                None => Presence::Absent,
            },
        )
    }

    fn install_commands(&self, ca: &CaCert) -> Result<Vec<Cmd>, TrustError> {
        Ok(vec![
            self.keytool("-importcert")
                .args(["-noprompt", "-trustcacerts", "-alias"])
                .arg(ca.name())
                .arg("-file")
                .arg(ca.path()),
        ])
    }

    fn uninstall_commands(&self, ca: &CaCert) -> Result<Vec<Cmd>, TrustError> {
        Ok(vec![self.keytool("-delete").arg("-alias").arg(ca.name())])
    }

    fn needs_privilege(&self) -> bool {
        std::fs::OpenOptions::new()
            .append(true)
            .open(&self.cacerts)
            .is_err()
    }
}

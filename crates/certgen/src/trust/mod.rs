//! Making this machine's browsers, system and Java trust a certgen CA, undoing it exactly, and reporting where it
//! is trusted.
//!
//! Each trust store is one small type in its own file, implementing [`TrustStore`] (`store.rs`). A store only
//! *describes*: whether the CA is there ([`TrustStore::presence`]) and which commands add or remove it.
//! `install.rs` decides what to do with those commands: run them, print them (`--dry-run`), or print them with
//! `sudo` when the user lacks the privileges. Every entry is named after the CA's SHA-256 fingerprint
//! ([`CaCert::name`], `ca_cert.rs`), so the CAs of several projects coexist and `uninstall` removes only what
//! `install` added. `host.rs` holds the facts that decide which stores exist, `discover.rs` finds them, and
//! `report.rs` says what happened to each.

mod ca_cert;
mod command;
mod discover;
mod env;
mod error;
mod firefox;
mod host;
mod install;
mod invocation;
mod java;
mod linux;
mod macos;
mod nss;
mod report;
mod stale;
mod status;
mod store;
mod store_kind;
mod windows;

pub use ca_cert::CaCert;
pub use command::Cmd;
pub use discover::{Skip, discover};
pub use env::{BUNDLE_FILE, Effect, SYSTEM_BUNDLE_ENV, Shell, TrustEnv, Variable, env, system_bundle};
pub use error::TrustError;
pub use firefox::Uncovered;
pub use host::{Host, Os};
pub use install::{install, uninstall};
pub use invocation::Invocation;
pub use report::{Action, Change, Outcome, Report};
pub use stale::{Retired, StaleCa, replaced_cas, untrust_replaced};
pub use status::{CertCheck, StatusFixes, StatusReport, StoreStatus, state_is_fine, status, store_statuses};
pub use store::{Presence, TrustStore};
pub use store_kind::StoreKind;

#[cfg(test)]
mod tests {
    use super::ca_cert::test_ca;
    use super::*;

    /// The commands a store would run, as `--dry-run` prints them.
    fn shown(commands: Result<Vec<Cmd>, TrustError>) -> Vec<String> {
        commands
            .expect("commands")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// The documented commands of the stores this Linux machine cannot run (docs/trust.md).
    #[test]
    fn other_systems_get_their_documented_commands() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = test_ca(dir.path());
        let (path, name, sha1) = (
            ca.path().display().to_string(),
            ca.name(),
            ca.cert().sha1_hex_upper(),
        );

        let mac = macos::SystemKeychain;
        assert_eq!(
            shown(mac.install_commands(&ca)),
            [format!(
                "security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain {path}"
            )]
        );
        assert_eq!(
            shown(mac.uninstall_commands(&ca)),
            [
                format!("security remove-trusted-cert -d {path}"),
                format!("security delete-certificate -Z {sha1} /Library/Keychains/System.keychain"),
            ]
        );

        let windows = windows::WindowsRoot::native();
        assert_eq!(
            shown(windows.install_commands(&ca)),
            [format!("certutil -user -addstore Root {path}")]
        );
        assert_eq!(
            shown(windows.uninstall_commands(&ca)),
            [format!("certutil -user -delstore Root {sha1}")]
        );

        let fedora = linux::AnchorDir::for_family("Fedora/RHEL", "/usr/bin/update-ca-trust");
        assert_eq!(
            shown(fedora.install_commands(&ca)),
            [
                format!("install -m 0644 {path} /etc/pki/ca-trust/source/anchors/{name}.pem"),
                "/usr/bin/update-ca-trust extract".to_owned(),
            ]
        );
        let arch = linux::AnchorDir::for_family("Arch", "/usr/bin/trust");
        assert_eq!(
            shown(arch.uninstall_commands(&ca)),
            [
                format!("rm -f /etc/ca-certificates/trust-source/anchors/{name}.crt"),
                "/usr/bin/trust extract-compat".to_owned(),
            ]
        );
    }
}

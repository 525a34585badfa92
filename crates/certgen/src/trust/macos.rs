//! The macOS System keychain, where `security add-trusted-cert -d` makes a root trusted for every user.

use super::ca_cert::CaCert;
use super::command::Cmd;
use super::error::TrustError;
use super::store::{Presence, TrustStore};
use super::store_kind::StoreKind;

const SYSTEM_KEYCHAIN: &str = "/Library/Keychains/System.keychain";

pub struct SystemKeychain;

impl TrustStore for SystemKeychain {
    fn kind(&self) -> StoreKind {
        StoreKind::System
    }

    fn location(&self) -> String {
        format!("{SYSTEM_KEYCHAIN} (macOS)")
    }

    /// The keychain names certificates by subject, so a certificate with our SHA-1 hash there is taken as ours.
    fn presence(&self, ca: &CaCert) -> Result<Presence, TrustError> {
        let listing = Cmd::new("security")
            .args(["find-certificate", "-a", "-Z", SYSTEM_KEYCHAIN])
            .output()?;
        let hash = format!("SHA-1 hash: {}", ca.cert().sha1_hex_upper());
        Ok(if listing.lines().any(|line| line.trim() == hash) {
            Presence::Ours
        } else {
            Presence::Absent
        })
    }

    fn install_commands(&self, ca: &CaCert) -> Result<Vec<Cmd>, TrustError> {
        Ok(vec![
            Cmd::new("security")
                .args(["add-trusted-cert", "-d", "-r", "trustRoot", "-k", SYSTEM_KEYCHAIN])
                .arg(ca.path()),
        ])
    }

    fn uninstall_commands(&self, ca: &CaCert) -> Result<Vec<Cmd>, TrustError> {
        Ok(vec![
            Cmd::new("security")
                .args(["remove-trusted-cert", "-d"])
                .arg(ca.path()),
            Cmd::new("security")
                .args(["delete-certificate", "-Z"])
                .arg(ca.cert().sha1_hex_upper())
                .arg(SYSTEM_KEYCHAIN),
        ])
    }

    /// Changing the System keychain's trust settings takes root.
    fn needs_privilege(&self) -> bool {
        Cmd::new("id")
            .arg("-u")
            .output()
            .map_or(true, |uid| uid.trim() != "0")
    }
}

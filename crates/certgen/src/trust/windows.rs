//! The Windows current-user Root store, natively and from WSL (through `certutil.exe`). Windows' `certutil` is a
//! different program from NSS's `certutil`.

use super::ca_cert::CaCert;
use super::command::{Cmd, find_program};
use super::error::TrustError;
use super::store::{Presence, TrustStore};
use super::store_kind::StoreKind;

pub struct WindowsRoot {
    certutil: String,
    /// From WSL, file arguments need Windows paths (`wslpath -w`).
    wsl: bool,
}

impl WindowsRoot {
    pub(super) fn native() -> Self {
        WindowsRoot {
            certutil: "certutil".into(),
            wsl: false,
        }
    }

    /// The Windows side of WSL: `certutil.exe` through WSL's interop, or at its usual place when `PATH` lacks it.
    pub(super) fn wsl() -> Self {
        let certutil = match find_program("certutil.exe", &[]) {
            Some(_) => "certutil.exe".to_owned(),
            None => "/mnt/c/Windows/System32/certutil.exe".to_owned(),
        };
        WindowsRoot { certutil, wsl: true }
    }

    fn certutil(&self) -> Cmd {
        Cmd::new(&self.certutil).args(["-user"])
    }

    fn ca_file(&self, ca: &CaCert) -> Result<String, TrustError> {
        if self.wsl {
            Ok(Cmd::new("wslpath")
                .arg("-w")
                .arg(ca.path())
                .output()?
                .trim()
                .to_owned())
        } else {
            Ok(ca.path().display().to_string())
        }
    }
}

impl TrustStore for WindowsRoot {
    fn kind(&self) -> StoreKind {
        StoreKind::System
    }

    fn location(&self) -> String {
        let side = if self.wsl {
            "Windows side of WSL"
        } else {
            "Windows"
        };
        format!("current user Root store ({side})")
    }

    /// The store names certificates by subject, so an entry with our thumbprint is taken as ours.
    fn presence(&self, ca: &CaCert) -> Result<Presence, TrustError> {
        let found = self
            .certutil()
            .args(["-store", "Root"])
            .arg(ca.cert().sha1_hex_upper())
            .succeeds()?;
        Ok(if found { Presence::Ours } else { Presence::Absent })
    }

    /// Windows asks the user to confirm in a dialog before it adds a root.
    fn install_commands(&self, ca: &CaCert) -> Result<Vec<Cmd>, TrustError> {
        Ok(vec![
            self.certutil().args(["-addstore", "Root"]).arg(self.ca_file(ca)?),
        ])
    }

    fn uninstall_commands(&self, ca: &CaCert) -> Result<Vec<Cmd>, TrustError> {
        Ok(vec![
            self.certutil()
                .args(["-delstore", "Root"])
                .arg(ca.cert().sha1_hex_upper()),
        ])
    }
}

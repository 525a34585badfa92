//! What a trust store is to certgen: a type implementing [`TrustStore`] that only *describes* (whether a CA is
//! there, the commands that add or remove it), and what looking for the stores of one kind finds.

use super::ca_cert::CaCert;
use super::command::Cmd;
use super::error::TrustError;
use super::store_kind::StoreKind;

/// Where a store stands with respect to one CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    /// Trusted, under the entry certgen's `install` makes (so `uninstall` removes it).
    Ours,
    /// Trusted, but under an entry certgen did not make (named here); `uninstall` leaves it alone.
    Foreign(String),
    /// certgen's entry is there but not in effect (the reason says why); `install` redoes it, `uninstall` removes it.
    Incomplete(String),
    /// Not trusted there.
    Absent,
}

/// One place that decides whether a CA is trusted.
pub trait TrustStore {
    fn kind(&self) -> StoreKind;
    /// Where it is, for people, e.g. `~/.pki/nssdb (Chrome/Chromium)`.
    fn location(&self) -> String;
    /// Whether `ca` is trusted here, and under whose entry; only reads.
    fn presence(&self, ca: &CaCert) -> Result<Presence, TrustError>;
    /// The commands that make `ca` trusted; asked only when it is [`Presence::Absent`] or [`Presence::Incomplete`].
    fn install_commands(&self, ca: &CaCert) -> Result<Vec<Cmd>, TrustError>;
    /// The commands that remove the entry `install` made; asked only when it is [`Presence::Ours`] or
    /// [`Presence::Incomplete`].
    fn uninstall_commands(&self, ca: &CaCert) -> Result<Vec<Cmd>, TrustError>;
    /// True when the current user cannot change this store (the commands must then run with `sudo`).
    fn needs_privilege(&self) -> bool {
        false
    }
    /// The browser that reads this store, when one does (`Chromium`, `Firefox`).
    fn browser(&self) -> Option<&'static str> {
        None
    }
    /// False for a store no program reads (a Firefox profile Firefox does not start): not trusting there is fine.
    fn in_use(&self) -> bool {
        true
    }
    /// Every entry certgen made here (named `certgen-...`), with the certificate it holds, for finding CAs that
    /// are no longer current.
    fn certgen_entries(&self) -> Result<Vec<Entry>, TrustError> {
        Ok(Vec::new())
    }
}

/// One entry certgen made in a store, as [`TrustStore::certgen_entries`] lists them.
pub struct Entry {
    pub name: String,
    pub der: Vec<u8>,
    /// The commands that remove just this entry.
    pub remove: Vec<Cmd>,
}

/// What a store module found on this machine.
pub(super) enum Detected {
    Stores(Vec<Box<dyn TrustStore>>),
    /// The store does not apply here (another OS, no `JAVA_HOME`); an error only when asked for by name.
    NotHere(String),
    /// The store applies but cannot be used (its tool is missing): always an error.
    Broken(TrustError),
}

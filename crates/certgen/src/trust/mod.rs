//! Making this machine's browsers, system and Java trust a certgen CA, undoing it exactly, and reporting where it
//! is trusted.
//!
//! Each trust store is one small type implementing [`TrustStore`] in its own file. A store only *describes*: whether
//! the CA is there ([`TrustStore::presence`]) and which commands add or remove it. This module decides what to do
//! with those commands: run them, print them (`--dry-run`), or print them with `sudo` when the user lacks the
//! privileges. Every entry is named after the CA's SHA-256 fingerprint ([`CaCert::name`]), so the CAs of several
//! projects coexist and `uninstall` removes only what `install` added.

mod command;
mod env;
mod firefox;
mod invocation;
mod java;
mod linux;
mod macos;
mod nss;
mod stale;
mod status;
mod windows;

use std::fmt;
use std::path::{Path, PathBuf};

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::Serialize;

pub use command::Cmd;
pub use env::{BUNDLE_FILE, Effect, SYSTEM_BUNDLE_ENV, Shell, TrustEnv, Variable, env, system_bundle};
pub use firefox::Uncovered;
pub use invocation::Invocation;
pub use stale::{Retired, StaleCa, replaced_cas, untrust_replaced};

use crate::Error;
use crate::cert::Cert;
pub use status::{CertCheck, StatusFixes, StatusReport, StoreStatus, state_is_fine, status, store_statuses};

/// What went wrong while talking to a trust store.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("{tool} not found: {fix}")]
    ToolMissing { tool: &'static str, fix: String },
    #[error("`{command}` failed: {detail}")]
    CommandFailed { command: String, detail: String },
    #[error("no {kind} trust store here: {reason}")]
    NoStore { kind: StoreKind, reason: String },
    /// The store cannot hold this CA at all, so nothing is run.
    #[error("this store cannot hold this CA: {0}")]
    Unsupported(&'static str),
}

/// The kinds of store `--store` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// The NSS databases of Chrome/Chromium on Linux and of every Firefox profile.
    Nss,
    /// The operating system's store (on WSL also the Windows side).
    System,
    /// The `cacerts` keystore of the JDK in `JAVA_HOME`.
    Java,
}

impl StoreKind {
    pub const ALL: [StoreKind; 3] = [StoreKind::Nss, StoreKind::System, StoreKind::Java];
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreKind::Nss => "nss",
            StoreKind::System => "system",
            StoreKind::Java => "java",
        })
    }
}

/// A CA certificate loaded from a PEM file, with the identities the stores know it by.
#[derive(Debug, Clone)]
pub struct CaCert {
    path: PathBuf,
    cert: Cert,
}

impl CaCert {
    /// Reads a PEM file holding exactly one CA certificate (`ca.pem`).
    pub fn load(path: &Path) -> Result<CaCert, Error> {
        let bad = |reason: String| Error::BadCa {
            path: path.to_owned(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => bad("no such file (create a CA with `certgen ca`)".into()),
            _ => bad(e.to_string()),
        })?;
        let certs = CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(format!("invalid PEM: {}", crate::pem::pem_error_text(&e))))?;
        let der = match certs.as_slice() {
            [one] => one.clone().into_owned(),
            [] if bytes.first() == Some(&0x30) => {
                return Err(bad("this is DER (.cer); pass the PEM file, e.g. ca.pem".into()));
            }
            [] => return Err(bad("no PEM certificate in it; pass the CA's ca.pem".into())),
            many => {
                return Err(bad(format!(
                    "it holds {} certificates; pass a file with only the CA",
                    many.len()
                )));
            }
        };
        let cert = Cert::from_der(der).map_err(|e| bad(format!("not a valid certificate: {e}")))?;
        if !cert.is_ca() {
            return Err(bad(
                "it is not a CA certificate (CA:FALSE); pass the CA's ca.pem".into()
            ));
        }
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        Ok(CaCert { path, cert })
    }

    /// The absolute path of the PEM file (commands refer to it).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The certificate: its DER, CN, validity and fingerprints.
    pub fn cert(&self) -> &Cert {
        &self.cert
    }

    /// The name of every entry certgen adds (NSS nickname, file name, Java alias):
    /// `certgen-<common name, sanitised>-<first 16 hex digits of the SHA-256 fingerprint>`, e.g.
    /// `certgen-ca-dev-laptop-dab363f5c52aba5e` for the CN "certgen CA dev@laptop".
    pub fn name(&self) -> String {
        entry_name(&self.cert)
    }

    /// Whether `der` is this very certificate.
    pub fn is(&self, der: &[u8]) -> bool {
        self.cert.der().as_ref() == der
    }

    /// Whether any certificate in `pem` text is this one.
    pub fn is_in_pem(&self, pem: &str) -> bool {
        CertificateDer::pem_slice_iter(pem.as_bytes())
            .flatten()
            .any(|c| self.is(c.as_ref()))
    }
}

/// How every entry certgen adds begins.
const ENTRY_PREFIX: &str = "certgen-";

/// The name certgen gives the entry of `cert` (see [`CaCert::name`]).
fn entry_name(cert: &Cert) -> String {
    format!(
        "{ENTRY_PREFIX}{}-{}",
        slug(cert.subject_cn()),
        &cert.sha256_hex()[..16]
    )
}

/// A common name as lowercase ASCII words joined by `-`, at most 32 characters, without the "certgen" word that
/// certgen's default CN starts with (the entry names already begin with it); "ca" when nothing is left.
fn slug(common_name: &str) -> String {
    let mut slug = String::new();
    for c in common_name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.strip_prefix("certgen-").unwrap_or(&slug);
    let slug: String = slug.chars().take(32).collect();
    match slug.trim_end_matches('-') {
        "" => "ca".to_owned(),
        trimmed => trimmed.to_owned(),
    }
}

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
    fn certgen_entries(&self) -> Result<Vec<stale::Entry>, TrustError> {
        Ok(Vec::new())
    }
}

/// The operating system the stores are chosen for, at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    MacOs,
    Windows,
    Other,
}

/// The facts about this machine and user that decide which stores exist.
#[derive(Debug, Clone)]
pub struct Host {
    pub os: Os,
    /// The user's home (`HOME`; `USERPROFILE` on Windows).
    pub home: Option<PathBuf>,
    /// `XDG_CONFIG_HOME` when set to an absolute path (the XDG rule); `None` means `HOME/.config`.
    pub xdg_config_home: Option<PathBuf>,
    /// `JAVA_HOME`, when set and not empty.
    pub java_home: Option<PathBuf>,
    /// Linux running under Windows' WSL, where the Windows store matters too.
    pub wsl: bool,
    /// Running through `sudo` with the invoking user's HOME: files made there would belong to root.
    pub sudo_in_user_home: bool,
    /// How this user runs the commands printed as fixes.
    pub invocation: Invocation,
}

impl Host {
    /// The machine this process runs on, read from the environment.
    pub fn current() -> Host {
        let os = match std::env::consts::OS {
            "linux" => Os::Linux,
            "macos" => Os::MacOs,
            "windows" => Os::Windows,
            _ => Os::Other,
        };
        let env_path = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let home = if os == Os::Windows {
            env_path("USERPROFILE")
        } else {
            env_path("HOME")
        };
        let wsl = os == Os::Linux
            && (Path::new("/proc/sys/fs/binfmt_misc/WSLInterop").exists()
                || std::fs::read_to_string("/proc/version")
                    .is_ok_and(|v| v.to_lowercase().contains("microsoft")));
        Host {
            os,
            sudo_in_user_home: home.as_deref().is_some_and(sudo_in_user_home),
            home,
            xdg_config_home: env_path("XDG_CONFIG_HOME").filter(|p| p.is_absolute()),
            java_home: env_path("JAVA_HOME"),
            wsl,
            invocation: Invocation::detect(),
        }
    }

    /// `path` with the home directory shown as `~`.
    fn show(&self, path: &Path) -> String {
        match self.home.as_deref().and_then(|home| path.strip_prefix(home).ok()) {
            Some(rest) => Path::new("~").join(rest).display().to_string(),
            None => path.display().to_string(),
        }
    }
}

/// Whether `sudo` (which sets `SUDO_UID`) kept the invoking user's `home`: it is owned by that user, not root.
#[cfg(unix)]
fn sudo_in_user_home(home: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let sudo_uid = std::env::var("SUDO_UID")
        .ok()
        .and_then(|uid| uid.parse::<u32>().ok());
    sudo_uid.is_some_and(|uid| uid != 0 && std::fs::metadata(home).is_ok_and(|m| m.uid() == uid))
}

#[cfg(not(unix))]
fn sudo_in_user_home(_home: &Path) -> bool {
    false
}

/// What a store module found on this machine.
enum Detected {
    Stores(Vec<Box<dyn TrustStore>>),
    /// The store does not apply here (another OS, no `JAVA_HOME`); an error only when asked for by name.
    NotHere(String),
    /// The store applies but cannot be used (its tool is missing): always an error.
    Broken(TrustError),
}

/// The stores of the selected kinds (all kinds when `kinds` is empty), and for kinds that have none, why; then the
/// browsers of those kinds found without a store certgen can change.
pub fn discover(host: &Host, kinds: &[StoreKind]) -> Vec<Result<Box<dyn TrustStore>, (StoreKind, Skip)>> {
    let explicit = !kinds.is_empty();
    let kinds = if explicit { kinds } else { &StoreKind::ALL[..] };
    let mut found = Vec::new();
    for kind in StoreKind::ALL.into_iter().filter(|k| kinds.contains(k)) {
        let (detected, uncovered, unused) = match kind {
            StoreKind::Nss => nss::detect(host),
            StoreKind::System => (system_stores(host), Vec::new(), Vec::new()),
            StoreKind::Java => (java::detect(host), Vec::new(), Vec::new()),
        };
        match detected {
            Detected::Stores(stores) => found.extend(stores.into_iter().map(Ok)),
            Detected::NotHere(reason) if explicit => {
                found.push(Err((kind, Skip::Error(TrustError::NoStore { kind, reason }))))
            }
            Detected::NotHere(reason) => found.push(Err((kind, Skip::NotApplicable(reason)))),
            Detected::Broken(err) => found.push(Err((kind, Skip::Error(err)))),
        }
        found.extend(uncovered.into_iter().map(|u| Err((kind, Skip::NotCovered(u)))));
        found.extend(unused.into_iter().map(|u| Err((kind, Skip::Unused(u)))));
    }
    found
}

/// Why a kind of store was left out.
#[derive(Debug)]
pub enum Skip {
    /// It does not exist here and was not asked for by name.
    NotApplicable(String),
    Error(TrustError),
    /// A browser of this kind is here, but certgen cannot reach its store (say, Firefox without a profile yet).
    NotCovered(Uncovered),
    /// A profile without a store that its browser does not start: nothing to do.
    Unused(Uncovered),
}

fn system_stores(host: &Host) -> Detected {
    match host.os {
        Os::Linux => {
            let mut stores = Vec::new();
            let linux = linux::detect(host);
            if host.wsl {
                stores.push(Box::new(windows::WindowsRoot::wsl()) as Box<dyn TrustStore>);
            }
            match linux {
                Detected::Stores(found) => stores.extend(found),
                other if stores.is_empty() => return other,
                _ => {}
            }
            Detected::Stores(stores)
        }
        Os::MacOs => Detected::Stores(vec![Box::new(macos::SystemKeychain)]),
        Os::Windows => Detected::Stores(vec![Box::new(windows::WindowsRoot::native())]),
        Os::Other => Detected::NotHere(format!("no system store support for {}", std::env::consts::OS)),
    }
}

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
fn then_install(first: &str, host: &Host, ca: &CaCert, kinds: &[StoreKind]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed CA written to `dir/ca.pem` and loaded, for the stores' unit tests.
    fn test_ca(dir: &Path) -> CaCert {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Unit Test CA");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).expect("self-signed CA");
        std::fs::write(dir.join("ca.pem"), cert.pem()).expect("write ca.pem");
        CaCert::load(&dir.join("ca.pem")).expect("load ca.pem")
    }

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

    /// The one rule for printed fixes: `--ca` only when the CA is not `./certs/ca.pem`, `--store` beyond nss, and
    /// cargo xtask's own task under xtask.
    #[test]
    fn fix_commands_name_what_differs_from_the_defaults() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("certs")).expect("certs");
        let ca = test_ca(&dir.path().join("certs"));
        let here = Invocation::decide(true, dir.path(), None);
        assert_eq!(here.trust_install(&ca, &[]), "certgen trust install");
        assert_eq!(
            here.trust_install(&ca, &[StoreKind::Nss, StoreKind::System]),
            "certgen trust install --store nss,system"
        );
        assert_eq!(
            here.trust_uninstall(&ca, &[StoreKind::System]),
            "certgen trust uninstall --store system"
        );
        let elsewhere = Invocation::decide(true, &std::env::temp_dir(), None);
        assert_eq!(
            elsewhere.trust_install(&ca, &[StoreKind::Nss]),
            format!("certgen trust install --ca {}", ca.path().display())
        );
        let xtask = here.for_xtask();
        assert_eq!(xtask.trust_install(&ca, &[StoreKind::Nss]), "cargo xtask trust");
        assert_eq!(
            xtask.trust_install(&ca, &[StoreKind::Nss, StoreKind::System]),
            "cargo xtask trust --system"
        );
        assert_eq!(xtask.certgen("trust env"), "certgen trust env");
    }

    #[test]
    fn the_ca_file_must_hold_exactly_one_ca_certificate() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = test_ca(dir.path());
        let pem = std::fs::read_to_string(ca.path()).expect("read");
        let cases = [
            ("ca.cer", ca.cert().der().to_vec(), "this is DER"),
            (
                "two.pem",
                format!("{pem}{pem}").into_bytes(),
                "holds 2 certificates",
            ),
            (
                "key.pem",
                b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".to_vec(),
                "no PEM certificate",
            ),
        ];
        for (file, bytes, expected) in cases {
            let path = dir.path().join(file);
            std::fs::write(&path, bytes).expect("write");
            let err = CaCert::load(&path).expect_err(file).to_string();
            assert!(err.contains(expected) && err.contains(file), "{file}: {err}");
        }
    }

    #[test]
    fn entry_names_are_short_lowercase_words() {
        assert_eq!(slug("certgen CA dev@laptop"), "ca-dev-laptop");
        assert_eq!(slug("  --Foo__Bar--  "), "foo-bar");
        assert_eq!(slug("Bücher GmbH Root"), "b-cher-gmbh-root");
        assert_eq!(slug(""), "ca");
        assert_eq!(slug("©®"), "ca");
        assert_eq!(slug(&"x".repeat(100)).len(), 32);
        assert_eq!(
            slug("abcdefghij abcdefghij abcdefghij z"),
            "abcdefghij-abcdefghij-abcdefghij"
        );
    }
}

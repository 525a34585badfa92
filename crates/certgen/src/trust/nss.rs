//! NSS databases: Chrome/Chromium on Linux and every Firefox profile (found by [`super::firefox`]).

use std::path::{Path, PathBuf};

use crate::pem;

use super::ca_cert::CaCert;
use super::command::{Cmd, find_program};
use super::error::TrustError;
use super::firefox::{self, Uncovered};
use super::host::{Host, Os};
use super::store::{Detected, Entry, Presence, TrustStore};
use super::store_kind::StoreKind;

/// What to tell a user whose machine has no `certutil`.
const CERTUTIL_FIX: &str = "install it: `apt install libnss3-tools` (Debian/Ubuntu), `dnf install nss-tools` \
(Fedora/RHEL), `pacman -S nss` (Arch), `brew install nss` (macOS)";

/// One NSS database (a directory holding `cert9.db`).
pub struct NssDb {
    dir: PathBuf,
    /// Who reads it, for people.
    label: String,
    /// Shown instead of `dir` (home as `~`).
    shown: String,
    /// `Chromium` or `Firefox`.
    browser: &'static str,
    /// False for a Firefox profile Firefox does not start.
    used: bool,
    certutil: PathBuf,
}

/// The name verdicts use for Chrome and Chromium, which share the NSS databases on Linux.
const CHROMIUM: &str = "Chromium";

/// One database [`databases`] chose: where, who reads it, which browser, and whether that browser starts it.
struct Database {
    dir: PathBuf,
    label: String,
    browser: &'static str,
    used: bool,
}

/// The NSS databases of `host`'s user, the Firefox installations or used profiles found that none of them covers,
/// and the profiles without a database that Firefox does not start.
pub(super) fn detect(host: &Host) -> (Detected, Vec<Uncovered>, Vec<Uncovered>) {
    let system = "the system store (`--store system`)";
    if !matches!(host.os, Os::Linux | Os::MacOs) {
        let reason = format!("Chrome, Edge and Firefox here use {system}");
        return (Detected::NotHere(reason), Vec::new(), Vec::new());
    }
    let Some(home) = &host.home else {
        return (
            Detected::NotHere("HOME is not set, so there are no browser profiles to find".into()),
            Vec::new(),
            Vec::new(),
        );
    };
    if host.sudo_in_user_home {
        // The databases would become root's files in the user's home, which the browsers could no longer open.
        return (
            Detected::NotHere(
                "running under sudo: run it again without sudo, so the databases stay yours".into(),
            ),
            Vec::new(),
            Vec::new(),
        );
    }
    let firefox = firefox::find(host, home);
    let databases = databases(host.os, home, firefox.profiles);
    if databases.is_empty() {
        let reason =
            format!("no Firefox profile with a certificate database; Chrome and Safari here use {system}");
        return (Detected::NotHere(reason), firefox.uncovered, firefox.unused);
    }
    let Some(certutil) = find_program(
        "certutil",
        &["/opt/homebrew/opt/nss/bin", "/usr/local/opt/nss/bin"],
    ) else {
        return (
            Detected::Broken(TrustError::ToolMissing {
                tool: "certutil",
                fix: CERTUTIL_FIX.into(),
            }),
            firefox.uncovered,
            firefox.unused,
        );
    };
    let stores = databases
        .into_iter()
        .map(|db| {
            Box::new(NssDb {
                shown: host.show(&db.dir),
                dir: db.dir,
                label: db.label,
                browser: db.browser,
                used: db.used,
                certutil: certutil.clone(),
            }) as Box<dyn TrustStore>
        })
        .collect();
    (Detected::Stores(stores), firefox.uncovered, firefox.unused)
}

/// The databases to use, each with who reads it. Chrome's two Linux locations are listed even when missing
/// (install creates them, as Chrome would on its next start); snap Chromium's when snap Chromium is installed;
/// Firefox `profiles` as [`firefox::find`] found them.
fn databases(os: Os, home: &Path, profiles: Vec<firefox::Profile>) -> Vec<Database> {
    let chromium = |dir: PathBuf, label: &str| Database {
        dir,
        label: label.to_owned(),
        browser: CHROMIUM,
        used: true,
    };
    let mut dbs = Vec::new();
    if os == Os::Linux {
        dbs.push(chromium(home.join(".pki/nssdb"), "Chrome/Chromium"));
        dbs.push(chromium(
            home.join(".local/share/pki/nssdb"),
            "Chrome 146+ new profiles",
        ));
        if home.join("snap/chromium").is_dir() {
            dbs.push(chromium(
                home.join("snap/chromium/current/.pki/nssdb"),
                "Chromium (snap)",
            ));
        }
        for app in ["org.chromium.Chromium", "com.google.Chrome"] {
            let dir = home.join(".var/app").join(app).join(".pki/nssdb");
            if dir.join("cert9.db").is_file() {
                dbs.push(chromium(dir, &format!("{app} (flatpak)")));
            }
        }
    }
    dbs.extend(profiles.into_iter().map(|p| Database {
        dir: p.dir,
        label: p.label,
        browser: firefox::BROWSER,
        used: p.used,
    }));
    dbs.dedup_by(|a, b| a.dir == b.dir);
    dbs
}

impl NssDb {
    fn certutil(&self) -> Cmd {
        Cmd::new(&self.certutil)
    }

    /// The `-d` argument: the SQLite format (cert9.db) every current browser uses.
    fn db_arg(&self) -> String {
        format!("sql:{}", self.dir.display())
    }

    fn exists(&self) -> bool {
        self.dir.join("cert9.db").is_file()
    }

    /// Every (nickname, trust flags) in the database, from `certutil -L`.
    fn entries(&self) -> Result<Vec<(String, String)>, TrustError> {
        let listing = self.certutil().args(["-L", "-d"]).arg(self.db_arg()).output()?;
        // After the header (ending with the "SSL,S/MIME,JAR/XPI" line), each line is the nickname padded with
        // spaces, then the trust flags ("C,,").
        Ok(listing
            .lines()
            .skip_while(|line| !line.contains("SSL,S/MIME"))
            .skip(1)
            .filter_map(|line| {
                let (nickname, flags) = line.trim_end().rsplit_once(char::is_whitespace)?;
                Some((nickname.trim_end().to_owned(), flags.to_owned()))
            })
            .collect())
    }

    /// The command that deletes the entry `nickname`.
    fn remove(&self, nickname: &str) -> Cmd {
        self.certutil()
            .args(["-D", "-n", nickname, "-d"])
            .arg(self.db_arg())
    }

    /// Whether the certificate(s) under `nickname` include `ca`.
    fn nickname_holds(&self, nickname: &str, ca: &CaCert) -> Result<bool, TrustError> {
        let pem = self
            .certutil()
            .args(["-L", "-a", "-n", nickname, "-d"])
            .arg(self.db_arg())
            .output()?;
        Ok(ca.is_in_pem(&pem))
    }
}

/// Whether NSS trust flags (`SSL,S/MIME,code`) make a certificate a trusted issuer of TLS server certificates.
fn trusted_for_tls(flags: &str) -> bool {
    flags.split(',').next().is_some_and(|ssl| ssl.contains('C'))
}

impl TrustStore for NssDb {
    fn kind(&self) -> StoreKind {
        StoreKind::Nss
    }

    fn location(&self) -> String {
        format!("{} ({})", self.shown, self.label)
    }

    fn presence(&self, ca: &CaCert) -> Result<Presence, TrustError> {
        if !self.exists() {
            return Ok(Presence::Absent);
        }
        let ours = ca.name();
        let entries = self.entries()?;
        if let Some((_, flags)) = entries.iter().find(|(nickname, _)| *nickname == ours)
            && self.nickname_holds(&ours, ca)?
        {
            return Ok(if trusted_for_tls(flags) {
                Presence::Ours
            } else {
                Presence::Incomplete(format!("'{ours}' is there with trust flags '{flags}', not C"))
            });
        }
        // NSS keeps one nickname per certificate: if the user imported this CA before under another nickname, that
        // entry is the one that exists.
        for (nickname, _) in entries
            .iter()
            .filter(|(nickname, flags)| *nickname != ours && trusted_for_tls(flags))
        {
            if self.nickname_holds(nickname, ca)? {
                return Ok(Presence::Foreign(format!("'{nickname}'")));
            }
        }
        Ok(Presence::Absent)
    }

    fn install_commands(&self, ca: &CaCert) -> Result<Vec<Cmd>, TrustError> {
        // certutil would fail with a bare SEC_ERROR_ADDING_CERT; say why before running anything.
        if crate::key::is_ed25519(&ca.cert().x509().tbs_certificate.subject_pki.algorithm) {
            return Err(TrustError::Unsupported(crate::key::ED25519_IN_BROWSERS));
        }
        let mut commands = Vec::new();
        if !self.exists() {
            if !self.dir.is_dir() {
                commands.push(Cmd::new("mkdir").args(["-p", "-m", "0700"]).arg(&self.dir));
            }
            commands.push(
                self.certutil()
                    .args(["-N", "--empty-password", "-d"])
                    .arg(self.db_arg()),
            );
        }
        commands.push(
            self.certutil()
                .args(["-A", "-t", "C,,", "-n"])
                .arg(ca.name())
                .arg("-i")
                .arg(ca.path())
                .arg("-d")
                .arg(self.db_arg()),
        );
        Ok(commands)
    }

    fn browser(&self) -> Option<&'static str> {
        Some(self.browser)
    }

    fn in_use(&self) -> bool {
        self.used
    }

    fn certgen_entries(&self) -> Result<Vec<Entry>, TrustError> {
        if !self.exists() {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        for (nickname, _) in self.entries()? {
            if !nickname.starts_with(super::ca_cert::ENTRY_PREFIX) {
                continue;
            }
            let pem = self
                .certutil()
                .args(["-L", "-a", "-n", &nickname, "-d"])
                .arg(self.db_arg())
                .output()?;
            found.extend(
                pem::certificates_skipping_broken(pem.as_bytes()).map(|der| Entry {
                    remove: vec![self.remove(&nickname)],
                    name: nickname.clone(),
                    der: der.to_vec(),
                }),
            );
        }
        Ok(found)
    }

    fn uninstall_commands(&self, ca: &CaCert) -> Result<Vec<Cmd>, TrustError> {
        Ok(vec![self.remove(&ca.name())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_trust_is_the_first_flag_field() {
        assert!(trusted_for_tls("C,,"));
        assert!(trusted_for_tls("CT,C,C"));
        assert!(!trusted_for_tls(",C,"));
        assert!(!trusted_for_tls("u,u,u"));
    }
}

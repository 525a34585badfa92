//! `certgen trust status`: where the CA is trusted, and whether the certificates it issued would be accepted.

use std::fmt;
use std::path::{Path, PathBuf};

use rustls_pki_types::CertificateDer;
use serde::Serialize;
use time::OffsetDateTime;

use crate::cert::{Cert, SubjectAltName};
use crate::inspect::verify::{Usage, verify_chain};
use crate::pem;
use crate::validity::rfc3339;

use super::ca_cert::CaCert;
use super::discover::{Skip, discover};
use super::host::Host;
use super::install::then_install;
use super::invocation::Invocation;
use super::stale::{StaleCa, replaced_cas, stale_in};
use super::store::{Presence, TrustStore};
use super::store_kind::StoreKind;

/// The state of a browser certgen found but cannot cover.
const NOT_COVERED: &str = "not covered";
/// The state of a Firefox profile Firefox does not start: fine whether or not it trusts the CA.
const UNUSED: &str = "unused";

/// Whether a store's state is all well: trusted, or nothing there to trust.
pub fn state_is_fine(state: &str) -> bool {
    matches!(state, "trusted" | "not applicable" | UNUSED)
}

/// A certificate due within this many days is reported (it still counts as fine).
const RENEW_WITHIN_DAYS: i64 = 30;

/// Everything `status` found; [`StatusReport::ok`] is what the exit code reflects.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub ca: CaSummary,
    pub stores: Vec<StoreStatus>,
    /// certgen entries in the stores that are not this CA; one this folder replaced is a problem.
    pub stale: Vec<StaleCa>,
    pub certificates: Vec<CertCheck>,
    /// The command that trusts this CA in the stores asked about, as this user runs it.
    pub fix: String,
    /// True only when the CA is valid, trusted in every store in use here, no browser found is left uncovered, no
    /// CA this folder replaced is still trusted, and every certificate it issued in the certs folder passes.
    pub ok: bool,
}

#[derive(Debug, Serialize)]
pub struct CaSummary {
    pub path: PathBuf,
    pub name: String,
    pub common_name: String,
    pub sha256: String,
    pub not_after: String,
    pub expired: bool,
}

/// One store's answer.
#[derive(Debug, Serialize)]
pub struct StoreStatus {
    pub store: StoreKind,
    pub location: String,
    /// `trusted`, `not trusted`, `incomplete`, `error`, `not applicable`, `not covered` (a browser found whose
    /// store certgen cannot change, such as Firefox without a profile yet), or `unused` (a Firefox profile Firefox
    /// does not start, not trusting the CA).
    pub state: &'static str,
    pub detail: Option<String>,
}

/// One certificate in the certs folder, checked against the CA as a browser would.
#[derive(Debug, Serialize)]
pub struct CertCheck {
    pub path: PathBuf,
    pub names: Vec<String>,
    /// A client certificate (clientAuth only, `certgen client`), checked as one.
    pub client: bool,
    pub not_after: Option<String>,
    pub ok: bool,
    /// What is wrong, or a warning (such as an expiry within 30 days) when `ok`.
    pub detail: Option<String>,
}

/// Asks every selected store (all when `kinds` is empty) about `ca`, and checks the certificates in `certs_dir`
/// (`STEM.pem` files other than the CA, keys and full chains) against it.
pub fn status(ca: &CaCert, host: &Host, kinds: &[StoreKind], certs_dir: &Path) -> StatusReport {
    let now = OffsetDateTime::now_utc();
    let replaced = replaced_cas(certs_dir);
    let (stores, stale) = survey(ca, host, kinds, Some(&replaced));
    let certificates: Vec<CertCheck> = leaf_files(ca, certs_dir)
        .iter()
        .filter_map(|p| check_leaf(ca, p, now, &host.invocation))
        .collect();
    let expired = ca.cert().not_after() < now;
    let ok = !expired
        && stores.iter().all(|s| state_is_fine(s.state))
        && stale.iter().all(|s| s.replaced.is_none())
        && certificates.iter().all(|c| c.ok);
    StatusReport {
        ca: CaSummary {
            path: ca.path().to_owned(),
            name: ca.name(),
            common_name: ca.cert().subject_cn().to_owned(),
            sha256: ca.cert().sha256_colons(),
            not_after: rfc3339(ca.cert().not_after()),
            expired,
        },
        stores,
        stale,
        certificates,
        fix: host.invocation.trust_install(ca, kinds),
        ok,
    }
}

/// Asks every selected store (all when `kinds` is empty) whether it trusts `ca`; also lists the browsers found
/// whose store certgen cannot change.
pub fn store_statuses(ca: &CaCert, host: &Host, kinds: &[StoreKind]) -> Vec<StoreStatus> {
    survey(ca, host, kinds, None).0
}

/// [`store_statuses`], and with `replaced` (the CAs the certs folder replaced) the certgen entries that are not `ca`.
fn survey(
    ca: &CaCert,
    host: &Host,
    kinds: &[StoreKind],
    replaced: Option<&[CaCert]>,
) -> (Vec<StoreStatus>, Vec<StaleCa>) {
    let mut stale = Vec::new();
    let stores = discover(host, kinds)
        .into_iter()
        .map(|found| match found {
            Ok(store) => {
                if let Some(replaced) = replaced {
                    stale.extend(stale_in(store.as_ref(), ca, replaced, host));
                }
                store_status(store.as_ref(), ca, host)
            }
            Err((store, Skip::NotApplicable(reason))) => StoreStatus {
                store,
                location: String::new(),
                state: "not applicable",
                detail: Some(reason),
            },
            Err((store, Skip::Error(err))) => StoreStatus {
                store,
                location: String::new(),
                state: "error",
                detail: Some(err.to_string()),
            },
            Err((store, Skip::NotCovered(browser))) => StoreStatus {
                store,
                location: browser.location,
                state: NOT_COVERED,
                detail: Some(then_install(&browser.reason, host, ca, kinds)),
            },
            Err((store, Skip::Unused(profile))) => StoreStatus {
                store,
                location: profile.location,
                state: UNUSED,
                detail: Some(then_install(&profile.reason, host, ca, kinds)),
            },
        })
        .collect();
    (stores, stale)
}

fn store_status(store: &dyn TrustStore, ca: &CaCert, host: &Host) -> StoreStatus {
    let (state, detail) = match store.presence(ca) {
        Ok(Presence::Ours) => ("trusted", None),
        Ok(Presence::Foreign(entry)) => ("trusted", Some(format!("as {entry}, not added by certgen"))),
        Ok(Presence::Incomplete(why)) => (
            "incomplete",
            Some(format!(
                "{why}; run `{}`",
                host.invocation.trust_install(ca, &[store.kind()])
            )),
        ),
        Ok(Presence::Absent) if !store.in_use() => (
            UNUSED,
            Some("Firefox does not start this profile, so it need not trust the CA".to_owned()),
        ),
        Ok(Presence::Absent) => ("not trusted", None),
        Err(err) => ("error", Some(err.to_string())),
    };
    StoreStatus {
        store: store.kind(),
        location: store.location(),
        state,
        detail,
    }
}

/// `*.pem` in `dir` except the CA itself, `*-key.pem` and `*-fullchain.pem`, sorted.
fn leaf_files(ca: &CaCert, dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            name.ends_with(".pem")
                && !name.ends_with("-key.pem")
                && !name.ends_with("-fullchain.pem")
                && std::path::absolute(p).ok().as_deref() != Some(ca.path())
        })
        .collect();
    files.sort();
    files
}

/// Checks the first certificate in `path`. Files without a certificate (keys under other names), CA certificates and
/// self-signed certificates give `None`.
fn check_leaf(ca: &CaCert, path: &Path, now: OffsetDateTime, invocation: &Invocation) -> Option<CertCheck> {
    let bytes = std::fs::read(path).ok()?;
    let failed = |detail: String| CertCheck {
        path: path.to_owned(),
        names: Vec::new(),
        client: false,
        not_after: None,
        ok: false,
        detail: Some(detail),
    };
    let der = match pem::first_certificate(&bytes) {
        Ok(der) => der,
        Err(pem::Problem::BadPem(e)) => {
            return Some(failed(format!("invalid PEM: {}", pem::pem_error_text(&e))));
        }
        Err(_) => return None,
    };
    let cert = match Cert::from_der(der) {
        Ok(cert) => cert,
        Err(e) => return Some(failed(format!("not a valid certificate: {e}"))),
    };
    let x509 = cert.x509();
    // CAs are not leaves; self-signed certificates (`certgen self-signed`) are trusted on their own, not via the CA.
    if cert.is_ca() || x509.subject().as_raw() == x509.issuer().as_raw() {
        return None;
    }
    let names: Vec<String> = cert
        .subject_alt_names()
        .iter()
        .map(SubjectAltName::value)
        .collect();
    let not_after = cert.not_after();
    // A certificate without EKU, or with serverAuth, is checked as a server's; one with only clientAuth as a client's.
    let client_only = x509
        .extended_key_usage()
        .ok()
        .flatten()
        .is_some_and(|eku| !eku.value.server_auth && !eku.value.any && eku.value.client_auth);
    let problem = if names.is_empty() && !client_only {
        Some(format!(
            "no subject alternative name: browsers ignore the CN; re-issue it with `{}`",
            invocation.certgen("issue NAME...")
        ))
    } else {
        verify_leaf(ca, cert.der(), client_only).err()
    };
    let days_left = (not_after - now).whole_days();
    let detail = problem.clone().or_else(|| {
        (days_left < RENEW_WITHIN_DAYS).then(|| {
            format!(
                "expires in {days_left} days; renew with `{}`",
                invocation.certgen("issue NAME... --force")
            )
        })
    });
    Some(CertCheck {
        path: path.to_owned(),
        names,
        client: client_only,
        not_after: Some(rfc3339(not_after)),
        ok: problem.is_none(),
        detail,
    })
}

/// The check `certgen verify` makes (rustls-webpki, as Chrome, Firefox and rustls do: signature, validity, key
/// usage, the CA's name constraints) with `ca` as the only trust anchor; the error explains the fix.
fn verify_leaf(ca: &CaCert, leaf: &CertificateDer<'_>, client_only: bool) -> Result<(), String> {
    let usage = if client_only { Usage::Client } else { Usage::Server };
    verify_chain(
        std::slice::from_ref(ca.cert().der()),
        std::slice::from_ref(leaf),
        None,
        usage,
    )
    .map(|_| ())
}

impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ca = &self.ca;
        let validity = if ca.expired { "EXPIRED on" } else { "valid until" };
        writeln!(
            f,
            "CA {} ({}), {validity} {}",
            ca.path.display(),
            ca.common_name,
            ca.not_after
        )?;
        writeln!(f, "   SHA-256 {}, entries named {}", ca.sha256, ca.name)?;
        for s in &self.stores {
            let mark = match s.state {
                "trusted" => "ok  ",
                "not applicable" | UNUSED => "--  ",
                _ => "FAIL",
            };
            let place = if s.location.is_empty() {
                s.store.to_string()
            } else {
                format!("{} {}", s.store, s.location)
            };
            let until = if s.state == "trusted" {
                format!(" until {}", ca.not_after)
            } else {
                String::new()
            };
            let detail = s.detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
            writeln!(f, "{mark} {place}: {}{until}{detail}", s.state)?;
        }
        for s in &self.stale {
            match &s.replaced {
                Some(backup) => writeln!(
                    f,
                    "FAIL {} {}: stale CA {} (the CA this folder replaced, kept as {}) is still trusted; remove it: `{}`",
                    s.store,
                    s.location,
                    s.entry,
                    backup.display(),
                    s.fix
                )?,
                None => writeln!(
                    f,
                    "--   {} {}: another certgen CA {} (not this folder's); if no project uses it: `{}`",
                    s.store, s.location, s.entry, s.fix
                )?,
            }
        }
        if self.certificates.is_empty() {
            writeln!(
                f,
                "--   no certificates issued by this CA in {}",
                ca.path.parent().unwrap_or(Path::new(".")).display()
            )?;
        }
        for c in &self.certificates {
            let mark = if c.ok { "ok  " } else { "FAIL" };
            let until = c
                .not_after
                .as_deref()
                .map(|d| format!(", valid until {d}"))
                .unwrap_or_default();
            let detail = c.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
            let names = if c.names.is_empty() {
                String::new()
            } else {
                format!(" [{}]", c.names.join(" "))
            };
            let client = if c.client { " (client)" } else { "" };
            writeln!(
                f,
                "{mark} cert {}{client}{names}{until}{detail}",
                c.path.display()
            )?;
        }
        if self.ok {
            writeln!(f, "all good")?;
        }
        Ok(())
    }
}

/// How a front end words the fixes in [`StatusReport::problems_fixed_by`]: each is the text after the problem.
#[derive(Debug, Clone, Copy)]
pub struct StatusFixes<'a> {
    /// For an expired CA.
    pub expired_ca: &'a str,
    /// What follows the count of browsers that are installed but not covered yet.
    pub uncovered: &'a str,
    /// For certificates that fail the checks; `None` adds nothing.
    pub failing: Option<&'a str>,
}

impl StatusFixes<'static> {
    /// certgen's own words.
    pub const CERTGEN: StatusFixes<'static> = StatusFixes {
        expired_ca: "create a new one with `certgen ca --force`",
        uncovered: "browser(s) found that certgen cannot cover (see the fix on each line)",
        failing: None,
    };
}

impl StatusReport {
    /// `None` when all is well (the CLI's exit code 0); otherwise a one-line summary of what is not.
    pub fn problems(&self) -> Option<String> {
        self.problems_fixed_by(&StatusFixes::CERTGEN)
    }

    /// [`Self::problems`], each with the fix as `fixes` words it; a trust fix is always [`Self::fix`].
    pub fn problems_fixed_by(&self, fixes: &StatusFixes<'_>) -> Option<String> {
        if self.ok {
            return None;
        }
        let untrusted = self
            .stores
            .iter()
            .filter(|s| !state_is_fine(s.state) && s.state != NOT_COVERED)
            .count();
        let uncovered = self.stores.iter().filter(|s| s.state == NOT_COVERED).count();
        let stale = self.stale.iter().filter(|s| s.replaced.is_some()).count();
        let failing = self.certificates.iter().filter(|c| !c.ok).count();
        let mut problems = Vec::new();
        if self.ca.expired {
            problems.push(format!("the CA has expired ({})", fixes.expired_ca));
        }
        if untrusted > 0 {
            problems.push(format!(
                "{untrusted} store(s) do not trust the CA (run `{}`)",
                self.fix
            ));
        }
        if stale > 0 {
            problems.push(format!(
                "{stale} replaced CA(s) still trusted (run the command on each stale line)"
            ));
        }
        if uncovered > 0 {
            problems.push(format!("{uncovered} {}", fixes.uncovered));
        }
        if failing > 0 {
            problems.push(match fixes.failing {
                Some(fix) => format!("{failing} certificate(s) fail the checks ({fix})"),
                None => format!("{failing} certificate(s) fail the checks"),
            });
        }
        Some(problems.join("; "))
    }
}

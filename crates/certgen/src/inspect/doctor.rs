//! `certgen doctor URL`: why a browser on this machine would reject a server's certificate, in the order a browser
//! checks (issuer and trust, name, validity, name constraints, SAN and EKU, chain, key), each with the command
//! that fixes it.
//!
//! The chain is fetched whatever its validity ([`super::remote`]); the path to a trust anchor is built here with
//! x509-parser's signature checks, so a broken chain can still be explained link by link. Anchors are the certs
//! folder's CA and the system bundle's roots (Debian builds it from Mozilla's list, which browsers ship too);
//! whether the browsers trust our CA comes from `trust status`'s store checks. When every check passes, the chain
//! is verified once more with rustls-webpki, the verifier rustls clients run, so the verdict never says yes alone.

use std::fmt;
use std::path::{Path, PathBuf};

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::Serialize;
use time::OffsetDateTime;
use webpki::EndEntityCert;
use x509_parser::certificate::X509Certificate;

use super::describe::{Extensions, validity_summary};
use super::lint::{LintRule, LintStatus, key_strength_rule, lint_certificate, signature_rule};
use super::remote::{Served, Target, fetch_chain};
use super::verify::{Usage, verify_chain};
use crate::Error;
use crate::cert::SubjectAltName;
use crate::trust::{
    CaCert, Host, Invocation, Os, StoreKind, StoreStatus, state_is_fine, store_statuses, system_bundle,
};

/// Longest chain followed (leaf, intermediates, root); real ones have three or four.
const MAX_PATH: usize = 8;

/// What `doctor` found. Field names are the `--json` schema.
#[derive(Debug, Serialize)]
pub struct Diagnosis {
    pub url: String,
    /// `host:port (address) sent N certificate(s) over TLSv1_3, ...`.
    pub connection: String,
    /// The subjects of the certificates the server sent, leaf first.
    pub sent: Vec<String>,
    /// Every check, in the order a browser makes them; `fix` is set on each failure.
    pub checks: Vec<LintRule>,
    /// True only when a browser on this machine would accept the certificate (the exit code is 0).
    pub accepted: bool,
}

impl Diagnosis {
    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &LintRule> {
        self.checks.iter().filter(|c| c.status == LintStatus::Fail)
    }
}

/// Where a certificate on the path came from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    Sent,
    /// The certs folder's CA (`ca.pem`).
    OurCa,
    /// A root of the system bundle.
    System(PathBuf),
    /// A CA certificate in the certs folder that the server should have sent but did not.
    Local(PathBuf),
}

struct Known {
    der: CertificateDer<'static>,
    origin: Origin,
}

/// Connects to `url` and diagnoses the chain it serves. `certs_dir` holds our CA (and possibly intermediates the
/// server forgot to send); `host` decides which browser stores are asked.
pub fn diagnose(url: &str, certs_dir: &Path, host: &Host) -> Result<Diagnosis, Error> {
    let target = Target::parse(url)?;
    let served = fetch_chain(&target)?;
    Ok(diagnose_served(url, &served, certs_dir, host))
}

fn diagnose_served(url: &str, served: &Served, certs_dir: &Path, host: &Host) -> Diagnosis {
    let our_ca = CaCert::load(&certs_dir.join("ca.pem")).ok();
    let mut anchors: Vec<Known> = our_ca
        .iter()
        .map(|ca| Known {
            der: ca.cert().der().clone(),
            origin: Origin::OurCa,
        })
        .collect();
    if let Ok(bundle) = system_bundle() {
        anchors.extend(pem_certificates(&bundle).into_iter().map(|der| Known {
            der,
            origin: Origin::System(bundle.clone()),
        }));
    }
    let local_cas = local_ca_certificates(certs_dir);
    let sent: Vec<Option<X509Certificate<'_>>> = served.chain.iter().map(parse).collect();
    let anchors_parsed: Vec<Option<X509Certificate<'_>>> = anchors.iter().map(|k| parse(&k.der)).collect();
    let local_parsed: Vec<Option<X509Certificate<'_>>> = local_cas.iter().map(|k| parse(&k.der)).collect();

    let subjects = sent
        .iter()
        .map(|c| {
            c.as_ref()
                .map_or("(malformed certificate)".to_owned(), |c| c.subject().to_string())
        })
        .collect();
    let mut diagnosis = Diagnosis {
        url: url.to_owned(),
        connection: served.to_string(),
        sent: subjects,
        checks: Vec::new(),
        accepted: false,
    };
    let Some(Some(leaf)) = sent.first() else {
        diagnosis.checks.push(fail(
            "trusted-issuer",
            "the server's certificate is malformed: no client can parse it",
            "reissue it with `certgen issue NAME...`",
        ));
        return diagnosis;
    };

    // The path: leaf, then each issuer found among the sent certificates, then the certs folder's CAs.
    let mut path: Vec<(&X509Certificate<'_>, Origin)> = vec![(leaf, Origin::Sent)];
    let mut anchor: Option<(&X509Certificate<'_>, &Origin)> = None;
    while path.len() < MAX_PATH {
        let current = path
            .last()
            .map(|(c, _)| *c)
            .expect("the path starts with the leaf");
        let trusted = anchors_parsed.iter().zip(&anchors).find_map(|(parsed, known)| {
            let parsed = parsed.as_ref()?;
            (parsed.as_ref() == current.as_ref() || issued_by(current, parsed))
                .then_some((parsed, &known.origin))
        });
        if let Some(found) = trusted {
            anchor = Some(found);
            break;
        }
        let next_sent = sent
            .iter()
            .flatten()
            .find(|c| !path.iter().any(|(p, _)| p.as_ref() == c.as_ref()) && issued_by(current, c));
        let next = next_sent.map(|c| (c, Origin::Sent)).or_else(|| {
            local_parsed.iter().zip(&local_cas).find_map(|(parsed, known)| {
                let parsed = parsed.as_ref()?;
                let fresh = !path.iter().any(|(p, _)| p.as_ref() == parsed.as_ref());
                (fresh && issued_by(current, parsed)).then(|| (parsed, known.origin.clone()))
            })
        });
        match next {
            Some(step) => path.push(step),
            None => break,
        }
    }
    let issuers: Vec<X509Certificate<'_>> = path
        .iter()
        .skip(1)
        .map(|(c, _)| (*c).clone())
        .chain(anchor.map(|(a, _)| a.clone()))
        .collect();
    let fixes = Fixes::new(leaf, &served.target, certs_dir, &host.invocation);
    let now = OffsetDateTime::now_utc();
    let lint = lint_certificate(leaf, &issuers, None, now);
    let rule = |name: &str| {
        lint.iter()
            .find(|r| r.rule == name)
            .cloned()
            .map(|r| fixes.concrete(r))
            .expect("lint_certificate runs every rule")
    };

    let checks = &mut diagnosis.checks;
    checks.push(issuer_check(
        &path,
        anchor,
        anchors_parsed.iter().flatten(),
        our_ca.as_ref(),
        host,
        &fixes,
    ));
    checks.push(name_check(leaf, &served.chain[0], &served.target, &fixes));
    checks.push(validity_check(&path, anchor, now, &fixes));
    let mut constraints = rule("name-constraints");
    if constraints.status == LintStatus::Skip {
        "no issuer found, so there are no name constraints to check against"
            .clone_into(&mut constraints.detail);
    }
    checks.push(constraints);
    checks.push(merged(
        "san-and-eku",
        [rule("subject-alt-name"), rule("server-auth"), rule("not-a-ca")],
    ));
    checks.push(fixes.concrete(chain_check(&path, anchor)));
    let strength = path.iter().map(|(cert, _)| {
        let mut both = merged("weak-key", [key_strength_rule(cert), signature_rule(cert)]);
        both.detail = format!("{}: {}", cert.subject(), both.detail.replace("; ", ", "));
        fixes.concrete(both)
    });
    checks.push(merged("weak-key", strength));

    let failed = checks.iter().any(|c| c.status == LintStatus::Fail);
    if let (false, Some((anchor, _))) = (failed, anchor) {
        // The sent certificates as the client sees them (leaf first); webpki picks the path itself.
        let anchor_der = CertificateDer::from(anchor.as_ref().to_vec());
        if let Err(why) = verify_chain(
            &[anchor_der],
            &served.chain,
            Some(&served.target.host),
            Usage::Server,
        ) {
            checks.push(fail(
                "verify",
                &why,
                "see the reason; `certgen lint` on the certificate file gives more",
            ));
        }
    }
    diagnosis.accepted = !checks.iter().any(|c| c.status == LintStatus::Fail);
    diagnosis
}

fn parse<'a>(der: &'a CertificateDer<'_>) -> Option<X509Certificate<'a>> {
    x509_parser::parse_x509_certificate(der)
        .ok()
        .map(|(_, cert)| cert)
}

/// Whether `parent` signed `child`: the names match and the signature verifies with `parent`'s key.
fn issued_by(child: &X509Certificate<'_>, parent: &X509Certificate<'_>) -> bool {
    child.issuer().as_raw() == parent.subject().as_raw()
        && child.verify_signature(Some(parent.public_key())).is_ok()
}

fn is_self_signed(cert: &X509Certificate<'_>) -> bool {
    issued_by(cert, cert)
}

/// The browsers' certificate stores: NSS (Chromium on Linux, every Firefox profile), and on macOS and Windows the
/// system store that Chrome, Edge and Safari read.
fn is_browser_store(store: &StoreStatus, os: Os) -> bool {
    store.store == StoreKind::Nss || (store.store == StoreKind::System && os != Os::Linux)
}

fn issuer_check<'a>(
    path: &[(&X509Certificate<'_>, Origin)],
    anchor: Option<(&X509Certificate<'_>, &Origin)>,
    mut anchors: impl Iterator<Item = &'a X509Certificate<'a>>,
    our_ca: Option<&CaCert>,
    host: &Host,
    fixes: &Fixes,
) -> LintRule {
    const CHECK: &str = "trusted-issuer";
    let top = path
        .last()
        .map(|(c, _)| *c)
        .expect("the path starts with the leaf");
    let missing = missing_intermediates(path);
    if !missing.is_empty() {
        return fail(
            CHECK,
            &format!(
                "unknown issuer: the server did not send the intermediate CA {}, so a browser cannot link its \
                 certificate to a root",
                missing.join(", ")
            ),
            SERVE_FULL_CHAIN,
        );
    }
    match anchor {
        Some((root, Origin::OurCa)) => {
            let ca = our_ca.expect("an OurCa anchor comes from the loaded CA");
            let stores = store_statuses(ca, host, &[]);
            let browsers: Vec<&StoreStatus> =
                stores.iter().filter(|s| is_browser_store(s, host.os)).collect();
            let lacking: Vec<String> = browsers
                .iter()
                .filter(|s| !state_is_fine(s.state))
                .map(|s| match (s.state, &s.detail) {
                    ("not trusted", _) | (_, None) => describe_store(s),
                    (state, Some(detail)) => format!("{} ({state}: {detail})", describe_store(s)),
                })
                .collect();
            let trusted: Vec<String> = browsers
                .iter()
                .filter(|s| s.state == "trusted")
                .map(|s| describe_store(s))
                .collect();
            let system_note = stores
                .iter()
                .find(|s| s.store == StoreKind::System && host.os == Os::Linux && s.state != "trusted")
                .map(|_| {
                    format!(
                        "; the system store does not trust it, so curl, Python and other programs need \
                         `eval \"$({})\"` or `{}`",
                        host.invocation.certgen(format!("trust env --dir {}", fixes.dir)),
                        host.invocation.trust_install(ca, &[StoreKind::System])
                    )
                })
                .unwrap_or_default();
            let ca_file = ca.path().display();
            if !lacking.is_empty() {
                fail(
                    CHECK,
                    &format!(
                        "unknown issuer: issued by {} ({ca_file}), which {} {} not trust",
                        root.subject(),
                        lacking.join(", "),
                        if lacking.len() == 1 { "does" } else { "do" }
                    ),
                    &if browsers.iter().any(|s| s.state == "not covered") {
                        "see each browser's step above".to_owned()
                    } else {
                        format!("`{}`", host.invocation.trust_install(ca, &[]))
                    },
                )
            } else if trusted.is_empty() {
                let reasons: Vec<String> = browsers.iter().filter_map(|s| s.detail.clone()).collect();
                fail(
                    CHECK,
                    &format!(
                        "issued by {} ({ca_file}), but no browser certificate store was found here ({})",
                        root.subject(),
                        reasons.join("; ")
                    ),
                    &format!(
                        "start the browser once so it makes its profile, then `{}`",
                        host.invocation.trust_install(ca, &[])
                    ),
                )
            } else {
                pass(
                    CHECK,
                    format!(
                        "issued by {} ({ca_file}), trusted by {}{system_note}",
                        root.subject(),
                        trusted.join(", ")
                    ),
                )
            }
        }
        Some((root, Origin::System(bundle))) => pass(
            CHECK,
            format!(
                "issued by {}, a public root in {} (browsers ship the same public roots)",
                root.subject(),
                bundle.display()
            ),
        ),
        Some((root, _)) => pass(CHECK, format!("issued by {}", root.subject())),
        None if anchors.any(|a| a.subject().as_raw() == top.issuer().as_raw()) => fail(
            CHECK,
            &format!(
                "unknown issuer: {} names {} as its issuer, but that CA's key did not sign it (was the CA \
                 recreated since?)",
                top.subject(),
                top.issuer()
            ),
            &format!("reissue it with the current CA: `{}`", fixes.reissue),
        ),
        None if is_self_signed(top) && path.len() > 1 => fail(
            CHECK,
            &format!(
                "unknown issuer: the chain ends at the root {}, which no trust store here holds",
                top.subject()
            ),
            &format!(
                "serve a certificate the local CA signs instead: `{}` (or, if you mean to trust that root, \
                 `certgen trust install --ca ROOT.pem`)",
                fixes.reissue
            ),
        ),
        None if is_self_signed(top) => fail(
            CHECK,
            &format!(
                "unknown issuer: {} is self-signed and no trust store here holds it",
                top.subject()
            ),
            &format!(
                "serve a certificate the local CA signs instead: `{}`",
                fixes.reissue
            ),
        ),
        None => fail(
            CHECK,
            &format!(
                "unknown issuer: {} was issued by {}, which the server did not send and no trust store here \
                 holds",
                top.subject(),
                top.issuer()
            ),
            "if that is an intermediate CA, serve the full chain (leaf, then intermediates); if it is a root, \
             trust it with `certgen trust install --ca ROOT.pem`",
        ),
    }
}

const SERVE_FULL_CHAIN: &str =
    "serve the full chain, leaf then intermediates (STEM-fullchain.pem, not STEM.pem)";

/// The intermediate CAs on the path that the server did not send (found in the certs folder), with their files.
fn missing_intermediates(path: &[(&X509Certificate<'_>, Origin)]) -> Vec<String> {
    path.iter()
        .filter_map(|(cert, origin)| match origin {
            Origin::Local(file) if !is_self_signed(cert) => {
                Some(format!("{} (in {})", cert.subject(), file.display()))
            }
            _ => None,
        })
        .collect()
}

fn describe_store(store: &StoreStatus) -> String {
    if store.location.is_empty() {
        store.store.to_string()
    } else {
        format!("{} {}", store.store, store.location)
    }
}

fn name_check(
    leaf: &X509Certificate<'_>,
    der: &CertificateDer<'_>,
    target: &Target,
    fixes: &Fixes,
) -> LintRule {
    const CHECK: &str = "name";
    let names: Vec<String> = Extensions::of(leaf)
        .subject_alt_names
        .iter()
        .filter(|n| matches!(n, SubjectAltName::Dns(_) | SubjectAltName::Ip(_)))
        .map(ToString::to_string)
        .collect();
    let valid = EndEntityCert::try_from(der).is_ok_and(|cert| {
        cert.verify_is_valid_for_subject_name(&target.server_name())
            .is_ok()
    });
    if valid {
        return pass(
            CHECK,
            format!("{} is among its names ({})", target.host, names.join(", ")),
        );
    }
    let has = if names.is_empty() {
        "no DNS or IP names at all (browsers ignore the common name)".to_owned()
    } else {
        format!("only {}", names.join(", "))
    };
    fail(
        CHECK,
        &format!(
            "name mismatch: the certificate is not valid for {}; it has {has}",
            target.host
        ),
        &format!("`{}`", fixes.reissue),
    )
}

fn validity_check(
    path: &[(&X509Certificate<'_>, Origin)],
    anchor: Option<(&X509Certificate<'_>, &Origin)>,
    now: OffsetDateTime,
    fixes: &Fixes,
) -> LintRule {
    const CHECK: &str = "validity";
    let chain = path.iter().map(|(c, o)| (*c, o)).chain(anchor);
    let mut problems = Vec::new();
    let mut fix = None;
    for (index, (cert, origin)) in chain.enumerate() {
        let validity = cert.validity();
        let (not_before, not_after) = (
            validity.not_before.to_datetime(),
            validity.not_after.to_datetime(),
        );
        if now >= not_before && now <= not_after {
            continue;
        }
        let summary = validity_summary(not_before, not_after, now);
        let what = if now < not_before {
            "not yet valid"
        } else {
            "expired"
        };
        problems.push(format!("{what}: {} is {summary}", cert.subject()));
        fix.get_or_insert_with(|| match (index, origin, now < not_before) {
            (_, _, true) => format!(
                "check this machine's clock (`date`); if it is right, reissue without a future --not-before: `{}`",
                fixes.reissue
            ),
            (0, _, false) => format!("`{}`", fixes.reissue),
            (_, Origin::OurCa, false) => format!(
                "`{}`, then reissue and trust it again",
                fixes.new_ca
            ),
            _ => "the CA that signed it must issue a new one; serve that".to_owned(),
        });
    }
    match fix {
        None => pass(CHECK, "every certificate on the path is valid now"),
        Some(fix) => fail(CHECK, &problems.join("; "), &fix),
    }
}

fn chain_check(
    path: &[(&X509Certificate<'_>, Origin)],
    anchor: Option<(&X509Certificate<'_>, &Origin)>,
) -> LintRule {
    const CHECK: &str = "complete-chain";
    let missing = missing_intermediates(path);
    if !missing.is_empty() {
        return fail(
            CHECK,
            &format!(
                "incomplete chain: the server did not send the intermediate CA {}",
                missing.join(", ")
            ),
            SERVE_FULL_CHAIN,
        );
    }
    // A CA's path length limit counts the intermediate CAs below it, which are the ones before it on the path.
    let cas = path.iter().skip(1).map(|(c, _)| *c).chain(anchor.map(|(a, _)| a));
    for (below, ca) in cas.enumerate() {
        let limit = Extensions::of(ca).basic_constraints.and_then(|bc| bc.path_len);
        if let Some(limit) = limit.filter(|limit| usize::try_from(*limit).is_ok_and(|l| below > l)) {
            return fail(
                CHECK,
                &format!(
                    "{} allows {limit} intermediate CA(s) below it (pathlen:{limit}), and this chain has {below}",
                    ca.subject()
                ),
                "issue the certificate from that CA directly: `certgen issue NAME...`",
            );
        }
    }
    if anchor.is_some() {
        pass(
            CHECK,
            "the server sent every certificate between its own and the root",
        )
    } else {
        LintRule {
            rule: CHECK,
            status: LintStatus::Skip,
            detail: "no trusted root found, so whether an intermediate is missing cannot be told".to_owned(),
            fix: None,
        }
    }
}

/// One check made of several lint rules: passes when none fails, and then says what each found.
fn merged(check: &'static str, rules: impl IntoIterator<Item = LintRule>) -> LintRule {
    let rules: Vec<LintRule> = rules.into_iter().collect();
    let failed: Vec<&LintRule> = rules.iter().filter(|r| r.status == LintStatus::Fail).collect();
    match failed.first() {
        None => pass(
            check,
            rules
                .iter()
                .map(|r| r.detail.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Some(first) => LintRule {
            rule: check,
            status: LintStatus::Fail,
            detail: failed
                .iter()
                .map(|r| r.detail.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            fix: first.fix.clone(),
        },
    }
}

/// The concrete commands the fixes name: the leaf's names plus the one the client asked for.
struct Fixes {
    dir: String,
    reissue: String,
    new_ca: String,
}

impl Fixes {
    fn new(leaf: &X509Certificate<'_>, target: &Target, certs_dir: &Path, invocation: &Invocation) -> Fixes {
        let mut names = vec![target.host.clone()];
        for name in Extensions::of(leaf).subject_alt_names {
            if let SubjectAltName::Dns(_) | SubjectAltName::Ip(_) = name {
                let value = name.value();
                if !names.contains(&value) {
                    names.push(value);
                }
            }
        }
        let dir = certs_dir.display().to_string();
        Fixes {
            reissue: invocation.certgen(format!("issue {} --force --dir {dir}", names.join(" "))),
            new_ca: invocation.certgen(format!("ca --force --dir {dir}")),
            dir,
        }
    }

    /// A lint rule's fix with `certgen issue NAME...` spelt out.
    fn concrete(&self, mut rule: LintRule) -> LintRule {
        rule.fix = rule
            .fix
            .map(|fix| fix.replace("certgen issue NAME...", &self.reissue));
        rule
    }
}

fn pass(check: &'static str, detail: impl Into<String>) -> LintRule {
    LintRule {
        rule: check,
        status: LintStatus::Pass,
        detail: detail.into(),
        fix: None,
    }
}

fn fail(check: &'static str, detail: &str, fix: &str) -> LintRule {
    LintRule {
        rule: check,
        status: LintStatus::Fail,
        detail: detail.to_owned(),
        fix: Some(fix.to_owned()),
    }
}

/// Every certificate of a PEM file; an unreadable file gives none.
fn pem_certificates(path: &Path) -> Vec<CertificateDer<'static>> {
    std::fs::read(path)
        .map(|bytes| CertificateDer::pem_slice_iter(&bytes).flatten().collect())
        .unwrap_or_default()
}

/// The CA certificates in the `.pem` files (other than keys) of the certs folder and the folders in it (such as
/// `broken/`): where a forgotten intermediate is.
fn local_ca_certificates(dir: &Path) -> Vec<Known> {
    let entries = |dir: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|entries| entries.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    let top = entries(dir);
    let mut files: Vec<PathBuf> = top
        .iter()
        .filter(|p| p.is_dir())
        .flat_map(|sub| entries(sub))
        .chain(top.iter().cloned())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            p.is_file()
                && name.ends_with(".pem")
                && !name.ends_with("-key.pem")
                && name != crate::trust::BUNDLE_FILE
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .flat_map(|file| {
            pem_certificates(&file)
                .into_iter()
                .filter(|der| crate::cert::Cert::from_der(der.clone()).is_ok_and(|c| c.is_ca()))
                .map(move |der| Known {
                    der,
                    origin: Origin::Local(file.clone()),
                })
        })
        .collect()
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.connection)?;
        for (i, subject) in self.sent.iter().enumerate() {
            writeln!(f, "  #{} {subject}", i + 1)?;
        }
        for check in &self.checks {
            let mark = match check.status {
                LintStatus::Pass => "ok  ",
                LintStatus::Fail => "FAIL",
                LintStatus::Skip => "--  ",
            };
            writeln!(f, "{mark} {:<16} {}", check.rule, check.detail)?;
            if let Some(fix) = &check.fix {
                writeln!(f, "     {:<16} fix: {fix}", "")?;
            }
        }
        if self.accepted {
            write!(f, "a browser on this machine would accept {}", self.url)
        } else {
            let first = self.failures().next().map_or("", |c| c.rule);
            write!(
                f,
                "a browser on this machine would reject {} (first: {first})",
                self.url
            )
        }
    }
}

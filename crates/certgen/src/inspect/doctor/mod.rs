//! `certgen doctor URL`: why a browser on this machine would reject a server's certificate, in the order a browser
//! checks (issuer and trust, name, validity, name constraints, SAN and EKU, chain, key), each with the command
//! that fixes it.
//!
//! The chain is fetched whatever its validity ([`super::remote`]); the path to a trust anchor is built
//! ([`super::path`]) with x509-parser's signature checks, so a broken chain can still be explained link by link.
//! Anchors ([`super::anchors`]) are the certs folder's CA and the system bundle's roots (Debian builds it from
//! Mozilla's list, which browsers ship too);
//! whether the browsers trust our CA comes from `trust status`'s store checks. When every check passes, the chain
//! is verified once more with rustls-webpki, the verifier rustls clients run, so the verdict never says yes alone.

mod checks;
mod fixes;

use std::fmt;
use std::path::Path;

use rustls_pki_types::CertificateDer;
use serde::Serialize;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;

use super::anchors::{local_ca_certificates, trust_anchors};
use super::lint::{LintRule, LintStatus, fail, key_strength_rule, lint_certificate, pass, signature_rule};
use super::path::{build_path, parse};
use super::remote::{Served, Target, fetch_chain};
use super::verify::{Usage, verify_chain};
use crate::Error;
use crate::trust::{CaCert, Host};
use checks::{chain_check, issuer_check, name_check, validity_check};
use fixes::Fixes;

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

/// Connects to `url` and diagnoses the chain it serves. `certs_dir` holds our CA (and possibly intermediates the
/// server forgot to send); `host` decides which browser stores are asked.
pub fn diagnose(url: &str, certs_dir: &Path, host: &Host) -> Result<Diagnosis, Error> {
    let target = Target::parse(url)?;
    let served = fetch_chain(&target)?;
    Ok(diagnose_served(url, &served, certs_dir, host))
}

fn diagnose_served(url: &str, served: &Served, certs_dir: &Path, host: &Host) -> Diagnosis {
    let our_ca = CaCert::load(&certs_dir.join("ca.pem")).ok();
    let anchors = trust_anchors(our_ca.as_ref());
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

    let (path, anchor) = build_path(
        leaf,
        &sent,
        (&anchors_parsed, &anchors),
        (&local_parsed, &local_cas),
    );
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

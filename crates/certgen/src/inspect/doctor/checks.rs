//! The checks of `certgen doctor` that are its own rather than lint rules: whether the browsers here trust the
//! issuer, whether the certificate names the host asked for, whether every certificate on the path is valid now,
//! and whether the chain the server sent is complete.

use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;
use webpki::EndEntityCert;
use x509_parser::certificate::X509Certificate;

use super::fixes::Fixes;
use crate::cert::SubjectAltName;
use crate::inspect::anchors::Origin;
use crate::inspect::describe::{Extensions, validity_summary};
use crate::inspect::lint::{LintRule, LintStatus, fail, pass};
use crate::inspect::path::{is_self_signed, missing_intermediates};
use crate::inspect::remote::Target;
use crate::trust::{CaCert, Host, Os, StoreKind, StoreStatus, state_is_fine, store_statuses};

/// The browsers' certificate stores: NSS (Chromium on Linux, every Firefox profile), and on macOS and Windows the
/// system store that Chrome, Edge and Safari read.
fn is_browser_store(store: &StoreStatus, os: Os) -> bool {
    store.store == StoreKind::Nss || (store.store == StoreKind::System && os != Os::Linux)
}

pub(super) fn issuer_check<'a>(
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
            format!(
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
                    format!(
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
                    format!(
                        "issued by {} ({ca_file}), but no browser certificate store was found here ({})",
                        root.subject(),
                        reasons.join("; ")
                    ),
                    format!(
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
            format!(
                "unknown issuer: {} names {} as its issuer, but that CA's key did not sign it (was the CA \
                 recreated since?)",
                top.subject(),
                top.issuer()
            ),
            format!("reissue it with the current CA: `{}`", fixes.reissue),
        ),
        None if is_self_signed(top) && path.len() > 1 => fail(
            CHECK,
            format!(
                "unknown issuer: the chain ends at the root {}, which no trust store here holds",
                top.subject()
            ),
            format!(
                "serve a certificate the local CA signs instead: `{}` (or, if you mean to trust that root, \
                 `certgen trust install --ca ROOT.pem`)",
                fixes.reissue
            ),
        ),
        None if is_self_signed(top) => fail(
            CHECK,
            format!(
                "unknown issuer: {} is self-signed and no trust store here holds it",
                top.subject()
            ),
            format!(
                "serve a certificate the local CA signs instead: `{}`",
                fixes.reissue
            ),
        ),
        None => fail(
            CHECK,
            format!(
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

fn describe_store(store: &StoreStatus) -> String {
    if store.location.is_empty() {
        store.store.to_string()
    } else {
        format!("{} {}", store.store, store.location)
    }
}

pub(super) fn name_check(
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
        format!(
            "name mismatch: the certificate is not valid for {}; it has {has}",
            target.host
        ),
        format!("`{}`", fixes.reissue),
    )
}

pub(super) fn validity_check(
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
        Some(fix) => fail(CHECK, problems.join("; "), &fix),
    }
}

pub(super) fn chain_check(
    path: &[(&X509Certificate<'_>, Origin)],
    anchor: Option<(&X509Certificate<'_>, &Origin)>,
) -> LintRule {
    const CHECK: &str = "complete-chain";
    let missing = missing_intermediates(path);
    if !missing.is_empty() {
        return fail(
            CHECK,
            format!(
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
                format!(
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

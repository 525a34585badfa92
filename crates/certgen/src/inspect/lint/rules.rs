//! The rules `certgen lint` applies to a server certificate, each from what browsers, operating systems or RFC 5280
//! require, each failure with the fix that makes it pass.

use rcgen::{KeyPair, PublicKeyData};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::{
    OID_PKCS1_RSASSAPSS, OID_PKCS1_SHA256WITHRSA, OID_PKCS1_SHA384WITHRSA, OID_PKCS1_SHA512WITHRSA,
    OID_SIG_ECDSA_WITH_SHA256, OID_SIG_ECDSA_WITH_SHA384, OID_SIG_ECDSA_WITH_SHA512, OID_SIG_ED25519,
};
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::report::{LintRule, fail, pass, skip};
use crate::cert::SubjectAltName;
use crate::inspect::constraints::check_names;
use crate::inspect::describe::{Extensions, algorithm_name, key_info, validity_summary};
use crate::names::{SubjectName, dns_name};
use crate::pem;

/// Apple's limit for certificates from locally trusted roots (and the most any browser accepts).
pub const MAX_VALIDITY_DAYS: i64 = 825;

const REISSUE: &str = "reissue it with `certgen issue NAME...`";

/// `reissue it with `certgen issue NAME... OPTIONS``.
fn reissue_with(options: &str) -> String {
    format!("reissue it with `certgen issue NAME... {options}`")
}

pub(super) fn subject_alt_name_rule(names: &[SubjectAltName]) -> LintRule {
    const RULE: &str = "subject-alt-name";
    let tls_names: Vec<String> = names
        .iter()
        .filter(|n| matches!(n, SubjectAltName::Dns(_) | SubjectAltName::Ip(_)))
        .map(ToString::to_string)
        .collect();
    if tls_names.is_empty() {
        fail(
            RULE,
            "no DNS or IP subject alternative name: browsers ignore the common name",
            format!("{REISSUE}; every NAME goes into the SAN"),
        )
    } else {
        pass(RULE, tls_names.join(", "))
    }
}

pub(super) fn server_auth_rule(extended_key_usage: &[String]) -> LintRule {
    const RULE: &str = "server-auth";
    if extended_key_usage.iter().any(|u| u == "serverAuth") {
        pass(RULE, "extended key usage includes serverAuth")
    } else if extended_key_usage.is_empty() {
        fail(
            RULE,
            "no extended key usage: Apple platforms require serverAuth",
            REISSUE,
        )
    } else {
        fail(
            RULE,
            format!(
                "extended key usage is {} without serverAuth",
                extended_key_usage.join(", ")
            ),
            format!("{REISSUE} (client-only certificates come from `certgen client`)"),
        )
    }
}

pub(super) fn not_ca_rule(extensions: &Extensions) -> LintRule {
    const RULE: &str = "not-a-ca";
    match extensions.basic_constraints {
        Some(bc) if bc.ca => fail(
            RULE,
            "CA:TRUE: browsers refuse a CA certificate as a server certificate",
            "serve a leaf signed by the CA: `certgen issue NAME...`",
        ),
        Some(_) => pass(RULE, "CA:FALSE"),
        None => pass(RULE, "no basic constraints (not a CA)"),
    }
}

pub(super) fn validity_length_rule(leaf: &X509Certificate<'_>) -> LintRule {
    const RULE: &str = "validity-825-days";
    let validity = leaf.validity();
    let length = validity.not_after.to_datetime() - validity.not_before.to_datetime();
    let days = length.whole_days();
    if length > time::Duration::days(MAX_VALIDITY_DAYS) {
        fail(
            RULE,
            format!("valid for {days} days: Apple platforms reject more than {MAX_VALIDITY_DAYS}"),
            format!(
                "{} (or fewer; 397 is the default)",
                reissue_with(&format!("--days {MAX_VALIDITY_DAYS}"))
            ),
        )
    } else {
        pass(RULE, format!("valid for {days} days"))
    }
}

pub(crate) fn key_strength_rule(leaf: &X509Certificate<'_>) -> LintRule {
    const RULE: &str = "key-strength";
    let key = key_info(leaf.public_key());
    let fix = format!("{} (or --key rsa-2048 and up)", reissue_with("--key ecdsa-p256"));
    match (key.algorithm.as_str(), key.bits) {
        ("RSA", Some(bits)) if bits < 2048 => fail(
            RULE,
            format!("{key}: browsers and OpenSSL's default level reject RSA under 2048 bits"),
            fix,
        ),
        ("Ed25519" | "Ed448", _) => fail(RULE, format!("{key}: {}", crate::key::ED25519_IN_BROWSERS), fix),
        _ => pass(RULE, key.to_string()),
    }
}

pub(crate) fn signature_rule(leaf: &X509Certificate<'_>) -> LintRule {
    const RULE: &str = "sha2-signature";
    let algorithm = &leaf.signature_algorithm.algorithm;
    let strong = [
        OID_SIG_ECDSA_WITH_SHA256,
        OID_SIG_ECDSA_WITH_SHA384,
        OID_SIG_ECDSA_WITH_SHA512,
        OID_PKCS1_SHA256WITHRSA,
        OID_PKCS1_SHA384WITHRSA,
        OID_PKCS1_SHA512WITHRSA,
        OID_PKCS1_RSASSAPSS,
        OID_SIG_ED25519,
    ];
    let name = algorithm_name(&leaf.signature_algorithm);
    if crate::key::is_ed25519(&leaf.signature_algorithm) {
        fail(
            RULE,
            format!("signed by an Ed25519 CA: {}", crate::key::ED25519_IN_BROWSERS),
            "recreate the CA with `certgen ca --force --key ecdsa-p256` and reissue",
        )
    } else if strong.contains(algorithm) {
        pass(RULE, name)
    } else {
        fail(
            RULE,
            format!("signed with {name}: browsers reject SHA-1 and MD5 signatures"),
            format!("{REISSUE} (certgen signs with SHA-256 or better)"),
        )
    }
}

pub(super) fn time_rule(leaf: &X509Certificate<'_>, now: OffsetDateTime) -> LintRule {
    const RULE: &str = "currently-valid";
    let not_before = leaf.validity().not_before.to_datetime();
    let not_after = leaf.validity().not_after.to_datetime();
    let summary = validity_summary(not_before, not_after, now);
    if now > not_after {
        fail(RULE, summary, REISSUE)
    } else if now < not_before {
        fail(
            RULE,
            summary,
            format!("check this machine's clock, or {REISSUE} without a future --not-before"),
        )
    } else {
        pass(RULE, summary)
    }
}

pub(super) fn name_constraints_rule(leaf: &X509Certificate<'_>, issuers: &[X509Certificate<'_>]) -> LintRule {
    const RULE: &str = "name-constraints";
    if issuers.is_empty() {
        return skip(RULE, "no issuer given: pass --ca CA or a full chain file");
    }
    let check = match check_names(leaf, issuers) {
        Ok(check) => check,
        Err(why) => {
            return fail(
                RULE,
                format!("cannot check {why}"),
                "check the CA with `certgen inspect`",
            );
        }
    };
    if let Some(first) = check.outside.first() {
        let why: Vec<String> = check
            .outside
            .iter()
            .map(|o| {
                format!(
                    "{} is outside the constraints of {} ({})",
                    o.name, o.ca, o.permitted
                )
            })
            .collect();
        return fail(
            RULE,
            why.join("; "),
            format!(
                "use names inside the constraints, or recreate the CA with `certgen ca --force {}` and reissue",
                first.hint
            ),
        );
    }
    if check.constrained_issuers.is_empty() {
        pass(RULE, "the issuer has no name constraints")
    } else {
        pass(
            RULE,
            format!(
                "every name is inside the constraints of {}",
                check.constrained_issuers.join(", ")
            ),
        )
    }
}

pub(super) fn key_match_rule(cert_key: &SubjectPublicKeyInfo<'_>, key: Option<(&str, &[u8])>) -> LintRule {
    const RULE: &str = "key-match";
    let Some((key_name, key_file)) = key else {
        return skip(
            RULE,
            "no key given (--key KEY) and no STEM-key.pem next to the certificate",
        );
    };
    let key_spki = match private_key_spki(key_file) {
        Ok(spki) => spki,
        Err(why) => {
            return fail(
                RULE,
                format!("cannot check {key_name}: {why}"),
                format!(
                    "pass the certificate's PKCS#8 key with --key, e.g. `openssl pkcs8 -topk8 -nocrypt -in {key_name}`"
                ),
            );
        }
    };
    let same = SubjectPublicKeyInfo::from_der(&key_spki).is_ok_and(|(_, parsed)| {
        parsed.algorithm.algorithm == cert_key.algorithm.algorithm
            && parsed.subject_public_key.data == cert_key.subject_public_key.data
    });
    if same {
        pass(RULE, format!("{key_name} holds this certificate's key"))
    } else {
        fail(
            RULE,
            format!("{key_name} holds a different key than the certificate"),
            "serve the key written together with this certificate, or reissue both",
        )
    }
}

/// RFC 5280 4.2.1.6: every DNS name is LDH labels (a wildcard only as the whole leftmost label), every IP address 4
/// or 16 bytes.
pub(super) fn san_syntax_rule(names: &[SubjectAltName]) -> LintRule {
    const RULE: &str = "san-syntax";
    let bad: Vec<String> = names
        .iter()
        .filter_map(|name| match name {
            SubjectAltName::Dns(dns) => match SubjectName::parse(dns) {
                Ok(SubjectName::Dns(_) | SubjectName::Wildcard(_)) => None,
                Ok(other) => Some(format!("DNS:{dns} holds {other}, which needs its own SAN type")),
                Err(e) => Some(format!("DNS:{dns}: {e}")),
            },
            SubjectAltName::Other(text) if text.starts_with("IPAddress") => {
                Some(format!("{text}: not 4 or 16 bytes"))
            }
            _ => None,
        })
        .collect();
    if bad.is_empty() {
        pass(RULE, "every subject alternative name is well-formed")
    } else {
        fail(
            RULE,
            bad.join("; "),
            format!("{REISSUE}; certgen checks each NAME"),
        )
    }
}

/// RFC 5280 4.2.1.1 and 4.2.1.2: a certificate that is not a root carries the authority key identifier (how a
/// verifier finds its issuer) and, as end-entity certificates SHOULD, a subject key identifier.
pub(super) fn key_identifiers_rule(leaf: &X509Certificate<'_>) -> LintRule {
    const RULE: &str = "key-identifiers";
    let mut missing = Vec::new();
    let has = |oid| leaf.get_extension_unique(&oid).ok().flatten().is_some();
    if !has(x509_parser::oid_registry::OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER) {
        missing.push("authority key identifier (RFC 5280 requires it)");
    }
    if !has(x509_parser::oid_registry::OID_X509_EXT_SUBJECT_KEY_IDENTIFIER) {
        missing.push("subject key identifier (RFC 5280: SHOULD)");
    }
    if missing.is_empty() {
        pass(RULE, "authority and subject key identifiers present")
    } else {
        fail(
            RULE,
            format!("no {}", missing.join(" and no ")),
            format!("{REISSUE} (certgen writes both, self-signed certificates included)"),
        )
    }
}

/// RFC 5280 4.1.2.4 and 7.1: a verifier links a certificate to its CA by comparing the issuer name with the CA's
/// subject, attribute by attribute in order; the same attributes in another order are another name.
pub(super) fn issuer_name_rule(leaf: &X509Certificate<'_>, issuers: &[X509Certificate<'_>]) -> LintRule {
    const RULE: &str = "issuer-name";
    let Some(ca) = issuers.first() else {
        return skip(RULE, "no issuer given: pass --ca CA or a full chain file");
    };
    if leaf.issuer().as_raw() == ca.subject().as_raw() {
        pass(RULE, format!("issuer is {}", ca.subject()))
    } else {
        fail(
            RULE,
            format!(
                "the issuer name `{}` is not the CA's subject `{}` (attributes, order and encoding must match)",
                leaf.issuer(),
                ca.subject()
            ),
            "pass the CA that signed it, or reissue the certificate with this CA",
        )
    }
}

/// RFC 5280 4.2.1.10: a dNSName subtree is a DNS name (`localhost` already matches every name under it). A leading
/// dot is not DNS syntax; certgen writes one only for `--permit .NAME` (subdomains only), and one next to its own
/// base name (`.localhost` beside `localhost`, from older certgen CAs) adds nothing.
pub(super) fn constraint_syntax_rule(issuers: &[X509Certificate<'_>]) -> LintRule {
    const RULE: &str = "constraint-syntax";
    if issuers.is_empty() {
        return skip(RULE, "no issuer given: pass --ca CA or a full chain file");
    }
    let mut problems = Vec::new();
    let mut subdomains_only = Vec::new();
    for ca in issuers {
        let Ok(Some(constraints)) = crate::constraints::Constraints::from_certificate(ca) else {
            continue;
        };
        for permit in constraints.permitted.iter().chain(&constraints.excluded) {
            let crate::constraints::Permit::Dns(name) = permit else {
                continue;
            };
            let (base, dotted) = name
                .strip_prefix('.')
                .map_or((name.as_str(), false), |b| (b, true));
            if let Err(e) = dns_name(base) {
                problems.push(format!("{name}: {e}"));
            } else if dotted
                && constraints
                    .permitted
                    .contains(&crate::constraints::Permit::Dns(base.into()))
            {
                problems.push(format!(
                    "{name} adds nothing to {base}, which matches every name under it"
                ));
            } else if dotted {
                subdomains_only.push(name.clone());
            }
        }
    }
    if !problems.is_empty() {
        return fail(
            RULE,
            problems.join("; "),
            "recreate the CA with `certgen ca --force` (same --permit values) and reissue; the old CA still works",
        );
    }
    if subdomains_only.is_empty() {
        pass(RULE, "every DNS subtree is a DNS name")
    } else {
        pass(
            RULE,
            format!(
                "{}: subdomains only (--permit .NAME), as OpenSSL, Chromium, NSS and rustls read it",
                subdomains_only.join(", ")
            ),
        )
    }
}

/// The public key (SPKI DER) of the first private key in a PEM or DER file. The private key
/// itself never leaves this function and is never shown.
fn private_key_spki(file: &[u8]) -> Result<Vec<u8>, String> {
    let der = if pem::looks_like_pem(file) {
        let block = pem::labelled_blocks(file)
            .filter_map(Result::ok)
            .find(|block| block.label.ends_with("PRIVATE KEY"))
            .ok_or("no PRIVATE KEY block in the file")?;
        if block.label == "ENCRYPTED PRIVATE KEY" {
            return Err("the key is encrypted".into());
        }
        block.der
    } else {
        file.to_vec()
    };
    KeyPair::try_from(der.as_slice())
        .map(|pair| pair.subject_public_key_info())
        .map_err(|_| "not an unencrypted PKCS#8 ECDSA, Ed25519 or RSA (2048 bits and up) key".to_string())
}

//! `certgen lint`: the rules browsers and operating systems apply to a server certificate,
//! each with the fix that makes it pass.

use std::fmt;
use std::path::Path;

use rcgen::{KeyPair, PublicKeyData};
use serde::Serialize;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::{
    OID_PKCS1_RSASSAPSS, OID_PKCS1_SHA256WITHRSA, OID_PKCS1_SHA384WITHRSA, OID_PKCS1_SHA512WITHRSA,
    OID_SIG_ECDSA_WITH_SHA256, OID_SIG_ECDSA_WITH_SHA384, OID_SIG_ECDSA_WITH_SHA512, OID_SIG_ED25519,
};
use x509_parser::pem::Pem;
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::constraints::check_names;
use super::describe::{Extensions, algorithm_name, key_info, validity_summary};
use super::{load_certificates, parse_certificate, read_file, shown, sibling_key_path};
use crate::Error;
use crate::cert::SubjectAltName;
use crate::names::{SubjectName, dns_name};

/// Apple's limit for certificates from locally trusted roots (and the most any browser accepts).
pub const MAX_VALIDITY_DAYS: i64 = 825;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LintStatus {
    Pass,
    Fail,
    /// The rule needs input that was not given (an issuer, a key).
    Skip,
}

impl fmt::Display for LintStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::Skip => "SKIP",
        })
    }
}

/// One rule's outcome. `fix` is set when the rule failed.
#[derive(Debug, Clone, Serialize)]
pub struct LintRule {
    pub rule: &'static str,
    pub status: LintStatus,
    pub detail: String,
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LintReport {
    pub file: String,
    pub subject: String,
    pub rules: Vec<LintRule>,
}

impl LintReport {
    /// How many rules failed (skipped rules are not failures).
    pub fn failed(&self) -> usize {
        self.rules.iter().filter(|r| r.status == LintStatus::Fail).count()
    }
}

impl fmt::Display for LintReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {}", self.file, self.subject)?;
        for rule in &self.rules {
            writeln!(f, "  {}  {:<18} {}", rule.status, rule.rule, rule.detail)?;
            if let Some(fix) = &rule.fix {
                writeln!(f, "        {:<18} fix: {fix}", "")?;
            }
        }
        match self.failed() {
            0 => write!(f, "all rules pass"),
            1 => write!(f, "1 rule fails"),
            n => write!(f, "{n} rules fail"),
        }
    }
}

/// Lints the first certificate in `cert`.
///
/// Issuers for the name-constraint rule come from the rest of `cert` (a full chain) and from
/// `ca`. The key is `key`, or `STEM-key.pem` next to `cert` when that exists.
pub fn lint_file(cert: &Path, ca: Option<&Path>, key: Option<&Path>) -> Result<LintReport, Error> {
    let chain = load_certificates(cert)?;
    let mut issuers_der: Vec<Vec<u8>> = chain.iter().skip(1).map(|c| c.to_vec()).collect();
    if let Some(ca) = ca {
        issuers_der.extend(load_certificates(ca)?.iter().map(|c| c.to_vec()));
    }
    let key_pem = match key {
        Some(path) => Some((shown(path), read_file(path)?)),
        None => sibling_key_path(cert)
            .filter(|p| p.is_file())
            .map(|p| read_file(&p).map(|bytes| (shown(&p), bytes)))
            .transpose()?,
    };
    // load_certificates never returns an empty list, so the leaf is always there.
    let leaf_der = chain.first().map_or(&[][..], |c| c.as_ref());
    let leaf = parse_certificate(leaf_der, cert)?;
    let issuers = issuers_der
        .iter()
        .map(|der| parse_certificate(der, ca.unwrap_or(cert)))
        .collect::<Result<Vec<_>, _>>()?;
    let key = key_pem
        .as_ref()
        .map(|(name, bytes)| (name.as_str(), bytes.as_slice()));
    Ok(LintReport {
        file: shown(cert),
        subject: leaf.subject().to_string(),
        rules: lint_certificate(&leaf, &issuers, key, OffsetDateTime::now_utc()),
    })
}

/// Every rule, in the order they are printed. `key` is the key file's name and contents.
pub(crate) fn lint_certificate(
    leaf: &X509Certificate<'_>,
    issuers: &[X509Certificate<'_>],
    key: Option<(&str, &[u8])>,
    now: OffsetDateTime,
) -> Vec<LintRule> {
    let extensions = Extensions::of(leaf);
    vec![
        subject_alt_name_rule(&extensions.subject_alt_names),
        server_auth_rule(&extensions.extended_key_usage),
        not_ca_rule(&extensions),
        validity_length_rule(leaf),
        key_strength_rule(leaf),
        signature_rule(leaf),
        time_rule(leaf, now),
        name_constraints_rule(leaf, issuers),
        key_match_rule(leaf.public_key(), key),
        san_syntax_rule(&extensions.subject_alt_names),
        key_identifiers_rule(leaf),
        issuer_name_rule(leaf, issuers),
        constraint_syntax_rule(issuers),
    ]
}

fn pass(rule: &'static str, detail: impl Into<String>) -> LintRule {
    LintRule {
        rule,
        status: LintStatus::Pass,
        detail: detail.into(),
        fix: None,
    }
}

fn fail(rule: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> LintRule {
    LintRule {
        rule,
        status: LintStatus::Fail,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

fn skip(rule: &'static str, detail: impl Into<String>) -> LintRule {
    LintRule {
        rule,
        status: LintStatus::Skip,
        detail: detail.into(),
        fix: None,
    }
}

const REISSUE: &str = "reissue it with `certgen issue NAME...`";

/// `reissue it with `certgen issue NAME... OPTIONS``.
fn reissue_with(options: &str) -> String {
    format!("reissue it with `certgen issue NAME... {options}`")
}

fn subject_alt_name_rule(names: &[SubjectAltName]) -> LintRule {
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

fn server_auth_rule(extended_key_usage: &[String]) -> LintRule {
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

fn not_ca_rule(extensions: &Extensions) -> LintRule {
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

fn validity_length_rule(leaf: &X509Certificate<'_>) -> LintRule {
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

fn time_rule(leaf: &X509Certificate<'_>, now: OffsetDateTime) -> LintRule {
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

fn name_constraints_rule(leaf: &X509Certificate<'_>, issuers: &[X509Certificate<'_>]) -> LintRule {
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

fn key_match_rule(cert_key: &SubjectPublicKeyInfo<'_>, key: Option<(&str, &[u8])>) -> LintRule {
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
fn san_syntax_rule(names: &[SubjectAltName]) -> LintRule {
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
fn key_identifiers_rule(leaf: &X509Certificate<'_>) -> LintRule {
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
fn issuer_name_rule(leaf: &X509Certificate<'_>, issuers: &[X509Certificate<'_>]) -> LintRule {
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
fn constraint_syntax_rule(issuers: &[X509Certificate<'_>]) -> LintRule {
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
    let der = if super::contains(file, b"-----BEGIN ") {
        let block = Pem::iter_from_buffer(file)
            .filter_map(Result::ok)
            .find(|block| block.label.ends_with("PRIVATE KEY"))
            .ok_or("no PRIVATE KEY block in the file")?;
        if block.label == "ENCRYPTED PRIVATE KEY" {
            return Err("the key is encrypted".into());
        }
        block.contents
    } else {
        file.to_vec()
    };
    KeyPair::try_from(der.as_slice())
        .map(|pair| pair.subject_public_key_info())
        .map_err(|_| "not an unencrypted PKCS#8 ECDSA, Ed25519 or RSA (2048 bits and up) key".to_string())
}

#[cfg(test)]
mod tests {
    use rcgen::{
        BasicConstraints, CertificateParams, CidrSubnet, DnType, ExtendedKeyUsagePurpose, GeneralSubtree,
        IsCa, Issuer, NameConstraints, PKCS_ED25519,
    };
    use time::Duration;

    use super::*;

    /// A name-constrained CA like `certgen ca` makes: localhost and 127.0.0.0/8.
    fn ca() -> (Vec<u8>, Issuer<'static, KeyPair>) {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, "lint test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.name_constraints = Some(NameConstraints {
            permitted_subtrees: vec![
                GeneralSubtree::DnsName("localhost".into()),
                GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix("127.0.0.0".parse().expect("ip"), 8)),
            ],
            excluded_subtrees: vec![],
        });
        let cert = params.self_signed(&key).expect("CA certificate");
        (cert.der().to_vec(), Issuer::new(params, key))
    }

    /// A leaf that passes every rule; each test breaks one thing.
    fn good_params() -> CertificateParams {
        let now = OffsetDateTime::now_utc();
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
        params.distinguished_name.push(DnType::CommonName, "localhost");
        params.is_ca = IsCa::ExplicitNoCa;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(396);
        params
    }

    fn for_name(name: &str) -> CertificateParams {
        let mut params = good_params();
        params.subject_alt_names = CertificateParams::new(vec![name.to_string()])
            .expect("params")
            .subject_alt_names;
        params
    }

    struct Linted {
        rules: Vec<LintRule>,
    }

    impl Linted {
        fn status(&self, rule: &str) -> LintStatus {
            self.rules
                .iter()
                .find(|r| r.rule == rule)
                .map(|r| r.status)
                .unwrap_or_else(|| panic!("no rule {rule}"))
        }

        /// The rules that failed, by id.
        fn failed(&self) -> Vec<&'static str> {
            self.rules
                .iter()
                .filter(|r| r.status == LintStatus::Fail)
                .map(|r| r.rule)
                .collect()
        }
    }

    /// Signs `params` with a fresh key (or `leaf_key`) under a fresh CA and lints it with the CA and
    /// the key given (or a different key, when `wrong_key`).
    fn lint_with(params: CertificateParams, leaf_key: Option<KeyPair>, wrong_key: bool) -> Linted {
        let (ca_der, issuer) = ca();
        let key = leaf_key.unwrap_or_else(|| KeyPair::generate().expect("leaf key"));
        let cert = params.signed_by(&key, &issuer).expect("leaf certificate");
        let key_pem = if wrong_key {
            KeyPair::generate().expect("other key").serialize_pem()
        } else {
            key.serialize_pem()
        };
        let (_, leaf) = x509_parser::parse_x509_certificate(cert.der()).expect("parse leaf");
        let (_, ca) = x509_parser::parse_x509_certificate(&ca_der).expect("parse CA");
        let rules = lint_certificate(
            &leaf,
            &[ca],
            Some(("leaf-key.pem", key_pem.as_bytes())),
            OffsetDateTime::now_utc(),
        );
        Linted { rules }
    }

    fn lint(params: CertificateParams) -> Linted {
        lint_with(params, None, false)
    }

    #[test]
    fn a_good_leaf_passes_every_rule() {
        let linted = lint(good_params());
        assert!(
            linted.rules.iter().all(|r| r.status == LintStatus::Pass),
            "{:#?}",
            linted.rules
        );
        assert!(linted.rules.iter().all(|r| r.fix.is_none()));
    }

    #[test]
    fn each_broken_rule_fails_alone_with_a_fix() {
        let mut ca_leaf = good_params();
        ca_leaf.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let mut no_san = good_params();
        no_san.subject_alt_names.clear();
        let mut too_long = good_params();
        too_long.not_after = too_long.not_before + Duration::days(900);
        let mut client_only = good_params();
        client_only.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let mut no_eku = good_params();
        no_eku.extended_key_usages.clear();
        let mut expired = good_params();
        expired.not_before = OffsetDateTime::now_utc() - Duration::days(40);
        expired.not_after = OffsetDateTime::now_utc() - Duration::days(10);
        let mut future = good_params();
        future.not_before = OffsetDateTime::now_utc() + Duration::days(2);

        let mut no_aki = good_params();
        no_aki.use_authority_key_identifier_extension = false;
        let mut bad_san = good_params();
        bad_san.subject_alt_names = vec![rcgen::SanType::DnsName(
            rcgen::string::Ia5String::try_from("bad_name.localhost").expect("ia5"),
        )];

        let cases = [
            (no_aki, "key-identifiers"),
            (bad_san, "san-syntax"),
            (ca_leaf, "not-a-ca"),
            (no_san, "subject-alt-name"),
            (too_long, "validity-825-days"),
            (client_only, "server-auth"),
            (no_eku, "server-auth"),
            (expired, "currently-valid"),
            (future, "currently-valid"),
            (for_name("evil.example"), "name-constraints"),
            (for_name("10.0.0.1"), "name-constraints"),
        ];
        for (params, rule) in cases {
            let linted = lint(params);
            assert_eq!(linted.failed(), vec![rule], "{:#?}", linted.rules);
            let failed = linted.rules.iter().find(|r| r.rule == rule).expect("rule");
            assert!(
                failed.fix.as_deref().is_some_and(|f| !f.is_empty()),
                "{rule} has no fix"
            );
        }
    }

    #[test]
    fn outside_constraints_names_the_permit_the_ca_needs() {
        let linted = lint(for_name("evil.example"));
        let rule = linted
            .rules
            .iter()
            .find(|r| r.rule == "name-constraints")
            .expect("rule");
        assert!(rule.detail.contains("evil.example"), "{}", rule.detail);
        assert!(
            rule.fix
                .as_deref()
                .unwrap_or_default()
                .contains("--permit evil.example"),
            "{:?}",
            rule.fix
        );
    }

    #[test]
    fn a_leaf_of_another_ca_fails_issuer_name() {
        let (_, other) = ca();
        let key = KeyPair::generate().expect("leaf key");
        let cert = good_params().signed_by(&key, &other).expect("leaf");
        let mut ca_params = CertificateParams::default();
        ca_params
            .distinguished_name
            .push(DnType::OrganizationName, "lint test");
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "lint test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        let ca_key = KeyPair::generate().expect("CA key");
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA");
        let (_, leaf) = x509_parser::parse_x509_certificate(cert.der()).expect("parse leaf");
        let (_, ca) = x509_parser::parse_x509_certificate(ca_cert.der()).expect("parse CA");
        let rules = lint_certificate(&leaf, &[ca], None, OffsetDateTime::now_utc());
        let linted = Linted { rules };
        assert_eq!(linted.failed(), vec!["issuer-name"], "{:#?}", linted.rules);
    }

    #[test]
    fn a_redundant_dot_subtree_fails_and_a_subdomains_only_one_passes() {
        let subtrees = |names: &[&str]| {
            let key = KeyPair::generate().expect("CA key");
            let mut params = CertificateParams::default();
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            params.name_constraints = Some(NameConstraints {
                permitted_subtrees: names
                    .iter()
                    .map(|n| GeneralSubtree::DnsName(n.to_string()))
                    .collect(),
                excluded_subtrees: vec![],
            });
            params.self_signed(&key).expect("CA").der().to_vec()
        };
        for (names, status) in [
            (&["localhost", ".localhost"][..], LintStatus::Fail),
            (&["localhost", ".test"][..], LintStatus::Pass),
            (&["localhost", "a..b"][..], LintStatus::Fail),
        ] {
            let der = subtrees(names);
            let (_, ca) = x509_parser::parse_x509_certificate(&der).expect("parse CA");
            let rule = constraint_syntax_rule(&[ca]);
            assert_eq!(rule.status, status, "{names:?}: {rule:?}");
        }
    }

    #[test]
    fn a_different_key_fails_key_match() {
        let linted = lint_with(good_params(), None, true);
        assert_eq!(linted.failed(), vec!["key-match"]);
    }

    #[test]
    fn ed25519_is_refused_for_browsers() {
        let key = KeyPair::generate_for(&PKCS_ED25519).expect("ed25519 key");
        let linted = lint_with(good_params(), Some(key), false);
        assert_eq!(linted.failed(), vec!["key-strength"]);
        assert_eq!(linted.status("key-match"), LintStatus::Pass);
    }

    #[test]
    fn missing_issuer_and_key_are_skipped_not_failed() {
        let key = KeyPair::generate().expect("key");
        let cert = good_params().self_signed(&key).expect("self-signed");
        let (_, leaf) = x509_parser::parse_x509_certificate(cert.der()).expect("parse");
        let rules = lint_certificate(&leaf, &[], None, OffsetDateTime::now_utc());
        let linted = Linted { rules };
        assert_eq!(linted.status("name-constraints"), LintStatus::Skip);
        assert_eq!(linted.status("key-match"), LintStatus::Skip);
        assert!(linted.failed().is_empty());
    }
}

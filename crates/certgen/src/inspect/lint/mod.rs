//! `certgen lint`: the rules browsers and operating systems apply to a server certificate,
//! each with the fix that makes it pass. The rules are in [`rules`], what they report in [`report`].

mod report;
mod rules;

use std::path::Path;

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;

pub use report::{LintReport, LintRule, LintStatus};
pub(crate) use report::{fail, pass};
use rules::{
    constraint_syntax_rule, issuer_name_rule, key_identifiers_rule, key_match_rule, name_constraints_rule,
    not_ca_rule, san_syntax_rule, server_auth_rule, subject_alt_name_rule, time_rule, validity_length_rule,
};
pub(crate) use rules::{key_strength_rule, signature_rule};

use super::describe::Extensions;
use super::objects::{load_certificates, parse_certificate, read_file, shown, sibling_key_path};
use crate::Error;

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

#[cfg(test)]
mod tests {
    use rcgen::{
        BasicConstraints, CertificateParams, CidrSubnet, DnType, ExtendedKeyUsagePurpose, GeneralSubtree,
        IsCa, Issuer, KeyPair, NameConstraints, PKCS_ED25519,
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

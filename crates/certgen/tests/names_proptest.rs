//! Property tests: no input makes `SubjectName::parse` panic, and every accepted name survives issuing — the
//! subjectAltName read back from the certificate (x509-parser) parses to the same canonical name.

use std::sync::OnceLock;

use certgen::{CaOptions, CertsDir, LeafOptions, SubjectName};
use proptest::prelude::*;
use x509_parser::prelude::{FromDer, X509Certificate};

/// One unconstrained CA shared by every case of a run (any valid name may be issued).
fn shared_ca() -> &'static (tempfile::TempDir, CertsDir) {
    static CA: OnceLock<(tempfile::TempDir, CertsDir)> = OnceLock::new();
    CA.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = CertsDir::new(tmp.path());
        dir.create_ca(&CaOptions {
            unconstrained: true,
            ..CaOptions::default()
        })
        .expect("create CA");
        (tmp, dir)
    })
}

/// Name-shaped strings of every kind, valid and invalid, plus arbitrary text.
fn name_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9ü_-]{1,12}(\\.[a-zA-Z0-9äß-]{1,12}){0,3}\\.?",
        "\\*\\.[a-z0-9*-]{0,8}(\\.[a-z0-9-]{1,8}){0,2}",
        any::<[u8; 4]>().prop_map(|b| format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])),
        "[0-9]{1,4}(\\.[0-9]{1,4}){0,4}",
        any::<[u16; 8]>().prop_map(|s| std::net::Ipv6Addr::from(s).to_string()),
        any::<[u16; 8]>().prop_map(|s| format!("[{}]", std::net::Ipv6Addr::from(s))),
        "[a-zA-Z0-9.+_()-]{0,10}@[a-zA-Z0-9.é-]{0,12}",
        "[a-zA-Z][a-zA-Z0-9+.-]{0,5}://[!-~]{0,20}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_and_errors_name_the_input(input in name_like()) {
        if let Err(err) = SubjectName::parse(&input) {
            let message = err.to_string();
            prop_assert!(message.contains(&format!("`{input}`")), "{message}");
            prop_assert_eq!(err.exit_code(), 2);
        }
    }

    #[test]
    fn accepted_names_round_trip_through_issue(input in name_like()) {
        let Ok(name) = SubjectName::parse(&input) else { return Ok(()) };
        prop_assert_eq!(SubjectName::parse(&name.to_string()).ok(), Some(name.clone()), "canonical form re-parses");
        let (_, dir) = shared_ca();
        let opts = LeafOptions { out: Some("case".into()), force: true, ..LeafOptions::default() };
        let issued = dir.issue(std::slice::from_ref(&name), &opts).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let der = std::fs::read(&issued.files.cert_der).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (_, cert) = X509Certificate::from_der(&der).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let san = cert.subject_alternative_name().ok().flatten().ok_or_else(|| TestCaseError::fail("no SAN"))?;
        let read_back: Vec<SubjectName> = san
            .value
            .general_names
            .iter()
            .map(SubjectName::from_general_name)
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(read_back, vec![name]);
    }
}

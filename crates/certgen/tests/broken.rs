//! `certgen broken` as a user runs it: the set it writes, checked by `openssl verify` the way a TLS client checks a
//! server (purpose sslserver, host localhost, only our CA trusted), each broken certificate with its own error and
//! the good one accepted; and the refusal without a CA.

#[allow(dead_code)]
mod common;

use common::{CERTGEN, certgen, have_openssl, path_str, run, text};

/// What `openssl verify` says for each fixture: its error number and text (OpenSSL 3).
const OPENSSL_VERDICTS: &[(&str, &str)] = &[
    ("good", "OK"),
    ("expired", "error 10 at 0 depth lookup: certificate has expired"),
    (
        "not-yet-valid",
        "error 9 at 0 depth lookup: certificate is not yet valid",
    ),
    ("wrong-host", "error 62 at 0 depth lookup: hostname mismatch"),
    (
        "self-signed",
        "error 18 at 0 depth lookup: self-signed certificate",
    ),
    (
        "untrusted-root",
        "error 19 at 1 depth lookup: self-signed certificate in certificate chain",
    ),
    (
        "no-server-auth",
        "error 26 at 0 depth lookup: unsuitable certificate purpose",
    ),
    (
        "outside-constraints",
        "error 47 at 0 depth lookup: permitted subtree violation",
    ),
    (
        "incomplete-chain",
        "error 20 at 0 depth lookup: unable to get local issuer certificate",
    ),
];

#[test]
fn each_broken_certificate_fails_openssl_verify_with_its_own_error() {
    if !have_openssl("certgen broken + openssl verify") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let out = certgen(dir, &["ca"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = certgen(dir, &["broken", "--json"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    let names: Vec<&str> = json["fixtures"]
        .as_array()
        .expect("fixtures")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    let expected: Vec<&str> = OPENSSL_VERDICTS.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, expected);

    let ca = dir.join("ca.pem");
    for fixture in json["fixtures"].as_array().expect("fixtures") {
        let name = fixture["name"].as_str().expect("name");
        let leaf = fixture["cert_pem"].as_str().expect("cert_pem");
        let chain = fixture["fullchain_pem"].as_str().expect("fullchain_pem");
        // The served chain as the untrusted intermediates: exactly what a client receives.
        let args = [
            "verify",
            "-CAfile",
            path_str(&ca),
            "-purpose",
            "sslserver",
            "-verify_hostname",
            "localhost",
            "-untrusted",
            chain,
            leaf,
        ];
        let verified = run("openssl", &args, &[]);
        let said = format!("{}{}", text(&verified.stdout), text(&verified.stderr));
        let (_, verdict) = OPENSSL_VERDICTS
            .iter()
            .find(|(n, _)| *n == name)
            .expect("a known fixture");
        assert!(
            said.contains(verdict),
            "{name}: expected {verdict:?}, openssl said {said}"
        );
        assert_eq!(verified.status.success(), name == "good", "{name}: {said}");
    }

    // A second run replaces the set (the fixtures are test material), and keys stay private.
    let again = certgen(dir, &["broken"], &[]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).contains("wsecho serve --bad-certs"),
        "{}",
        text(&again.stdout)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("broken/good-key.pem")).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o600));
    }
}

#[test]
fn broken_without_a_ca_says_how_to_make_one_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = run(CERTGEN, &["broken", "--dir", path_str(tmp.path())], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("certgen ca --dir"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!tmp.path().join("broken").exists());
}

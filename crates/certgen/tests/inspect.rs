//! `certgen inspect`, `verify` and `lint` run as a user runs them, cross-checked with openssl.
//!
//! openssl is a required peer in CI (`LOCALTLS_REQUIRE_PEERS=1`); elsewhere a missing openssl
//! skips these tests with a message.

use std::path::{Path, PathBuf};

use serde_json::Value;

#[allow(dead_code)]
mod common;

use common::{CERTGEN, assert_success, have_openssl, openssl_csr, openssl_ok, openssl_sign, run, text};

/// Runs certgen and returns stdout, failing the test with its stderr when it fails.
fn certgen_ok(args: &[&str]) -> String {
    let out = run(CERTGEN, args, &[]);
    assert_success("certgen", args, &out);
    text(&out.stdout)
}

/// A certs folder made by `certgen ca` and `certgen issue localhost 127.0.0.1 ::1`.
struct Certs {
    dir: tempfile::TempDir,
}

impl Certs {
    fn new(ca_args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let certs = Self { dir };
        let mut args = vec!["ca", "--dir", certs.dir_str()];
        args.extend_from_slice(ca_args);
        certgen_ok(&args);
        certgen_ok(&["issue", "localhost", "127.0.0.1", "::1", "--dir", certs.dir_str()]);
        certs
    }

    fn dir_str(&self) -> &str {
        self.dir.path().to_str().expect("utf-8 temp path")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn file(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    /// A leaf that openssl signs with this CA's key, bypassing certgen's own checks.
    /// `key` is an `openssl req -newkey` argument; the key is written as `NAME.key` (not
    /// `NAME-key.pem`, so lint does not pick it up).
    fn openssl_leaf(&self, name: &str, san: &str, key: &str, digest: &str) -> String {
        let (csr, cert, ext) = (
            self.file(&format!("{name}.csr")),
            self.file(&format!("{name}.pem")),
            self.path(&format!("{name}.ext")),
        );
        let key_file = self.file(&format!("{name}.key"));
        openssl_csr(key, &key_file, &csr, "/CN=openssl-leaf", &[]);
        std::fs::write(
            &ext,
            format!("subjectAltName={san}\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"),
        )
        .expect("write extfile");
        openssl_sign(
            self.dir.path(),
            &csr,
            &ext,
            &cert,
            &["-CAcreateserial", &format!("-{digest}")],
        );
        cert
    }
}

fn inspect_json(file: &str) -> Vec<Value> {
    let out = certgen_ok(&["inspect", "--json", file]);
    match serde_json::from_str(&out) {
        Ok(Value::Array(items)) => items,
        other => panic!("inspect --json {file} printed {other:?}"),
    }
}

/// `key=value` lines printed by `openssl x509 -noout ...`, by key.
fn openssl_field(output: &str, key: &str) -> String {
    output
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in openssl output:\n{output}"))
        .trim()
        .to_string()
}

#[test]
fn inspect_agrees_with_openssl_on_pem_and_der() {
    if !have_openssl("inspect_agrees_with_openssl_on_pem_and_der") {
        return;
    }
    let certs = Certs::new(&[]);
    for (name, form) in [
        ("ca.pem", "PEM"),
        ("ca.cer", "DER"),
        ("localhost.pem", "PEM"),
        ("localhost.cer", "DER"),
    ] {
        let file = certs.file(name);
        let ours = &inspect_json(&file)[0];
        let theirs = openssl_ok(&[
            "x509",
            "-in",
            &file,
            "-inform",
            form,
            "-noout",
            "-serial",
            "-enddate",
            "-dateopt",
            "iso_8601",
            "-fingerprint",
            "-sha256",
        ]);
        let sha1 = openssl_ok(&[
            "x509",
            "-in",
            &file,
            "-inform",
            form,
            "-noout",
            "-fingerprint",
            "-sha1",
        ]);
        eprintln!("{name}: openssl says\n{theirs}{sha1}");
        assert_eq!(ours["serial"], openssl_field(&theirs, "serial="), "{name} serial");
        assert_eq!(
            ours["sha256_fingerprint"],
            openssl_field(&theirs, "sha256 Fingerprint="),
            "{name} sha256"
        );
        assert_eq!(
            ours["sha1_fingerprint"],
            openssl_field(&sha1, "sha1 Fingerprint="),
            "{name} sha1"
        );
        // openssl: `2027-12-27 13:03:04Z`; ours: RFC 3339 `2027-12-27T13:03:04Z`.
        assert_eq!(
            ours["not_after"],
            openssl_field(&theirs, "notAfter=").replace(' ', "T"),
            "{name} notAfter"
        );

        let shown = certgen_ok(&["inspect", &file]);
        assert!(
            shown.contains(&openssl_field(&theirs, "sha256 Fingerprint=")),
            "{shown}"
        );
        assert!(shown.contains(&openssl_field(&theirs, "serial=")), "{shown}");
    }
    let leaf = &inspect_json(&certs.file("localhost.pem"))[0];
    let names: Vec<String> = leaf["subject_alt_names"]
        .as_array()
        .expect("SAN list")
        .iter()
        .map(|n| {
            format!(
                "{}:{}",
                n["type"].as_str().unwrap_or_default(),
                n["value"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(names, ["dns:localhost", "ip:127.0.0.1", "ip:::1"]);
    assert_eq!(leaf["key"]["curve"], "P-256");
    assert_eq!(leaf["extended_key_usage"][0], "serverAuth");
    assert_eq!(leaf["basic_constraints"]["ca"], false);
    let days_left = leaf["days_left"].as_i64().expect("days_left");
    assert!((395..=397).contains(&days_left), "{days_left}");

    let ca = &inspect_json(&certs.file("ca.pem"))[0];
    assert_eq!(ca["basic_constraints"]["ca"], true);
    let permitted = ca["name_constraints"]["permitted"].as_array().expect("permitted");
    assert!(permitted.iter().any(|p| p == "DNS:localhost"), "{permitted:?}");
    assert!(
        permitted.iter().any(|p| p == "IP:127.0.0.0/255.0.0.0"),
        "{permitted:?}"
    );
    let openssl_text = openssl_ok(&["x509", "-in", &certs.file("ca.pem"), "-noout", "-text"]);
    assert!(openssl_text.contains("IP:127.0.0.0/255.0.0.0"), "{openssl_text}");

    let chain = inspect_json(&certs.file("localhost-fullchain.pem"));
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[0]["sha256_fingerprint"], leaf["sha256_fingerprint"]);
    assert_eq!(chain[1]["sha256_fingerprint"], ca["sha256_fingerprint"]);
    assert_eq!(chain[1]["index"], 2);
}

#[test]
fn inspect_reads_an_openssl_csr_in_pem_and_der() {
    if !have_openssl("inspect_reads_an_openssl_csr_in_pem_and_der") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (pem, der, key) = (
        dir.path().join("host.csr"),
        dir.path().join("host.csr.der"),
        dir.path().join("host.key"),
    );
    let path = |p: &Path| p.display().to_string();
    openssl_csr(
        "rsa:2048",
        &path(&key),
        &path(&pem),
        "/CN=csr.test",
        &["-addext", "subjectAltName=DNS:csr.test,IP:192.168.1.20"],
    );
    openssl_ok(&["req", "-in", &path(&pem), "-outform", "DER", "-out", &path(&der)]);
    let digest = openssl_ok(&["dgst", "-sha256", "-r", &path(&der)]);
    let expected_sha256 = digest
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    for file in [&pem, &der] {
        let described = inspect_json(&path(file));
        let csr = &described[0];
        assert_eq!(csr["kind"], "csr");
        assert_eq!(csr["subject"], "CN=csr.test");
        assert_eq!(csr["issuer"], Value::Null);
        assert_eq!(csr["key"]["algorithm"], "RSA");
        assert_eq!(csr["key"]["bits"], 2048);
        assert_eq!(csr["subject_alt_names"][1]["value"], "192.168.1.20");
        let ours = csr["sha256_fingerprint"]
            .as_str()
            .unwrap_or_default()
            .replace(':', "");
        assert_eq!(ours, expected_sha256);
    }
}

#[test]
fn inspect_names_a_file_that_is_not_a_certificate() {
    let certs = Certs::new(&[]);
    let out = run(
        CERTGEN,
        &["inspect", &certs.file("localhost.pem"), &certs.file("ca-key.pem")],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("ca-key.pem: holds a PRIVATE KEY, not a certificate"),
        "{stderr}"
    );
    assert!(!stderr.contains("BEGIN"), "a key must never be printed: {stderr}");
    assert!(out.stdout.is_empty(), "nothing is printed when one file is bad");

    let missing = run(CERTGEN, &["inspect", &certs.file("nope.pem")], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("nope.pem: cannot read it"),
        "{}",
        text(&missing.stderr)
    );
}

/// One `certgen verify` case and what openssl must agree on.
struct Case<'a> {
    what: &'a str,
    ca: String,
    cert: String,
    name: Option<&'a str>,
    client: bool,
    accepted: bool,
    /// Part of certgen's one-line explanation when rejected.
    says: &'a str,
}

#[test]
fn verify_agrees_with_openssl() {
    if !have_openssl("verify_agrees_with_openssl") {
        return;
    }
    let certs = Certs::new(&[]);
    let same_name_ca = Certs::new(&[]);
    let other_ca = Certs::new(&["--cn", "Other Test CA"]);
    let evil = certs.openssl_leaf("evil", "DNS:evil.example", "ec", "sha256");
    certgen_ok(&[
        "issue",
        "old.localhost",
        "--not-before",
        "2020-01-01",
        "--days",
        "30",
        "--dir",
        certs.dir_str(),
    ]);
    certgen_ok(&["client", "alice.localhost", "--dir", certs.dir_str()]);
    let next_year = format!("{}-01-01", time::OffsetDateTime::now_utc().year() + 1);
    certgen_ok(&[
        "issue",
        "new.localhost",
        "--not-before",
        &next_year,
        "--dir",
        certs.dir_str(),
    ]);
    let ca = certs.file("ca.pem");
    let case = |what, ca: &str, cert: String, name, client, accepted, says| Case {
        what,
        ca: ca.to_string(),
        cert,
        name,
        client,
        accepted,
        says,
    };
    let cases = [
        case(
            "fullchain for localhost",
            &ca,
            certs.file("localhost-fullchain.pem"),
            Some("localhost"),
            false,
            true,
            "",
        ),
        case(
            "DER CA, IPv4 name",
            &certs.file("ca.cer"),
            certs.file("localhost.pem"),
            Some("127.0.0.1"),
            false,
            true,
            "",
        ),
        case(
            "IPv6 name",
            &ca,
            certs.file("localhost.pem"),
            Some("::1"),
            false,
            true,
            "",
        ),
        case(
            "client certificate",
            &ca,
            certs.file("alice.localhost.pem"),
            None,
            true,
            true,
            "",
        ),
        case(
            "(a) openssl-signed leaf outside the constraints",
            &ca,
            evil,
            Some("evil.example"),
            false,
            false,
            "the name evil.example is outside the name constraints",
        ),
        case(
            "(b) wrong name",
            &ca,
            certs.file("localhost.pem"),
            Some("example.com"),
            false,
            false,
            "is not valid for example.com",
        ),
        case(
            "(c) expired",
            &ca,
            certs.file("old.localhost.pem"),
            Some("old.localhost"),
            false,
            false,
            "CN=old.localhost: expired ",
        ),
        case(
            "(c) not valid yet",
            &ca,
            certs.file("new.localhost.pem"),
            Some("new.localhost"),
            false,
            false,
            "CN=new.localhost: not valid yet",
        ),
        case(
            "(d) other CA with the same name",
            &ca,
            same_name_ca.file("localhost.pem"),
            Some("localhost"),
            false,
            false,
            "a different CA with the same name",
        ),
        case(
            "(d) other CA",
            &ca,
            other_ca.file("localhost.pem"),
            Some("localhost"),
            false,
            false,
            "was not issued by",
        ),
        case(
            "server certificate used as client",
            &ca,
            certs.file("localhost.pem"),
            None,
            true,
            false,
            "lacks clientAuth",
        ),
    ];
    for case in &cases {
        let mut ours = vec!["verify", "--ca", &case.ca, &case.cert];
        let mut theirs = vec!["verify", "-x509_strict", "-purpose"];
        theirs.push(if case.client { "sslclient" } else { "sslserver" });
        theirs.extend(["-CAfile", &case.ca]);
        if case.ca.ends_with(".cer") {
            // openssl verify reads PEM only; the PEM twin of ca.cer is ca.pem.
            theirs.pop();
            theirs.push(&ca);
        }
        if let Some(name) = case.name {
            ours.extend(["--name", name]);
            theirs.push(if name.parse::<std::net::IpAddr>().is_ok() {
                "-verify_ip"
            } else {
                "-verify_hostname"
            });
            theirs.push(name);
        }
        if case.client {
            ours.push("--client");
        }
        theirs.push(&case.cert);
        let ours_out = run(CERTGEN, &ours, &[]);
        let theirs_out = run("openssl", &theirs, &[]);
        let (stdout, stderr) = (text(&ours_out.stdout), text(&ours_out.stderr));
        eprintln!(
            "{}:\n  certgen exit {:?}: {}{}  openssl exit {:?}: {}",
            case.what,
            ours_out.status.code(),
            stdout,
            stderr,
            theirs_out.status.code(),
            text(&theirs_out.stdout).trim().replace('\n', " | ")
                + &text(&theirs_out.stderr).trim().replace('\n', " | ")
        );
        assert_eq!(
            theirs_out.status.success(),
            case.accepted,
            "openssl disagrees with the expectation: {}",
            case.what
        );
        if case.accepted {
            assert_eq!(ours_out.status.code(), Some(0), "{}: {stderr}", case.what);
            assert!(stdout.starts_with("OK: "), "{stdout}");
            if let Some(name) = case.name {
                assert!(
                    stdout.trim_end().ends_with(&format!("valid for {name}")),
                    "{stdout}"
                );
            }
        } else {
            assert_eq!(ours_out.status.code(), Some(1), "{}: {stdout}{stderr}", case.what);
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            assert!(stderr.contains(case.says), "{}: {stderr}", case.what);
        }
    }
}

#[test]
fn verify_tells_the_fix_for_a_constraint_violation() {
    if !have_openssl("verify_tells_the_fix_for_a_constraint_violation") {
        return;
    }
    let certs = Certs::new(&[]);
    let evil = certs.openssl_leaf("evil", "DNS:evil.example", "ec", "sha256");
    let out = run(CERTGEN, &["verify", "--ca", &certs.file("ca.pem"), &evil], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("certgen ca --force --permit evil.example"),
        "{stderr}"
    );
}

#[test]
fn verify_bad_input_exits_2() {
    let certs = Certs::new(&[]);
    let leaf = certs.file("localhost.pem");
    for (args, says) in [
        (
            vec!["verify", "--ca", &certs.file("missing.pem"), &leaf],
            "missing.pem: cannot read it",
        ),
        (
            vec!["verify", "--ca", &certs.file("ca-key.pem"), &leaf],
            "holds a PRIVATE KEY",
        ),
        (
            vec![
                "verify",
                "--ca",
                &certs.file("ca.pem"),
                &leaf,
                "--name",
                "not a name",
            ],
            "invalid name `not a name`",
        ),
    ] {
        let out = run(CERTGEN, &args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out.stderr).contains(says), "{}", text(&out.stderr));
    }
}

/// Lints with `--json` and returns (exit code, rule -> status).
fn lint(args: &[&str]) -> (Option<i32>, Vec<(String, String)>) {
    let mut all = vec!["lint", "--json"];
    all.extend_from_slice(args);
    let out = run(CERTGEN, &all, &[]);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("lint {args:?}: {e}: {}{}", text(&out.stdout), text(&out.stderr)));
    let rules = report["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| {
            (
                r["rule"].as_str().unwrap_or_default().to_string(),
                r["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    (out.status.code(), rules)
}

fn failing(rules: &[(String, String)]) -> Vec<&str> {
    rules
        .iter()
        .filter(|(_, s)| s == "FAIL")
        .map(|(r, _)| r.as_str())
        .collect()
}

#[test]
fn lint_passes_certgen_leaves_and_finds_their_key() {
    let certs = Certs::new(&[]);
    let (code, rules) = lint(&[&certs.file("localhost.pem"), "--ca", &certs.file("ca.pem")]);
    assert_eq!(code, Some(0), "{rules:?}");
    assert!(rules.iter().all(|(_, status)| status == "PASS"), "{rules:?}");
    assert!(rules.iter().any(|(rule, _)| rule == "key-match"));

    // The chain in a full-chain file is enough for the name-constraint rule.
    let (code, rules) = lint(&[&certs.file("localhost-fullchain.pem")]);
    assert_eq!(code, Some(0), "{rules:?}");

    let other = Certs::new(&[]);
    let (code, rules) = lint(&[
        &certs.file("localhost.pem"),
        "--key",
        &other.file("localhost-key.pem"),
    ]);
    assert_eq!((code, failing(&rules)), (Some(1), vec!["key-match"]));

    let human = run(
        CERTGEN,
        &[
            "lint",
            &certs.file("localhost.pem"),
            "--key",
            &other.file("localhost-key.pem"),
        ],
        &[],
    );
    let shown = text(&human.stdout);
    assert!(
        shown.contains("FAIL  key-match") && shown.contains("fix: "),
        "{shown}"
    );
    assert!(!shown.contains("PRIVATE KEY") && !text(&human.stderr).contains("PRIVATE KEY"));
}

#[test]
fn lint_fails_what_openssl_lets_through() {
    if !have_openssl("lint_fails_what_openssl_lets_through") {
        return;
    }
    let certs = Certs::new(&[]);
    let ca = certs.file("ca.pem");
    let rsa1024 = certs.openssl_leaf("rsa1024", "DNS:weak.localhost", "rsa:1024", "sha256");
    let sha1 = certs.openssl_leaf("sha1", "DNS:sha1.localhost", "ec", "sha1");
    let evil = certs.openssl_leaf("evil", "DNS:evil.example", "ec", "sha256");
    for (cert, rule) in [
        (&rsa1024, "key-strength"),
        (&sha1, "sha2-signature"),
        (&evil, "name-constraints"),
    ] {
        let (code, rules) = lint(&[cert, "--ca", &ca]);
        assert_eq!((code, failing(&rules)), (Some(1), vec![rule]), "{cert}");
    }
    // rustls clients and browsers refuse SHA-1 signatures; so does verify (openssl 3.0 at its default
    // security level accepts them, which is why lint exists).
    let out = run(CERTGEN, &["verify", "--ca", &ca, &sha1], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("SHA-1"), "{}", text(&out.stderr));
    let text_report = certgen_ok(&["inspect", &rsa1024]);
    assert!(text_report.contains("RSA 1024 bits"), "{text_report}");
    let openssl_text = openssl_ok(&["x509", "-in", &rsa1024, "-noout", "-text"]);
    assert!(openssl_text.contains("Public-Key: (1024 bit)"), "{openssl_text}");

    // A self-signed RSA-1024 / SHA-1 certificate as `openssl req -x509` makes it (CA:TRUE by
    // default, no EKU) breaks most rules at once.
    let weak = certs.file("weak.pem");
    openssl_ok(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:1024",
        "-sha1",
        "-nodes",
        "-days",
        "900",
        "-subj",
        "/CN=weak.test",
        "-keyout",
        &certs.file("weak.key"),
        "-out",
        &weak,
    ]);
    let (code, rules) = lint(&[&weak]);
    assert_eq!(code, Some(1));
    let failed = failing(&rules);
    for rule in [
        "subject-alt-name",
        "not-a-ca",
        "validity-825-days",
        "key-strength",
        "sha2-signature",
    ] {
        assert!(failed.contains(&rule), "{rule} should fail: {rules:?}");
    }
}

/// `certgen lint` never flags a server certificate certgen made, whatever the kind or (browser-accepted) key; for
/// Ed25519 it flags exactly the browser rules and says why.
#[test]
fn lint_passes_every_server_certificate_certgen_makes() {
    if !common::have_openssl("lint_passes_every_server_certificate_certgen_makes") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for key in ["ecdsa-p256", "ecdsa-p384", "rsa-2048", "ed25519"] {
        let sub = dir.path().join(key);
        for args in [
            &["ca", "--key", key, "--permit", ".test"][..],
            &[
                "issue",
                "localhost",
                "127.0.0.1",
                "::1",
                "*.app.localhost",
                "x.test",
                "--key",
                key,
            ],
            &["issue", "api.localhost", "--client", "--key", key],
            &["self-signed", "localhost", "--key", key, "--out", "self"],
        ] {
            let out = common::certgen(&sub, args, &[]);
            common::assert_success("certgen", args, &out);
        }
        let csr = sub.join("host.csr");
        common::openssl_csr(
            "ec",
            common::path_str(&sub.join("host-key.pem")),
            common::path_str(&csr),
            "/CN=csr.localhost",
            &["-addext", "subjectAltName=DNS:csr.localhost"],
        );
        let sign = ["sign", "--csr", common::path_str(&csr), "--out", "signed"];
        common::assert_success("certgen", &sign, &common::certgen(&sub, &sign, &[]));
        let ca = sub.join("ca.pem");
        for (stem, issuer) in [
            ("localhost", &ca),
            ("api.localhost", &ca),
            ("signed", &ca),
            ("self", &sub.join("self.pem")),
        ] {
            let cert = sub.join(format!("{stem}.pem"));
            let args = [
                "lint",
                "--json",
                common::path_str(&cert),
                "--ca",
                common::path_str(issuer),
            ];
            let out = common::run(common::CERTGEN, &args, &[]);
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("lint JSON");
            let failed: Vec<&str> = report["rules"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["status"] == "FAIL")
                .filter_map(|r| r["rule"].as_str())
                .collect();
            let expected: &[&str] = match (key, stem) {
                ("ed25519", "signed") => &["sha2-signature"],
                ("ed25519", _) => &["key-strength", "sha2-signature"],
                _ => &[],
            };
            assert_eq!(failed, expected, "{key} {stem}: {}", common::text(&out.stdout));
        }
    }
}

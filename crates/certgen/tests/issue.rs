//! `certgen ca`, `issue`, `client`, `self-signed` and `sign` run as a user runs them, every result cross-checked with
//! openssl (`verify -x509_strict`, `x509 -inform DER`, `pkcs12`), and every refusal checked to leave the folder as it
//! was.
//!
//! openssl is a required peer in CI (`LOCALTLS_REQUIRE_PEERS=1`); elsewhere a missing openssl skips these tests.

use std::fs;
use std::path::PathBuf;
use std::process::Output;

#[allow(dead_code)]
mod common;

use common::{
    CERTGEN, assert_success, certgen, have_openssl, mode, openssl_csr, openssl_ok, openssl_sign, run,
    snapshot, text,
};

/// A temporary certs folder and the commands run in it.
struct Certs {
    tmp: tempfile::TempDir,
}

impl Certs {
    fn new() -> Self {
        Certs {
            tmp: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// A folder with a default (constrained) CA.
    fn with_ca() -> Self {
        let certs = Certs::new();
        certs.ok(&["ca"]);
        certs
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    fn file(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }

    fn certgen_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        certgen(self.tmp.path(), args, env)
    }

    fn certgen(&self, args: &[&str]) -> Output {
        self.certgen_env(args, &[])
    }

    /// Runs certgen in this folder and returns stdout; fails the test with stderr when it fails.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.certgen(args);
        assert_success("certgen", args, &out);
        text(&out.stdout)
    }

    /// Runs a refused certgen command; asserts exit code 2, a one-line error, and an unchanged folder.
    fn refused(&self, args: &[&str], needle: &str) -> String {
        let before = snapshot(self.tmp.path());
        let out = self.certgen(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "certgen {args:?}: {stderr}");
        assert!(stderr.starts_with("certgen: error: "), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(needle), "expected `{needle}` in: {stderr}");
        assert_eq!(
            snapshot(self.tmp.path()),
            before,
            "certgen {args:?} changed the folder"
        );
        stderr
    }

    /// `openssl verify -x509_strict -purpose PURPOSE -CAfile CA LEAF`: Ok(stdout) or Err(stdout + stderr).
    fn openssl_verify(&self, ca: &str, leaf: &str, purpose: &str) -> Result<String, String> {
        let out = run(
            "openssl",
            &[
                "verify",
                "-x509_strict",
                "-purpose",
                purpose,
                "-CAfile",
                &self.file(ca),
                &self.file(leaf),
            ],
            &[],
        );
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        if out.status.success() { Ok(all) } else { Err(all) }
    }

    fn x509_text(&self, pem: &str) -> String {
        openssl_ok(&["x509", "-in", &self.file(pem), "-noout", "-text"])
    }
}

/// The PEM blocks of a file, each normalised to its base64 body.
fn pem_bodies(pem: &str) -> Vec<String> {
    pem.split("-----BEGIN CERTIFICATE-----")
        .skip(1)
        .map(|block| {
            block
                .split("-----END")
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .collect()
        })
        .collect()
}

#[test]
fn ca_and_server_certificate_pass_openssl_strict_verification() {
    if !have_openssl("ca_and_server_certificate_pass_openssl_strict_verification") {
        return;
    }
    let certs = Certs::with_ca();
    let names = [
        "localhost",
        "127.0.0.1",
        "::1",
        "bücher.localhost",
        "*.app.localhost",
        "[::1]",
        "127.0.0.2",
    ];
    let mut args = vec!["issue"];
    args.extend(names);
    let stdout = certs.ok(&args);
    assert!(
        stdout.contains("localhost-fullchain.pem") && stdout.contains("sha256"),
        "{stdout}"
    );

    let verified = certs.openssl_verify("ca.pem", "localhost.pem", "sslserver");
    assert!(
        verified.as_deref().is_ok_and(|s| s.contains(": OK")),
        "{verified:?}"
    );
    for (flag, value) in [
        ("-verify_hostname", "localhost"),
        ("-verify_ip", "::1"),
        ("-verify_ip", "127.0.0.2"),
    ] {
        openssl_ok(&[
            "verify",
            "-x509_strict",
            flag,
            value,
            "-CAfile",
            &certs.file("ca.pem"),
            &certs.file("localhost.pem"),
        ]);
    }

    let ca = certs.x509_text("ca.pem");
    for expected in [
        "CA:TRUE, pathlen:0",
        "Certificate Sign, CRL Sign",
        "X509v3 Name Constraints: critical",
        "DNS:localhost",
        "IP:127.0.0.0/255.0.0.0",
        "IP:0:0:0:0:0:0:0:1/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF",
        "X509v3 Subject Key Identifier",
        "Subject: O = certgen local development CA, CN = certgen CA ",
        "ASN1 OID: prime256v1",
    ] {
        assert!(ca.contains(expected), "CA lacks `{expected}`:\n{ca}");
    }
    // `localhost` already covers every name under it (RFC 5280 4.2.1.10); the dot form is not DNS syntax.
    assert!(!ca.contains("DNS:.localhost"), "{ca}");
    let leaf = certs.x509_text("localhost.pem");
    for expected in [
        "CA:FALSE",
        "TLS Web Server Authentication",
        "X509v3 Authority Key Identifier",
        "DNS:localhost",
        "IP Address:127.0.0.1",
        "IP Address:0:0:0:0:0:0:0:1",
        "DNS:xn--bcher-kva.localhost",
        "DNS:*.app.localhost",
        "Subject: CN = localhost",
    ] {
        assert!(leaf.contains(expected), "leaf lacks `{expected}`:\n{leaf}");
    }
    assert_eq!(
        leaf.matches("IP Address:0:0:0:0:0:0:0:1").count(),
        1,
        "::1 and [::1] are one name"
    );

    // An IP-only certificate has an empty subject (an IP-looking CN would trip OpenSSL's CN constraint check).
    certs.ok(&["issue", "127.0.0.1", "::1", "--out", "ip"]);
    assert!(certs.openssl_verify("ca.pem", "ip.pem", "sslserver").is_ok());
    let subject = openssl_ok(&["x509", "-in", &certs.file("ip.pem"), "-noout", "-subject"]);
    assert_eq!(subject.trim(), "subject=");
    assert!(
        certs
            .x509_text("ip.pem")
            .contains("X509v3 Subject Alternative Name: critical")
    );
    assert!(!leaf.contains("rcgen"), "no placeholder subject:\n{leaf}");

    // Serials: 128 random bits, positive, 16 bytes.
    for pem in ["ca.pem", "localhost.pem"] {
        let serial = openssl_ok(&["x509", "-in", &certs.file(pem), "-noout", "-serial"]);
        let hex = serial.trim().trim_start_matches("serial=");
        assert_eq!(hex.len(), 32, "{pem}: {serial}");
        assert!(
            u8::from_str_radix(&hex[..2], 16).is_ok_and(|b| b < 0x80),
            "{pem}: negative serial {serial}"
        );
    }
    // Validity: CA 10 years, leaf 397 days.
    for (pem, days) in [("ca.pem", 3650_i64), ("localhost.pem", 397)] {
        let file = certs.file(pem);
        let valid_for = |d: i64| {
            run(
                "openssl",
                &[
                    "x509",
                    "-in",
                    &file,
                    "-noout",
                    "-checkend",
                    &(d * 86400).to_string(),
                ],
                &[],
            )
        };
        assert!(
            valid_for(days - 1).status.success(),
            "{pem} ends before {days} days"
        );
        assert!(
            !valid_for(days + 1).status.success(),
            "{pem} lasts beyond {days} days"
        );
    }

    // Every .cer is the DER twin of its .pem; the full chain is leaf then CA.
    for stem in ["ca", "localhost"] {
        let from_der = openssl_ok(&[
            "x509",
            "-inform",
            "DER",
            "-in",
            &certs.file(&format!("{stem}.cer")),
            "-outform",
            "PEM",
        ]);
        let pem = fs::read_to_string(certs.path(&format!("{stem}.pem"))).expect("pem");
        assert_eq!(
            pem_bodies(&from_der),
            pem_bodies(&pem),
            "{stem}.cer differs from {stem}.pem"
        );
    }
    let chain = fs::read_to_string(certs.path("localhost-fullchain.pem")).expect("fullchain");
    let expected: Vec<String> = ["localhost.pem", "ca.pem"]
        .iter()
        .flat_map(|f| pem_bodies(&fs::read_to_string(certs.path(f)).expect("pem")))
        .collect();
    assert_eq!(pem_bodies(&chain), expected);

    // Keys are 0600, certificates world-readable, and the key belongs to the certificate.
    #[cfg(unix)]
    for (file, expected) in [
        ("ca-key.pem", 0o600),
        ("localhost-key.pem", 0o600),
        ("localhost.pem", 0o644),
    ] {
        assert_eq!(mode(&certs.path(file)), expected, "{file}");
    }
    let cert_pub = openssl_ok(&["x509", "-in", &certs.file("localhost.pem"), "-noout", "-pubkey"]);
    let key_pub = openssl_ok(&["pkey", "-in", &certs.file("localhost-key.pem"), "-pubout"]);
    assert_eq!(cert_pub, key_pub);
}

#[test]
fn client_certificates_pass_openssl_sslclient_under_the_constrained_ca() {
    if !have_openssl("client_certificates_pass_openssl_sslclient_under_the_constrained_ca") {
        return;
    }
    let certs = Certs::with_ca();
    certs.ok(&["client", "alice"]);
    assert!(certs.openssl_verify("ca.pem", "alice.pem", "sslclient").is_ok());
    assert!(
        certs.openssl_verify("ca.pem", "alice.pem", "sslserver").is_err(),
        "clientAuth only"
    );
    let alice = certs.x509_text("alice.pem");
    assert!(
        alice.contains("Subject: CN = alice") && alice.contains("TLS Web Client Authentication"),
        "{alice}"
    );
    assert!(
        !alice.contains("Subject Alternative Name"),
        "a plain client name is CN only:\n{alice}"
    );

    certs.ok(&["client", "bob@example.test"]);
    assert!(
        certs
            .openssl_verify("ca.pem", "bob_example.test.pem", "sslclient")
            .is_ok()
    );
    assert!(
        certs
            .x509_text("bob_example.test.pem")
            .contains("email:bob@example.test")
    );

    certs.ok(&["issue", "--client", "localhost", "--out", "both"]);
    for purpose in ["sslserver", "sslclient"] {
        assert!(
            certs.openssl_verify("ca.pem", "both.pem", purpose).is_ok(),
            "{purpose}"
        );
    }
    certs.refused(&["client", "alice", "bob"], "one plain name");
    certs.refused(&["client", "alice.example"], "--permit alice.example");
}

#[test]
fn every_key_kind_issues_certificates_openssl_verifies() {
    if !have_openssl("every_key_kind_issues_certificates_openssl_verifies") {
        return;
    }
    let kinds = [
        ("ecdsa-p256", "prime256v1"),
        ("ecdsa-p384", "secp384r1"),
        ("rsa-2048", "(2048 bit)"),
        ("rsa-3072", "(3072 bit)"),
        ("rsa-4096", "(4096 bit)"),
        ("ed25519", "ED25519"),
    ];
    // RSA key generation takes seconds; run the kinds side by side. The client uses the kind's CA with a default key.
    std::thread::scope(|scope| {
        for (kind, shown) in kinds {
            scope.spawn(move || {
                let certs = Certs::new();
                certs.ok(&["ca", "--key", kind]);
                certs.ok(&["issue", "localhost", "::1", "--key", kind]);
                certs.ok(&["client", "alice"]);
                for (pem, purpose) in [("localhost.pem", "sslserver"), ("alice.pem", "sslclient")] {
                    let verified = certs.openssl_verify("ca.pem", pem, purpose);
                    assert!(verified.is_ok(), "{kind} {pem}: {verified:?}");
                }
                for pem in ["ca.pem", "localhost.pem"] {
                    assert!(
                        certs.x509_text(pem).contains(shown),
                        "{kind}: {pem} should show {shown}"
                    );
                }
                let cert_pub =
                    openssl_ok(&["x509", "-in", &certs.file("localhost.pem"), "-noout", "-pubkey"]);
                let key_pub = openssl_ok(&["pkey", "-in", &certs.file("localhost-key.pem"), "-pubout"]);
                assert_eq!(cert_pub, key_pub, "{kind}: the key file matches the certificate");
            });
        }
    });
}

#[test]
fn pkcs12_opens_in_openssl_3_without_the_legacy_provider() {
    if !have_openssl("pkcs12_opens_in_openssl_3_without_the_legacy_provider") {
        return;
    }
    let certs = Certs::with_ca();
    let out = certs.certgen_env(
        &["issue", "localhost", "--p12"],
        &[("CERTGEN_P12_PASSWORD", "s3cret-env")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stdout).contains("s3cret-env"),
        "the password is never printed"
    );
    let p12 = certs.file("localhost.p12");
    #[cfg(unix)]
    assert_eq!(mode(&certs.path("localhost.p12")), 0o600);

    let info = run(
        "openssl",
        &[
            "pkcs12",
            "-in",
            &p12,
            "-passin",
            "pass:s3cret-env",
            "-info",
            "-nokeys",
        ],
        &[],
    );
    let info_text = format!("{}{}", text(&info.stdout), text(&info.stderr));
    assert!(info.status.success(), "{info_text}");
    assert!(
        info_text.contains("AES-256-CBC") && info_text.contains("MAC: sha256"),
        "{info_text}"
    );
    let expected: Vec<String> = ["localhost.pem", "ca.pem"]
        .iter()
        .flat_map(|f| pem_bodies(&fs::read_to_string(certs.path(f)).expect("pem")))
        .collect();
    let mut found = pem_bodies(&text(&info.stdout));
    found.sort();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(found, expected_sorted, "the p12 holds the leaf and the CA");

    let key = openssl_ok(&[
        "pkcs12",
        "-in",
        &p12,
        "-passin",
        "pass:s3cret-env",
        "-nocerts",
        "-nodes",
    ]);
    let key_file = certs.path("from-p12-key.pem");
    fs::write(&key_file, key).expect("write key");
    let p12_pub = openssl_ok(&["pkey", "-in", key_file.to_str().unwrap_or_default(), "-pubout"]);
    let key_pub = openssl_ok(&["pkey", "-in", &certs.file("localhost-key.pem"), "-pubout"]);
    assert_eq!(p12_pub, key_pub, "the p12 holds the leaf's key");

    let wrong = run(
        "openssl",
        &["pkcs12", "-in", &p12, "-passin", "pass:wrong", "-nokeys"],
        &[],
    );
    assert!(!wrong.status.success(), "a wrong password must fail");

    let chosen = certs.ok(&[
        "issue",
        "localhost",
        "--p12",
        "--out",
        "flag",
        "--p12-password",
        "from-flag",
    ]);
    assert!(
        !chosen.contains("from-flag"),
        "a chosen password is not printed: {chosen}"
    );
    openssl_ok(&[
        "pkcs12",
        "-in",
        &certs.file("flag.p12"),
        "-passin",
        "pass:from-flag",
        "-nokeys",
    ]);
    // The default password is printed, and it is the one that opens the file.
    let printed = certs.ok(&["issue", "localhost", "--p12", "--out", "default"]);
    let password = printed
        .split_once("protected by the password ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no password printed for default.p12: {printed}"));
    assert_eq!(password, "changeit");
    openssl_ok(&[
        "pkcs12",
        "-in",
        &certs.file("default.p12"),
        "-passin",
        &format!("pass:{password}"),
        "-nokeys",
    ]);
}

#[test]
fn a_leaf_openssl_signs_outside_the_constraints_is_rejected_by_openssl_and_certgen_verify() {
    if !have_openssl("a_leaf_openssl_signs_outside_the_constraints_is_rejected_by_openssl_and_certgen_verify")
    {
        return;
    }
    let certs = Certs::with_ca();
    // openssl signs with our CA key, bypassing certgen's pre-issue check; `inside` is the control.
    for (stem, san) in [("evil", "DNS:evil.example"), ("inside", "DNS:ok.localhost")] {
        let ext = certs.path(&format!("{stem}.ext"));
        fs::write(&ext, format!("subjectAltName={san}\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nauthorityKeyIdentifier=keyid\n"))
            .expect("extfile");
        let (key, csr) = (
            certs.file(&format!("{stem}-key.pem")),
            certs.file(&format!("{stem}.csr")),
        );
        openssl_csr("ec", &key, &csr, &format!("/CN={stem}"), &[]);
        openssl_sign(
            certs.tmp.path(),
            &csr,
            &ext,
            &certs.file(&format!("{stem}.pem")),
            &["-set_serial", "4242", "-sha256"],
        );
    }
    assert!(certs.openssl_verify("ca.pem", "inside.pem", "sslserver").is_ok());
    let rejected = certs.openssl_verify("ca.pem", "evil.pem", "sslserver");
    assert!(
        rejected
            .as_ref()
            .is_err_and(|e| e.contains("permitted subtree violation")),
        "{rejected:?}"
    );

    let ours = |leaf: &str| {
        run(
            CERTGEN,
            &["verify", "--ca", &certs.file("ca.pem"), &certs.file(leaf)],
            &[],
        )
    };
    assert!(
        ours("inside.pem").status.success(),
        "{}",
        text(&ours("inside.pem").stderr)
    );
    let evil = ours("evil.pem");
    assert!(!evil.status.success(), "certgen verify must reject evil.example");
    assert!(
        text(&evil.stderr).contains("evil.example"),
        "{}",
        text(&evil.stderr)
    );
}

#[test]
fn rerunning_ca_keeps_the_key_and_force_keeps_a_backup() {
    let certs = Certs::with_ca();
    let key = fs::read(certs.path("ca-key.pem")).expect("key");
    certs.refused(&["ca"], "--force");
    certs.refused(&["ca", "--key", "rsa-2048"], "--force");
    assert_eq!(
        fs::read(certs.path("ca-key.pem")).ok(),
        Some(key.clone()),
        "key kept byte for byte"
    );

    certs.ok(&["ca", "--force"]);
    assert_ne!(
        fs::read(certs.path("ca-key.pem")).ok(),
        Some(key.clone()),
        "--force makes a new CA"
    );
    let files = snapshot(certs.tmp.path());
    let backups: Vec<&String> = files.keys().filter(|name| name.contains("-backup-")).collect();
    assert_eq!(backups.len(), 3, "{:?}", files.keys());
    let key_backup = backups
        .iter()
        .find(|n| n.starts_with("ca-key-backup-"))
        .expect("key backup");
    assert_eq!(files.get(*key_backup), Some(&key), "the backup holds the old key");
    #[cfg(unix)]
    assert_eq!(mode(&certs.path(key_backup)), 0o600);
}

#[test]
fn ca_force_names_each_certificate_it_orphans_and_each_backup_and_its_commands_reissue_them() {
    if !have_openssl("ca_force_names_each_certificate_it_orphans") {
        return;
    }
    let certs = Certs::with_ca();
    certs.ok(&["issue", "localhost", "127.0.0.1", "::1"]);
    certs.ok(&["issue", "localhost", "--out", "web"]);
    certs.ok(&["client", "alice"]);
    let out = certs.ok(&["ca", "--force", "--permit", ".test"]);
    let kept: Vec<&str> = out.lines().filter(|l| l.contains("kept the old CA's")).collect();
    assert_eq!(kept.len(), 3, "one line per backup file:\n{out}");
    for line in &kept {
        let file = line.rsplit(' ').next().expect("a path");
        assert!(
            file.contains("-backup-") && PathBuf::from(file).exists(),
            "{line}"
        );
    }
    let orphaned: Vec<&str> = out.lines().filter(|l| l.contains("orphaned ")).collect();
    assert_eq!(orphaned.len(), 3, "one line per orphaned certificate:\n{out}");
    for (line, stem) in orphaned.iter().zip(["alice", "localhost", "web"]) {
        assert!(line.contains(&certs.file(&format!("{stem}.pem"))), "{line}");
        // Each line's command, run as printed, makes the certificate chain to the new CA again.
        let command = line.split('`').nth(1).expect("a command in backticks");
        let args: Vec<&str> = command.split_whitespace().skip(1).collect();
        assert_success("certgen", &args, &run(CERTGEN, &args, &[]));
        let purpose = if stem == "alice" { "sslclient" } else { "sslserver" };
        let verified = openssl_ok(&[
            "verify",
            "-x509_strict",
            "-purpose",
            purpose,
            "-CAfile",
            &certs.file("ca.pem"),
            &certs.file(&format!("{stem}.pem")),
        ]);
        assert!(verified.contains(": OK"), "{command}: {verified}");
    }
}

#[test]
fn force_replaces_the_whole_set_and_removes_stale_siblings() {
    let certs = Certs::with_ca();
    certs.ok(&["issue", "localhost", "--p12", "--out", "web"]);
    let first_key = fs::read(certs.path("web-key.pem")).expect("key");
    certs.refused(&["issue", "localhost", "--out", "web"], "--force");
    // Without --p12 the old web.p12 would hold the old key: --force removes it.
    certs.ok(&["issue", "localhost", "--out", "web", "--force"]);
    assert!(!certs.path("web.p12").exists(), "stale .p12 removed");
    assert_ne!(fs::read(certs.path("web-key.pem")).ok(), Some(first_key));
    // A signed CSR has no key here: the key file of the earlier certificate goes too.
    if !have_openssl("force_replaces_the_whole_set_and_removes_stale_siblings") {
        return;
    }
    let csr = certs.file("web.csr");
    openssl_csr("ec", &certs.file("elsewhere-key.pem"), &csr, "/CN=localhost", &[]);
    certs.ok(&["sign", "--csr", &csr, "--out", "web", "--force"]);
    assert!(!certs.path("web-key.pem").exists(), "stale key removed");
    assert!(certs.path("web.pem").exists() && certs.path("web-fullchain.pem").exists());
}

#[test]
fn refused_commands_write_nothing() {
    let certs = Certs::with_ca();
    certs.ok(&["issue", "localhost"]);
    certs.refused(
        &["issue", "evil.example"],
        "certgen ca --force --permit evil.example",
    );
    certs.refused(
        &["issue", "localhost", "192.168.1.20", "--out", "lan"],
        "--permit 192.168.1.0/24",
    );
    certs.refused(&["issue", "*.app.test"], "--permit app.test");
    certs.refused(&["issue", "999.1.1.1"], "`999.1.1.1`");
    certs.refused(&["issue", ""], "empty");
    certs.refused(&["issue", "my host"], "`my host`");
    certs.refused(&["issue", "localhost", "--days", "900", "--out", "long"], "825");
    certs.refused(
        &["issue", "localhost", "--days", "0", "--out", "zero"],
        "--days 0",
    );
    certs.refused(&["issue", "localhost"], "--force");
    certs.refused(&["issue", "localhost", "--out", "../escape"], "--out `../escape`");
    certs.refused(
        &["issue", "localhost", "--not-before", "yesterday", "--out", "nb"],
        "yesterday",
    );
    certs.refused(
        &["issue", "localhost", "--key", "rsa-1024", "--out", "weak"],
        "rsa-1024",
    );
    certs.refused(&["ca", "--permit", "192.168.1.5/24", "--force"], "192.168.1.0/24");
    certs.refused(&["sign", "--csr", &certs.file("missing.csr")], "missing.csr");
    certs.refused(&["sign", "--csr", &certs.file("localhost.pem")], "localhost.pem");

    // A CA whose key belongs to another certificate: the error names both files.
    let other = Certs::with_ca();
    fs::copy(other.path("ca-key.pem"), certs.path("ca-key.pem")).expect("swap key");
    let stderr = certs.refused(&["issue", "a.localhost"], "does not match");
    assert!(
        stderr.contains("ca-key.pem") && stderr.contains("ca.pem"),
        "{stderr}"
    );

    let short_ca = Certs::new();
    short_ca.ok(&["ca", "--days", "30"]);
    short_ca.refused(&["issue", "localhost"], "after its CA");

    let half = Certs::with_ca();
    fs::remove_file(half.path("ca-key.pem")).expect("remove key");
    half.refused(&["issue", "localhost"], "ca-key.pem: missing, but");

    let empty = Certs::new();
    empty.refused(&["issue", "localhost"], "certgen ca --dir");

    // A folder that cannot be created: one line naming it, exit 1, nothing left behind.
    let blocker = certs.path("a-file");
    fs::write(&blocker, "x").expect("file");
    let inside_a_file = blocker.join("certs");
    let out = run(
        CERTGEN,
        &["ca", "--dir", inside_a_file.to_str().unwrap_or_default()],
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&inside_a_file.display().to_string()) && stderr.lines().count() == 1,
        "{stderr}"
    );
}

#[test]
fn self_signed_certificate_is_trusted_directly() {
    if !have_openssl("self_signed_certificate_is_trusted_directly") {
        return;
    }
    let certs = Certs::new();
    certs.ok(&["self-signed", "localhost", "127.0.0.1"]);
    assert!(!certs.path("ca.pem").exists(), "no CA involved");
    let verified = certs.openssl_verify("localhost.pem", "localhost.pem", "sslserver");
    assert!(verified.is_ok(), "{verified:?}");
    let leaf = certs.x509_text("localhost.pem");
    assert!(
        leaf.contains("CA:FALSE") && leaf.contains("DNS:localhost") && leaf.contains("IP Address:127.0.0.1")
    );
    assert!(
        leaf.contains("Issuer: CN = localhost") && leaf.contains("Subject: CN = localhost"),
        "{leaf}"
    );
}

#[test]
fn sign_keeps_the_requesters_key_and_names_and_applies_the_same_rules() {
    if !have_openssl("sign_keeps_the_requesters_key_and_names_and_applies_the_same_rules") {
        return;
    }
    let certs = Certs::with_ca();
    let (key, csr) = (certs.file("api-key.pem"), certs.file("api.csr"));
    openssl_csr(
        "rsa:2048",
        &key,
        &csr,
        "/CN=ignored",
        &[
            "-addext",
            "subjectAltName=DNS:api.localhost,IP:127.0.0.3",
            "-addext",
            "keyUsage=digitalSignature",
        ],
    );
    certs.ok(&["sign", "--csr", &csr]);
    assert!(
        !certs.path("api.localhost-key.pem").exists(),
        "the key stays with the requester"
    );
    assert!(
        certs
            .openssl_verify("ca.pem", "api.localhost.pem", "sslserver")
            .is_ok()
    );
    let leaf = certs.x509_text("api.localhost.pem");
    assert!(leaf.contains("DNS:api.localhost, IP Address:127.0.0.3"), "{leaf}");
    assert!(leaf.contains("Subject: CN = api.localhost"), "{leaf}");
    let cert_pub = openssl_ok(&[
        "x509",
        "-in",
        &certs.file("api.localhost.pem"),
        "-noout",
        "-pubkey",
    ]);
    assert_eq!(cert_pub, openssl_ok(&["pkey", "-in", &key, "-pubout"]));

    // DER request with only a CN: the CN becomes the name.
    let der = certs.file("cn.der");
    openssl_csr(
        "ec",
        &certs.file("cn-key.pem"),
        &der,
        "/CN=cn.localhost",
        &["-outform", "DER"],
    );
    certs.ok(&["sign", "--csr", &der, "--client"]);
    assert!(
        certs
            .openssl_verify("ca.pem", "cn.localhost.pem", "sslclient")
            .is_ok()
    );
    assert!(certs.x509_text("cn.localhost.pem").contains("DNS:cn.localhost"));

    let evil = certs.file("evil.csr");
    openssl_csr(
        "ec",
        &certs.file("evil-key.pem"),
        &evil,
        "/CN=x",
        &["-addext", "subjectAltName=DNS:evil.example"],
    );
    certs.refused(&["sign", "--csr", &evil], "--permit evil.example");
    certs.refused(&["sign", "--csr", &csr, "--p12", "--out", "p12"], "--p12");
    certs.refused(
        &["sign", "--csr", &csr, "--key", "rsa-2048", "--out", "k"],
        "--key does not apply",
    );
}

#[test]
fn not_before_makes_backdated_and_expired_certificates() {
    if !have_openssl("not_before_makes_backdated_and_expired_certificates") {
        return;
    }
    let certs = Certs::with_ca();
    certs.ok(&[
        "issue",
        "localhost",
        "--not-before",
        "2020-01-01",
        "--days",
        "30",
        "--out",
        "expired",
    ]);
    let start = openssl_ok(&[
        "x509",
        "-in",
        &certs.file("expired.pem"),
        "-noout",
        "-startdate",
        "-enddate",
    ]);
    assert!(
        start.contains("notBefore=Jan  1 00:00:00 2020 GMT")
            && start.contains("notAfter=Jan 31 00:00:00 2020 GMT"),
        "{start}"
    );
    let verified = certs.openssl_verify("ca.pem", "expired.pem", "sslserver");
    assert!(
        verified
            .as_ref()
            .is_err_and(|e| e.contains("certificate has expired")),
        "{verified:?}"
    );

    certs.ok(&[
        "issue",
        "localhost",
        "--not-before",
        "2025-06-01T12:30:00Z",
        "--days",
        "900",
        "--allow-long",
        "--out",
        "long",
    ]);
    let dates = openssl_ok(&[
        "x509",
        "-in",
        &certs.file("long.pem"),
        "-noout",
        "-startdate",
        "-enddate",
    ]);
    assert!(
        dates.contains("notBefore=Jun  1 12:30:00 2025 GMT")
            && dates.contains("notAfter=Nov 18 12:30:00 2027 GMT"),
        "{dates}"
    );
}

#[test]
fn json_output_describes_what_was_written() {
    if !have_openssl("json_output_describes_what_was_written") {
        return;
    }
    let certs = Certs::with_ca();
    let stdout = certs.ok(&["issue", "localhost", "::1", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(
        json["cert_pem"].as_str(),
        Some(certs.file("localhost.pem").as_str())
    );
    assert_eq!(
        json["key_pem"].as_str(),
        Some(certs.file("localhost-key.pem").as_str())
    );
    assert_eq!(json["summary"]["names"], serde_json::json!(["localhost", "::1"]));
    let fingerprint = openssl_ok(&[
        "x509",
        "-in",
        &certs.file("localhost.pem"),
        "-noout",
        "-fingerprint",
        "-sha256",
    ]);
    let expected = fingerprint.trim().rsplit('=').next().unwrap_or_default();
    assert_eq!(json["summary"]["sha256"].as_str(), Some(expected));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["issue"][..],
        &["ca", "--no-such-flag"],
        &["ca", "--permit", "a.test", "--unconstrained"],
        &[],
    ] {
        let out = run(CERTGEN, args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
    }
}

#[test]
fn a_bad_flag_value_is_one_line_naming_it_and_the_help_to_read_with_exit_2() {
    let certs = Certs::with_ca();
    let cases: [(&[&str], &str); 3] = [
        (
            &["issue", "localhost", "--days", "x"],
            "certgen: error: invalid value 'x' for '--days <DAYS>': expected a whole number (see 'certgen issue --help')",
        ),
        (
            &["issue", "localhost", "--forc"],
            "certgen: error: unexpected argument '--forc' found; tip: a similar argument exists: '--force' (see 'certgen issue --help')",
        ),
        (
            &["isue", "localhost"],
            "certgen: error: unrecognized subcommand 'isue'; tip: some similar subcommands exist: 'inspect', 'issue' (see 'certgen --help')",
        ),
    ];
    for (args, expected) in cases {
        let before = snapshot(certs.tmp.path());
        let out = certs.certgen(args);
        assert_eq!(out.status.code(), Some(2), "certgen {args:?}");
        assert_eq!(text(&out.stderr), format!("{expected}\n"), "certgen {args:?}");
        assert_eq!(
            snapshot(certs.tmp.path()),
            before,
            "certgen {args:?} changed the folder"
        );
    }
    for args in [&["issue", "--help"][..], &["--help"], &["--version"]] {
        let out = run(CERTGEN, args, &[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "certgen {args:?}: {}",
            text(&out.stderr)
        );
        assert!(!text(&out.stdout).is_empty(), "certgen {args:?} prints");
    }
}

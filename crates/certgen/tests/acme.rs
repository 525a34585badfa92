//! `certgen acme` against pebble (Let's Encrypt's test CA) on loopback with real validation: DNS names by http-01
//! and tls-alpn-01, 127.0.0.1 and ::1 as IP identifiers, a wildcard by dns-01 through `--dns-hook` driving
//! pebble-challtestsrv, renewal, and every refusal and failure as one line that leaves the folder as it was. Each
//! certificate is checked by `openssl verify` against pebble's root and by a Python `websockets` client that trusts
//! only that root. Pebble keeps rejecting 5% of nonces, so every run also exercises the badNonce retry; one test
//! raises that to 50%.

#[allow(dead_code)]
mod common;
#[path = "common/pebble.rs"]
mod pebble;

use std::path::Path;
use std::process::Output;

use common::{CERTGEN, path_str, run, snapshot, text};
use pebble::{Pebble, free_port};

/// Are pebble, openssl and curl there? Otherwise a skip line (a failure in CI).
fn pebble_usable(test: &str) -> bool {
    common::can_run(
        pebble::installed(),
        test,
        "pebble not found",
        "apt-get install pebble",
    ) && common::have_openssl(test)
        && common::have("curl", "--version", test)
}

/// Pebble and the responder ports it validates on, or `None` after a skip line.
fn start_pebble(test: &str) -> Option<(Pebble, u16, u16)> {
    if !pebble_usable(test) {
        return None;
    }
    let (http_port, tls_port) = (free_port(), free_port());
    Some((Pebble::start(http_port, tls_port), http_port, tls_port))
}

/// `certgen acme ARGS` against `pebble`, answering on the ports it validates.
fn acme(pebble: &Pebble, ports: (u16, u16), dir: &Path, args: &[&str]) -> Output {
    let (http, tls) = (ports.0.to_string(), ports.1.to_string());
    let mut all = vec!["acme"];
    all.extend(args);
    all.extend([
        "--directory",
        &pebble.directory_url,
        "--acme-ca",
        path_str(&pebble.tls_ca),
        "--agree-tos",
        "--http-port",
        &http,
        "--tls-port",
        &tls,
        "--dir",
        path_str(dir),
    ]);
    run(CERTGEN, &all, &[])
}

#[track_caller]
fn assert_obtained(out: &Output, pebble: &Pebble) {
    assert!(
        out.status.success(),
        "certgen acme failed: {}\npebble's log:\n{}",
        text(&out.stderr),
        pebble.log()
    );
}

/// The certificate `STEM` verifies with openssl against pebble's root for `name`, and a Python websockets client
/// trusting only that root accepts it for `name` on `ip`.
fn assert_trusted(pebble: &Pebble, dir: &Path, stem: &str, name: &str, ip: &str) {
    let cert = dir.join(format!("{stem}.pem"));
    let chain = dir.join(format!("{stem}-fullchain.pem"));
    let check = if name.parse::<std::net::IpAddr>().is_ok() {
        "-verify_ip"
    } else {
        "-verify_hostname"
    };
    let verified = common::openssl_ok(&[
        "verify",
        "-CAfile",
        path_str(&pebble.root),
        "-untrusted",
        path_str(&chain),
        check,
        name,
        path_str(&cert),
    ]);
    assert!(verified.contains(": OK"), "openssl verify: {verified}");
    let Some(python) = python_websockets(name) else {
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/wss_roundtrip.py");
    let key = dir.join(format!("{stem}-key.pem"));
    let out = run(
        &python,
        &[
            path_str(&script),
            path_str(&chain),
            path_str(&key),
            path_str(&pebble.root),
            name,
            ip,
        ],
        &[],
    );
    assert!(
        text(&out.stdout).contains("echo ok"),
        "Python websockets refused the ACME certificate for {name}: {}",
        text(&out.stderr)
    );
}

/// The Python with `websockets`, or `None` after a skip line.
fn python_websockets(test: &str) -> Option<String> {
    let python = std::env::var("LOCALTLS_PYTHON").unwrap_or_else(|_| "python3".into());
    let imports = std::process::Command::new(&python)
        .args(["-c", "import websockets"])
        .status()
        .is_ok_and(|s| s.success());
    common::can_run(
        imports,
        test,
        "Python cannot import websockets",
        "set LOCALTLS_PYTHON (cargo xtask test)",
    )
    .then_some(python)
}

fn serial(path: &Path) -> String {
    common::openssl_ok(&["x509", "-noout", "-serial", "-in", path_str(path)])
}

#[test]
fn dns_names_by_http01_and_tls_alpn01_then_renewal() {
    let Some((pebble, http, tls)) = start_pebble("dns_names_by_http01_and_tls_alpn01_then_renewal") else {
        return;
    };
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    let out = acme(&pebble, (http, tls), dir, &["app.example.com"]);
    assert_obtained(&out, &pebble);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Obtained app.example.com from 127.0.0.1"),
        "{stdout}"
    );
    assert!(stdout.contains("renews"), "{stdout}");
    assert_trusted(&pebble, dir, "app.example.com", "app.example.com", "127.0.0.1");
    assert_eq!(common::mode(&dir.join("app.example.com-key.pem")), 0o600);
    let account = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("acme-account-"))
        .expect("the account is stored");
    assert_eq!(common::mode(&account.path()), 0o600);

    let out = acme(
        &pebble,
        (http, tls),
        dir,
        &["tls.example.com", "--challenge", "tls-alpn-01"],
    );
    assert_obtained(&out, &pebble);
    assert_trusted(&pebble, dir, "tls.example.com", "tls.example.com", "127.0.0.1");

    let renew = |extra: &[&str]| {
        let mut args = vec!["acme", "renew", "--dir", path_str(dir)];
        args.extend(extra);
        run(CERTGEN, &args, &[])
    };
    let out = renew(&[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("Kept app.example.com: not due until"),
        "{}",
        text(&out.stdout)
    );
    let before = serial(&dir.join("app.example.com.pem"));
    let out = renew(&["--force"]);
    assert!(
        out.status.success(),
        "renew --force: {}\n{}",
        text(&out.stderr),
        pebble.log()
    );
    assert!(
        text(&out.stdout).contains("Renewed app.example.com"),
        "{}",
        text(&out.stdout)
    );
    assert_ne!(
        serial(&dir.join("app.example.com.pem")),
        before,
        "renewal must bring a new certificate"
    );
    assert_trusted(&pebble, dir, "app.example.com", "app.example.com", "127.0.0.1");
}

#[test]
fn ip_addresses_127_0_0_1_and_v6_loopback() {
    let Some((pebble, http, tls)) = start_pebble("ip_addresses_127_0_0_1_and_v6_loopback") else {
        return;
    };
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    let out = acme(
        &pebble,
        (http, tls),
        dir,
        &["127.0.0.1", "--challenge", "tls-alpn-01"],
    );
    assert_obtained(&out, &pebble);
    assert_trusted(&pebble, dir, "127.0.0.1", "127.0.0.1", "127.0.0.1");
    let out = acme(&pebble, (http, tls), dir, &["::1", "--out", "v6"]);
    assert_obtained(&out, &pebble);
    assert_trusted(&pebble, dir, "v6", "::1", "::1");
}

#[test]
fn wildcard_by_dns01_through_the_hook() {
    let Some((pebble, http, tls)) = start_pebble("wildcard_by_dns01_through_the_hook") else {
        return;
    };
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    let hook = pebble.dns_hook();
    let out = acme(
        &pebble,
        (http, tls),
        dir,
        &[
            "*.wild.example.com",
            "--challenge",
            "dns-01",
            "--dns-hook",
            path_str(&hook),
        ],
    );
    assert_obtained(&out, &pebble);
    assert!(
        text(&out.stderr).is_empty(),
        "clearing the record warned: {}",
        text(&out.stderr)
    );
    assert_trusted(
        &pebble,
        dir,
        "_wildcard.wild.example.com",
        "x.wild.example.com",
        "127.0.0.1",
    );
}

/// A CA that requires external account binding refuses an account without it (the CA's problem, one line, no
/// file) and accepts one bound with `--eab-kid` and `--eab-hmac-key`.
#[test]
fn external_account_binding() {
    let test = "external_account_binding";
    let usable = common::can_run(
        pebble::installed(),
        test,
        "pebble not found",
        "apt-get install pebble",
    ) && common::have_openssl(test)
        && common::have("curl", "--version", test);
    if !usable {
        return;
    }
    let (http, tls) = (free_port(), free_port());
    let key = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
    let pebble = Pebble::start_requiring_eab(http, tls, "kid-1", key);
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path().join("certs");
    let out = acme(&pebble, (http, tls), &dir, &["eab.example.com"]);
    assert_one_line_failure(&out, &["ACME account creation failed", "externalAccountRequired"]);
    assert!(!dir.join("eab.example.com.pem").exists());
    let out = acme(
        &pebble,
        (http, tls),
        &dir,
        &["eab.example.com", "--eab-kid", "kid-1", "--eab-hmac-key", key],
    );
    assert_obtained(&out, &pebble);
    assert_trusted(&pebble, &dir, "eab.example.com", "eab.example.com", "127.0.0.1");
}

/// The `letsencrypt` preset refuses names no public CA signs before any socket is opened (strace proves it), and
/// writes nothing (the folder is not even created).
#[test]
fn public_ca_refusals_send_nothing_and_write_nothing() {
    let test = "public_ca_refusals_send_nothing_and_write_nothing";
    if !common::have("strace", "-V", test) {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    for name in ["127.0.0.1", "192.168.1.2", "localhost"] {
        let dir = scratch.path().join("certs");
        let trace = scratch.path().join("trace");
        let out = run(
            "strace",
            &[
                "-f",
                "-qq",
                "-e",
                "trace=socket,connect",
                "-o",
                path_str(&trace),
                CERTGEN,
                "acme",
                name,
                "--directory",
                "letsencrypt",
                "--agree-tos",
                "--dir",
                path_str(&dir),
            ],
            &[],
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.contains(&format!("`{name}`"))
                && stderr.contains("no public CA (letsencrypt) will sign it"),
            "{stderr}"
        );
        assert!(
            stderr.contains("certgen issue"),
            "points at the local CA: {stderr}"
        );
        let calls = std::fs::read_to_string(&trace).unwrap();
        assert!(
            !calls.contains("AF_INET"),
            "{name}: certgen opened a network socket:\n{calls}"
        );
        assert!(!dir.exists(), "{name}: the refusal created {}", dir.display());
    }
}

/// An unreachable directory, a challenge the CA cannot validate, a responder port in use and a profile the
/// directory lacks: each one line naming the cause, exit 1, and the folder (with its account and an earlier
/// certificate) byte for byte as it was.
#[test]
fn failures_are_one_line_and_leave_the_folder_as_it_was() {
    let Some((pebble, http, tls)) = start_pebble("failures_are_one_line_and_leave_the_folder_as_it_was")
    else {
        return;
    };
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    assert_obtained(&acme(&pebble, (http, tls), dir, &["first.example.com"]), &pebble);
    let before = snapshot(dir);

    let closed = free_port().to_string();
    let unreachable = format!("https://127.0.0.1:{closed}/dir");
    let out = run(
        CERTGEN,
        &[
            "acme",
            "b.example.com",
            "--directory",
            &unreachable,
            "--agree-tos",
            "--http-port",
            &closed,
            "--dir",
            path_str(dir),
        ],
        &[],
    );
    assert_one_line_failure(&out, &["cannot reach the ACME directory", &unreachable]);

    // Pebble checks port `http`; the responder listens elsewhere, as when port 80 is not forwarded.
    let elsewhere = (free_port(), tls);
    let out = acme(&pebble, elsewhere, dir, &["b.example.com"]);
    assert_one_line_failure(
        &out,
        &[
            "the CA could not validate http-01 for b.example.com",
            "urn:ietf:params:acme:error:",
        ],
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    let out = acme(&pebble, (taken_port, tls), dir, &["b.example.com"]);
    assert_one_line_failure(
        &out,
        &[&format!("cannot listen on port {taken_port} for http-01")],
    );
    drop(taken);

    let out = acme(
        &pebble,
        (http, tls),
        dir,
        &["b.example.com", "--profile", "shortlived"],
    );
    assert_one_line_failure(&out, &["offers no profile `shortlived` (it offers: none)"]);

    assert_eq!(snapshot(dir), before, "a failed order changed the folder");
}

#[track_caller]
fn assert_one_line_failure(out: &Output, needles: &[&str]) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "`{needle}` missing from: {stderr}");
    }
}

/// With pebble rejecting half the good nonces, instant-acme's three tries per request are not enough for an order
/// of about ten requests (orders failed before certgen resent requests): certgen resends each request rejected for
/// its nonce, and runs the order again whole when an authorization fetch is rejected. All ten orders must succeed,
/// and pebble's log must show rejected `newOrder` requests (more of them sent than orders added), which proves
/// pebble 2.4 read `PEBBLE_WFE_NONCEREJECT`.
#[test]
fn orders_succeed_when_half_the_nonces_are_rejected() {
    let test = "orders_succeed_when_half_the_nonces_are_rejected";
    if !pebble_usable(test) {
        return;
    }
    let (http, tls) = (free_port(), free_port());
    let pebble = Pebble::start_rejecting_nonces(http, tls, 50);
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    for i in 0..10 {
        let out = acme(&pebble, (http, tls), dir, &[&format!("n{i}.example.com")]);
        assert_obtained(&out, &pebble);
    }
    let log = pebble.log();
    let sent = log.matches("POST /order-plz ").count();
    let added = log.matches("Added order").count();
    let issued = log.matches("Issued certificate").count();
    assert_eq!(issued, 10, "{log}");
    assert!(
        sent > added && added >= issued,
        "pebble rejected no newOrder nonce ({sent} sent, {added} added): is PEBBLE_WFE_NONCEREJECT read?"
    );
}

/// A certificate from one CA, then the same name asked of another (staging, then production): without `--force`
/// the refusal names both CAs (exit 2, one line, nothing written); with it the certificate is re-ordered from the
/// new CA (new serial and issuer, verifies under the new root only) and the record names the new directory.
#[test]
fn another_directory_for_a_stored_certificate() {
    let Some((first, http, tls)) = start_pebble("another_directory_for_a_stored_certificate") else {
        return;
    };
    let second = Pebble::start(http, tls);
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    assert_obtained(&acme(&first, (http, tls), dir, &["switch.example.com"]), &first);
    let cert = dir.join("switch.example.com.pem");
    let (serial_before, issuer_before) = (serial(&cert), issuer(&cert));
    let before = snapshot(dir);

    let out = acme(&second, (http, tls), dir, &["switch.example.com"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    let names_both = format!(
        "is from CA {}, not {}: use --force",
        first.directory_url, second.directory_url
    );
    assert!(stderr.contains(&names_both), "{stderr}");
    assert_eq!(snapshot(dir), before, "the refusal changed the folder");

    let out = acme(&second, (http, tls), dir, &["switch.example.com", "--force"]);
    assert_obtained(&out, &second);
    assert_ne!(serial(&cert), serial_before);
    assert_ne!(issuer(&cert), issuer_before);
    assert_trusted(
        &second,
        dir,
        "switch.example.com",
        "switch.example.com",
        "127.0.0.1",
    );
    let under_first_root = run(
        "openssl",
        &[
            "verify",
            "-CAfile",
            path_str(&first.root),
            "-untrusted",
            path_str(&dir.join("switch.example.com-fullchain.pem")),
            path_str(&cert),
        ],
        &[],
    );
    assert!(
        !under_first_root.status.success(),
        "the new certificate verifies under the old CA's root"
    );
    let record = std::fs::read_to_string(dir.join("switch.example.com.acme.json")).unwrap();
    assert!(record.contains(&second.directory_url), "{record}");
}

fn issuer(path: &Path) -> String {
    common::openssl_ok(&["x509", "-noout", "-issuer", "-in", path_str(path)])
}

/// A directory where the account file belongs is named as one (not as a key with mode 0755): one line, exit 2,
/// before any request.
#[test]
fn an_account_path_that_is_a_directory() {
    let folder = tempfile::tempdir().unwrap();
    let port = free_port();
    let account = folder.path().join(format!("acme-account-127.0.0.1_{port}.json"));
    std::fs::create_dir(&account).unwrap();
    let out = run(
        CERTGEN,
        &[
            "acme",
            "a.example.com",
            "--directory",
            &format!("https://127.0.0.1:{port}/dir"),
            "--dir",
            path_str(folder.path()),
        ],
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim(),
        format!(
            "certgen: error: {}: is a directory, not a file",
            account.display()
        )
    );
}

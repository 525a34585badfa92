//! `certgen doctor URL` and `certgen inspect https://` against real TLS servers on loopback: each broken
//! certificate of `certgen broken` is served in turn and must get its documented diagnosis (the first failing
//! check, in browser order) and exit 1; the good one exits 0 once the browsers' NSS databases trust the CA, and 1
//! before. `inspect https://` must show the chain `openssl s_client -showcerts` sees.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[allow(dead_code)]
mod common;

use common::https::HttpsServer;
use common::{CERTGEN, assert_success, have_openssl, path_str, starts, text};
use rustls_pki_types::pem::PemObject;

/// A temporary HOME with a Firefox profile and a certs folder holding a CA and `certgen broken`'s set; the system
/// bundle is a throw-away file holding one unrelated "public" root.
struct World {
    tmp: tempfile::TempDir,
}

impl World {
    /// `None` (the test is skipped, or fails under LOCALTLS_REQUIRE_PEERS=1) without certutil, which makes the
    /// Firefox profile.
    fn new() -> Option<World> {
        if !starts("certutil", "-H", "certgen doctor") {
            return None;
        }
        let world = World {
            tmp: tempfile::tempdir().expect("temp dir"),
        };
        let profile = world
            .home()
            .join(".config/mozilla/firefox/x1y2z3.default-release");
        std::fs::create_dir_all(&profile).expect("Firefox profile folder");
        std::fs::write(
            world.home().join(".config/mozilla/firefox/profiles.ini"),
            "[Profile0]\nName=default-release\nIsRelative=1\nPath=x1y2z3.default-release\nDefault=1\n",
        )
        .expect("profiles.ini");
        let made = Command::new("certutil")
            .args(["-N", "--empty-password", "-d"])
            .arg(format!("sql:{}", profile.display()))
            .output()
            .expect("certutil -N");
        assert!(made.status.success(), "{}", text(&made.stderr));
        assert_success(
            CERTGEN,
            &["ca"],
            &world.certgen(&["ca", "--cn", "doctor test CA"]),
        );
        assert_success(CERTGEN, &["broken"], &world.certgen(&["broken"]));
        let public = world.tmp.path().join("public");
        let public_ca = world.certgen(&["ca", "--cn", "Simulated Public Root", "--dir", path_str(&public)]);
        assert_success(CERTGEN, &["ca"], &public_ca);
        let public_leaf = world.certgen(&["issue", "localhost", "--dir", path_str(&public)]);
        assert_success(CERTGEN, &["issue"], &public_leaf);
        Some(world)
    }

    fn home(&self) -> PathBuf {
        self.tmp.path().join("home")
    }

    fn certs(&self) -> PathBuf {
        self.tmp.path().join("certs")
    }

    fn public(&self) -> PathBuf {
        self.tmp.path().join("public")
    }

    /// `certgen ARGS` as this world's user, with `--dir certs` unless ARGS name another.
    fn certgen(&self, args: &[&str]) -> Output {
        let mut all = args.to_vec();
        let certs = self.certs();
        if !args.contains(&"--dir") {
            all.extend(["--dir", path_str(&certs)]);
        }
        self.certgen_exactly(&all)
    }

    /// `certgen ARGS` as this world's user: its HOME and throw-away system bundle, nothing from outside; certgen
    /// is on its PATH, so the fixes it prints start with `certgen`.
    fn certgen_exactly(&self, args: &[&str]) -> Output {
        std::fs::create_dir_all(self.home()).expect("HOME");
        let bin = Path::new(CERTGEN).parent().expect("the binary's folder");
        let path = std::env::join_paths(std::iter::once(bin.to_path_buf()).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )))
        .expect("PATH");
        Command::new(CERTGEN)
            .args(args)
            .env("PATH", path)
            .env("HOME", self.home())
            .env("CERTGEN_SYSTEM_CA_BUNDLE", self.public().join("ca.pem"))
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("JAVA_HOME")
            .env_remove("SUDO_UID")
            .env_remove("CERTGEN_DIR")
            .output()
            .expect("run certgen")
    }

    /// Serves the fixture `name` of `certs/broken` (its full chain, as a server presents it).
    fn serve_fixture(&self, name: &str) -> HttpsServer {
        let broken = self.certs().join("broken");
        HttpsServer::start(
            &broken.join(format!("{name}-fullchain.pem")),
            &broken.join(format!("{name}-key.pem")),
            name,
        )
    }

    fn doctor(&self, server: &HttpsServer, json: bool) -> Output {
        let url = format!("https://localhost:{}/", server.port());
        let mut args = vec!["doctor", url.as_str()];
        if json {
            args.push("--json");
        }
        self.certgen(&args)
    }
}

/// Each fixture, the check a browser would fail first, and words its diagnosis and its fix must contain.
const DIAGNOSES: &[(&str, &str, &str, &str)] = &[
    (
        "expired",
        "validity",
        "expired: CN=localhost is expired 30 days ago",
        "certgen issue localhost",
    ),
    (
        "not-yet-valid",
        "validity",
        "not yet valid: CN=localhost",
        "check this machine's clock",
    ),
    (
        "wrong-host",
        "name",
        "not valid for localhost; it has only DNS:wrong-host.localhost",
        "certgen issue localhost wrong-host.localhost --force",
    ),
    (
        "self-signed",
        "trusted-issuer",
        "is self-signed and no trust store here holds it",
        "certgen issue",
    ),
    (
        "untrusted-root",
        "trusted-issuer",
        "the chain ends at the root",
        "certgen trust install --ca",
    ),
    (
        "no-server-auth",
        "san-and-eku",
        "without serverAuth",
        "certgen issue localhost",
    ),
    (
        "outside-constraints",
        "name-constraints",
        "bank.example",
        "certgen ca --force",
    ),
    (
        "incomplete-chain",
        "trusted-issuer",
        "did not send the intermediate CA",
        "serve the full chain",
    ),
];

fn checks(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor --json printed no JSON ({e}): {}", text(&out.stdout)))
}

fn first_failure(json: &serde_json::Value) -> (String, String, String) {
    let failed = json["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["status"] == "FAIL")
        .expect("a failed check");
    let field = |k: &str| failed[k].as_str().unwrap_or_default().to_owned();
    (field("rule"), field("detail"), field("fix"))
}

#[test]
fn doctor_explains_every_broken_fixture_and_accepts_the_good_one_once_trusted() {
    let Some(world) = World::new() else { return };
    let good = world.serve_fixture("good");

    // Before `trust install`, the browsers' databases lack the CA: unknown issuer, and the fix says so.
    let untrusted = world.doctor(&good, true);
    assert_eq!(untrusted.status.code(), Some(1), "{}", text(&untrusted.stderr));
    let (check, detail, fix) = first_failure(&checks(&untrusted));
    assert_eq!(check, "trusted-issuer", "{detail}");
    assert!(
        detail.contains("does not trust") || detail.contains("do not trust"),
        "{detail}"
    );
    assert!(
        detail.contains("x1y2z3.default-release") && detail.contains("nssdb"),
        "{detail}"
    );
    assert!(fix.contains("certgen trust install"), "{fix}");

    assert_success(
        CERTGEN,
        &["trust", "install"],
        &world.certgen(&["trust", "install"]),
    );
    let trusted = world.doctor(&good, false);
    let report = text(&trusted.stdout);
    assert_eq!(
        trusted.status.code(),
        Some(0),
        "{report}{}",
        text(&trusted.stderr)
    );
    assert!(
        report.contains("a browser on this machine would accept"),
        "{report}"
    );
    assert!(!report.contains("FAIL"), "{report}");
    // A wss:// URL (with a path) is the same TLS server.
    let wss = world.certgen(&["doctor", &format!("wss://localhost:{}/echo", good.port())]);
    assert_eq!(
        wss.status.code(),
        Some(0),
        "{}{}",
        text(&wss.stdout),
        text(&wss.stderr)
    );

    for (name, expected_check, expected_detail, expected_fix) in DIAGNOSES {
        let server = world.serve_fixture(name);
        let out = world.doctor(&server, true);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        let json = checks(&out);
        assert_eq!(json["accepted"], false, "{name}");
        let (check, detail, fix) = first_failure(&json);
        assert_eq!(&check, expected_check, "{name}: {detail}");
        assert!(detail.contains(expected_detail), "{name}: {detail}");
        assert!(fix.contains(expected_fix), "{name}: {fix}");
        // The text form says the same, with the fix under it, and the error line names the failed checks.
        let plain = world.doctor(&server, false);
        let report = text(&plain.stdout);
        assert!(
            report.contains(&format!("FAIL {expected_check}")) && report.contains("fix: "),
            "{name}: {report}"
        );
        assert!(text(&plain.stderr).contains(&format!(
            "a browser would reject https://localhost:{}/",
            server.port()
        )));
    }

    // The incomplete chain is also named as such, further down, with the file holding the missing intermediate.
    let incomplete = world.serve_fixture("incomplete-chain");
    let json = checks(&world.doctor(&incomplete, true));
    let chain = json["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["rule"] == "complete-chain")
        .expect("complete-chain check");
    assert_eq!(chain["status"], "FAIL");
    assert!(
        chain["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("incomplete-chain-intermediate.pem"),
        "{chain}"
    );
}

#[test]
fn a_site_whose_root_is_in_the_system_bundle_is_accepted_without_our_ca() {
    let Some(world) = World::new() else { return };
    let public = HttpsServer::start(
        &world.public().join("localhost-fullchain.pem"),
        &world.public().join("localhost-key.pem"),
        "public",
    );
    let out = world.doctor(&public, false);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{report}{}", text(&out.stderr));
    assert!(
        report.contains("a public root in") && report.contains("public/ca.pem"),
        "{report}"
    );
}

#[test]
fn doctor_errors_name_the_url_or_the_server() {
    let Some(world) = World::new() else { return };
    let bad = world.certgen(&["doctor", "http://localhost:8080/"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("invalid URL `http://localhost:8080/`: use https://"),
        "{}",
        text(&bad.stderr)
    );
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let down = world.certgen(&["doctor", &format!("https://127.0.0.1:{port}")]);
    assert_eq!(down.status.code(), Some(1));
    let err = text(&down.stderr);
    assert!(
        err.contains(&format!("127.0.0.1:{port}")) && err.contains("is the server running?"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn inspect_https_shows_the_chain_openssl_s_client_sees() {
    if !have_openssl("certgen inspect https://") {
        return;
    }
    let Some(world) = World::new() else { return };
    // The untrusted-root fixture sends two certificates, and inspect shows them whatever their validity.
    let server = world.serve_fixture("untrusted-root");
    let url = format!("https://localhost:{}", server.port());
    let out = world.certgen_exactly(&["inspect", &url, "--json"]);
    assert_success(CERTGEN, &["inspect", &url], &out);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let ours: Vec<String> = shown
        .as_array()
        .expect("array")
        .iter()
        .map(|d| d["sha256_fingerprint"].as_str().unwrap_or_default().to_owned())
        .collect();

    let s_client = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{}", server.port())])
        .args(["-servername", "localhost", "-showcerts"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl s_client");
    let pems = text(&s_client.stdout);
    let theirs: Vec<String> = rustls_pki_types::CertificateDer::pem_slice_iter(pems.as_bytes())
        .map(|der| fingerprint(&der.expect("PEM from s_client")))
        .collect();
    assert_eq!(ours.len(), 2, "{}", text(&out.stdout));
    assert_eq!(ours, theirs);

    let plain = world.certgen_exactly(&["inspect", &url]);
    let report = text(&plain.stdout);
    assert!(report.contains("sent 2 certificate(s) over TLSv1_3"), "{report}");
    assert!(
        report.contains(&format!("{url} #2: certificate")) && report.contains("CA:TRUE"),
        "{report}"
    );
}

/// SHA-256 of a DER certificate as `inspect` prints it (`AB:CD:...`), by openssl.
fn fingerprint(der: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let file: &Path = &dir.path().join("cert.der");
    std::fs::write(file, der).expect("write");
    let out = common::openssl_ok(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        path_str(file),
        "-noout",
        "-fingerprint",
        "-sha256",
    ]);
    out.trim().rsplit('=').next().unwrap_or_default().to_owned()
}

/// `openssl s_server` on a free loopback port, killed when dropped: it serves keys rustls refuses to load.
struct OpensslServer {
    _child: testkit::KillOnDrop,
    port: u16,
}

impl OpensslServer {
    fn start(cert: &Path, key: &Path) -> OpensslServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let child = Command::new("openssl")
            .args([
                "s_server",
                "-quiet",
                "-www",
                "-accept",
                &format!("127.0.0.1:{port}"),
            ])
            .args(["-cert", path_str(cert), "-key", path_str(key)])
            // Debian's default security level 2 refuses the weak key this server exists to serve.
            .args(["-cipher", "DEFAULT:@SECLEVEL=0"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start openssl s_server");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "openssl s_server did not listen on {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        OpensslServer {
            _child: testkit::KillOnDrop(child),
            port,
        }
    }
}

#[test]
fn a_weak_rsa_key_is_reported_though_its_handshake_signature_cannot_be_checked() {
    if !have_openssl("certgen doctor weak key") {
        return;
    }
    let Some(world) = World::new() else { return };
    assert_success(
        CERTGEN,
        &["trust", "install"],
        &world.certgen(&["trust", "install"]),
    );
    // Our own fixture (`certgen broken` has no weak key, and certgen refuses to make one): RSA 1024, signed by
    // the CA the way openssl signs, otherwise as certgen would make it.
    let dir = world.tmp.path();
    let (key, csr, cert, ext) = (
        dir.join("weak-key.pem"),
        dir.join("weak.csr"),
        dir.join("weak.pem"),
        dir.join("weak.ext"),
    );
    common::openssl_csr("rsa:1024", path_str(&key), path_str(&csr), "/CN=localhost", &[]);
    std::fs::write(
        &ext,
        "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    )
    .expect("extfile");
    common::openssl_sign(
        &world.certs(),
        path_str(&csr),
        &ext,
        path_str(&cert),
        &["-sha256"],
    );
    let server = OpensslServer::start(&cert, &key);
    let out = world.certgen(&["doctor", &format!("https://localhost:{}/", server.port), "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let (check, detail, fix) = first_failure(&checks(&out));
    assert_eq!(check, "weak-key", "{detail}");
    assert!(detail.contains("RSA 1024 bits"), "{detail}");
    assert!(
        fix.contains("certgen issue localhost --force") && fix.contains("--key ecdsa-p256"),
        "{fix}"
    );
}

//! `certgen trust env` against the real clients: with only the variables it prints (evaluated by `sh`), Python
//! `requests` (with certifi, as users install it), Python `ssl`, Node `https`, curl, git, a Go program (`net/http`)
//! and a Rust program (rustls with rustls-native-certs: this test binary, run again as [`rust_native_certs_get`])
//! each reach a server whose certificate our CA signed, and a "public" site on loopback whose root is only in a
//! throw-away system bundle (`CERTGEN_SYSTEM_CA_BUNDLE`), which proves the variables keep the system's roots
//! instead of replacing them with our CA. Deno (npm's `deno` package, found next to the Node peers) reaches our
//! server; it adds `DENO_CERT` (and `NODE_EXTRA_CA_CERTS`) to roots compiled into it, which no throw-away bundle
//! can stand in for.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[allow(dead_code)]
mod common;

use common::https::{GIT_REF, HttpsServer};
use common::{CERTGEN, assert_success, can_run, certgen, path_str, text};

/// Variables a developer's shell may already have, which would hide what `trust env` sets.
const CLIENT_TRUST_VARS: [&str; 8] = [
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "GIT_SSL_CAINFO",
    "NODE_EXTRA_CA_CERTS",
    "NODE_OPTIONS",
    "DENO_CERT",
];

/// Our CA and a localhost leaf it signed, plus a second, unrelated CA standing in for a public root, each serving
/// its leaf on loopback; the public root is the whole of the throw-away system bundle.
struct Sites {
    tmp: tempfile::TempDir,
    ours: HttpsServer,
    public: HttpsServer,
}

impl Sites {
    fn start() -> Sites {
        let tmp = tempfile::tempdir().expect("temp dir");
        let (ours, public) = (tmp.path().join("certs"), tmp.path().join("public"));
        for dir in [&ours, &public] {
            assert_success(
                CERTGEN,
                &["ca"],
                &certgen(dir, &["ca", "--cn", "env test CA"], &[]),
            );
            let issued = certgen(dir, &["issue", "localhost", "127.0.0.1"], &[]);
            assert_success(CERTGEN, &["issue"], &issued);
        }
        let serve = |dir: &Path, name| {
            HttpsServer::start(
                &dir.join("localhost-fullchain.pem"),
                &dir.join("localhost-key.pem"),
                name,
            )
        };
        Sites {
            ours: serve(&ours, "ours"),
            public: serve(&public, "public"),
            tmp,
        }
    }

    fn certs(&self) -> PathBuf {
        self.tmp.path().join("certs")
    }

    fn system_bundle(&self) -> PathBuf {
        self.tmp.path().join("public/ca.pem")
    }

    /// `certgen trust env ARGS --dir CERTS` with the throw-away system bundle.
    fn trust_env(&self, args: &[&str]) -> Output {
        let mut all = vec!["trust", "env"];
        all.extend(args);
        let bundle = self.system_bundle();
        certgen(
            &self.certs(),
            &all,
            &[("CERTGEN_SYSTEM_CA_BUNDLE", path_str(&bundle))],
        )
    }

    fn urls(&self) -> [(&'static str, String); 2] {
        [
            ("ours", format!("https://localhost:{}/", self.ours.port())),
            ("public", format!("https://localhost:{}/", self.public.port())),
        ]
    }

    /// `program ARGS` run by `sh` after `eval "$(certgen trust env)"`, with none of the trust variables inherited;
    /// `eval_env` false runs it without them, as the control.
    fn client(&self, eval_env: bool, program: &str, args: &[&str]) -> Output {
        let setup = if eval_env {
            format!(
                "eval \"$('{CERTGEN}' trust env --dir '{}')\" && ",
                path_str(&self.certs())
            )
        } else {
            String::new()
        };
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("{setup}exec \"$@\""))
            .arg("sh")
            .arg(program)
            .args(args)
            .env("CERTGEN_SYSTEM_CA_BUNDLE", self.system_bundle())
            .env("HOME", self.tmp.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env_remove("CERTGEN_DIR");
        for var in CLIENT_TRUST_VARS {
            cmd.env_remove(var);
        }
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(
            !text(&out.stderr).contains("certgen: error"),
            "trust env failed: {}",
            text(&out.stderr)
        );
        out
    }
}

const PY_REQUESTS: &str = "import sys, requests, certifi\n\
    r = requests.get(sys.argv[1], timeout=10)\n\
    print(r.text.strip(), 'certifi', certifi.__version__)";
const PY_SSL: &str = "import socket, ssl, sys\n\
    host, port = sys.argv[1], int(sys.argv[2])\n\
    ctx = ssl.create_default_context()\n\
    with ctx.wrap_socket(socket.create_connection((host, port), timeout=10), server_hostname=host) as s:\n\
    \x20   print('handshake', s.version())";
const NODE_HTTPS: &str = "require('https').get(process.argv[1], { timeout: 10000 }, (res) => {\n\
    let body = ''; res.on('data', (d) => (body += d)); res.on('end', () => console.log(body.trim()));\n\
    }).on('error', (e) => { console.error(e.code || e.message); process.exit(1); });";

/// A Go program as users write one: `net/http` with the default transport, which takes its roots from the system
/// (`SSL_CERT_FILE` on Linux).
const GO_GET: &str = "package main\n\
    import (\"fmt\"; \"io\"; \"net/http\"; \"os\"; \"time\")\n\
    func main() {\n\
    \tclient := &http.Client{Timeout: 10 * time.Second}\n\
    \tresponse, err := client.Get(os.Args[1])\n\
    \tif err != nil { fmt.Fprintln(os.Stderr, err); os.Exit(1) }\n\
    \tbody, _ := io.ReadAll(response.Body)\n\
    \tfmt.Print(string(body))\n\
    }\n";

/// A Deno program: `fetch`, which trusts Deno's own roots plus `DENO_CERT`.
const DENO_GET: &str =
    "const response = await fetch(Deno.args[0]);\nconsole.log((await response.text()).trim());\n";

/// The environment variable that makes this test binary the Rust client ([`rust_native_certs_get`]).
const RUST_CLIENT_URL: &str = "CERTGEN_TEST_RUST_CLIENT_URL";

fn python() -> Option<String> {
    let python = std::env::var("LOCALTLS_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_requests = Command::new(&python)
        .args(["-c", "import requests, certifi"])
        .output()
        .is_ok_and(|o| o.status.success());
    can_run(
        has_requests,
        "trust_env python",
        &format!("{python} lacks requests/certifi"),
        "run `cargo xtask test` (it installs tests/peers/requirements.txt), or set LOCALTLS_PYTHON",
    )
    .then_some(python)
}

/// Each client's command line for `url` (whose port is `port`) and what it prints on success; `go_file` holds
/// [`GO_GET`].
fn clients(
    python: &str,
    go_file: &Path,
    url: &str,
    port: u16,
    site: &str,
) -> Vec<(String, Vec<String>, String)> {
    let port = port.to_string();
    let hello = format!("hello from {site}");
    let owned = |args: &[&str]| args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
    let this_test = std::env::current_exe().expect("the test binary's path");
    let rust_client = format!("{RUST_CLIENT_URL}={url}");
    vec![
        (
            "go".into(),
            owned(&["run", path_str(go_file), url]),
            hello.clone(),
        ),
        (
            "env".into(),
            owned(&[
                &rust_client,
                path_str(&this_test),
                "--exact",
                "rust_native_certs_get",
                "--ignored",
                "--nocapture",
            ]),
            hello.clone(),
        ),
        (python.to_owned(), owned(&["-c", PY_REQUESTS, url]), hello.clone()),
        (
            python.to_owned(),
            owned(&["-c", PY_SSL, "localhost", &port]),
            "handshake TLSv1.3".into(),
        ),
        ("node".into(), owned(&["-e", NODE_HTTPS, url]), hello.clone()),
        ("curl".into(), owned(&["-sS", "--max-time", "10", url]), hello),
        (
            "git".into(),
            owned(&["ls-remote", &format!("{url}repo.git")]),
            format!("{GIT_REF}\trefs/heads/main"),
        ),
    ]
}

#[test]
fn every_runtime_reaches_our_server_and_a_public_root_site_with_only_the_printed_variables() {
    let Some(python) = python() else { return };
    for tool in ["node", "curl", "git"] {
        if !common::have(tool, "--version", "trust_env") {
            return;
        }
    }
    if !common::have("go", "version", "trust_env (Go: Debian's golang-go)") {
        return;
    }
    let sites = Sites::start();
    let go_file = sites.tmp.path().join("get.go");
    std::fs::write(&go_file, GO_GET).expect("write the Go program");
    for (site, url) in sites.urls() {
        let port = if site == "ours" {
            sites.ours.port()
        } else {
            sites.public.port()
        };
        for (program, args, expected) in clients(&python, &go_file, &url, port, site) {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = sites.client(true, &program, &args);
            assert!(
                out.status.success() && text(&out.stdout).contains(&expected),
                "{program} could not reach the {site} site {url} with trust env's variables:\n{}{}",
                text(&out.stdout),
                text(&out.stderr)
            );
        }
    }
    // The control: without the variables, none of the clients trusts our CA.
    let (_, ours) = &sites.urls()[0];
    for (program, args, _) in clients(&python, &go_file, ours, sites.ours.port(), "ours") {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = sites.client(false, &program, &args);
        assert!(
            !out.status.success(),
            "{program} trusted our CA without trust env: {}",
            text(&out.stdout)
        );
    }
}

#[test]
fn the_bundle_keeps_the_system_roots_and_adds_the_ca_once() {
    let sites = Sites::start();
    let json = sites.trust_env(&["--json"]);
    assert_success(CERTGEN, &["trust", "env", "--json"], &json);
    let env: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let bundle = PathBuf::from(env["bundle"].as_str().expect("bundle path"));
    assert_eq!(bundle, sites.certs().join("ca-bundle.pem"));
    let system = std::fs::read_to_string(sites.system_bundle()).expect("system bundle");
    let ca = std::fs::read_to_string(sites.certs().join("ca.pem")).expect("ca.pem");
    let written = std::fs::read_to_string(&bundle).expect("bundle");
    assert!(
        written.starts_with(&system) && written.ends_with(&ca),
        "{written}"
    );
    assert_eq!(written.matches("BEGIN CERTIFICATE").count(), 2);
    // Running it again (the CA is in the bundle now, not yet in the system one) writes the same file.
    let again = sites.trust_env(&[]);
    assert_success(CERTGEN, &["trust", "env"], &again);
    assert_eq!(std::fs::read_to_string(&bundle).expect("bundle"), written);

    let effects: Vec<(String, String, String, bool)> = env["variables"]
        .as_array()
        .expect("variables")
        .iter()
        .map(|v| {
            let field = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            (
                field("name"),
                field("effect"),
                field("value"),
                v["appended"] == true,
            )
        })
        .collect();
    let ca_path = sites.certs().join("ca.pem").display().to_string();
    let bundle_path = bundle.display().to_string();
    for (name, effect, value, appended) in &effects {
        let expected = match (appended, effect.as_str()) {
            (true, _) => "--use-openssl-ca",
            (false, "adds") => &ca_path,
            (false, _) => &bundle_path,
        };
        assert_eq!(value, expected, "{name} ({effect})");
    }
    let names: Vec<&str> = effects.iter().map(|(n, ..)| n.as_str()).collect();
    for needed in [
        "NODE_EXTRA_CA_CERTS",
        "SSL_CERT_FILE",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "GIT_SSL_CAINFO",
        "DENO_CERT",
        "NODE_OPTIONS",
    ] {
        assert!(names.contains(&needed), "{needed} missing from {names:?}");
    }
}

#[test]
fn fish_and_powershell_get_their_own_syntax_and_a_missing_bundle_names_the_variable() {
    let sites = Sites::start();
    let dir = path_str(&sites.certs()).to_owned();
    let fish = sites.trust_env(&["--shell", "fish"]);
    assert!(
        text(&fish.stdout).contains(&format!("set -gx SSL_CERT_FILE '{dir}/ca-bundle.pem'")),
        "{}",
        text(&fish.stdout)
    );
    let ps = sites.trust_env(&["--shell", "powershell"]);
    assert!(
        text(&ps.stdout).contains(&format!("$env:NODE_EXTRA_CA_CERTS = '{dir}/ca.pem'")),
        "{}",
        text(&ps.stdout)
    );

    let missing = common::run(
        CERTGEN,
        &["trust", "env", "--dir", &dir],
        &[("CERTGEN_SYSTEM_CA_BUNDLE", "/nonexistent/bundle.pem")],
    );
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing.stderr));
    let err = text(&missing.stderr);
    assert!(
        err.contains("/nonexistent/bundle.pem") && err.contains("CERTGEN_SYSTEM_CA_BUNDLE"),
        "{err}"
    );
}

#[test]
fn deno_reaches_our_server_with_the_printed_variables() {
    // npm's `deno` package ships the binary; `cargo xtask test` installs it with the Node peers (NODE_PATH).
    let from_npm = std::env::var_os("NODE_PATH")
        .map(|modules| PathBuf::from(modules).join(".bin/deno"))
        .filter(|deno| deno.exists());
    let deno = from_npm.map_or_else(|| "deno".to_owned(), |deno| path_str(&deno).to_owned());
    if !common::have(&deno, "--version", "trust_env (Deno: npm's deno package)") {
        return;
    }
    let sites = Sites::start();
    let script = sites.tmp.path().join("get.ts");
    std::fs::write(&script, DENO_GET).expect("write the Deno program");
    let (_, ours) = &sites.urls()[0];
    let args = [
        "run",
        "--quiet",
        "--no-config",
        "--allow-net",
        path_str(&script),
        ours,
    ];
    // Deno also reads NODE_EXTRA_CA_CERTS: once more without it, so that DENO_CERT alone is shown to work.
    let mut without_node_variable = vec!["-u", "NODE_EXTRA_CA_CERTS", &deno];
    without_node_variable.extend(args);
    for (program, args) in [(deno.as_str(), &args[..]), ("env", &without_node_variable[..])] {
        let out = sites.client(true, program, args);
        assert!(
            out.status.success() && text(&out.stdout).contains("hello from ours"),
            "{program} {args:?} could not reach our server {ours} with trust env's variables:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    let control = sites.client(false, &deno, &args);
    assert!(
        !control.status.success(),
        "deno trusted our CA without trust env: {}",
        text(&control.stdout)
    );
}

/// The Rust program of `every_runtime_reaches_our_server_...`, run by it as a child with trust env's variables (ignored otherwise): rustls
/// trusting the roots rustls-native-certs loads (`SSL_CERT_FILE` when set, else the system's), a GET of
/// `$CERTGEN_TEST_RUST_CLIENT_URL` over HTTP/1.1, the body printed.
#[test]
#[ignore = "the Rust client of every_runtime_reaches_our_server_..., which runs it with --ignored"]
fn rust_native_certs_get() {
    use std::io::{Read, Write};
    let url = std::env::var(RUST_CLIENT_URL)
        .unwrap_or_else(|_| panic!("set {RUST_CLIENT_URL} to an https://localhost:PORT/ URL"));
    let port: u16 = url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("no port in {url}"));
    let mut roots = rustls::RootCertStore::empty();
    let loaded = rustls_native_certs::load_native_certs();
    assert!(loaded.errors.is_empty(), "loading the roots: {:?}", loaded.errors);
    roots.add_parsable_certificates(loaded.certs);
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("server name");
    let connection = rustls::ClientConnection::new(std::sync::Arc::new(config), name).expect("TLS client");
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("read timeout");
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap_or_else(|e| panic!("TLS to {url}: {e}"));
    let mut response = Vec::new();
    // The server may close without close_notify after its answer: what arrived is the answer.
    if let Err(e) = tls.read_to_end(&mut response) {
        assert!(!response.is_empty(), "reading from {url}: {e}");
    }
    let response = String::from_utf8_lossy(&response);
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    print!("{body}");
}

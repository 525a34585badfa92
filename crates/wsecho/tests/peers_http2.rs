//! WebSockets over HTTP/2 (RFC 8441) and the connection facts, against real peers and the `wsecho` binary:
//! Node's built-in `http2` client opens WebSockets by extended CONNECT once the server has sent
//! SETTINGS_ENABLE_CONNECT_PROTOCOL, and gets echoes and close codes; curl fetches `/healthz`, `/whoami` and
//! `/stats` over h2; `openssl s_client` sees the same TLS version, cipher suite and group that `/whoami` reports;
//! `--http2 off` leaves ALPN without `h2`. The Chromium side is in peers_browser.rs.

mod support;

use std::ffi::OsString;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::{Finished, ServeProcess, TestCerts, run, run_with_input, skip_or_fail, ws_and_wss_args};
use tempfile::TempDir;

/// One peer run: a TLS handshake and a few requests or streams.
const PEER_TIMEOUT: Duration = Duration::from_secs(30);

/// ws and wss with the test certificate, and `extra` flags.
fn serve(certs: &TestCerts, extra: &[&str]) -> ServeProcess {
    let mut args = ws_and_wss_args(&certs.server_chain, &certs.server_key, &certs.ca_cer);
    args.extend(extra.iter().map(OsString::from));
    ServeProcess::start(&args)
}

fn wss_port(server: &ServeProcess) -> u16 {
    server.wss_port.expect("wss listener")
}

#[test]
fn node_http2_opens_websockets_by_extended_connect_and_gets_the_close_codes() {
    let Some(node) = support::node_with_ws("node http2 peer") else {
        return;
    };
    let certs = TestCerts::new();
    let server = serve(&certs, &["--max-message-size", "1KiB", "--protocol", "superchat"]);
    let origin = format!("https://localhost:{}", wss_port(&server));
    let too_big = "ab".repeat(2048);
    // Every case is one stream of the same HTTP/2 connection, all open at once.
    let cases = json!([
        { "path": "/echo", "headers": { "sec-websocket-protocol": "chat, superchat", "origin": origin },
          "send": [{ "text": "héllo over h2" }, { "binary_hex": "00ff7f80" }, { "text": "info" },
                   { "close": [4000, "bye"] }] },
        // An unmasked text frame "Hello": a protocol error.
        { "send": [{ "raw_hex": "810548656c6c6f" }] },
        // A masked text frame holding the byte 0xff: not UTF-8.
        { "send": [{ "raw_hex": "818100000000ff" }] },
        { "send": [{ "binary_hex": too_big }] },
        { "headers": { "sec-websocket-version": "8" } },
        { "protocol": "webtransport" },
    ]);
    let result = run_h2_peer(&node, &origin, &certs, &cases);
    assert_eq!(result["alpn"], "h2", "{result}");
    assert_eq!(result["enable_connect_protocol"], true, "{result}");
    let case = |i: usize| &result["cases"][i];

    let echo = case(0);
    assert_eq!(echo["status"], 200, "{echo}");
    assert_eq!(echo["headers"]["sec-websocket-protocol"], "superchat", "{echo}");
    assert_eq!(echo["messages"][0], json!({ "text": "héllo over h2" }), "{echo}");
    assert_eq!(echo["messages"][1], json!({ "binary_hex": "00ff7f80" }), "{echo}");
    let facts: Value =
        serde_json::from_str(echo["messages"][2]["text"].as_str().expect("info answer is text"))
            .expect("info answers with JSON");
    assert_eq!(facts["http_version"], "HTTP/2", "{facts}");
    assert_eq!(facts["alpn"], "h2", "{facts}");
    assert_eq!(facts["path"], "/echo", "{facts}");
    assert_eq!(facts["origin"], json!(origin), "{facts}");
    assert_eq!(
        facts["subprotocols_offered"],
        json!(["chat", "superchat"]),
        "{facts}"
    );
    assert_eq!(facts["subprotocol"], "superchat", "{facts}");
    assert_eq!(
        echo["close"],
        json!({ "code": 4000, "reason": "bye" }),
        "the client's close comes back"
    );

    for (i, code, reason) in [
        (1, 1002, "protocol error"),
        (2, 1007, "invalid UTF-8 in text"),
        (3, 1009, "message too big"),
    ] {
        assert_eq!(case(i)["status"], 200, "{}", case(i));
        assert_eq!(case(i)["messages"], json!([]), "{}", case(i));
        assert_eq!(
            case(i)["close"],
            json!({ "code": code, "reason": reason }),
            "{}",
            case(i)
        );
    }
    assert_eq!(case(4)["status"], 426, "{}", case(4));
    assert_eq!(case(4)["headers"]["sec-websocket-version"], "13", "{}", case(4));
    assert_eq!(case(5)["status"], 400, "{}", case(5));

    // /stats, itself fetched over h2, counts the four WebSockets under HTTP/2 and TLS 1.3.
    let stats = curl(&certs, &["--http2"], &format!("{origin}/stats"));
    let stats: Value = serde_json::from_str(&stats.stdout).expect("stats JSON");
    assert_eq!(stats["by_http_version"], json!({ "HTTP/2": 4 }), "{stats}");
    assert_eq!(stats["by_tls_version"], json!({ "TLS1.3": 4 }), "{stats}");
}

/// The command running tests/peers/h2_websocket.js against `origin` with `cases`, and the directory holding the
/// cases file, to keep until the run ends.
fn h2_peer(
    node: &impl Fn() -> Command,
    origin: &str,
    certs: &TestCerts,
    cases: &Value,
) -> (Command, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases_file = dir.path().join("cases.json");
    std::fs::write(&cases_file, cases.to_string()).expect("cases file");
    let mut cmd = node();
    cmd.arg(support::repo_root().join("tests/peers/h2_websocket.js"))
        .arg(origin)
        .arg(&certs.ca_pem)
        .arg(&cases_file);
    (cmd, dir)
}

/// The JSON report of a successful peer run.
fn report(finished: &Finished) -> Value {
    assert!(
        finished.status.success(),
        "the HTTP/2 peer failed: {}",
        finished.output()
    );
    serde_json::from_str(finished.stdout.trim()).expect("the peer prints JSON")
}

/// Runs the peer to completion and returns its report.
fn run_h2_peer(node: &impl Fn() -> Command, origin: &str, certs: &TestCerts, cases: &Value) -> Value {
    let (mut cmd, _cases_dir) = h2_peer(node, origin, certs, cases);
    report(&run(&mut cmd, PEER_TIMEOUT))
}

/// The server's own 1001s reach HTTP/2 WebSockets too: after the idle timeout, and on SIGTERM, where the server
/// still exits cleanly once the stream is closed.
#[test]
fn http2_websockets_get_1001_on_idle_timeout_and_on_shutdown() {
    let Some(node) = support::node_with_ws("node http2 peer") else {
        return;
    };
    let certs = TestCerts::new();
    let waiting = json!([{ "send": [{ "await_close": true }] }]);
    let idle = serve(&certs, &["--idle-timeout", "1"]);
    let origin = format!("https://localhost:{}", wss_port(&idle));
    let result = run_h2_peer(&node, &origin, &certs, &waiting);
    assert_eq!(
        result["cases"][0]["close"],
        json!({ "code": 1001, "reason": "idle timeout" }),
        "{result}"
    );

    let mut server = serve(&certs, &[]);
    let origin = format!("https://localhost:{}", wss_port(&server));
    let (mut cmd, cases_dir) = h2_peer(&node, &origin, &certs, &waiting);
    let peer = std::thread::spawn(move || {
        let finished = run(&mut cmd, PEER_TIMEOUT);
        drop(cases_dir);
        finished
    });
    let deadline = std::time::Instant::now() + PEER_TIMEOUT;
    loop {
        let stats = curl(&certs, &[], &format!("{origin}/stats"));
        let stats: Value = serde_json::from_str(&stats.stdout).expect("stats JSON");
        if stats["open_connections"] == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the peer's WebSocket never opened: {stats}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let kill = Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(kill.success());
    let result = report(&peer.join().expect("peer thread"));
    assert_eq!(
        result["cases"][0]["close"],
        json!({ "code": 1001, "reason": "server shutting down" }),
        "{result}"
    );
    assert!(
        server.wait_within(PEER_TIMEOUT).success(),
        "the server exits 0 after the drain"
    );
}

/// An HTTP/2 connection that opens no WebSocket is sent a GOAWAY once the handshake timeout has passed, as an
/// HTTP/1.1 connection that never upgrades is closed then.
#[test]
fn an_http2_connection_without_websockets_gets_goaway_after_the_handshake_timeout() {
    let Some(node) = support::node_with_ws("node http2 peer") else {
        return;
    };
    let certs = TestCerts::new();
    let server = serve(&certs, &["--handshake-timeout", "1"]);
    let origin = format!("https://localhost:{}", wss_port(&server));
    const WATCH: &str = "const http2 = require('http2'), fs = require('fs'); const started = Date.now();
        const session = http2.connect(process.argv[1], { ca: fs.readFileSync(process.argv[2]) });
        session.on('goaway', (code) => console.log('goaway ' + code + ' after ' + (Date.now() - started)));
        session.on('error', (error) => console.log('error ' + error.message));
        session.on('close', () => process.exit(0));
        setTimeout(() => { console.log('still open'); process.exit(1); }, 20000);";
    let mut cmd = node();
    cmd.args(["-e", WATCH, &origin]).arg(&certs.ca_pem);
    let finished = run(&mut cmd, PEER_TIMEOUT);
    assert!(finished.status.success(), "{}", finished.output());
    let after_ms: u64 = finished
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("goaway 0 after "))
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("no GOAWAY (NO_ERROR): {}", finished.output()));
    assert!(
        (900..15_000).contains(&after_ms),
        "GOAWAY after {after_ms} ms, expected about the 1 s handshake timeout"
    );
}

/// `curl ARGS --cacert CA URL`, asserting success.
fn curl(certs: &TestCerts, args: &[&str], url: &str) -> Finished {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "10"])
        .args(args)
        .arg("--cacert")
        .arg(&certs.ca_pem)
        .arg(url);
    let finished = run(&mut cmd, PEER_TIMEOUT);
    assert!(finished.status.success(), "{cmd:?}: {}", finished.output());
    finished
}

/// `curl --http2 BASE/healthz`: asserts the answer and returns the HTTP version curl used (`2`, `1.1`).
fn healthz_over(certs: &TestCerts, base: &str) -> String {
    let healthz = curl(
        certs,
        &["--http2", "-w", "\n%{http_version}"],
        &format!("{base}/healthz"),
    );
    let (body, version) = healthz.stdout.rsplit_once('\n').expect("body and version");
    assert_eq!(body, "ok\n", "{}", healthz.output());
    version.to_string()
}

/// `openssl s_client` to the wss listener on `port` asking for `localhost` (SNI), with `extra` arguments.
fn s_client(port: u16, extra: &[&str]) -> Command {
    let connect = format!("127.0.0.1:{port}");
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &connect, "-servername", "localhost"])
        .args(extra);
    cmd
}

/// The ALPN result `openssl s_client -alpn OFFER` reports, e.g. `ALPN protocol: h2` or `No ALPN negotiated`.
fn openssl_alpn(port: u16, offer: &str) -> String {
    let mut cmd = s_client(port, &["-alpn", offer]);
    let finished = run(&mut cmd, PEER_TIMEOUT);
    finished
        .stdout
        .lines()
        .find(|line| line.starts_with("ALPN protocol:") || line.starts_with("No ALPN"))
        .unwrap_or_else(|| panic!("no ALPN line from {cmd:?}: {}", finished.output()))
        .to_string()
}

#[test]
fn curl_fetches_healthz_over_h2_and_http2_off_leaves_only_http1() {
    for (tool, probe) in [("curl", "--version"), ("openssl", "version")] {
        if !support::installed(tool, probe) {
            return skip_or_fail(
                "curl and openssl http2 peers",
                &format!("`{tool}` is not installed"),
            );
        }
    }
    let certs = TestCerts::new();
    let on = serve(&certs, &[]);
    let base = format!("https://localhost:{}", wss_port(&on));
    assert_eq!(healthz_over(&certs, &base), "2");
    let whoami = curl(&certs, &["--http2"], &format!("{base}/whoami"));
    let facts: Value = serde_json::from_str(&whoami.stdout).expect("whoami JSON");
    assert_eq!(facts["http_version"], "HTTP/2", "{facts}");
    assert_eq!(facts["alpn"], "h2", "{facts}");
    assert!(
        facts["user_agent"]
            .as_str()
            .is_some_and(|ua| ua.starts_with("curl/")),
        "{facts}"
    );
    assert_eq!(openssl_alpn(wss_port(&on), "h2,http/1.1"), "ALPN protocol: h2");

    let off = serve(&certs, &["--http2", "off"]);
    assert!(
        off.banner.iter().any(|line| line.contains("HTTP/2 on wss: off")),
        "{:?}",
        off.banner
    );
    let base = format!("https://localhost:{}", wss_port(&off));
    assert_eq!(
        healthz_over(&certs, &base),
        "1.1",
        "with --http2 off curl falls back to HTTP/1.1"
    );
    assert_eq!(
        openssl_alpn(wss_port(&off), "h2,http/1.1"),
        "ALPN protocol: http/1.1"
    );
    assert_eq!(openssl_alpn(wss_port(&off), "h2"), "No ALPN negotiated");
}

/// The value of `Label: value` in openssl's output (the first such line).
fn openssl_field<'a>(output: &'a str, label: &str) -> &'a str {
    output
        .lines()
        .find_map(|line| line.trim().strip_prefix(label))
        .map(|rest| rest.trim_start_matches([' ', ':']).trim())
        .unwrap_or_else(|| panic!("no {label:?} in openssl's output: {output}"))
}

/// The IANA name of an OpenSSL cipher name: TLS 1.3 suites already have it; TLS 1.2 ones are looked up with
/// `openssl ciphers -stdname` (lines `IANA - OPENSSL VERSION ...`).
fn iana_cipher_name(openssl_name: &str) -> String {
    if openssl_name.starts_with("TLS_") {
        return openssl_name.to_string();
    }
    let finished = run(
        Command::new("openssl").args(["ciphers", "-stdname", openssl_name]),
        PEER_TIMEOUT,
    );
    finished
        .stdout
        .lines()
        .filter_map(|line| line.split_once(" - "))
        .find(|(_, rest)| rest.split_whitespace().next() == Some(openssl_name))
        .map(|(iana, _)| iana.trim().to_string())
        .unwrap_or_else(|| panic!("openssl knows no cipher {openssl_name}: {}", finished.output()))
}

/// `GET /whoami` through `openssl s_client` (trusting the test CA, with `extra` arguments): the JSON answer and
/// everything s_client printed.
fn whoami_by_s_client(certs: &TestCerts, port: u16, extra: &[&str]) -> (Value, String) {
    let mut cmd = s_client(port, &["-verify_return_error", "-ign_eof"]);
    cmd.args(extra).arg("-CAfile").arg(&certs.ca_pem);
    let request = "GET /whoami HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let finished = run_with_input(&mut cmd, request, PEER_TIMEOUT);
    let output = finished.output();
    assert!(finished.status.success(), "{cmd:?}: {output}");
    let body = output
        .split_once("\r\n\r\n")
        .and_then(|(_, body)| body.find("\n}").map(|end| &body[..end + 2]))
        .unwrap_or_else(|| panic!("no JSON answer in {output}"));
    let facts = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (facts, output)
}

#[test]
fn whoami_reports_the_tls_version_cipher_and_group_of_an_openssl_session() {
    if !support::installed("openssl", "version") {
        return skip_or_fail("openssl whoami peer", "`openssl` is not installed");
    }
    let certs = TestCerts::new();
    let server = serve(&certs, &[]);
    for version in ["-tls1_3", "-tls1_2"] {
        let (facts, output) = whoami_by_s_client(&certs, wss_port(&server), &[version]);

        let protocol = openssl_field(&output, "Protocol  :");
        assert_eq!(
            facts["tls_version"],
            protocol.replace("TLSv", "TLS"),
            "{version}: {facts}"
        );
        let cipher = iana_cipher_name(openssl_field(&output, "Cipher    :"));
        assert_eq!(facts["cipher_suite"], json!(cipher), "{version}: {facts}");
        // e.g. "Server Temp Key: X25519, 253 bits"
        let group = openssl_field(&output, "Server Temp Key:")
            .split(',')
            .next()
            .unwrap_or_default();
        assert_eq!(facts["key_exchange_group"], group, "{version}: {facts}");
        assert_eq!(facts["sni"], "localhost", "{facts}");
        assert_eq!(facts["alpn"], Value::Null, "s_client offered no ALPN: {facts}");
        assert_eq!(facts["http_version"], "HTTP/1.1", "{facts}");
    }
}

/// With mutual TLS, `/whoami` names the client certificate s_client presented, as `openssl x509` reads it.
#[test]
fn whoami_names_the_client_certificate_of_an_openssl_session() {
    if !support::installed("openssl", "version") {
        return skip_or_fail("openssl mTLS whoami peer", "`openssl` is not installed");
    }
    let certs = TestCerts::new();
    let ca = certs.ca_pem.to_str().expect("UTF-8 path");
    let server = serve(&certs, &["--client-ca", ca]);
    let (cert, key) = (
        certs.client_cert.to_str().expect("UTF-8 path"),
        certs.client_key.to_str().expect("UTF-8 path"),
    );
    let (facts, _) = whoami_by_s_client(&certs, wss_port(&server), &["-cert", cert, "-key", key]);

    let mut x509 = Command::new("openssl");
    x509.args([
        "x509", "-noout", "-serial", "-subject", "-nameopt", "RFC2253", "-in", cert,
    ]);
    let described = run(&mut x509, PEER_TIMEOUT);
    assert!(described.status.success(), "{x509:?}: {}", described.output());
    let field = |prefix: &str| {
        described
            .stdout
            .lines()
            .find_map(|line| line.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {}", described.stdout))
            .to_string()
    };
    assert_eq!(facts["client_cert_subject"], json!(field("subject=")), "{facts}");
    let serial = facts["client_cert_serial"].as_str().expect("serial");
    assert_eq!(
        serial.replace(':', "").to_ascii_uppercase(),
        field("serial="),
        "{facts}"
    );
}

//! `wsecho serve --bad-certs` against real clients: one server with every `certgen broken` fixture on its own port;
//! openssl `s_client`, Python (`ssl` + `websockets`), Node (`ws`) and curl, each trusting only our CA and connecting
//! to `localhost`, accept `good` (and echo through it) and refuse every other fixture with exactly the error in
//! support/bad_certs.rs, which is the table docs/troubleshooting.md shows. The browsers' columns are measured by
//! peers_browser.rs (Chromium) and peers_firefox.rs (Firefox) against the same kind of server.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use support::bad_certs::{BadCertServer, VERDICTS, doc_row};
use support::{Finished, run, skip_or_fail};

/// A client run covers connect, three echoes (one of 1 MiB) and the close handshake.
const PEER_TIMEOUT: Duration = Duration::from_secs(30);

fn peer_script(name: &str) -> PathBuf {
    support::repo_root().join("tests/peers").join(name)
}

#[test]
fn openssl_python_node_and_curl_refuse_each_broken_certificate_with_its_documented_error() {
    if !support::installed("openssl", "version") {
        return skip_or_fail("bad certs: openssl", "`openssl` is not installed");
    }
    if !support::installed("curl", "--version") {
        return skip_or_fail("bad certs: curl", "`curl` is not installed");
    }
    let Some(python) = support::python_websockets("bad certs: python") else {
        return;
    };
    let Some(node) = support::node_with_ws("bad certs: node") else {
        return;
    };
    let bad = BadCertServer::start();
    let ca = &bad.certs.ca_pem;
    for (verdict, port) in bad.cases() {
        let name = verdict.name;
        let wss = format!("wss://localhost:{port}/");

        let mut s_client = Command::new("openssl");
        s_client
            .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
            .args(["-servername", "localhost", "-verify_hostname", "localhost"])
            .arg("-verify_return_error")
            .arg("-CAfile")
            .arg(ca);
        let openssl = run(&mut s_client, PEER_TIMEOUT);
        let (code, text) = verdict.openssl.unwrap_or((0, "ok"));
        let said = format!("Verify return code: {code} ({text})");
        assert!(
            openssl.output().contains(&said),
            "{name}: openssl: expected {said:?}: {}",
            openssl.output()
        );
        assert_eq!(
            openssl.status.success(),
            verdict.openssl.is_none(),
            "{name}: {}",
            openssl.output()
        );

        let mut python_client = Command::new(&python);
        python_client
            .arg(peer_script("echo_client.py"))
            .arg(&wss)
            .arg("--ca")
            .arg(ca);
        let python_run = run(&mut python_client, PEER_TIMEOUT);
        let expected = match verdict.python {
            Some(reason) => format!(
                "FAIL SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {reason}"
            ),
            None => "ok python websockets".to_string(),
        };
        assert_refused_or_echoed(name, "python", &python_run, &expected, verdict.python.is_none());

        let mut node_client = node();
        node_client
            .arg(peer_script("echo_client.js"))
            .arg(&wss)
            .arg("--ca")
            .arg(ca);
        let node_run = run(&mut node_client, PEER_TIMEOUT);
        let expected = match verdict.node {
            Some(code) => format!("FAIL {code}: "),
            None => "ok node ws".to_string(),
        };
        assert_refused_or_echoed(name, "node", &node_run, &expected, verdict.node.is_none());

        let mut curl_client = Command::new("curl");
        curl_client
            .args(["--silent", "--show-error", "--max-time", "10", "--cacert"])
            .arg(ca)
            .arg(format!("https://localhost:{port}/healthz"));
        let curl = run(&mut curl_client, PEER_TIMEOUT);
        match verdict.curl {
            Some((code, message)) => {
                assert_eq!(curl.code, Some(code), "{name}: curl: {}", curl.output());
                let said = format!("curl: ({code}) {message}");
                assert!(
                    curl.stderr.contains(&said),
                    "{name}: curl: expected {said:?}: {}",
                    curl.output()
                );
            }
            None => assert_eq!(curl.stdout, "ok\n", "{name}: curl: {}", curl.output()),
        }
    }
}

/// A client that ignores the certificate (as a buggy one does) still gets its echo on every broken listener, and
/// `/stats` names each listener's fixture.
#[test]
fn every_bad_certificate_listener_echoes_for_a_client_that_skips_verification_and_stats_names_it() {
    if !support::installed("curl", "--version") {
        return skip_or_fail("bad certs: curl --insecure", "`curl` is not installed");
    }
    let bad = BadCertServer::start();
    let wss_port = bad.server.wss_port.expect("wss port");
    let stats = run(
        Command::new("curl")
            .args(["--silent", "--show-error", "--max-time", "10", "--cacert"])
            .arg(&bad.certs.ca_pem)
            .arg(format!("https://localhost:{wss_port}/stats")),
        PEER_TIMEOUT,
    );
    let stats: serde_json::Value = serde_json::from_str(&stats.stdout).expect("/stats is JSON");
    for (verdict, port) in bad.cases() {
        let listed = stats["listeners"]
            .as_array()
            .expect("listeners")
            .iter()
            .find(|l| l["url"] == format!("wss://localhost:{port}"))
            .unwrap_or_else(|| panic!("{} (port {port}) not in /stats: {stats}", verdict.name));
        assert_eq!(listed["bad_cert"], verdict.name, "{listed}");

        let url = format!("wss://localhost:{port}/");
        let echoed = support::run_with_input(
            Command::new(support::WSECHO).args(["client", &url, "--insecure", "--send", "still echoed"]),
            "",
            PEER_TIMEOUT,
        );
        assert!(echoed.status.success(), "{}: {}", verdict.name, echoed.output());
        assert!(
            echoed.stdout.contains("still echoed"),
            "{}: {}",
            verdict.name,
            echoed.output()
        );
    }
}

/// docs/troubleshooting.md's table is the measured one: the rows of [`VERDICTS`], exactly, in order, and no others.
#[test]
fn docs_table_is_the_measured_one() {
    let doc = std::fs::read_to_string(support::repo_root().join("docs/troubleshooting.md"))
        .expect("docs/troubleshooting.md");
    let mut lines = doc.lines();
    lines
        .find(|line| line.starts_with("| Certificate | Chromium |"))
        .expect("docs/troubleshooting.md has the table of broken certificates");
    let documented: Vec<&str> = lines.skip(1).take_while(|line| line.starts_with('|')).collect();
    let measured: Vec<String> = VERDICTS.iter().map(doc_row).collect();
    assert_eq!(
        documented,
        measured,
        "docs/troubleshooting.md's table differs from the measured verdicts; the measured rows are:\n{}",
        measured.join("\n")
    );
}

fn assert_refused_or_echoed(name: &str, client: &str, finished: &Finished, expected: &str, accepted: bool) {
    let output = finished.output();
    assert!(
        output.contains(expected),
        "{name}: {client}: expected {expected:?}: {output}"
    );
    assert_eq!(finished.status.success(), accepted, "{name}: {client}: {output}");
}

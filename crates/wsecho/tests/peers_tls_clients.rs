//! Real peers against the `wsecho` binary: Python `websockets`, Node `ws` and `openssl s_client` reach the wss
//! listener when they trust only our CA, and refuse it when they do not. Python and Node offer permessage-deflate
//! (websockets by default, ws with `perMessageDeflate`): each run must get it in the server's answer, and `/stats`
//! must show that echoes went out compressed.
//! The client scripts live in `tests/peers/` at the workspace root.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use support::{ServeProcess, TestCerts, run, skip_or_fail};

/// A client run covers connect, three echoes (one of 1 MiB) and the close handshake.
const PEER_TIMEOUT: Duration = Duration::from_secs(30);

fn peer_script(name: &str) -> PathBuf {
    support::repo_root().join("tests/peers").join(name)
}

const NEGOTIATED: &str =
    "extensions permessage-deflate; server_no_context_takeover; client_no_context_takeover";

/// The server's `/stats` count of compressed connections and of bytes deflate kept off the wire.
fn deflate_stats(server: &ServeProcess) -> (u64, u64) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let url = format!("ws://127.0.0.1:{}", server.ws_port);
    let response = runtime.block_on(support::http_get(&url, "/stats", None));
    let stats: serde_json::Value = serde_json::from_slice(&response.body).expect("/stats JSON");
    let count = |name: &str| {
        stats[name]
            .as_u64()
            .unwrap_or_else(|| panic!("{name} in /stats: {stats}"))
    };
    (count("compressed_connections"), count("deflate_bytes_saved"))
}

/// Runs `program script URL [--ca CA]` and returns what it printed, asserting the exit status.
fn run_client(mut cmd: Command, url: &str, ca: Option<&PathBuf>, expect_ok: bool) -> String {
    cmd.arg(url);
    if let Some(ca) = ca {
        cmd.arg("--ca").arg(ca);
    }
    let finished = run(&mut cmd, PEER_TIMEOUT);
    let output = finished.output();
    assert_eq!(
        finished.status.success(),
        expect_ok,
        "{cmd:?} exited with {}: {output}",
        finished.status
    );
    output
}

#[test]
fn python_websockets_echoes_over_wss_trusting_only_our_ca() {
    let Some(python) = support::python_websockets("python peer") else {
        return;
    };
    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss(&certs);
    let wss = format!("wss://127.0.0.1:{}/", server.wss_port.expect("wss port"));
    let client = || {
        let mut cmd = Command::new(&python);
        cmd.arg(peer_script("echo_client.py"));
        cmd
    };

    let trusted = run_client(client(), &wss, Some(&certs.ca_pem), true);
    assert!(trusted.contains("ok python websockets"), "{trusted}");
    let plain = run_client(
        client(),
        &format!("ws://127.0.0.1:{}/", server.ws_port),
        None,
        true,
    );
    assert!(plain.contains("plain"), "{plain}");
    for output in [&trusted, &plain] {
        assert!(output.contains(NEGOTIATED), "{output}");
    }
    // The 1 MiB message repeats every 251 bytes: its echo shrinks to a few KiB on each of the two connections.
    let (compressed, saved) = deflate_stats(&server);
    assert_eq!(compressed, 2);
    assert!(saved > 2 * 1000 * 1024, "{saved} bytes saved");
    // With context takeover allowed both ways, websockets keeps its context and so does the server.
    let takeover = ServeProcess::ws(&[
        "--deflate-server-takeover",
        "on",
        "--deflate-client-takeover",
        "on",
    ]);
    let kept = run_client(
        client(),
        &format!("ws://127.0.0.1:{}/", takeover.ws_port),
        None,
        true,
    );
    assert!(
        kept.contains("extensions permessage-deflate\n") || kept.ends_with("extensions permessage-deflate"),
        "{kept}"
    );

    let untrusted = run_client(client(), &wss, None, false);
    assert!(untrusted.contains("CERTIFICATE_VERIFY_FAILED"), "{untrusted}");
    // Trusting the server certificate instead of the CA is the classic mistake; it must not work either.
    let leaf_only = run_client(client(), &wss, Some(&certs.server_leaf), false);
    assert!(leaf_only.contains("CERTIFICATE_VERIFY_FAILED"), "{leaf_only}");
}

#[test]
fn node_ws_echoes_over_wss_trusting_only_our_ca() {
    let Some(node) = support::node_with_ws("node peer") else {
        return;
    };
    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss(&certs);
    let wss = format!("wss://127.0.0.1:{}/", server.wss_port.expect("wss port"));
    let client = || {
        let mut cmd = node();
        cmd.arg(peer_script("echo_client.js"));
        cmd
    };

    let trusted = run_client(client(), &wss, Some(&certs.ca_pem), true);
    assert!(trusted.contains("ok node ws"), "{trusted}");
    let plain = run_client(
        client(),
        &format!("ws://127.0.0.1:{}/", server.ws_port),
        None,
        true,
    );
    assert!(plain.contains("ok node ws"), "{plain}");
    for output in [&trusted, &plain] {
        assert!(output.contains(NEGOTIATED), "{output}");
    }
    let (compressed, saved) = deflate_stats(&server);
    assert_eq!(compressed, 2);
    assert!(saved > 2 * 1000 * 1024, "{saved} bytes saved");

    let untrusted = run_client(client(), &wss, None, false);
    assert!(
        untrusted.contains("SELF_SIGNED_CERT_IN_CHAIN")
            || untrusted.contains("UNABLE_TO_VERIFY_LEAF_SIGNATURE"),
        "{untrusted}"
    );
}

#[test]
fn openssl_s_client_verifies_the_chain_to_our_ca() {
    if !support::installed("openssl", "version") {
        return skip_or_fail("openssl peer", "`openssl` is not installed");
    }
    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss(&certs);
    let connect = format!("127.0.0.1:{}", server.wss_port.expect("wss port"));
    let s_client = |hostname: &str, ca: Option<&PathBuf>| {
        let mut cmd = Command::new("openssl");
        cmd.args(["s_client", "-connect", &connect, "-servername", "localhost"])
            .args(["-verify_return_error", "-verify_hostname", hostname]);
        if let Some(ca) = ca {
            cmd.arg("-CAfile").arg(ca);
        }
        run(&mut cmd, PEER_TIMEOUT)
    };

    let trusted = s_client("localhost", Some(&certs.ca_pem));
    assert!(trusted.status.success(), "{}", trusted.output());
    assert!(
        trusted.stdout.contains("Verify return code: 0 (ok)"),
        "{}",
        trusted.output()
    );

    let untrusted = s_client("localhost", None);
    assert!(!untrusted.status.success(), "{}", untrusted.output());
    let output = untrusted.output();
    assert!(
        output.contains("Verify return code: 19") || output.contains("Verify return code: 20"),
        "expected 'self-signed certificate in chain' (19) or 'unable to get local issuer' (20): {output}"
    );

    let wrong_name = s_client("not-localhost.example", Some(&certs.ca_pem));
    assert!(!wrong_name.status.success(), "{}", wrong_name.output());
    assert!(
        wrong_name.output().contains("Verify return code: 62"),
        "expected a hostname mismatch (62): {}",
        wrong_name.output()
    );
}

//! `wsecho serve --acme` against pebble (real validation, 5% rejected nonces): the certificate is obtained by
//! answering tls-alpn-01 on the wss listener or http-01 on the ws listener, served to clients trusting only
//! pebble's root (tokio-rustls here, Python `websockets` for the binary), renewed without dropping an open
//! connection, reused after a restart, replaced after a restart against another CA (two pebbles), and reported in
//! `/stats` and the banner. Before a certificate exists, wss handshakes fail and the log says what the server waits
//! for.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use certgen::acme::{AccountOptions, AcmeRequest, Challenge, ChallengeKind, Directory};
use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::ServerName;
use support::pebble::{self, Pebble, free_port};
use support::*;
use tokio_tungstenite::tungstenite::Message;
use wsecho::server::{AcmeConfig, Config, RunningServer};

/// How long an order may take on a loaded machine (pebble validates at once with PEBBLE_VA_NOSLEEP).
const ORDER_TIMEOUT: Duration = Duration::from_secs(90);

fn pebble_usable(test: &str) -> bool {
    let usable = pebble::installed() && installed("curl", "--version");
    if !usable {
        skip_or_fail(
            test,
            "pebble, pebble-challtestsrv or curl not found (apt-get install pebble curl)",
        );
    }
    usable
}

fn request(pebble: &Pebble, name: &str, challenge: ChallengeKind) -> AcmeRequest {
    AcmeRequest {
        names: certgen::SubjectName::parse_all([name]).unwrap(),
        directory: Directory::parse(&pebble.directory_url).unwrap(),
        challenge: Challenge::new(challenge, None).unwrap(),
        profile: None,
        account: AccountOptions {
            agree_tos: true,
            acme_ca: Some(pebble.tls_ca.clone()),
            ..Default::default()
        },
        out: None,
        key: certgen::KeyKind::default(),
        force: true,
        http_port: 0,
        tls_port: 0,
    }
}

/// Waits (bounded) until the server serves a certificate whose serial is not `old`, and returns it.
async fn certificate_other_than(server: &RunningServer, old: Option<&str>) -> String {
    let deadline = Instant::now() + ORDER_TIMEOUT;
    loop {
        if let Some(cert) = server.stats().certificate
            && Some(cert.serial.as_str()) != old
        {
            return cert.serial;
        }
        assert!(
            Instant::now() < deadline,
            "no new ACME certificate within {ORDER_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A wss connection to 127.0.0.1:`port` trusting only `root`, and the serial of the certificate it was shown.
async fn connect_wss(port: u16, root: &Path) -> (Ws, String) {
    let tcp = within(tokio::net::TcpStream::connect(("127.0.0.1", port)))
        .await
        .unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let tls = within(tokio_rustls::TlsConnector::from(client_tls(root, None)).connect(name, tcp))
        .await
        .expect("TLS with the ACME certificate, trusting only pebble's root");
    let serial = serial_of(&tls.get_ref().1.peer_certificates().expect("server certificate")[0]);
    let url = format!("wss://127.0.0.1:{port}/");
    let io: Io = Box::new(tls);
    let (ws, _) = within(tokio_tungstenite::client_async(url, io))
        .await
        .expect("WebSocket upgrade");
    (ws, serial)
}

async fn assert_echoes(ws: &mut Ws, text: &str) {
    within(ws.send(Message::text(text))).await.expect("send");
    match within(ws.next()).await {
        Some(Ok(Message::Text(echo))) => assert_eq!(echo.as_str(), text),
        other => panic!("no echo of {text:?}: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_alpn01_on_the_wss_listener_and_a_renewal_that_keeps_open_connections() {
    if !pebble_usable("tls_alpn01_on_the_wss_listener_and_a_renewal_that_keeps_open_connections") {
        return;
    }
    let wss_port = free_port();
    let pebble = tokio::task::spawn_blocking(move || Pebble::start(free_port(), wss_port))
        .await
        .unwrap();
    let state = tempfile::tempdir().unwrap();
    let config = Config {
        ws: vec!["127.0.0.1:0".parse().unwrap()],
        wss: vec![format!("127.0.0.1:{wss_port}").parse().unwrap()],
        acme: Some(AcmeConfig {
            request: request(&pebble, "127.0.0.1", ChallengeKind::TlsAlpn01),
            dir: state.path().to_path_buf(),
        }),
        ..Config::default()
    };
    let server = start(config).await;
    let first = certificate_other_than(&server, None).await;
    let source = server.stats().certificate.unwrap();
    assert_eq!(source.source, "acme");
    assert_eq!(source.ca.as_deref(), Some("127.0.0.1"));
    assert!(source.issuer.contains("Pebble"), "{source:?}");
    assert!(source.renews_at.is_some(), "{source:?}");
    assert!(
        server
            .banner()
            .contains("certificate: from ACME CA 127.0.0.1, expires"),
        "{}",
        server.banner()
    );

    let (mut before, serial) = connect_wss(wss_port, &pebble.root).await;
    assert_eq!(serial, first);
    assert_echoes(&mut before, "before the renewal").await;

    server.renew_acme_now().unwrap();
    let renewed = certificate_other_than(&server, Some(&first)).await;
    assert_echoes(&mut before, "after the renewal, same connection").await;
    let (mut after, serial) = connect_wss(wss_port, &pebble.root).await;
    assert_eq!(serial, renewed, "a new connection gets the renewed certificate");
    assert_ne!(serial, first);
    assert_echoes(&mut after, "new connection").await;

    let stats = http_get(&url(&server, false).replace("ws://", "http://"), "/stats", None).await;
    let body = String::from_utf8_lossy(&stats.body);
    assert!(body.contains(&format!("\"serial\": \"{renewed}\"")), "{body}");
    server.shutdown().await;
    drop(pebble);
}

/// The binary with http-01 on its ws listener: obtains, serves a Python websockets client trusting only pebble's
/// root, and after a restart reuses the stored certificate (same serial, banner names CA and renewal at once).
#[test]
fn serve_acme_http01_then_restart_reuses_the_certificate() {
    let test = "serve_acme_http01_then_restart_reuses_the_certificate";
    if !pebble_usable(test) {
        return;
    }
    let Some(python) = python_websockets(test) else {
        return;
    };
    let ws_port = free_port();
    let pebble = Pebble::start(ws_port, free_port());
    let state = tempfile::tempdir().unwrap();
    let log = state.path().join("serve.log");
    let args = |wss_port: u16| serve_acme_args(&pebble, ws_port, wss_port, state.path());
    let wss_port = free_port();
    let server = ServeProcess::start_logging_to(&args(wss_port), &log);
    let deadline = Instant::now() + ORDER_TIMEOUT;
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("ACME: certificate from 127.0.0.1")
    {
        assert!(
            Instant::now() < deadline,
            "no certificate: {}\n{}",
            std::fs::read_to_string(&log).unwrap_or_default(),
            pebble.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let cert = state.path().join("127.0.0.1.pem");
    let serial = leaf_serial(&cert);
    let client = run(
        std::process::Command::new(&python)
            .arg("-c")
            .arg(PYTHON_CLIENT)
            .args([
                format!("wss://127.0.0.1:{wss_port}/"),
                pebble.root.display().to_string(),
            ]),
        Duration::from_secs(20),
    );
    assert!(client.output().contains("echo ok"), "{}", client.output());
    drop(server);

    let restarted = ServeProcess::start(&args(free_port()));
    let banner = restarted.banner.join("\n");
    assert!(
        banner.contains("certificate: from ACME CA 127.0.0.1, expires"),
        "{banner}"
    );
    assert!(banner.contains("renews"), "{banner}");
    assert_eq!(
        leaf_serial(&cert),
        serial,
        "a restart must reuse the stored certificate"
    );
}

/// `wsecho serve --acme 127.0.0.1` by http-01 against `pebble` (validating on `ws_port`), state in `state`.
fn serve_acme_args(pebble: &Pebble, ws_port: u16, wss_port: u16, state: &Path) -> Vec<String> {
    vec![
        "--acme".to_string(),
        "127.0.0.1".into(),
        "--challenge".into(),
        "http-01".into(),
        "--ws".into(),
        format!("127.0.0.1:{ws_port}"),
        "--wss".into(),
        format!("127.0.0.1:{wss_port}"),
        "--directory".into(),
        pebble.directory_url.clone(),
        "--acme-ca".into(),
        pebble.tls_ca.display().to_string(),
        "--agree-tos".into(),
        "--acme-dir".into(),
        state.display().to_string(),
    ]
}

/// Waits (bounded) until the server's log says it obtained a certificate.
fn wait_for_certificate(log: &Path, pebble: &Pebble) {
    let deadline = Instant::now() + ORDER_TIMEOUT;
    while !std::fs::read_to_string(log)
        .unwrap_or_default()
        .contains("ACME: certificate from 127.0.0.1")
    {
        assert!(
            Instant::now() < deadline,
            "no certificate: {}\n{}",
            std::fs::read_to_string(log).unwrap_or_default(),
            pebble.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The issuer of a PEM certificate as the server prints it.
fn issuer_of(pem: &Path) -> String {
    certgen::Cert::from_pem_file(pem).unwrap().issuer()
}

/// docs/outside.md's path: one CA (staging), then another (production) with the same `--acme-dir`. The restart
/// orders from the new CA and logs why, serves its certificate (new serial, new issuer) to a client trusting only
/// the new root, which a client trusting only the old root refuses; the record, the banner and `/stats` name the
/// new CA's certificate.
#[test]
fn a_new_directory_with_the_same_acme_dir_orders_from_the_new_ca() {
    let test = "a_new_directory_with_the_same_acme_dir_orders_from_the_new_ca";
    if !pebble_usable(test) {
        return;
    }
    let (first_ws, second_ws) = (free_port(), free_port());
    let first = Pebble::start(first_ws, free_port());
    let second = Pebble::start(second_ws, free_port());
    let state = tempfile::tempdir().unwrap();
    let cert = state.path().join("127.0.0.1.pem");
    let log = state.path().join("first.log");
    let server = ServeProcess::start_logging_to(
        &serve_acme_args(&first, first_ws, free_port(), state.path()),
        &log,
    );
    wait_for_certificate(&log, &first);
    drop(server);
    let (first_serial, first_issuer) = (leaf_serial(&cert), issuer_of(&cert));

    let log = state.path().join("second.log");
    let wss_port = free_port();
    let server =
        ServeProcess::start_logging_to(&serve_acme_args(&second, second_ws, wss_port, state.path()), &log);
    wait_for_certificate(&log, &second);
    let logged = std::fs::read_to_string(&log).unwrap();
    let why = format!(
        "ACME: the stored certificate is from CA {}; ordering from {}",
        first.directory_url, second.directory_url
    );
    assert!(logged.contains(&why), "{logged}");
    let (serial, issuer) = (leaf_serial(&cert), issuer_of(&cert));
    assert_ne!(serial, first_serial, "the first CA's certificate is still stored");
    assert_ne!(issuer, first_issuer);
    let record = std::fs::read_to_string(state.path().join("127.0.0.1.acme.json")).unwrap();
    assert!(record.contains(&second.directory_url), "{record}");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (mut ws, served) = connect_wss(wss_port, &second.root).await;
        assert_eq!(served, serial, "the server serves the new CA's certificate");
        assert_echoes(&mut ws, "from the new CA").await;
        let tcp = within(tokio::net::TcpStream::connect(("127.0.0.1", wss_port)))
            .await
            .unwrap();
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let old_root = tokio_rustls::TlsConnector::from(client_tls(&first.root, None));
        assert!(
            within(old_root.connect(name, tcp)).await.is_err(),
            "a client trusting only the old CA's root accepted the new certificate"
        );
        let stats = http_get(&server.url("ws").replace("ws://", "http://"), "/stats", None).await;
        let body = String::from_utf8_lossy(&stats.body);
        assert!(body.contains(&format!("\"serial\": \"{serial}\"")), "{body}");
        assert!(body.contains(&format!("\"issuer\": \"{issuer}\"")), "{body}");
    });
    drop(server);

    let restarted = ServeProcess::start(&serve_acme_args(&second, second_ws, free_port(), state.path()));
    let banner = restarted.banner.join("\n");
    assert!(
        banner.contains("certificate: from ACME CA 127.0.0.1, expires")
            && banner.contains(&format!("issuer {issuer}")),
        "{banner}"
    );
    assert_eq!(
        leaf_serial(&cert),
        serial,
        "a restart with the same CA reuses the certificate"
    );
}

/// A Python `websockets` client that trusts only the given root: `python -c ... URL ROOT`.
const PYTHON_CLIENT: &str = r#"
import asyncio, ssl, sys
from websockets.asyncio.client import connect
async def main(url, root):
    tls = ssl.create_default_context(cafile=root)
    async with connect(url, ssl=tls, open_timeout=10) as ws:
        await ws.send("hello")
        assert await asyncio.wait_for(ws.recv(), 10) == "hello"
    print("echo ok")
asyncio.run(main(sys.argv[1], sys.argv[2]))
"#;

/// Before a certificate exists (here: the CA is unreachable), wss handshakes fail and the log says why.
#[test]
fn without_a_certificate_wss_fails_and_the_log_says_what_it_waits_for() {
    let state = tempfile::tempdir().unwrap();
    let log = state.path().join("serve.log");
    let directory = format!("https://127.0.0.1:{}/dir", free_port());
    let server = ServeProcess::start_logging_to(
        &[
            "--acme",
            "127.0.0.1",
            "--ws",
            "127.0.0.1:0",
            "--wss",
            "127.0.0.1:0",
            "--directory",
            &directory,
            "--agree-tos",
            "--acme-dir",
            state.path().to_str().unwrap(),
        ],
        &log,
    );
    let banner = server.banner.join("\n");
    assert!(
        banner.contains(
            "certificate: none yet; waiting for the ACME CA 127.0.0.1 to validate 127.0.0.1 by tls-alpn-01"
        ),
        "{banner}"
    );
    let port = server.wss_port.expect("wss listener");
    // openssl without -verify_return_error accepts any certificate, so only a server with none fails it.
    let handshake = run(
        std::process::Command::new("openssl").args(["s_client", "-connect", &format!("127.0.0.1:{port}")]),
        Duration::from_secs(20),
    );
    assert!(
        !handshake.output().contains("BEGIN CERTIFICATE")
            && handshake.output().contains("no peer certificate available"),
        "the server presented a certificate before it had one: {}",
        handshake.output()
    );
    let wanted = [
        "wss handshake refused: no certificate yet, waiting for the ACME CA 127.0.0.1 to validate 127.0.0.1 by \
         tls-alpn-01",
        "cannot reach the ACME directory",
    ];
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let logged = std::fs::read_to_string(&log).unwrap_or_default();
        if wanted.iter().all(|line| logged.contains(line)) {
            break;
        }
        assert!(Instant::now() < deadline, "log lacks one of {wanted:?}: {logged}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

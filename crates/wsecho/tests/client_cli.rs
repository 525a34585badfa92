//! The `wsecho client` binary: scripted echo checks with their exit codes, interactive mode, TLS trust options.

mod support;

use futures_util::{SinkExt, StreamExt};
use support::*;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use wsecho::server::ClientAuth;

#[tokio::test]
async fn scripted_sends_exit_0_when_every_echo_matches_over_ws_and_wss() {
    let pki = TestCerts::new();
    let server = start(config(Some(&pki))).await;
    let ca = pki.ca_pem.to_str().expect("path");
    let plain = run_wsecho(
        &[
            "client",
            &url(&server, false),
            "--send",
            "one",
            "--send",
            "two words",
        ],
        "",
    )
    .await;
    assert_eq!(plain.code, Some(0), "{}", plain.stderr);
    assert_eq!(plain.stdout, "one\ntwo words\n");
    let secure = run_wsecho(&["client", &url(&server, true), "--ca", ca, "--send", "über"], "").await;
    assert_eq!(secure.code, Some(0), "{}", secure.stderr);
    assert_eq!(secure.stdout, "über\n");
    assert!(secure.stderr.contains("TLS1.3"), "{}", secure.stderr);
}

#[tokio::test]
async fn wss_without_a_ca_is_bad_usage_and_a_foreign_ca_fails_verification() {
    let pki = TestCerts::new();
    let foreign = TestCerts::new();
    let server = start(config(Some(&pki))).await;
    let url = url(&server, true);
    let missing = run_wsecho(&["client", &url, "--send", "x"], "").await;
    assert_eq!(missing.code, Some(2));
    assert!(missing.stderr.contains("--ca"), "{}", missing.stderr);

    let wrong_ca = foreign.ca_pem.to_str().expect("path");
    let untrusted = run_wsecho(&["client", &url, "--ca", wrong_ca, "--send", "x"], "").await;
    assert_eq!(untrusted.code, Some(1));
    assert!(
        untrusted.stderr.contains("not issued by the --ca"),
        "{}",
        untrusted.stderr
    );

    let insecure = run_wsecho(&["client", &url, "--insecure", "--send", "x"], "").await;
    assert_eq!(insecure.code, Some(0), "{}", insecure.stderr);
    assert!(
        insecure.stderr.contains("WARNING"),
        "--insecure is announced: {}",
        insecure.stderr
    );
}

/// `wsecho client URL ARGS` with `SSL_CERT_FILE` set, which replaces the system roots on Linux.
async fn client_with_system_roots(ssl_cert_file: &std::path::Path, args: &[&str]) -> Finished {
    let mut command = std::process::Command::new(WSECHO);
    command
        .arg("client")
        .args(args)
        .env("SSL_CERT_FILE", ssl_cert_file);
    tokio::task::spawn_blocking(move || run(&mut command, WAIT))
        .await
        .expect("the client run")
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn ca_system_trusts_the_system_roots_and_says_when_they_do_not_vouch_for_the_server() {
    let pki = TestCerts::new();
    let foreign = TestCerts::new();
    let server = start(config(Some(&pki))).await;
    let url = url(&server, true);
    let trusted = client_with_system_roots(&pki.ca_pem, &[&url, "--ca", "system", "--send", "hi"]).await;
    assert_eq!(trusted.code, Some(0), "{}", trusted.stderr);
    assert_eq!(trusted.stdout, "hi\n");

    let untrusted =
        client_with_system_roots(&foreign.ca_pem, &[&url, "--ca", "system", "--send", "hi"]).await;
    assert_eq!(untrusted.code, Some(1), "{}", untrusted.stderr);
    assert_eq!(
        untrusted.stderr.lines().count(),
        1,
        "one line: {}",
        untrusted.stderr
    );
    assert!(
        untrusted.stderr.contains("not trusted by the system roots"),
        "{}",
        untrusted.stderr
    );
}

#[tokio::test]
async fn client_certificate_flags_pass_mutual_tls() {
    let pki = TestCerts::new();
    let mut settings = config(Some(&pki));
    settings.client_ca = Some(pki.ca_pem.clone());
    settings.client_auth = ClientAuth::Required;
    let server = start(settings).await;
    let url = url(&server, true);
    let path = |p: &std::path::Path| p.to_str().expect("path").to_string();
    let (ca, cert, key) = (path(&pki.ca_pem), path(&pki.client_cert), path(&pki.client_key));
    let with_cert = run_wsecho(
        &[
            "client", &url, "--ca", &ca, "--cert", &cert, "--key", &key, "--send", "m",
        ],
        "",
    )
    .await;
    assert_eq!(with_cert.code, Some(0), "{}", with_cert.stderr);
    let without = run_wsecho(&["client", &url, "--ca", &ca, "--send", "m"], "").await;
    assert_eq!(without.code, Some(1));
    assert!(
        without.stderr.contains("--cert"),
        "the error says how to fix it: {}",
        without.stderr
    );
}

#[tokio::test]
async fn subprotocol_and_header_flags_reach_the_server() {
    let mut settings = config(None);
    settings.allowed_origins = vec!["https://app.example".into()];
    settings.protocols = vec!["chat".into()];
    let server = start(settings).await;
    let url = url(&server, false);
    let allowed = run_wsecho(
        &[
            "client",
            &url,
            "--protocol",
            "other",
            "--protocol",
            "chat",
            "--header",
            "Origin: https://app.example",
            "--send",
            "hi",
        ],
        "",
    )
    .await;
    assert_eq!(allowed.code, Some(0), "{}", allowed.stderr);
    assert!(allowed.stderr.contains("subprotocol chat"), "{}", allowed.stderr);
    let refused = run_wsecho(
        &[
            "client",
            &url,
            "--header",
            "Origin: https://evil.example",
            "--send",
            "hi",
        ],
        "",
    )
    .await;
    assert_eq!(refused.code, Some(1));
    assert!(refused.stderr.contains("403"), "{}", refused.stderr);
}

/// A WebSocket server on a free port that answers each text with `reply(text)`, or never when it returns None.
async fn odd_server(reply: fn(&str) -> Option<String>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    if let Message::Text(text) = message
                        && let Some(answer) = reply(text.as_str())
                        && ws.send(Message::text(answer)).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    url
}

#[tokio::test]
async fn a_different_or_missing_echo_exits_1() {
    let shouting = odd_server(|text| Some(text.to_uppercase())).await;
    let differs = run_wsecho(&["client", &shouting, "--send", "quiet"], "").await;
    assert_eq!(differs.code, Some(1));
    assert!(differs.stderr.contains("echo differs"), "{}", differs.stderr);

    let silent = odd_server(|_| None).await;
    let started = std::time::Instant::now();
    let timed_out = run_wsecho(&["client", &silent, "--send", "hello?", "--timeout", "0.5"], "").await;
    assert_eq!(timed_out.code, Some(1));
    assert!(timed_out.stderr.contains("no echo"), "{}", timed_out.stderr);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "--timeout bounds the wait"
    );
}

#[tokio::test]
async fn bad_urls_are_bad_usage() {
    for url in ["http://127.0.0.1:1/", "not a url", "ws://"] {
        let run = run_wsecho(&["client", url, "--send", "x"], "").await;
        assert_eq!(run.code, Some(2), "{url}: {}", run.stderr);
        assert!(run.stderr.contains("ws://HOST:PORT"), "{url}: {}", run.stderr);
    }
}

#[tokio::test]
async fn interactive_mode_sends_stdin_lines_and_prints_what_comes_back() {
    let server = start(config(None)).await;
    let run = run_wsecho(&["client", &url(&server, false)], "first line\nsecond line\n").await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "first line\nsecond line\n");
    assert_eq!(server.stats().totals.messages_in, 2);
}

//! The `wsecho serve` binary: the machine-readable banner, SIGTERM shutdown with 1001, and one-line errors with
//! exit code 2 for bad input.

mod support;

use futures_util::SinkExt;
use support::*;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[tokio::test]
async fn banner_lists_every_listener_and_page_and_the_urls_work() {
    let pki = TestCerts::new();
    let path = |p: &std::path::Path| p.to_str().expect("path").to_string();
    let (cert, key, ca) = (path(&pki.server_chain), path(&pki.server_key), path(&pki.ca_cer));
    let serve = ServeProcess::start(&[
        "--ws",
        "127.0.0.1:0",
        "--ws",
        "[::1]:0",
        "--wss",
        "127.0.0.1:0",
        "--cert",
        &cert,
        "--key",
        &key,
        "--ca",
        &ca,
    ]);
    let listening: Vec<&String> = serve
        .banner
        .iter()
        .filter(|l| l.starts_with("listening "))
        .collect();
    assert_eq!(listening.len(), 3, "{:?}", serve.banner);
    for (line, scheme, host, page) in [
        (listening[0], "ws", "127.0.0.1", "http"),
        (listening[1], "ws", "[::1]", "http"),
        (listening[2], "wss", "localhost", "https"),
    ] {
        let words: Vec<&str> = line.split_whitespace().collect();
        let [_, url, "page", page_url] = words.as_slice() else {
            panic!("banner line format: {line}")
        };
        let port = url
            .strip_prefix(&format!("{scheme}://{host}:"))
            .unwrap_or_else(|| panic!("{url}"));
        assert_ne!(
            port.parse::<u16>().expect("numeric port"),
            0,
            "the real port is printed"
        );
        assert_eq!(*page_url, format!("{page}://{host}:{port}/"));
    }
    assert!(
        serve.banner.iter().any(|l| l.ends_with("/ca.cer")),
        "{:?}",
        serve.banner
    );
    assert!(
        serve.banner.iter().any(|l| l.contains("origins: any")),
        "{:?}",
        serve.banner
    );

    for url in &serve.urls {
        let mut ws = connect(url, Some(&pki)).await;
        within(ws.send(Message::text(url.as_str()))).await.expect("send");
        assert_eq!(next_message(&mut ws).await, Message::text(url.as_str()));
    }
}

#[tokio::test]
async fn sigterm_closes_clients_with_1001_and_exits_0() {
    let mut serve = ServeProcess::start(&["--ws", "127.0.0.1:0"]);
    let mut ws = connect(&serve.url("ws"), None).await;
    within(ws.send(Message::text("still here"))).await.expect("send");
    assert_eq!(next_message(&mut ws).await, Message::text("still here"));

    let pid = serve.pid().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(kill.success());
    match next_message(&mut ws).await {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Away),
        other => panic!("expected close 1001, got {other:?}"),
    }
    drop(ws);
    let status = serve.wait_within(WAIT);
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn bad_input_is_one_line_naming_the_value_with_exit_2() {
    let pki = TestCerts::new();
    let key = pki.server_key.to_str().expect("path");
    let chain = pki.server_chain.to_str().expect("path");
    let cases: [(&[&str], &str); 7] = [
        (&["serve", "--ws", "localhost:80"], "expected IP:PORT"),
        (
            &[
                "serve",
                "--cert",
                "/nonexistent/cert.pem",
                "--key",
                key,
                "--wss",
                "127.0.0.1:0",
            ],
            "/nonexistent/cert.pem",
        ),
        (
            &["serve", "--cert", key, "--key", key, "--wss", "127.0.0.1:0"],
            "CERTIFICATE",
        ),
        (&["serve", "--wss", "127.0.0.1:0"], "--cert"),
        (
            &["serve", "--ws", "127.0.0.1:0", "--client-ca", chain],
            "--client-ca needs TLS",
        ),
        (&["serve", "--max-message-size", "lots"], "16MiB"),
        (&["serve", "--idle-timeout", "1e15"], "at most 31536000"),
    ];
    for (args, expected) in cases {
        let run = run_wsecho(args, "").await;
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
    }
}

#[tokio::test]
async fn a_port_in_use_is_a_runtime_failure_with_exit_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let run = run_wsecho(&["serve", "--ws", &addr], "").await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("cannot listen on {addr}")),
        "{}",
        run.stderr
    );
}

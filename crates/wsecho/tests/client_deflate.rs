//! `wsecho client --deflate` (permessage-deflate on the client's side) against `wsecho serve` and Python
//! `websockets`: the negotiated `Sec-WebSocket-Extensions` answer, and text, binary and 1 MiB messages that go
//! out compressed and come back intact; the interactive client (`--deflate` without `--send`) relays stdin
//! lines compressed and prints the echoes.

mod support;

use std::process::Command;
use std::time::Duration;

use support::*;
use tokio_tungstenite::tungstenite::Message;
use wsecho::client::{self, ConnectOptions, Connection};

const WAIT: Duration = Duration::from_secs(20);

/// Connects offering deflate, requires the server to agree, and echoes text, binary and 1 MiB compressed.
async fn echoes_compressed(url: &str) -> String {
    let (ws, connected) = client::connect_deflate(url, &ConnectOptions::default())
        .await
        .expect("connect");
    let mut ws = Connection::Deflate(Box::new(ws));
    let extensions = connected.extensions.expect("the server agreed to an extension");
    assert!(extensions.starts_with("permessage-deflate"), "{extensions}");
    client::check_echo(&mut ws, Message::text("über compressed ".repeat(50)), WAIT)
        .await
        .expect("text echo");
    let binary: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    client::check_echo(&mut ws, Message::binary(binary), WAIT)
        .await
        .expect("binary echo");
    let big: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    client::check_echo(&mut ws, Message::binary(big), WAIT)
        .await
        .expect("1 MiB echo");
    client::close(&mut ws, WAIT).await;
    extensions
}

#[tokio::test]
async fn client_deflate_echoes_compressed_with_wsecho_serve() {
    let server = start(config(None)).await;
    let url = url(&server, false);
    assert_eq!(
        echoes_compressed(&url).await,
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    );
    let cli = run_wsecho(
        &["client", &url, "--deflate", "--send", "hello", "--send", "hello"],
        "",
    )
    .await;
    assert_eq!(cli.code, Some(0), "{}", cli.stderr);
    assert_eq!(cli.stdout, "hello\nhello\n");
    assert!(
        cli.stderr.contains(
            "extensions permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        ),
        "{}",
        cli.stderr
    );
}

#[tokio::test]
async fn client_deflate_echoes_compressed_with_python_websockets() {
    let Some(python) = python_websockets("client_deflate_echoes_compressed_with_python_websockets") else {
        return;
    };
    let (_server, url) = python_echo_server(&python, &["--deflate"]);
    // websockets' default answer keeps both contexts: the client's compressor then lives across messages.
    let extensions = echoes_compressed(&url).await;
    assert!(extensions.starts_with("permessage-deflate"), "{extensions}");
    let cli = run_wsecho(&["client", &url, "--deflate", "--send", "hello"], "").await;
    assert_eq!(cli.code, Some(0), "{}", cli.stderr);
    assert!(
        cli.stderr.contains("extensions permessage-deflate"),
        "{}",
        cli.stderr
    );
}

/// `wsecho client URL --deflate` reading stdin: the lines come with a pause between them (Python `websockets`
/// stops echoing once the client's close is in, so the input must not end before the echoes are back). The
/// pause is long enough for a server pinging every half second to drop a client that does not answer.
fn interactive_deflate(url: &str) -> Finished {
    let script = format!(
        "(printf 'first line\\n'; sleep 1.2; printf 'zweite Zeile ü\\n'; sleep 1) | '{}' client '{url}' --deflate",
        env!("CARGO_BIN_EXE_wsecho")
    );
    run(Command::new("sh").args(["-c", &script]), WAIT)
}

#[tokio::test]
async fn interactive_client_deflate_relays_stdin_with_wsecho_serve() {
    let server = start(config(None)).await;
    let cli = tokio::task::spawn_blocking({
        let url = url(&server, false);
        move || interactive_deflate(&url)
    })
    .await
    .expect("client run");
    assert_eq!(cli.code, Some(0), "{}", cli.output());
    assert_eq!(cli.stdout, "first line\nzweite Zeile ü\n", "{}", cli.output());
    assert!(
        cli.stderr.contains(
            "extensions permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        ),
        "{}",
        cli.output()
    );
}

#[test]
fn interactive_client_deflate_relays_stdin_with_python_websockets() {
    let Some(python) = python_websockets("interactive_client_deflate_relays_stdin_with_python_websockets")
    else {
        return;
    };
    let (_server, url) = python_echo_server(&python, &["--deflate", "--ping", "0.5"]);
    let cli = interactive_deflate(&url);
    assert_eq!(cli.code, Some(0), "{}", cli.output());
    assert_eq!(cli.stdout, "first line\nzweite Zeile ü\n", "{}", cli.output());
    assert!(
        cli.stderr.contains("extensions permessage-deflate"),
        "{}",
        cli.output()
    );
}

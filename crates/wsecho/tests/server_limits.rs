//! Limits and refusals: 1009 for oversized messages, 503 above the connection limit, 403 for foreign origins,
//! RFC 6455 handshake checks, handshake and idle timeouts, and graceful shutdown with 1001.

mod support;

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use support::*;
use tokio::io::AsyncReadExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use wsecho::server::ShutdownOutcome;

/// The close code the server sends next.
async fn close_code(ws: &mut Ws) -> CloseCode {
    match next_message(ws).await {
        Message::Close(Some(frame)) => frame.code,
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn messages_and_frames_above_the_limits_are_closed_with_1009() {
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    let pki = TestCerts::new();
    let mut settings = config(Some(&pki));
    settings.limits.max_message_size = 1024;
    settings.limits.max_frame_size = 512;
    let server = start(settings).await;
    for tls in [false, true] {
        let url = url(&server, tls);
        let mut ws = connect(&url, Some(&pki)).await;
        let at_limit = Message::binary(vec![7u8; 512]);
        within(ws.send(at_limit.clone())).await.expect("send");
        assert_eq!(
            next_message(&mut ws).await,
            at_limit,
            "a frame at the limit is echoed"
        );
        within(ws.send(Message::binary(vec![7u8; 513])))
            .await
            .expect("send");
        assert_eq!(
            close_code(&mut ws).await,
            CloseCode::Size,
            "one frame above --max-frame-size"
        );

        // A message of three 500-byte fragments: each frame is allowed, the message is not.
        let mut ws = connect(&url, Some(&pki)).await;
        let fragments = [
            Frame::message(vec![1u8; 500], OpCode::Data(Data::Binary), false),
            Frame::message(vec![1u8; 500], OpCode::Data(Data::Continue), false),
            Frame::message(vec![1u8; 500], OpCode::Data(Data::Continue), true),
        ];
        for fragment in fragments {
            // The server may close before the last fragment arrives; only the close code matters.
            let _ = within(ws.send(Message::Frame(fragment))).await;
        }
        assert_eq!(
            close_code(&mut ws).await,
            CloseCode::Size,
            "message above --max-message-size"
        );
    }
}

#[tokio::test]
async fn upgrades_above_the_connection_limit_get_503_and_the_slot_frees_on_close() {
    let pki = TestCerts::new();
    let mut settings = config(Some(&pki));
    settings.limits.max_connections = 1;
    let server = start(settings).await;
    let url = url(&server, false);
    let mut first = connect(&url, None).await;

    let request = url.as_str().into_client_request().expect("request");
    assert_eq!(refusal_status(request, None).await, 503);
    // The limit counts every listener: the wss one is full too.
    let wss_request = support::url(&server, true)
        .into_client_request()
        .expect("request");
    let tls = Some(client_tls(&pki.ca_pem, None));
    assert_eq!(refusal_status(wss_request, tls).await, 503);
    // Plain HTTP still works when the WebSocket slots are full.
    assert_eq!(http_get(&url, "/healthz", None).await.status, 200);
    assert_eq!(server.stats().totals.refused_connections, 2);

    within(first.close(None)).await.expect("close");
    within(async {
        loop {
            let request = url.as_str().into_client_request().expect("request");
            match connect_request(request, None).await {
                Ok(_) => return,
                Err(WsError::Http(response)) if response.status() == 503 => {
                    tokio::time::sleep(Duration::from_millis(20)).await
                }
                Err(e) => panic!("unexpected failure: {e}"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn origins_outside_the_allow_list_get_403() {
    let pki = TestCerts::new();
    let mut settings = config(Some(&pki));
    settings.allowed_origins = vec!["https://app.example:8443/".into()];
    let server = start(settings).await;
    for tls in [false, true] {
        let url = url(&server, tls);
        let client_tls = || tls.then(|| client_tls(&pki.ca_pem, None));
        let with_origin = |origin: &str| {
            let mut request = url.as_str().into_client_request().expect("request");
            request
                .headers_mut()
                .insert("Origin", origin.parse().expect("header"));
            request
        };
        assert_eq!(
            refusal_status(with_origin("https://evil.example"), client_tls()).await,
            403
        );
        // Case and a trailing slash do not matter; clients without Origin (not browsers) are let in.
        let allowed = within(connect_request(
            with_origin("https://APP.example:8443"),
            client_tls(),
        ))
        .await;
        assert!(allowed.is_ok());
        let no_origin = url.as_str().into_client_request().expect("request");
        assert!(within(connect_request(no_origin, client_tls())).await.is_ok());
    }
}

#[tokio::test]
async fn malformed_handshakes_are_refused_with_the_rfc_6455_status() {
    let server = start(config(None)).await;
    let url = url(&server, false);
    let host = url.trim_start_matches("ws://");
    let handshake = |version: &str, key: &str| {
        format!(
            "GET /echo HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: {version}\r\nSec-WebSocket-Key: {key}\r\n\r\n"
        )
    };
    let good_key = "dGhlIHNhbXBsZSBub25jZQ==";
    // A valid request first, so the refusals below are about the one field each changes.
    let HttpResponse { status, headers, .. } = http_exchange(&url, &handshake("13", good_key), None).await;
    assert_eq!(status, 101);
    // RFC 6455 section 1.3's example: this key must give this accept value.
    assert_eq!(
        header(&headers, "sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );

    let HttpResponse { status, headers, .. } = http_exchange(&url, &handshake("8", good_key), None).await;
    assert_eq!(status, 426);
    assert_eq!(header(&headers, "sec-websocket-version"), Some("13"));
    for bad_key in ["", "not base64!", "c2hvcnQ="] {
        let HttpResponse { status, .. } = http_exchange(&url, &handshake("13", bad_key), None).await;
        assert_eq!(status, 400, "key {bad_key:?}");
    }
}

#[tokio::test]
async fn connections_that_do_not_finish_the_handshake_in_time_are_dropped() {
    let pki = TestCerts::new();
    let mut settings = config(Some(&pki));
    settings.limits.handshake_timeout = Duration::from_millis(300);
    let server = start(settings).await;
    for tls in [false, true] {
        // Connect and send nothing: no HTTP request (ws) or not even a ClientHello (wss).
        let url = url(&server, tls);
        let mut stream = within(open_stream(&url.replace("wss:", "ws:"), None))
            .await
            .expect("connect");
        let started = Instant::now();
        let mut buf = [0u8; 64];
        let read = within(stream.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(0) | Err(_)),
            "the server closes the silent connection"
        );
        assert!(
            started.elapsed() >= Duration::from_millis(250),
            "not before the timeout"
        );
    }
}

#[tokio::test]
async fn idle_connections_are_closed_with_1001() {
    let mut settings = config(None);
    settings.limits.idle_timeout = Some(Duration::from_millis(300));
    let server = start(settings).await;
    let mut ws = connect(&url(&server, false), None).await;
    let started = Instant::now();
    match next_message(&mut ws).await {
        Message::Close(Some(frame)) => {
            assert_eq!(frame.code, CloseCode::Away);
            assert_eq!(frame.reason.as_str(), "idle timeout");
        }
        other => panic!("expected close 1001, got {other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn messages_keep_a_connection_open_past_the_idle_timeout() {
    // The idle timer is not restarted per message: it fires, sees the recent message and moves to the last
    // message plus the limit. Three timeouts' worth of traffic must keep the connection, and the close must
    // still come one timeout after the last message.
    let idle = Duration::from_millis(300);
    let mut settings = config(None);
    settings.limits.idle_timeout = Some(idle);
    let server = start(settings).await;
    let mut ws = connect(&url(&server, false), None).await;
    let started = Instant::now();
    let mut i = 0;
    while started.elapsed() < 3 * idle {
        let message = Message::text(format!("keep-alive {i}"));
        within(ws.send(message.clone())).await.expect("send");
        assert_eq!(next_message(&mut ws).await, message, "echo {i}");
        tokio::time::sleep(idle / 3).await;
        i += 1;
    }
    let last_message = Instant::now();
    assert_eq!(close_code(&mut ws).await, CloseCode::Away);
    let quiet = last_message.elapsed();
    assert!(
        quiet >= idle - Duration::from_millis(150),
        "closed {quiet:?} after the last message"
    );
}

#[tokio::test]
async fn shutdown_sends_1001_to_every_client_and_stops_accepting() {
    let pki = TestCerts::new();
    let server = start(config(Some(&pki))).await;
    let (ws_url, wss_url) = (url(&server, false), url(&server, true));
    let mut clients = vec![
        connect(&ws_url, Some(&pki)).await,
        connect(&ws_url, Some(&pki)).await,
        connect(&wss_url, Some(&pki)).await,
    ];
    // Each client answers the server's close (tungstenite replies automatically while reading).
    let readers = clients.drain(..).map(|mut ws| {
        tokio::spawn(async move {
            let code = close_code(&mut ws).await;
            while let Some(Ok(_)) = within(ws.next()).await {}
            code
        })
    });
    let readers: Vec<_> = readers.collect();
    assert_eq!(within(server.shutdown()).await, ShutdownOutcome::Drained);
    for reader in readers {
        assert_eq!(within(reader).await.expect("reader task"), CloseCode::Away);
    }
    let refused = within(open_stream(&ws_url, None)).await;
    assert!(refused.is_err(), "the listener is closed after shutdown");
}

#[tokio::test]
async fn protocol_violations_close_with_1002_and_bad_utf8_with_1007() {
    use tokio::io::AsyncWriteExt;
    let server = start(config(None)).await;
    let url = url(&server, false);

    // RFC 6455 5.1: a client frame must be masked.
    let mut unmasked = raw_websocket(&url).await;
    within(unmasked.write_all(&[0x81, 0x02, b'h', b'i']))
        .await
        .expect("send");
    assert_eq!(close_code_of(&read_frame(&mut unmasked).await), Some(1002));

    // A masked text frame whose payload is not UTF-8 (0xff never occurs in UTF-8). Mask key 0 keeps it readable.
    let mut bad_text = raw_websocket(&url).await;
    within(bad_text.write_all(&[0x81, 0x82, 0, 0, 0, 0, 0xff, 0xfe]))
        .await
        .expect("send");
    assert_eq!(close_code_of(&read_frame(&mut bad_text).await), Some(1007));
}

#[tokio::test]
async fn oversized_request_heads_get_431() {
    let server = start(config(None)).await;
    let url = url(&server, false);
    let host = url.trim_start_matches("ws://");
    let big = "x".repeat(20 * 1024);
    let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\nX-Big: {big}\r\n\r\n");
    assert_eq!(http_exchange(&url, &request, None).await.status, 431);
}

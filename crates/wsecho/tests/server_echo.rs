//! Echo behaviour over ws and wss against the in-process server, with an independent client.

mod support;

use futures_util::SinkExt;
use support::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::{ProtocolError, SubProtocolError};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

#[tokio::test]
async fn text_binary_and_one_mib_come_back_unchanged_over_ws_and_wss() {
    let pki = TestCerts::new();
    let server = start(config(Some(&pki))).await;
    let big_text: String = "0123456789abcdef€".chars().cycle().take(1 << 20).collect();
    let big_binary: Vec<u8> = (0..(1 << 20)).map(|i: u32| (i % 251) as u8).collect();
    for tls in [false, true] {
        let mut ws = connect(&url(&server, tls), Some(&pki)).await;
        let messages = [
            Message::text("héllo wörld"),
            Message::binary((0..=255u8).collect::<Vec<_>>()),
            Message::text(""),
            Message::text(big_text.clone()),
            Message::binary(big_binary.clone()),
        ];
        for message in messages {
            within(ws.send(message.clone())).await.expect("send");
            assert_eq!(next_message(&mut ws).await, message, "echo over tls={tls}");
        }
    }
}

#[tokio::test]
async fn ping_is_answered_with_a_pong_carrying_the_same_payload() {
    let pki = TestCerts::new();
    let server = start(config(Some(&pki))).await;
    for tls in [false, true] {
        let mut ws = connect(&url(&server, tls), Some(&pki)).await;
        within(ws.send(Message::Ping(b"are you there".to_vec().into())))
            .await
            .expect("ping");
        let pong = match within(futures_util::StreamExt::next(&mut ws)).await {
            Some(Ok(Message::Pong(payload))) => payload,
            other => panic!("expected a pong, got {other:?}"),
        };
        assert_eq!(&pong[..], b"are you there");
    }
}

#[tokio::test]
async fn close_code_and_reason_are_echoed() {
    let pki = TestCerts::new();
    let server = start(config(Some(&pki))).await;
    for (tls, code, reason) in [
        (false, 1000, "bye"),
        (false, 4001, "app-specific"),
        (true, 3000, "über"),
    ] {
        let mut ws = connect(&url(&server, tls), Some(&pki)).await;
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        within(ws.send(Message::Close(Some(frame.clone()))))
            .await
            .expect("send close");
        assert_eq!(next_message(&mut ws).await, Message::Close(Some(frame)));
        // After the close handshake the server ends the connection.
        assert!(
            within(futures_util::StreamExt::next(&mut ws))
                .await
                .is_none_or(|r| r.is_err())
        );
    }
}

/// Connects offering `offer` and returns the subprotocol the server chose.
async fn chosen_protocol(url: &str, offer: &str) -> Option<String> {
    let mut request = url.into_client_request().expect("request");
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", offer.parse().expect("header"));
    let (_, response) = within(connect_request(request, None)).await.expect("connects");
    response
        .headers()
        .get("Sec-WebSocket-Protocol")
        .map(|v| v.to_str().expect("ascii").to_string())
}

#[tokio::test]
async fn subprotocol_default_echoes_the_first_offer_and_configured_ones_pick_the_first_client_match() {
    let echoing = start(config(None)).await;
    assert_eq!(
        chosen_protocol(&url(&echoing, false), "chat.v2, chat.v1")
            .await
            .as_deref(),
        Some("chat.v2")
    );

    let mut restricted = config(None);
    restricted.protocols = vec!["a".into(), "c".into()];
    let restricted = start(restricted).await;
    let url = url(&restricted, false);
    assert_eq!(chosen_protocol(&url, "b, c, a").await.as_deref(), Some("c"));
    // No match: the handshake succeeds without a subprotocol; tungstenite's client then rejects it, which is what
    // RFC 6455 leaves to the client.
    let mut request = url.as_str().into_client_request().expect("request");
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "x".parse().expect("header"));
    let refused = within(connect_request(request, None)).await.err();
    assert!(
        matches!(
            refused,
            Some(WsError::Protocol(ProtocolError::SecWebSocketSubProtocolError(
                SubProtocolError::NoSubProtocol
            )))
        ),
        "server must answer without a subprotocol, got {refused:?}"
    );
}

#[tokio::test]
async fn page_health_and_unknown_paths() {
    let pki = TestCerts::new();
    let server = start(config(Some(&pki))).await;
    let page = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/index.html")).expect("asset");
    for tls in [false, true] {
        let base = url(&server, tls);
        let HttpResponse {
            status,
            headers,
            body,
        } = http_get(&base, "/", Some(&pki)).await;
        assert_eq!(status, 200);
        assert_eq!(header(&headers, "content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(body, page);
        let HttpResponse { status, body, .. } = http_get(&base, "/healthz", Some(&pki)).await;
        assert_eq!((status, body.as_slice()), (200, &b"ok\n"[..]));
        let HttpResponse { status, .. } = http_get(&base, "/no-such-page", Some(&pki)).await;
        assert_eq!(status, 404);
    }
}

#[tokio::test]
async fn ca_download_serves_the_der_certificate_or_a_hint() {
    let pki = TestCerts::new();
    let without = start(config(Some(&pki))).await;
    let HttpResponse { status, body, .. } = http_get(&url(&without, false), "/ca.cer", None).await;
    assert_eq!(status, 404);
    assert!(
        String::from_utf8_lossy(&body).contains("--ca"),
        "the 404 says how to fix it"
    );

    let der = std::fs::read(&pki.ca_cer).expect("ca.cer");
    // PEM and DER input both serve the DER bytes.
    for ca in [&pki.ca_pem, &pki.ca_cer] {
        let mut with = config(Some(&pki));
        with.ca_download = Some(ca.clone());
        let server = start(with).await;
        for tls in [false, true] {
            let HttpResponse {
                status,
                headers,
                body,
            } = http_get(&url(&server, tls), "/ca.cer", Some(&pki)).await;
            assert_eq!(status, 200);
            assert_eq!(header(&headers, "content-type"), Some("application/pkix-cert"));
            assert_eq!(body, der);
        }
    }
}

#[tokio::test]
async fn stats_count_connections_messages_and_bytes_per_listener() {
    let pki = TestCerts::new();
    let server = start(config(Some(&pki))).await;
    let mut plain = connect(&url(&server, false), Some(&pki)).await;
    let mut secure = connect(&url(&server, true), Some(&pki)).await;
    for (use_tls, message) in [
        (false, Message::text("four")),
        (false, Message::binary(vec![0u8; 10])),
        (true, Message::text("tls")),
    ] {
        let ws = if use_tls { &mut secure } else { &mut plain };
        within(ws.send(message.clone())).await.expect("send");
        assert_eq!(next_message(ws).await, message);
    }
    let HttpResponse {
        status,
        headers,
        body,
    } = http_get(&url(&server, false), "/stats", None).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("application/json"));
    let stats: wsecho::server::StatsSnapshot = serde_json::from_slice(&body).expect("stats JSON");
    assert_eq!(stats, server.stats(), "the route serves the library's numbers");
    let totals = stats.totals;
    assert_eq!((totals.open_connections, totals.total_connections), (2, 2));
    assert_eq!((totals.messages_in, totals.messages_out), (3, 3));
    assert_eq!((totals.bytes_in, totals.bytes_out), (17, 17));
    let [ws_listener, wss_listener] = stats.listeners.as_slice() else {
        panic!("two listeners expected: {:?}", stats.listeners)
    };
    assert_eq!(ws_listener.url, url(&server, false));
    assert_eq!(
        (ws_listener.counts.messages_in, ws_listener.counts.bytes_in),
        (2, 14)
    );
    assert_eq!(wss_listener.url, url(&server, true));
    assert_eq!(
        (wss_listener.counts.messages_out, wss_listener.counts.bytes_out),
        (1, 3)
    );

    within(plain.close(None)).await.expect("close");
    within(async {
        while server.stats().totals.open_connections != 1 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(server.stats().totals.total_connections, 2);
}

#[tokio::test]
async fn big_messages_go_out_in_64_kib_fragments_that_reassemble_to_the_same_bytes() {
    use tokio::io::AsyncWriteExt;
    let server = start(config(None)).await;
    let mut raw = raw_websocket(&url(&server, false)).await;
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    within(raw.write_all(&data(OP_BINARY, &payload)))
        .await
        .expect("send");
    let mut frames = Vec::new();
    loop {
        let frame = read_frame(&mut raw).await;
        let fin = frame.fin;
        frames.push(frame);
        if fin {
            break;
        }
    }
    let sizes: Vec<usize> = frames.iter().map(|f| f.payload.len()).collect();
    assert_eq!(sizes, [65536, 65536, 65536, 3392]);
    let opcodes: Vec<u8> = frames.iter().map(|f| f.opcode).collect();
    assert_eq!(opcodes, [0x2, 0x0, 0x0, 0x0], "binary, then continuations");
    assert_eq!(
        frames.iter().flat_map(|f| f.payload.clone()).collect::<Vec<u8>>(),
        payload
    );
}

#[tokio::test]
async fn pipelined_messages_come_back_in_order_and_are_counted_once_written() {
    // A client that sends many messages before reading any: the server queues their echoes and writes them
    // out in batches (at most 64 messages or 16 KiB each); order, kind and bytes must survive that.
    const MESSAGES: usize = 500;
    let pki = TestCerts::new();
    let server = start(config(Some(&pki))).await;
    let sent: Vec<Message> = (0..MESSAGES)
        .map(|i| match i % 3 {
            0 => Message::text(format!("message {i}")),
            1 => Message::binary(vec![(i % 251) as u8; i * 7]),
            _ => Message::binary(vec![7u8; 20_000 + i]),
        })
        .collect();
    for tls in [false, true] {
        let mut ws = connect(&url(&server, tls), Some(&pki)).await;
        for message in &sent {
            within(ws.feed(message.clone())).await.expect("queue a message");
        }
        within(ws.flush()).await.expect("send the queue");
        for (i, message) in sent.iter().enumerate() {
            assert_eq!(&next_message(&mut ws).await, message, "echo {i} over tls={tls}");
        }
    }
    let bytes: u64 = sent.iter().map(|message| message.len() as u64).sum();
    let totals = server.stats().totals;
    assert_eq!(
        (totals.messages_in, totals.messages_out),
        (2 * MESSAGES as u64, 2 * MESSAGES as u64)
    );
    assert_eq!((totals.bytes_in, totals.bytes_out), (2 * bytes, 2 * bytes));
}

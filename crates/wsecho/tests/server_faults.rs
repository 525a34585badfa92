//! Faults on demand and broadcast rooms as they look on the wire: frame sizes of `fragment=`, the close frame of
//! `close=`, no close frame for `drop`, the pings of `ping_every=` and the 1011 when they go unanswered, and the
//! HTTP answers to `refuse=`, `subprotocol=` and malformed fault or room URLs. Hand-written bytes (support/wire.rs)
//! see what a WebSocket library would hide; peers_faults.rs drives the same URLs with Python `websockets`.

mod support;

use std::time::{Duration, Instant};

use support::*;

/// Generous bound for a timed fault on a loaded machine: the event may come this much later than asked.
const LATE: Duration = Duration::from_secs(4);

async fn server() -> (wsecho::server::RunningServer, String) {
    let server = start(config(None)).await;
    let url = url(&server, false);
    (server, url)
}

/// The upgrade response to `target`, read by hand.
async fn upgrade_head(url: &str, target: &str, overrides: &[HeaderOverride<'_>]) -> Head {
    let mut io = within(open_stream(url, None)).await.expect("connect");
    write(&mut io, &upgrade_request_to(target, overrides))
        .await
        .expect("send upgrade");
    read_head(&mut io).await.expect("an HTTP answer")
}

fn close_reason(frame: &RawFrame) -> String {
    String::from_utf8_lossy(&frame.payload[2..]).into_owned()
}

#[tokio::test]
async fn fragment_splits_each_echo_into_frames_of_at_most_n_bytes() {
    let (_server, url) = server().await;
    let mut io = raw_websocket(&format!("{url}/fault?fragment=3")).await;
    write(&mut io, &data(OP_TEXT, b"0123456789")).await.expect("send");
    let mut frames = Vec::new();
    loop {
        let frame = read_frame(&mut io).await;
        let fin = frame.fin;
        frames.push((
            frame.opcode,
            String::from_utf8(frame.payload).expect("UTF-8"),
            fin,
        ));
        if fin {
            break;
        }
    }
    let expected = [
        (OP_TEXT, "012", false),
        (OP_CONTINUATION, "345", false),
        (OP_CONTINUATION, "678", false),
        (OP_CONTINUATION, "9", true),
    ]
    .map(|(opcode, payload, fin)| (opcode, payload.to_string(), fin));
    assert_eq!(frames, expected);

    // A message no bigger than the size is one frame, as on a plain path.
    write(&mut io, &data(OP_BINARY, b"abc")).await.expect("send");
    let frame = read_frame(&mut io).await;
    assert_eq!(
        (frame.opcode, frame.fin, frame.payload),
        (OP_BINARY, true, b"abc".to_vec())
    );
}

#[tokio::test]
async fn close_after_n_sends_the_code_and_reason_after_the_nth_echo() {
    let (_server, url) = server().await;
    let mut io = raw_websocket(&format!("{url}/fault?close=4000&reason=bye%20now&after=2")).await;
    // Both messages at once: the second echo still goes out, a third message is never read.
    let mut burst = data(OP_TEXT, b"one");
    burst.extend(data(OP_TEXT, b"two"));
    burst.extend(data(OP_TEXT, b"three"));
    write(&mut io, &burst).await.expect("send");
    for expected in [&b"one"[..], b"two"] {
        assert_eq!(read_frame(&mut io).await.payload, expected);
    }
    let close = read_frame(&mut io).await;
    assert_eq!(
        close.opcode, OP_CLOSE,
        "the close follows the second echo at once"
    );
    assert_eq!(close_code_of(&close), Some(4000));
    assert_eq!(close_reason(&close), "bye now");
}

#[tokio::test]
async fn drop_ends_the_tcp_connection_without_a_close_frame() {
    let (_server, url) = server().await;
    let mut io = raw_websocket(&format!("{url}/fault?drop&after=1")).await;
    write(&mut io, &data(OP_TEXT, b"last")).await.expect("send");
    assert_eq!(
        read_frame(&mut io).await.payload,
        b"last",
        "the echo before the drop"
    );
    assert_eq!(read_ending(&mut io, WAIT).await, Ok(Ending::Dropped));
}

#[tokio::test]
async fn unanswered_pings_end_with_1011_one_interval_after_the_ping() {
    let (_server, url) = server().await;
    let started = Instant::now();
    let mut io = raw_websocket(&format!("{url}/fault?ping_every=0.4")).await;
    let ping = read_frame(&mut io).await;
    let ping_at = started.elapsed();
    assert_eq!(
        (ping.opcode, ping.payload.as_slice()),
        (OP_PING, &b"wsecho fault ping"[..])
    );
    assert!(
        ping_at >= Duration::from_millis(350) && ping_at < Duration::from_millis(400) + LATE,
        "first ping after {ping_at:?}, asked for every 0.4 s"
    );
    let close = read_frame(&mut io).await;
    let close_at = started.elapsed();
    assert_eq!(close_code_of(&close), Some(1011));
    assert_eq!(close_reason(&close), "ping unanswered");
    assert!(
        close_at >= ping_at + Duration::from_millis(350) && close_at < ping_at + LATE,
        "close {close_at:?} after the start, the unanswered ping at {ping_at:?}"
    );
}

#[tokio::test]
async fn answered_pings_keep_the_connection_open() {
    let (_server, url) = server().await;
    let mut io = raw_websocket(&format!("{url}/fault?ping_every=0.2")).await;
    for _ in 0..4 {
        let frame = read_frame(&mut io).await;
        assert_eq!(frame.opcode, OP_PING, "only pings while the client answers them");
        write(&mut io, &data(OP_PONG, &frame.payload))
            .await
            .expect("pong");
    }
    write(&mut io, &data(OP_TEXT, b"still echoing"))
        .await
        .expect("send");
    loop {
        let frame = read_frame(&mut io).await;
        match frame.opcode {
            OP_PING => write(&mut io, &data(OP_PONG, &frame.payload))
                .await
                .expect("pong"),
            _ => {
                assert_eq!(frame.payload, b"still echoing");
                break;
            }
        }
    }
}

#[tokio::test]
async fn refuse_and_subprotocol_shape_the_upgrade_answer() {
    let (_server, url) = server().await;
    assert_eq!(upgrade_head(&url, "/fault?refuse=418", &[]).await.status, 418);
    assert_eq!(upgrade_head(&url, "/fault?refuse=503", &[]).await.status, 503);

    let unoffered = upgrade_head(&url, "/fault?subprotocol=mqtt", &[]).await;
    assert_eq!(unoffered.status, 101);
    assert_eq!(unoffered.header("sec-websocket-protocol"), Some("mqtt"));
    let other_offered = upgrade_head(
        &url,
        "/fault?subprotocol=mqtt",
        &[("Sec-WebSocket-Protocol", Some("chat"))],
    )
    .await;
    assert_eq!(other_offered.header("sec-websocket-protocol"), Some("mqtt"));
}

#[tokio::test]
async fn malformed_fault_and_room_urls_get_400_naming_the_part() {
    let (_server, url) = server().await;
    for (target, named) in [
        ("/fault?close=1005", "\"close\""),
        ("/fault?delay_ms=soon", "\"delay_ms\""),
        ("/fault?after=3", "\"after\""),
        ("/fault?explode=1", "\"explode\""),
        ("/broadcast/", "broadcast room \"\""),
        ("/broadcast/a%20b", "broadcast room \"a%20b\""),
    ] {
        let request = String::from_utf8(upgrade_request_to(target, &[])).expect("ASCII");
        let response = http_exchange(&url, &request, None).await;
        let body = String::from_utf8_lossy(&response.body);
        assert_eq!(response.status, 400, "{target}: {body}");
        assert!(body.contains(named), "{target}: {body}");
    }
}

#[tokio::test]
async fn a_plain_get_of_a_fault_url_checks_it() {
    let (_server, url) = server().await;
    let good = http_get(&url, "/fault?close=4000&after=3", None).await;
    assert_eq!(good.status, 426, "{}", String::from_utf8_lossy(&good.body));
    let bad = http_get(&url, "/fault?close=4000&after=many", None).await;
    assert_eq!(bad.status, 400);
    assert!(String::from_utf8_lossy(&bad.body).contains("bad fault parameter \"after\""));
}

#[tokio::test]
async fn without_faults_the_fault_path_is_a_plain_echo() {
    let server = start(wsecho::server::Config {
        faults: false,
        ..config(None)
    })
    .await;
    let url = url(&server, false);
    assert_eq!(upgrade_head(&url, "/fault?refuse=503", &[]).await.status, 101);
    let mut io = raw_websocket(&format!("{url}/fault?fragment=1&close=4000&after=1")).await;
    for message in [&b"abc"[..], b"def"] {
        write(&mut io, &data(OP_TEXT, message)).await.expect("send");
        let frame = read_frame(&mut io).await;
        assert_eq!(
            (frame.fin, frame.payload.as_slice()),
            (true, message),
            "echoed whole, no close"
        );
    }
}

#[tokio::test]
async fn with_after_and_after_secs_the_first_to_come_ends_it() {
    let (_server, url) = server().await;
    let started = Instant::now();
    let mut by_time = raw_websocket(&format!("{url}/fault?close=4002&after=5&after_secs=0.3")).await;
    let close = read_frame(&mut by_time).await;
    assert_eq!(close_code_of(&close), Some(4002));
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_millis(300) + LATE,
        "closed after {elapsed:?} with after_secs=0.3 and no message"
    );

    let mut by_count = raw_websocket(&format!("{url}/fault?close=4003&after=1&after_secs=30")).await;
    write(&mut by_count, &data(OP_TEXT, b"only")).await.expect("send");
    assert_eq!(read_frame(&mut by_count).await.payload, b"only");
    assert_eq!(close_code_of(&read_frame(&mut by_count).await), Some(4003));
}

#[tokio::test]
async fn a_room_delivers_to_every_member_once_and_stats_count_each_delivery() {
    let (server, url) = server().await;
    let mut sender = raw_websocket(&format!("{url}/broadcast/wire")).await;
    let mut listener = raw_websocket(&format!("{url}/broadcast/wire")).await;
    let mut elsewhere = raw_websocket(&format!("{url}/broadcast/elsewhere")).await;
    write(&mut sender, &data(OP_BINARY, b"to all"))
        .await
        .expect("send");
    for member in [&mut sender, &mut listener] {
        let frame = read_frame(member).await;
        assert_eq!(
            (frame.opcode, frame.payload.as_slice()),
            (OP_BINARY, &b"to all"[..])
        );
    }
    assert!(
        tokio::time::timeout(Duration::from_millis(300), next_frame(&mut elsewhere))
            .await
            .is_err(),
        "another room hears nothing"
    );
    // Counted once the deliveries are flushed, which may be just after the members read them.
    within(async {
        while (
            server.stats().totals.messages_in,
            server.stats().totals.messages_out,
        ) != (1, 2)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

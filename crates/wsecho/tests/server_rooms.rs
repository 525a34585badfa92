//! Broadcast rooms under load, on a `wsecho serve` process with its default room bounds (1 MiB backlog, 10 s
//! lag): members that read get every message in order however fast one of them sends (hand-written frames, and
//! Python `websockets` as a real peer), a member that never reads is dropped within the lag bound while the
//! server's memory stays within the backlog bound (and `--room-max-lag` moves the lag bound), and one big message
//! to 40 stalled compressed members is compressed once rather than once per member.

mod support;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flate2::{Decompress, FlushDecompress};
use support::*;
use tokio::io::{AsyncRead, AsyncWriteExt};

/// The server's `--room-max-lag` default.
const ROOM_MAX_LAG: Duration = Duration::from_secs(10);
const RSV1: u8 = 0b100;
const DEFLATE_OFFER: &str = "permessage-deflate; client_max_window_bits";

/// A whole message as the server sent it, or how the connection ended instead.
#[derive(Debug, PartialEq, Eq)]
enum Received {
    Message {
        opcode: u8,
        compressed: bool,
        payload: Vec<u8>,
    },
    Close(Option<u16>),
    Ended,
}

/// The next whole message (fragments joined), skipping pings.
async fn next_message<R: AsyncRead + Unpin + ?Sized>(io: &mut R) -> Received {
    let mut message: Option<(u8, bool, Vec<u8>)> = None;
    loop {
        let Ok(frame) = next_frame(io).await else {
            return Received::Ended;
        };
        match frame.opcode {
            OP_CLOSE => return Received::Close(close_code_of(&frame)),
            OP_PING | OP_PONG => continue,
            _ => {}
        }
        let (_, _, payload) =
            message.get_or_insert_with(|| (frame.opcode, frame.rsv & RSV1 != 0, Vec::new()));
        payload.extend_from_slice(&frame.payload);
        if frame.fin {
            let (opcode, compressed, payload) = message.take().expect("a message in progress");
            return Received::Message {
                opcode,
                compressed,
                payload,
            };
        }
    }
}

/// Reads `count` messages and checks that message `i` is `expected(i)`, each within `wait`.
async fn expect_in_order<R: AsyncRead + Unpin + ?Sized>(
    io: &mut R,
    count: usize,
    expected: impl Fn(usize) -> Vec<u8>,
    wait: Duration,
    who: &str,
) {
    for i in 0..count {
        let received = tokio::time::timeout(wait, next_message(io))
            .await
            .unwrap_or_else(|_| panic!("{who}: message {i} of {count} did not come within {wait:?}"));
        match received {
            Received::Message { payload, .. } => assert!(
                payload == expected(i),
                "{who}: message {i} of {count} is {:?}",
                String::from_utf8_lossy(&payload[..payload.len().min(40)])
            ),
            other => panic!("{who}: after {i} of {count} messages the server sent {other:?}"),
        }
    }
}

fn numbered(i: usize) -> Vec<u8> {
    format!("message {i}").into_bytes()
}

fn room_url(server: &ServeProcess, room: &str) -> String {
    format!("{}/broadcast/{room}", server.url("ws"))
}

/// The first reproduction: one write of 300 small frames to a room of two members that read. Each gets
/// all 300 in order, none is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_frames_in_one_write_reach_both_members_in_order() {
    let server = ServeProcess::ws(&[]);
    let room = room_url(&server, "burst");
    let mut sender = raw_websocket(&room).await;
    let mut other = raw_websocket(&room).await;
    let burst: Vec<u8> = (0..300).flat_map(|i| data(OP_TEXT, &numbered(i))).collect();
    write(&mut sender, &burst).await.expect("send 300 frames at once");
    expect_in_order(&mut sender, 300, numbered, WAIT, "sender").await;
    expect_in_order(&mut other, 300, numbered, WAIT, "other member").await;
}

/// The second: 1,000 frames written one at a time while the other member reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_frames_written_one_at_a_time_reach_both_members_in_order() {
    let server = ServeProcess::ws(&[]);
    let room = room_url(&server, "loop");
    let mut sender = raw_websocket(&room).await;
    let mut other = raw_websocket(&room).await;
    let listening =
        tokio::spawn(async move { expect_in_order(&mut other, 1000, numbered, WAIT, "other member").await });
    for i in 0..1000 {
        write(&mut sender, &data(OP_TEXT, &numbered(i)))
            .await
            .expect("send");
    }
    expect_in_order(&mut sender, 1000, numbered, WAIT, "sender").await;
    within(listening).await.expect("the other member's reads");
}

/// The same with a real peer: Python `websockets` members, the first sending 1,000 messages one `await send()`
/// at a time while both read; the second offers permessage-deflate, so a real client inflates the room's
/// compressed-once messages.
#[test]
fn python_members_get_all_of_a_thousand_messages_in_order() {
    let Some(python) = python_websockets("room flood") else {
        return;
    };
    let server = ServeProcess::ws(&[]);
    let mut cmd = Command::new(python);
    cmd.arg(repo_root().join("tests/peers/room_client.py"))
        .arg("flood")
        .arg(room_url(&server, "python"))
        .args(["1000", "--members", "2"]);
    let finished = run(&mut cmd, Duration::from_secs(60));
    assert!(finished.status.success(), "{cmd:?}: {}", finished.output());
    let report: serde_json::Value =
        serde_json::from_str(finished.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", finished.output()));
    assert!(
        report["extensions"]
            .as_str()
            .is_some_and(|e| e.starts_with("permessage-deflate")),
        "{report}"
    );
    for member in report["members"].as_array().expect("members") {
        assert_eq!(member["received"], 1000, "{report}");
        assert_eq!(member["in_order"], true, "{report}");
        assert_eq!(member["close_code"], serde_json::Value::Null, "{report}");
    }
}

/// Open WebSockets as `/stats` counts them.
async fn open_connections(server: &ServeProcess) -> u64 {
    let stats = http_get(&server.url("ws"), "/stats", None).await;
    let stats: serde_json::Value = serde_json::from_slice(&stats.body).expect("/stats JSON");
    stats["open_connections"].as_u64().expect("open_connections")
}

/// The 300 x 1 MiB to a room with members that never read (scaled to 100 messages): such a member held
/// every message alive until `--idle-timeout` (300 s). Now the senders wait while the backlog is full, a member
/// is dropped once its writes have stalled for the lag bound (its socket is full, so no close frame can reach
/// it), the others then get everything in order, and the server's peak memory stays far below the messages
/// sent. The stalled members: hand-written bytes, and Python `websockets`, which stops reading its socket once
/// 16 messages wait unread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_that_never_read_are_dropped_within_the_lag_bound_and_memory_stays_bounded() {
    const MESSAGES: usize = 100;
    const SIZE: usize = 1 << 20;
    /// Backlog (1 MiB) plus the message over it, the sender's message waiting for room and the one being read,
    /// with room for buffers and the allocator; before the fix the stalled members kept all 100 MiB.
    const GROWTH_LIMIT_KIB: u64 = 32 * 1024;
    let Some(python) = python_websockets("room with a stalled Python member") else {
        return;
    };
    let server = ServeProcess::ws(&[]);
    let room = room_url(&server, "stalled");
    let sender = raw_websocket(&room).await;
    let mut reader = raw_websocket(&room).await;
    let mut stalled = raw_websocket(&room).await;
    // Each stalled member holds the room back in turn: the second is not behind until the first is gone and the
    // room moves on. The Python member reads nothing until both must have been dropped.
    let drop_bound = 2 * ROOM_MAX_LAG + WAIT;
    let python_stall = drop_bound + Duration::from_secs(5);
    let mut python_member = Command::new(python);
    python_member
        .arg(repo_root().join("tests/peers/room_client.py"))
        .arg("stall")
        .arg(&room)
        .arg(python_stall.as_secs().to_string());
    let python_member = tokio::task::spawn_blocking(move || run(&mut python_member, python_stall + 3 * WAIT));
    within(async {
        while open_connections(&server).await < 4 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let before = memory_kib(server.pid(), "VmRSS:");
    // Noise, so that a compressed member's messages are as big on the wire; numbered.
    let block = Arc::new(noise(SIZE));
    let message = move |i: usize| {
        let mut payload = block.to_vec();
        payload[..8].copy_from_slice(&(i as u64).to_be_bytes());
        payload
    };
    let started = Instant::now();
    // A message may wait for the stalled members to be dropped.
    let patience = drop_bound;
    let (mut sender_in, mut sender_out) = tokio::io::split(sender);
    let to_send = message.clone();
    let sending = tokio::spawn(async move {
        for i in 0..MESSAGES {
            let frame = frame(true, 0, OP_BINARY, &to_send(i), true);
            tokio::time::timeout(patience, sender_out.write_all(&frame))
                .await
                .unwrap_or_else(|_| panic!("message {i} could not be sent within {patience:?}"))
                .expect("send");
        }
        sender_out
    });
    let expected = message.clone();
    let hearing =
        tokio::spawn(
            async move { expect_in_order(&mut sender_in, MESSAGES, expected, patience, "sender").await },
        );
    let reading =
        tokio::spawn(
            async move { expect_in_order(&mut reader, MESSAGES, message, patience, "reader").await },
        );
    let dropped = async {
        while open_connections(&server).await > 2 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        started.elapsed()
    };
    let dropped_after = tokio::time::timeout(drop_bound, dropped)
        .await
        .unwrap_or_else(|_| {
            panic!("the stalled members are still open {drop_bound:?} after the flood began")
        });
    // Each message waits at most `patience`; this only bounds the whole flood on a slow machine.
    let flood = async {
        reading.await.expect("the reader's reads");
        hearing.await.expect("the sender's reads");
        sending.await.expect("the sender's writes")
    };
    let _sender_out = tokio::time::timeout(Duration::from_secs(180), flood)
        .await
        .expect("the flood is over within 3 minutes");
    let delivered_after = started.elapsed();
    let peak = memory_kib(server.pid(), "VmHWM:");
    println!(
        "{MESSAGES} x 1 MiB to a room with two members that never read: both dropped after {dropped_after:.1?}, \
         everything delivered to the others after {delivered_after:.1?}; server RSS before {before} KiB, peak \
         {peak} KiB"
    );
    assert!(
        peak <= before + GROWTH_LIMIT_KIB,
        "peak RSS {peak} KiB is more than {GROWTH_LIMIT_KIB} KiB above {before} KiB"
    );
    // What the kernel had buffered for it, then the end of the connection.
    let (_, buffered) = wait_disconnect(&mut stalled, WAIT)
        .await
        .expect("the hand-written stalled member was disconnected");
    let python_report = python_member.await.expect("the Python member's run");
    assert!(python_report.status.success(), "{}", python_report.output());
    let python_report: serde_json::Value =
        serde_json::from_str(python_report.stdout.lines().last().unwrap_or(""))
            .unwrap_or_else(|e| panic!("{e}: {}", python_report.output()));
    println!("hand-written member: {buffered} bytes were in its socket; Python member: {python_report}");
    assert_eq!(python_report["ended"], true, "{python_report}");
    assert!(
        python_report["received"].as_u64().expect("received") < MESSAGES as u64,
        "{python_report}"
    );
}

/// `--room-max-lag` sets the lag bound: at 1 s a member that never reads is dropped long before the default 10 s
/// (with a 64 KiB `--room-backlog`, so that the sender waits after a quarter of a message).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_max_lag_sets_how_soon_a_stalled_member_goes() {
    const LAG: Duration = Duration::from_secs(1);
    /// Well below the default lag.
    const BOUND: Duration = Duration::from_secs(6);
    let server = ServeProcess::ws(&["--room-max-lag", "1", "--room-backlog", "64KiB"]);
    let room = room_url(&server, "flags");
    let sender = raw_websocket(&room).await;
    let _stalled = raw_websocket(&room).await;
    let block = noise(256 * 1024);
    let (mut sender_in, mut sender_out) = tokio::io::split(sender);
    let started = Instant::now();
    let sending = tokio::spawn(async move {
        for _ in 0..40 {
            let frame = frame(true, 0, OP_BINARY, &block, true);
            within(sender_out.write_all(&frame)).await.expect("send");
        }
    });
    let hearing =
        tokio::spawn(
            async move { while let Received::Message { .. } = next_message(&mut sender_in).await {} },
        );
    let dropped = tokio::time::timeout(BOUND, async {
        while open_connections(&server).await > 1 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        started.elapsed()
    })
    .await
    .unwrap_or_else(|_| {
        panic!("the stalled member is still open {BOUND:?} after the flood began (lag {LAG:?})")
    });
    println!("with --room-max-lag 1 the stalled member was dropped after {dropped:.1?}");
    within(sending).await.expect("the sender's writes");
    hearing.abort();
}

/// The 8 MiB message to 40 stalled compressed members: +360 MiB and 3.8 s of CPU when each member
/// compressed its own copy. Members without context takeover share one compressed copy, so the server's memory
/// grows by a few times the message, not 40 times. A compressed member that reads gets the message compressed
/// and inflates it back; the CPU time is printed, not asserted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_message_to_forty_stalled_compressed_members_is_compressed_once() {
    const STALLED: usize = 40;
    const SIZE: usize = 8 << 20;
    /// The message as read, in the backlog, compressed once, and as the reading members' writes hold it, with
    /// room for buffers and the allocator; 40 compressed copies would be 320 MiB.
    const GROWTH_LIMIT_KIB: u64 = 64 * 1024;
    let server = ServeProcess::ws(&[]);
    let room = room_url(&server, "deflate");
    let mut stalled = Vec::new();
    for _ in 0..STALLED {
        stalled.push(compressed_member(&room).await);
    }
    let mut reader = compressed_member(&room).await;
    let sender = raw_websocket(&room).await;
    // Noise that does not compress: the worst case, as in the issue.
    let message = noise(SIZE);
    let before = memory_kib(server.pid(), "VmRSS:");
    let cpu_before = cpu_time(server.pid());
    let (mut sender_in, mut sender_out) = tokio::io::split(sender);
    let wire = frame(true, 0, OP_BINARY, &message, true);
    let sending = tokio::spawn(async move {
        within(sender_out.write_all(&wire)).await.expect("send");
        sender_out
    });
    let echoed = message.clone();
    let hearing = tokio::spawn(async move {
        expect_in_order(&mut sender_in, 1, move |_| echoed.clone(), WAIT, "sender").await
    });
    let Received::Message {
        compressed, payload, ..
    } = within(next_message(&mut reader)).await
    else {
        panic!("the compressed member got no message");
    };
    assert!(compressed, "sent compressed (RSV1) on a compressed connection");
    assert!(inflate(&payload, SIZE) == message, "inflates to the message sent");
    let _sender_out = within(sending).await.expect("the sender's write");
    within(hearing).await.expect("the sender's read");
    let peak = memory_kib(server.pid(), "VmHWM:");
    let cpu = cpu_time(server.pid()) - cpu_before;
    println!(
        "8 MiB to {STALLED} stalled compressed members, one reading one and a plain sender: server RSS before \
         {before} KiB, peak {peak} KiB, CPU {cpu:.2?}"
    );
    assert!(
        peak <= before + GROWTH_LIMIT_KIB,
        "peak RSS {peak} KiB is more than {GROWTH_LIMIT_KIB} KiB above {before} KiB"
    );
    drop(stalled);
}

/// `size` bytes that deflate cannot shrink (xorshift32).
fn noise(size: usize) -> Vec<u8> {
    let mut seed = 0x2545_f491_u32;
    (0..size)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as u8
        })
        .collect()
}

/// A member of `room` that negotiated permessage-deflate (checked).
async fn compressed_member(room: &str) -> Io {
    let uri: tokio_tungstenite::tungstenite::http::Uri = room.parse().expect("URL");
    let mut io = within(open_stream(room, None)).await.expect("connect");
    let request = upgrade_request_to(uri.path(), &[("Sec-WebSocket-Extensions", Some(DEFLATE_OFFER))]);
    write(&mut io, &request).await.expect("send upgrade");
    let head = read_head(&mut io).await.expect("upgrade answer");
    assert_eq!(head.status, 101);
    assert!(
        head.header("sec-websocket-extensions")
            .is_some_and(|answer| answer.contains("server_no_context_takeover")),
        "deflate without server context takeover negotiated"
    );
    io
}

/// A compressed server message inflated (RFC 7692 7.2.2: the removed sync tail put back), up to `size` bytes.
fn inflate(compressed: &[u8], size: usize) -> Vec<u8> {
    let mut input = compressed.to_vec();
    input.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let mut out = Vec::with_capacity(size + 1);
    Decompress::new(false)
        .decompress_vec(&input, &mut out, FlushDecompress::Sync)
        .expect("a deflate stream");
    out
}

//! permessage-deflate (RFC 7692) against hand-written bytes on one `wsecho serve`: the negotiation answer on the
//! wire, compressed echoes (RSV1 set, inflating to the same bytes), and what hostile compressed input gets, each
//! with its exact close code on both listeners: RSV1 on a control frame or a continuation, RSV1 without
//! negotiation, data that is not deflate, invalid UTF-8 that only inflation reveals, and a decompression bomb,
//! which must close with 1009 while the server's memory stays within the message limit plus a small bound.

#[allow(dead_code)] // the hostile suite's server; this file uses its start-up and listeners only
#[path = "server_hostile/server.rs"]
mod server;
mod support;

use std::time::{Duration, Instant};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use server::{IDLE_TIMEOUT, Listener, MAX_MESSAGE, Server};
use support::{
    Ending, IO_WAIT, Io, OP_BINARY, OP_CONTINUATION, OP_PING, OP_TEXT, ServeProcess, frame, memory_kib,
    next_frame, read_ending, read_head, upgrade_request, wait_disconnect, write,
};
use tokio::io::AsyncWriteExt;

const RSV1: u8 = 0b100;
const OFFER: &str = "permessage-deflate; client_max_window_bits";

/// Raw deflate with a sync flush and without the `00 00 ff ff` tail, as RFC 7692 7.2.1 has a sender do.
fn compress(data: &[u8]) -> Vec<u8> {
    let mut compressor = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(data.len() + 64);
    compressor
        .compress_vec(data, &mut out, FlushCompress::Sync)
        .expect("compress");
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]), "a sync flush ends the output");
    out.truncate(out.len() - 4);
    out
}

/// What a client's inflater makes of a compressed server message (the tail put back, RFC 7692 7.2.2).
fn inflate(data: &[u8]) -> Vec<u8> {
    let mut input = data.to_vec();
    input.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let mut inflater = Decompress::new(false);
    let mut out = Vec::with_capacity(1 << 20);
    while (inflater.total_in() as usize) < input.len() {
        out.reserve(64 * 1024);
        let consumed = inflater.total_in() as usize;
        inflater
            .decompress_vec(&input[consumed..], &mut out, FlushDecompress::Sync)
            .expect("the server's echo is a deflate stream");
    }
    out
}

/// Upgrades offering `offer` (if any) and returns the connection and the server's `Sec-WebSocket-Extensions`.
async fn upgrade_offering(listener: &Listener, offer: Option<&str>) -> (Io, Option<String>) {
    upgrade_on(listener.connect().await.expect("connect"), offer).await
}

/// Upgrades `io` offering `offer` (if any); returns it and the server's `Sec-WebSocket-Extensions`.
async fn upgrade_on(mut io: Io, offer: Option<&str>) -> (Io, Option<String>) {
    write(&mut io, &upgrade_request(&[("Sec-WebSocket-Extensions", offer)]))
        .await
        .expect("send upgrade");
    let head = read_head(&mut io).await.expect("upgrade answer");
    assert_eq!(head.status, 101, "upgrade");
    let extensions = head.header("sec-websocket-extensions").map(str::to_owned);
    (io, extensions)
}

async fn expect_close(io: &mut Io, bytes: &[u8], code: u16, what: &str) {
    write(io, bytes).await.expect("send");
    assert_eq!(
        read_ending(io, IO_WAIT).await,
        Ok(Ending::Close(Some(code))),
        "{what}"
    );
    wait_disconnect(io, IO_WAIT)
        .await
        .unwrap_or_else(|e| panic!("{what}: close sent but then {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_echoes_and_hostile_compressed_input_on_ws_and_wss() {
    let server = Server::start();
    for listener in server.listeners() {
        let name = listener.name();
        let (mut io, extensions) = upgrade_offering(listener, Some(OFFER)).await;
        assert_eq!(
            extensions.as_deref(),
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
            "{name}"
        );
        // A compressed text message and an uncompressed binary one; each echo of a compressible message comes
        // back compressed (RSV1) whatever the client did.
        let text = "compress me ".repeat(200);
        write(
            &mut io,
            &frame(true, RSV1, OP_TEXT, &compress(text.as_bytes()), true),
        )
        .await
        .expect("send");
        let echo = next_frame(&mut io).await.expect("text echo");
        assert_eq!(
            (echo.opcode, echo.rsv & RSV1),
            (OP_TEXT, RSV1),
            "{name}: text echo is compressed"
        );
        assert!(echo.payload.len() < text.len() / 10);
        assert_eq!(inflate(&echo.payload), text.as_bytes(), "{name}");
        let binary = vec![7u8; 40 * 1024];
        write(&mut io, &frame(true, 0, OP_BINARY, &binary, true))
            .await
            .expect("send");
        let echo = next_frame(&mut io).await.expect("binary echo");
        assert_eq!((echo.opcode, echo.rsv & RSV1), (OP_BINARY, RSV1), "{name}");
        assert_eq!(inflate(&echo.payload), binary, "{name}");
        // By default every echo is compressed, however small.
        write(&mut io, &frame(true, 0, OP_TEXT, b"hi", true))
            .await
            .expect("send");
        let echo = next_frame(&mut io).await.expect("small echo");
        assert_eq!(
            (echo.rsv, inflate(&echo.payload)),
            (RSV1, b"hi".to_vec()),
            "{name}"
        );
        // A compressed message in two fragments: RSV1 on the first only.
        let packed = compress(text.as_bytes());
        let (first, second) = packed.split_at(packed.len() / 2);
        let mut fragmented = frame(false, RSV1, OP_TEXT, first, true);
        fragmented.extend(frame(true, 0, OP_CONTINUATION, second, true));
        write(&mut io, &fragmented).await.expect("send");
        let echo = next_frame(&mut io).await.expect("fragmented echo");
        assert_eq!(inflate(&echo.payload), text.as_bytes(), "{name}");

        let cases: Vec<(&str, Vec<u8>, u16)> = vec![
            ("RSV1 on a ping", frame(true, RSV1, OP_PING, b"x", true), 1002),
            (
                "RSV1 on a continuation",
                {
                    let mut bytes = frame(false, RSV1, OP_TEXT, first, true);
                    bytes.extend(frame(true, RSV1, OP_CONTINUATION, second, true));
                    bytes
                },
                1002,
            ),
            (
                "data that is not deflate",
                frame(true, RSV1, OP_BINARY, &[0xff; 40], true),
                1002,
            ),
            (
                "invalid UTF-8 visible only after inflation",
                frame(
                    true,
                    RSV1,
                    OP_TEXT,
                    &compress(b"fine so far \xff\xfe and then not"),
                    true,
                ),
                1007,
            ),
            (
                "compressed message inflating past --max-message-size",
                frame(
                    true,
                    RSV1,
                    OP_BINARY,
                    &compress(&vec![0u8; MAX_MESSAGE + 1]),
                    true,
                ),
                1009,
            ),
        ];
        for (what, bytes, code) in cases {
            let (mut io, _) = upgrade_offering(listener, Some(OFFER)).await;
            expect_close(&mut io, &bytes, code, &format!("{name}: {what}")).await;
        }
        // The server accepts deflate, but this client did not offer it: RSV1 is a protocol error.
        let (mut plain, extensions) = upgrade_offering(listener, None).await;
        assert_eq!(extensions, None, "{name}: nothing offered, nothing answered");
        expect_close(
            &mut plain,
            &frame(true, RSV1, OP_TEXT, &compress(b"hello"), true),
            1002,
            &format!("{name}: RSV1 without negotiation"),
        )
        .await;
    }
    // Below --deflate-min-size the echo goes as it is.
    let min_size = ServeProcess::ws(&["--deflate-min-size", "64"]);
    let (mut io, _) = upgrade_offering(&ws_listener(&min_size), Some(OFFER)).await;
    write(&mut io, &frame(true, 0, OP_TEXT, b"hi", true))
        .await
        .expect("send");
    let echo = next_frame(&mut io).await.expect("small echo");
    assert_eq!((echo.rsv, echo.payload.as_slice()), (0, &b"hi"[..]));
    // With --deflate off every offer is declined.
    let off = ServeProcess::ws(&["--deflate", "off"]);
    let (_, extensions) = upgrade_offering(&ws_listener(&off), Some(OFFER)).await;
    assert_eq!(extensions, None, "--deflate off answers no extension");
}

fn ws_listener(server: &ServeProcess) -> Listener {
    Listener {
        addr: ([127, 0, 0, 1], server.ws_port).into(),
        tls: None,
    }
}

/// Compressed connections that send without ever reading: the server's compressed echoes stall, it stops reading,
/// and it drops them after its idle timeout, with its memory bounded, as it does plain ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_clients_that_never_read_are_dropped_after_the_idle_timeout() {
    const CLIENTS: usize = 6;
    const RSS_BOUND_KIB: u64 = 20 * 1024;
    let server = Server::start();
    // The idle timeout, plus the time the server needs to fill the kernel's socket buffers on a busy machine.
    let cut_after = IDLE_TIMEOUT + Duration::from_secs(20);
    let before = server.rss_kib();
    let mut pushers = tokio::task::JoinSet::new();
    for i in 0..CLIENTS {
        let listener = server.listeners()[i % 2].clone();
        pushers.spawn(async move {
            // A small receive buffer, so that the echoes back up quickly.
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
            let tcp = socket.connect(listener.addr).await.expect("connect");
            let (mut io, extensions) = upgrade_on(listener.wrap(tcp).await.expect("TLS"), Some(OFFER)).await;
            assert!(extensions.is_some(), "deflate negotiated");
            // Bytes that do not compress, so that the compressed echoes fill the socket buffers quickly.
            let noise: Vec<u8> = (0..32 * 1024u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect();
            let message = frame(true, 0, OP_BINARY, &noise, true);
            // Whole frames only: a write cut short would leave a broken frame, which the server rightly answers
            // with 1002. A write blocks once the server stops reading, and fails once it drops the connection.
            let start = Instant::now();
            loop {
                let left = cut_after.saturating_sub(start.elapsed());
                match tokio::time::timeout(left, io.write_all(&message)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return Some(start.elapsed()),
                    Err(_) => return None,
                }
            }
        });
    }
    let mut peak = before;
    let mut cuts = Vec::new();
    while !pushers.is_empty() {
        peak = peak.max(server.rss_kib());
        if let Ok(Some(joined)) = tokio::time::timeout(Duration::from_millis(100), pushers.join_next()).await
        {
            cuts.push(joined.expect("pusher task"));
        }
    }
    println!(
        "never-reading compressed clients cut after {cuts:?}; server RSS {before} KiB before, peak {peak} KiB"
    );
    assert!(
        cuts.iter().all(Option::is_some),
        "still connected after {cut_after:?}: {cuts:?}\n{}",
        server.log_tail()
    );
    assert!(
        peak <= before + RSS_BOUND_KIB,
        "peak RSS {peak} KiB, {before} KiB before"
    );
}

/// A few bytes that inflate to far more than the limit: close 1009, and the server never holds more than the
/// limit (16 MiB by default) on top of what it held before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decompression_bomb_closes_with_1009_within_the_message_limit_of_memory() {
    const LIMIT_KIB: u64 = 16 * 1024;
    const SLACK_KIB: u64 = 8 * 1024;
    let server = ServeProcess::ws(&[]);
    let listener = ws_listener(&server);
    // 256 MiB of zeros, compressed in pieces (about 256 KiB on the wire).
    let mut compressor = Compress::new(Compression::best(), false);
    let zeros = vec![0u8; 1 << 20];
    let mut bomb = Vec::with_capacity(2 << 20);
    for _ in 0..256 {
        bomb.reserve(64 * 1024);
        compressor
            .compress_vec(&zeros, &mut bomb, FlushCompress::None)
            .expect("compress");
    }
    bomb.reserve(64 * 1024);
    compressor
        .compress_vec(&[], &mut bomb, FlushCompress::Sync)
        .expect("flush");
    assert!(bomb.len() < 1 << 20, "bomb of {} bytes", bomb.len());

    let before = memory_kib(server.pid(), "VmRSS:");
    let (mut io, extensions) = upgrade_offering(&listener, Some(OFFER)).await;
    assert!(extensions.is_some(), "deflate negotiated");
    let started = Instant::now();
    expect_close(
        &mut io,
        &frame(true, RSV1, OP_BINARY, &bomb, true),
        1009,
        "256 MiB bomb",
    )
    .await;
    let peak = memory_kib(server.pid(), "VmHWM:");
    println!(
        "bomb of {} KiB (256 MiB inflated) closed with 1009 after {:.1?}; server RSS before {before} KiB, peak {peak} KiB",
        bomb.len() / 1024,
        started.elapsed()
    );
    assert!(
        peak <= before + LIMIT_KIB + SLACK_KIB,
        "peak RSS {peak} KiB is more than the 16 MiB limit plus {SLACK_KIB} KiB above {before} KiB"
    );
}

/// Idle connections that each had a 16 KiB message echoed compressed cost no more than idle plain ones: a
/// connection's buffers and (without context takeover) its compressor and inflater are freed when it goes idle.
/// Each kind is measured on a fresh server with the same warm-up, so neither inherits the other's heap; Python
/// `websockets` (its defaults, which keep a small compressor per connection) is measured the same way beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_compressed_connection_costs_what_a_plain_one_does() {
    /// Allocator noise per connection: RSS moves in 4 KiB pages.
    const SLACK_KIB: f64 = 1.5;
    let wsecho = |offer| async move {
        let server = ServeProcess::ws(&[]);
        idle_cost(server.pid(), &ws_listener(&server), offer).await
    };
    let plain = wsecho(None).await;
    let compressed = wsecho(Some(OFFER)).await;
    println!(
        "idle connection after a 16 KiB echo, wsecho: plain {plain:.1} KiB, permessage-deflate {compressed:.1} KiB \
         ({IDLE_CONNECTIONS} each)"
    );
    assert!(
        compressed <= plain + SLACK_KIB,
        "an idle compressed connection costs {compressed:.1} KiB, a plain one {plain:.1} KiB"
    );
    let Some(python) = support::python_websockets("python websockets idle memory") else {
        return;
    };
    let python_cost = |deflate: bool| {
        let python = python.clone();
        async move {
            let args: &[&str] = if deflate { &["0", "--deflate"] } else { &["0"] };
            let (server, url) = support::python_echo_server(&python, args);
            let listener = Listener {
                addr: url
                    .trim_start_matches("ws://")
                    .parse()
                    .expect("the server's address"),
                tls: None,
            };
            let offer = deflate.then_some(OFFER);
            idle_cost(server.0.id(), &listener, offer).await
        }
    };
    let (python_plain, python_compressed) = (python_cost(false).await, python_cost(true).await);
    println!(
        "idle connection after a 16 KiB echo, Python websockets: plain {python_plain:.1} KiB, permessage-deflate \
         {python_compressed:.1} KiB"
    );
    assert!(
        compressed <= python_compressed,
        "wsecho's idle compressed connection ({compressed:.1} KiB) costs more than Python's ({python_compressed:.1} KiB)"
    );
}

const IDLE_CONNECTIONS: usize = 500;

/// KiB of RSS (of the server process `pid`) per idle connection that offered `offer` and had one 16 KiB text
/// message echoed.
async fn idle_cost(pid: u32, listener: &Listener, offer: Option<&'static str>) -> f64 {
    let message = "sixteen KiB of text that compresses well ".repeat(400);
    let open = || async {
        let (mut io, _) = upgrade_offering(listener, offer).await;
        write(&mut io, &frame(true, 0, OP_TEXT, message.as_bytes(), true))
            .await
            .expect("send");
        let echo = next_frame(&mut io).await.expect("echo");
        assert_eq!(
            echo.rsv & RSV1 != 0,
            offer.is_some(),
            "compressed exactly when negotiated"
        );
        io
    };
    // Warm-up: what a first connection allocates (runtime, allocator arenas, a compressor) is not per connection.
    for _ in 0..20 {
        drop(open().await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = memory_kib(pid, "VmRSS:");
    let mut held = Vec::new();
    for _ in 0..IDLE_CONNECTIONS {
        held.push(open().await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = memory_kib(pid, "VmRSS:");
    after.saturating_sub(before) as f64 / IDLE_CONNECTIONS as f64
}

//! Hostile clients against one `wsecho serve`: every case sends what a buggy or malicious client would and
//! asserts the exact outcome (HTTP status, close code, or a timely disconnect). After every case a well-behaved
//! client must still echo on both listeners within a bounded wait, and at the end the server's memory must be back
//! near its warm baseline. Loopback only; each wait is bounded, so the whole suite ends in well under a minute.
//!
//! Run alone with `cargo test -p wsecho --test server_hostile -- --nocapture` to see the observed outcome of every case.

#[path = "server_hostile/server.rs"]
mod server;
mod support;

use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use server::{HANDSHAKE_TIMEOUT, IDLE_TIMEOUT, Listener, MAX_CONNECTIONS, MAX_MESSAGE, Server};
use support::{
    Ending, HeaderOverride, IO_WAIT, Io, OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_TEXT, data, frame,
    frame_header, read_ending, read_head, upgrade, upgrade_request, wait_disconnect, write,
};

/// What a case observed when it passed, or why it failed.
type Outcome = Result<String, String>;

/// Slack on top of a server timeout before a missing disconnect counts as a failure (2 shared cores, busy CI).
const SLACK: Duration = Duration::from_secs(2);
/// The well-behaved client's whole echo round trip (connect, TLS, upgrade, one message) must fit in this.
const PROMPT_ECHO: Duration = Duration::from_secs(3);
/// How far above its warm baseline the server's RSS may end up after all cases.
const RSS_BOUND_KIB: u64 = 20 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_never_stop_the_server() {
    let mut server = Server::start();
    let mut suite = Suite::default();

    // Warm up: connections, TLS and a message of each kind, so the baseline includes what steady use allocates.
    for _ in 0..20 {
        for listener in server.listeners() {
            echo_once(listener, 16 * 1024).await.unwrap_or_else(|e| {
                panic!("warm-up echo on {}: {e}\n{}", listener.name(), server.log_tail())
            });
        }
    }
    let baseline = server.rss_kib();
    println!("server RSS warm baseline: {baseline} KiB");

    suite
        .case(
            &server,
            "slow handshakes (200 trickled upgrade requests)",
            slow_handshakes(&server),
        )
        .await;
    for listener in server.listeners() {
        let name = listener.name();
        suite
            .case(&server, &format!("{name}: garbage bytes"), garbage(listener))
            .await;
    }
    suite
        .case(
            &server,
            "wss: plaintext HTTP on the TLS port",
            plaintext_http_on_tls(&server.wss),
        )
        .await;
    suite
        .case(
            &server,
            "wss: ClientHello then silence",
            client_hello_then_silence(&server.wss),
        )
        .await;
    for listener in server.listeners() {
        let name = listener.name();
        suite
            .case(
                &server,
                &format!("{name}: bad upgrade headers"),
                bad_upgrades(listener),
            )
            .await;
        suite
            .case(
                &server,
                &format!("{name}: oversized request head"),
                oversized_head(listener),
            )
            .await;
        for (what, bytes, code) in protocol_violations() {
            suite
                .case(
                    &server,
                    &format!("{name}: {what}"),
                    expect_close(listener, bytes, code),
                )
                .await;
        }
        suite
            .case(
                &server,
                &format!("{name}: fragmented message over the limit"),
                fragmented_over_limit(listener),
            )
            .await;
    }
    suite
        .case(
            &server,
            "connection flood above --max-connections",
            flood(&server),
        )
        .await;
    suite
        .case(
            &server,
            "clients vanishing mid-frame and mid-handshake",
            vanishing(&server),
        )
        .await;
    suite
        .case(
            &server,
            "clients that never read",
            never_reading(&server, baseline),
        )
        .await;

    assert!(
        server.still_running(),
        "the server process died\n{}",
        server.log_tail()
    );
    let settled = server.wait_no_connections(IO_WAIT).await;
    let end = server.rss_kib();
    println!(
        "server RSS after all cases: {end} KiB (baseline {baseline} KiB, allowed {} KiB)",
        baseline + RSS_BOUND_KIB
    );
    if let Err(e) = settled {
        suite.failures.push(format!("end: {e}"));
    }
    if end > baseline + RSS_BOUND_KIB {
        suite.failures.push(format!(
            "end: RSS {end} KiB is more than {RSS_BOUND_KIB} KiB above the warm baseline {baseline} KiB"
        ));
    }
    assert!(
        suite.failures.is_empty(),
        "{} hostile case(s) failed:\n{}\nserver log tail:\n{}",
        suite.failures.len(),
        suite.failures.join("\n"),
        server.log_tail()
    );
}

#[derive(Default)]
struct Suite {
    failures: Vec<String>,
}

impl Suite {
    /// Runs one case (bounded), then proves a normal client still echoes promptly on both listeners.
    async fn case(&mut self, server: &Server, name: &str, case: impl Future<Output = Outcome>) {
        let outcome = match tokio::time::timeout(Duration::from_secs(60), case).await {
            Ok(outcome) => outcome,
            Err(_) => Err("case did not finish within 60 s".into()),
        };
        match &outcome {
            Ok(observed) => println!("ok    {name}: {observed}"),
            Err(why) => {
                println!("FAIL  {name}: {why}");
                self.failures.push(format!("{name}: {why}"));
            }
        }
        for listener in server.listeners() {
            if let Err(e) = echo_once(listener, 100).await {
                println!("FAIL  {name}: afterwards a normal client could not echo: {e}");
                self.failures.push(format!(
                    "{name}: afterwards a normal {} client could not echo: {e}",
                    listener.name()
                ));
            }
        }
    }
}

/// A well-behaved tungstenite client: connect, upgrade, echo one text and one binary message, close.
async fn echo_once(listener: &Listener, size: usize) -> Result<Duration, String> {
    let start = Instant::now();
    let round_trip = async {
        let io = listener.connect().await?;
        let url = format!("{}://localhost:{}/", listener.name(), listener.addr.port());
        let (mut ws, _) = tokio_tungstenite::client_async(url, io)
            .await
            .map_err(|e| format!("upgrade: {e}"))?;
        let text = "e".repeat(size);
        let binary = vec![0xa5u8; size];
        for message in [Message::text(text), Message::binary(binary)] {
            ws.send(message.clone()).await.map_err(|e| format!("send: {e}"))?;
            loop {
                match ws.next().await {
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(echoed)) if echoed == message => break,
                    Some(Ok(other)) => {
                        return Err(format!("echo differs: got a {} byte {other:?}", other.len()));
                    }
                    Some(Err(e)) => return Err(format!("read: {e}")),
                    None => return Err("closed before the echo".to_string()),
                }
            }
        }
        let _ = ws.close(None).await;
        Ok(())
    };
    tokio::time::timeout(PROMPT_ECHO, round_trip)
        .await
        .map_err(|_| format!("no echo within {PROMPT_ECHO:?}"))??;
    Ok(start.elapsed())
}

/// Hundreds of connections send an upgrade request one header line every 250 ms (slowloris). Each must be cut
/// at the handshake timeout, and meanwhile a normal client must echo on both listeners.
async fn slow_handshakes(server: &Server) -> Outcome {
    const PER_LISTENER: usize = 100;
    let mut clients = JoinSet::new();
    for listener in server.listeners() {
        for _ in 0..PER_LISTENER {
            // The server's clock starts at TCP accept, before TLS: so does ours.
            let connecting = Instant::now();
            let io = listener.connect().await?;
            clients.spawn(trickle_until_cut(io, connecting));
        }
    }
    tokio::time::sleep(HANDSHAKE_TIMEOUT / 2).await;
    let mut during = Vec::new();
    for listener in server.listeners() {
        let took = echo_once(listener, 100).await.map_err(|e| {
            format!(
                "{} echo while {} slow clients wait: {e}",
                listener.name(),
                2 * PER_LISTENER
            )
        })?;
        during.push(format!("{} {took:.0?}", listener.name()));
    }
    let mut cut_after = Vec::new();
    while let Some(joined) = clients.join_next().await {
        cut_after.push(joined.map_err(|e| e.to_string())??);
    }
    cut_after.sort();
    let (first, last) = (cut_after[0], cut_after[cut_after.len() - 1]);
    if first + Duration::from_millis(300) < HANDSHAKE_TIMEOUT {
        return Err(format!(
            "a slow client was cut after {first:?}, before the {HANDSHAKE_TIMEOUT:?} handshake timeout"
        ));
    }
    Ok(format!(
        "all {} cut between {first:.1?} and {last:.1?} (handshake timeout {HANDSHAKE_TIMEOUT:?}); normal echo meanwhile: {}",
        cut_after.len(),
        during.join(", ")
    ))
}

/// Trickles header lines until the server ends the connection; returns how long after `start` that was.
async fn trickle_until_cut(io: Io, start: Instant) -> Result<Duration, String> {
    let (mut reader, mut writer) = tokio::io::split(io);
    let read_until_closed = async {
        let mut buf = [0u8; 1024];
        while let Ok(n) = reader.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    };
    let trickle = async {
        let _ = writer.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n").await;
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            if writer.write_all(b"X-Slow: 1\r\n").await.is_err() {
                break;
            }
        }
    };
    let bound = HANDSHAKE_TIMEOUT + SLACK;
    tokio::time::timeout(bound, async {
        tokio::select! {
            _ = read_until_closed => {}
            _ = trickle => {}
        }
    })
    .await
    .map_err(|_| format!("a slow handshake was still open after {bound:?}"))?;
    Ok(start.elapsed())
}

/// A deterministic stream of bytes that is neither HTTP nor TLS.
fn garbage_bytes(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8 | 0x80
        })
        .collect()
}

/// Random bytes instead of a request: ws answers HTTP 400 and closes; wss sends a TLS alert and closes; both
/// at once, not at the handshake timeout.
async fn garbage(listener: &Listener) -> Outcome {
    let mut io: Io = Box::new(listener.connect_tcp().await?);
    write(&mut io, &garbage_bytes(4096)).await?;
    if listener.tls.is_none() {
        let head = read_head(&mut io).await?;
        if head.status != 400 {
            return Err(format!("answered {} instead of 400", head.status));
        }
        let (after, _) = wait_disconnect(&mut io, HANDSHAKE_TIMEOUT).await?;
        Ok(format!("HTTP 400, then closed after {after:.0?}"))
    } else {
        tls_alert_then_close(&mut io).await
    }
}

/// Reads what a TLS server sends a client that is not speaking TLS: one alert record, then the end.
async fn tls_alert_then_close(io: &mut Io) -> Outcome {
    let mut received = Vec::new();
    let start = Instant::now();
    tokio::time::timeout(HANDSHAKE_TIMEOUT, io.read_to_end(&mut received))
        .await
        .map_err(|_| format!("still open after {HANDSHAKE_TIMEOUT:?}"))?
        .or_else(|e| {
            if received.is_empty() {
                Err(e.to_string())
            } else {
                Ok(0)
            }
        })?;
    match received.as_slice() {
        [0x15, 0x03, _, 0x00, 0x02, 0x02, alert] => Ok(format!(
            "fatal TLS alert {alert}, then closed after {:.0?}",
            start.elapsed()
        )),
        other => Err(format!("expected one fatal TLS alert record, got {other:02x?}")),
    }
}

/// A browser-style request sent to the wss port: no HTTP answer (it would be unencrypted), a TLS alert, closed.
async fn plaintext_http_on_tls(listener: &Listener) -> Outcome {
    let mut io: Io = Box::new(listener.connect_tcp().await?);
    write(&mut io, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await?;
    tls_alert_then_close(&mut io).await
}

/// A real ClientHello and then nothing: the server answers its half of the handshake and must cut the
/// connection at the handshake timeout (not earlier, not never).
async fn client_hello_then_silence(listener: &Listener) -> Outcome {
    let config = listener.tls.clone().ok_or("not a TLS listener")?;
    let name = rustls_pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let mut tls = rustls::ClientConnection::new(config, name).map_err(|e| e.to_string())?;
    let mut hello = Vec::new();
    tls.write_tls(&mut hello).map_err(|e| e.to_string())?;
    let connecting = Instant::now();
    let mut io: Io = Box::new(listener.connect_tcp().await?);
    write(&mut io, &hello).await?;
    let (_, bytes) = wait_disconnect(&mut io, HANDSHAKE_TIMEOUT + SLACK).await?;
    let after = connecting.elapsed();
    if after + Duration::from_millis(300) < HANDSHAKE_TIMEOUT {
        return Err(format!(
            "cut after {after:?}, before the {HANDSHAKE_TIMEOUT:?} handshake timeout"
        ));
    }
    Ok(format!(
        "server sent {bytes} handshake bytes, cut the connection after {after:.1?}"
    ))
}

/// Upgrade requests with broken WebSocket headers get the RFC 6455 status: 400, or 426 naming version 13.
async fn bad_upgrades(listener: &Listener) -> Outcome {
    let cases: [(&str, &[HeaderOverride], u16); 6] = [
        (
            "key not base64",
            &[("Sec-WebSocket-Key", Some("not base64!"))],
            400,
        ),
        (
            "key of 8 bytes",
            &[("Sec-WebSocket-Key", Some("AAAAAAAAAAA="))],
            400,
        ),
        ("no key", &[("Sec-WebSocket-Key", None)], 400),
        (
            "no Connection: Upgrade",
            &[("Connection", Some("keep-alive"))],
            400,
        ),
        ("version 8", &[("Sec-WebSocket-Version", Some("8"))], 426),
        ("no version", &[("Sec-WebSocket-Version", None)], 426),
    ];
    let mut seen = Vec::new();
    for (what, overrides, expected) in cases {
        let mut io = listener.connect().await?;
        write(&mut io, &upgrade_request(overrides)).await?;
        let head = read_head(&mut io).await.map_err(|e| format!("{what}: {e}"))?;
        if head.status != expected {
            return Err(format!("{what}: answered {} instead of {expected}", head.status));
        }
        if expected == 426 && head.header("Sec-WebSocket-Version") != Some("13") {
            return Err(format!(
                "{what}: 426 without Sec-WebSocket-Version: 13 (got {:?})",
                head.header("Sec-WebSocket-Version")
            ));
        }
        seen.push(format!("{what} -> {}", head.status));
    }
    Ok(seen.join(", "))
}

/// Request heads beyond the server's 16 KiB limit (one huge header, or very many) get 431.
async fn oversized_head(listener: &Listener) -> Outcome {
    let huge_value = "a".repeat(32 * 1024);
    let many: Vec<(String, String)> = (0..200)
        .map(|i| (format!("X-Many-{i}"), "1".to_string()))
        .collect();
    let attempts: [(&str, Vec<HeaderOverride>); 2] = [
        ("one 32 KiB header", vec![("X-Huge", Some(huge_value.as_str()))]),
        (
            "200 headers",
            many.iter().map(|(k, v)| (k.as_str(), Some(v.as_str()))).collect(),
        ),
    ];
    let mut seen = Vec::new();
    for (what, overrides) in attempts {
        let mut io = listener.connect().await?;
        // The server may answer and close before reading everything; a failed write is fine then.
        let _ = write(&mut io, &upgrade_request(&overrides)).await;
        let head = read_head(&mut io).await.map_err(|e| format!("{what}: {e}"))?;
        if head.status != 431 {
            return Err(format!("{what}: answered {} instead of 431", head.status));
        }
        let (after, _) = wait_disconnect(&mut io, SLACK)
            .await
            .map_err(|e| format!("{what} after 431: {e}"))?;
        seen.push(format!("{what} -> 431, closed after {after:.0?}"));
    }
    Ok(seen.join(", "))
}

/// Frames that break RFC 6455 after a valid upgrade, each with the close code the server must send.
fn protocol_violations() -> Vec<(&'static str, Vec<u8>, u16)> {
    vec![
        (
            "frame announcing 2^62 bytes",
            frame_header(true, 0, OP_BINARY, 1 << 62, true),
            1009,
        ),
        (
            "frame one byte over --max-frame-size",
            frame_header(true, 0, OP_BINARY, MAX_MESSAGE as u64 + 1, true),
            1009,
        ),
        (
            "unmasked client frame",
            frame(true, 0, OP_TEXT, b"hello", false),
            1002,
        ),
        ("invalid UTF-8 text", data(OP_TEXT, b"ok \xff\xfe\xfd"), 1007),
        ("overlong UTF-8 encoding", data(OP_TEXT, b"\xc0\xaf"), 1007),
        ("reserved data opcode 0x3", data(0x3, b"x"), 1002),
        ("reserved control opcode 0xB", data(0xb, b"x"), 1002),
        (
            "RSV1 set without an extension",
            frame(true, 0b100, OP_TEXT, b"x", true),
            1002,
        ),
        ("RSV3 set", frame(true, 0b001, OP_BINARY, b"x", true), 1002),
        ("fragmented ping", frame(false, 0, OP_PING, b"x", true), 1002),
        ("ping with a 126-byte payload", data(OP_PING, &[0u8; 126]), 1002),
        ("continuation without a start", data(OP_CONTINUATION, b"x"), 1002),
        (
            "text frame inside a fragmented binary message",
            fragment_then_text(),
            1002,
        ),
        (
            "close with reserved code 1005",
            data(OP_CLOSE, &1005u16.to_be_bytes()),
            1002,
        ),
        ("close with code 999", data(OP_CLOSE, &999u16.to_be_bytes()), 1002),
        ("close with a 1-byte payload", data(OP_CLOSE, &[3]), 1002),
        (
            "close reason in invalid UTF-8",
            data(OP_CLOSE, &[0x03, 0xe8, 0xff, 0xfe]),
            1007,
        ),
    ]
}

/// The start of a fragmented message, then a new data frame instead of its continuation.
fn fragment_then_text() -> Vec<u8> {
    let mut bytes = frame(false, 0, OP_BINARY, b"first half", true);
    bytes.extend(data(OP_TEXT, b"interloper"));
    bytes
}

/// Upgrades, sends `bytes`, and expects a close frame with `code` and then the end of the connection.
async fn expect_close(listener: &Listener, bytes: Vec<u8>, code: u16) -> Outcome {
    let mut io = listener.upgraded().await?;
    write(&mut io, &bytes).await?;
    let start = Instant::now();
    match read_ending(&mut io, IO_WAIT).await? {
        Ending::Close(Some(got)) if got == code => {
            let (after, _) = wait_disconnect(&mut io, IO_WAIT)
                .await
                .map_err(|e| format!("close {code} sent but then: {e}"))?;
            Ok(format!(
                "close {code} after {:.0?}, closed {after:.0?} later",
                start.elapsed() - after
            ))
        }
        other => Err(format!("expected close {code}, got {other:?}")),
    }
}

/// Fragments that each fit the frame limit but together exceed the message limit: close 1009.
async fn fragmented_over_limit(listener: &Listener) -> Outcome {
    let piece = vec![b'f'; MAX_MESSAGE / 2];
    let mut bytes = frame(false, 0, OP_BINARY, &piece, true);
    bytes.extend(frame(false, 0, OP_CONTINUATION, &piece, true));
    bytes.extend(frame(true, 0, OP_CONTINUATION, &piece, true));
    expect_close(listener, bytes, 1009).await
}

/// Fills every connection slot, then asks for more on both listeners: 503. Freed slots are usable again.
async fn flood(server: &Server) -> Outcome {
    // The previous case's normal clients may still be closing: start from zero so the count is exact.
    server.wait_no_connections(IO_WAIT).await?;
    let mut held = Vec::new();
    for i in 0..MAX_CONNECTIONS {
        let listener = server.listeners()[i % 2];
        held.push(
            listener
                .upgraded()
                .await
                .map_err(|e| format!("connection {i} below the limit: {e}"))?,
        );
    }
    let mut refused = Vec::new();
    for listener in server.listeners() {
        for _ in 0..10 {
            let mut io = listener.connect().await?;
            write(&mut io, &upgrade_request(&[])).await?;
            let head = read_head(&mut io).await?;
            if head.status != 503 {
                return Err(format!(
                    "{} upgrade above --max-connections {MAX_CONNECTIONS} answered {} instead of 503",
                    listener.name(),
                    head.status
                ));
            }
        }
        refused.push(format!("{} 10 x 503", listener.name()));
    }
    drop(held);
    let freed = server.wait_no_connections(IO_WAIT).await?;
    Ok(format!(
        "{MAX_CONNECTIONS} open, then {}; all slots free {freed:.0?} after the clients left",
        refused.join(", ")
    ))
}

/// Clients that disappear halfway: during the upgrade request, inside a frame header, inside a payload, with a
/// clean FIN or an RST. The server must notice and free their slots.
async fn vanishing(server: &Server) -> Outcome {
    let mut count = 0;
    for listener in server.listeners() {
        for reset in [false, true] {
            let mut partial_request = connect_to_vanish(listener, reset).await?;
            write(&mut partial_request, b"GET / HTTP/1.1\r\nHost: loc").await?;
            drop(partial_request);

            let mut mid_header = upgrade(connect_to_vanish(listener, reset).await?).await?;
            write(
                &mut mid_header,
                &frame_header(true, 0, OP_BINARY, 1000, true)[..3],
            )
            .await?;
            drop(mid_header);

            let mut mid_payload = upgrade(connect_to_vanish(listener, reset).await?).await?;
            let mut bytes = frame_header(true, 0, OP_BINARY, 1000, true);
            bytes.extend_from_slice(&[7u8; 10]);
            write(&mut mid_payload, &bytes).await?;
            drop(mid_payload);
            count += 3;
        }
    }
    let freed = server.wait_no_connections(IO_WAIT).await?;
    Ok(format!(
        "{count} clients vanished (half with FIN, half with RST); every slot free after {freed:.0?}"
    ))
}

/// A connection whose drop sends FIN, or with `reset` an RST (zero linger).
async fn connect_to_vanish(listener: &Listener, reset: bool) -> Result<Io, String> {
    let tcp = listener.connect_tcp().await?;
    if reset {
        tcp.set_zero_linger().map_err(|e| format!("SO_LINGER 0: {e}"))?;
    }
    listener.wrap(tcp).await
}

/// Clients that send large messages as fast as they can but never read the echoes. The server may not buffer
/// without bound: its writes stall, it stops reading, and it must close them (idle/write timeout) while its RSS
/// stays bounded.
async fn never_reading(server: &Server, baseline: u64) -> Outcome {
    const CLIENTS: usize = 10;
    let mut pushers = JoinSet::new();
    for i in 0..CLIENTS {
        let listener = server.listeners()[i % 2].clone();
        let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
        socket.set_recv_buffer_size(4096).map_err(|e| e.to_string())?;
        let tcp = socket.connect(listener.addr).await.map_err(|e| e.to_string())?;
        pushers.spawn(push_without_reading(listener, tcp));
    }
    let mut peak = 0;
    let mut results = Vec::new();
    let watch = async {
        loop {
            peak = peak.max(server.rss_kib());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let collect = async {
        while let Some(joined) = pushers.join_next().await {
            results.push(joined.map_err(|e| e.to_string()).and_then(|r| r));
        }
    };
    tokio::select! {
        _ = watch => {}
        _ = collect => {}
    }
    let outcomes: Vec<(usize, Option<Duration>)> = results.into_iter().collect::<Result<_, _>>()?;
    let pushed_mib = outcomes.iter().map(|(bytes, _)| bytes).sum::<usize>() as f64 / (1 << 20) as f64;
    let still_open = outcomes.iter().filter(|(_, cut)| cut.is_none()).count();
    let slowest = outcomes
        .iter()
        .filter_map(|(_, cut)| *cut)
        .max()
        .unwrap_or_default();
    let observed = format!(
        "{CLIENTS} clients pushed {pushed_mib:.1} MiB in total (kernel buffers included) before their writes stalled; \
         server RSS peak {peak} KiB (baseline {baseline} KiB)"
    );
    if peak > baseline + RSS_BOUND_KIB {
        return Err(format!(
            "{observed}: more than {RSS_BOUND_KIB} KiB above the baseline"
        ));
    }
    if still_open > 0 {
        return Err(format!(
            "{observed}; but {still_open} of them were still connected {:?} after they stopped reading: the server \
             keeps a stalled writer (and its connection slot) forever",
            NEVER_READING_CUT
        ));
    }
    Ok(format!(
        "{observed}; all closed by the server within {slowest:.1?}"
    ))
}

/// How long the server may keep a client that reads nothing while echoes pile up: its idle timeout (nothing can be
/// delivered for that long) plus slack.
const NEVER_READING_CUT: Duration = Duration::from_secs(IDLE_TIMEOUT.as_secs() + 2 * SLACK.as_secs());

/// Upgrades on `tcp`, then writes 32 KiB messages without ever reading. Returns the bytes written and when the
/// server closed the connection (`None`: still open after [`NEVER_READING_CUT`]).
async fn push_without_reading(
    listener: Listener,
    tcp: tokio::net::TcpStream,
) -> Result<(usize, Option<Duration>), String> {
    let mut io = upgrade(listener.wrap(tcp).await?).await?;
    let message = data(OP_BINARY, &vec![0x5a; 32 * 1024]);
    let start = Instant::now();
    let mut written = 0;
    loop {
        if start.elapsed() > NEVER_READING_CUT {
            return Ok((written, None));
        }
        match tokio::time::timeout(Duration::from_millis(500), io.write_all(&message)).await {
            Ok(Ok(())) => written += message.len(),
            Ok(Err(_)) => return Ok((written, Some(start.elapsed()))),
            // Stalled: the server stopped reading. Probe whether it has closed (EOF or reset).
            Err(_) => {
                let mut probe = [0u8; 1];
                if let Ok(Ok(0) | Err(_)) =
                    tokio::time::timeout(Duration::from_millis(10), io.read(&mut probe)).await
                {
                    return Ok((written, Some(start.elapsed())));
                }
            }
        }
    }
}

//! The echo loop of one WebSocket connection: text back as text, binary as binary, byte for byte, compressed or
//! not as the connection negotiated (RFC 7692).
//!
//! The loop runs on the raw upgraded stream (any `AsyncRead + AsyncWrite`): `ws/frame.rs` reads and writes
//! frames, `ws/message.rs` applies RFC 6455's rules to what arrives, and this file decides what goes back. A received
//! message becomes its reply in [`reply_to`] and every frame leaves through [`Outgoing`] (outgoing.rs), so behaviour that changes
//! replies or framing has one place each. Pings are answered with pongs, the client's close frame is echoed
//! (code and reason), violations close with 1002/1007/1009, and the idle timeout and shutdown with 1001.
//!
//! The same loop serves a fault path (it asks [`Faults`] what to do differently) and a broadcast room (what it
//! receives goes to the room's [`Member`]s instead of back to the sender, and what the room sends is written out).
//! In a room each pass first takes what the room has for the member, then reads, so that a member that sends
//! fast is sent the room's messages as fast; while the room's backlog is full it reads nothing (broadcast.rs).

use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Control};

use super::broadcast::{self, Entry, Member};
use super::connection_facts::ConnectionFacts;
use super::faults::{FaultEnd, FaultEvent, Faults, PING_PAYLOAD};
use super::outgoing::Outgoing;
use super::stats::OpenConnection;
use crate::ws::deflate::Codec;
use crate::ws::frame::{FrameReader, FrameWriter, ReadError, Role};
use crate::ws::limits::MAX_WRITE_FRAME;
use crate::ws::message::{Assembler, Incoming};

/// How long to wait for the client's answer after the server sent a close frame.
const CLOSE_REPLY_WAIT: Duration = Duration::from_secs(2);
/// Bytes queued before they are written out without waiting for the end of the batch.
const WRITE_BATCH: usize = 16 * 1024;
/// Longest text shown per message with `-v`.
const LOG_PREVIEW_CHARS: usize = 60;

/// One connection as the loop sees it: its slot in `/stats`, what it negotiated and what its URL asked for.
pub(crate) struct Session<'a> {
    pub(crate) conn: OpenConnection,
    /// The negotiated permessage-deflate state, if any.
    pub(crate) deflate: Option<Codec>,
    pub(crate) faults: Faults,
    /// The broadcast room of a `/broadcast/ROOM` connection.
    pub(crate) room: Option<Member>,
    /// What the connection negotiated; the answer to its `info` command.
    pub(crate) facts: &'a ConnectionFacts,
    /// Names the connection in log lines.
    pub(crate) peer: &'a str,
}

/// Per-connection settings of the loop.
pub(crate) struct EchoSettings {
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) log_messages: bool,
    /// Largest message after reassembly and inflation; bigger ones close with 1009.
    pub(crate) max_message_size: usize,
    /// Largest frame payload, on the wire and inflated; bigger ones close with 1009.
    pub(crate) max_frame_size: usize,
}

/// Most frames taken before the loop stops to flush their echoes and look at shutdown and the idle timer, so that
/// a client that never pauses (with messages or with pings) cannot delay either.
const MAX_BATCH: usize = 64;

/// Echoes until the client closes, an error or limit ends the connection, a fault ends it, or the server shuts
/// down. In a room, messages go to the room instead of back.
///
/// Echoes of messages that are already readable are queued and written out together once nothing more is: a
/// client with many messages in flight gets one write (and under TLS, fewer records) for many echoes, and a
/// client with one in flight gets one write per echo. When nothing is readable the connection is idle: its
/// buffers and (without context takeover) its deflate state are freed until the next frame arrives.
pub(crate) async fn run<S>(
    mut io: S,
    session: Session<'_>,
    settings: &EchoSettings,
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Session {
        conn,
        deflate,
        mut faults,
        mut room,
        facts,
        peer,
    } = session;
    let stopped = super::shutdown::stopped(&mut shutdown);
    tokio::pin!(stopped);
    let mut idle = IdleClock::new(settings.idle_timeout);
    let mut reader = FrameReader::new(Role::Server);
    // What the server sends is compressed by its writer, what the client sends inflated by its reader.
    let (compressor, inflater) = deflate.map(Codec::split).unzip();
    let mut out = Outgoing::new(
        FrameWriter::new(Role::Server),
        faults.frame_size().unwrap_or(MAX_WRITE_FRAME),
        compressor,
    );
    let mut assembler = Assembler::new(settings.max_message_size, settings.max_frame_size, inflater);
    let mut unflushed = Tally::default();
    let mut batched = 0;
    let max_frame = settings.max_frame_size;
    // A room's message that waits for room in the backlog; nothing is read meanwhile.
    let mut held: Option<Entry> = None;
    // What a room member is sent is held in the room's backlog until written: a client that does not read may
    // hold it for the room's lag bound, not the idle timeout.
    let write_limit = match (&room, settings.idle_timeout) {
        (Some(member), Some(idle)) => Some(idle.min(member.max_lag())),
        (Some(member), None) => Some(member.max_lag()),
        (None, idle) => idle,
    };
    // A delayed echo is written before the next message is read, so each echo leaves at its own time.
    let max_batch = if faults.echo_delay().is_some() {
        1
    } else {
        MAX_BATCH
    };
    let ending = loop {
        if let Some(end) = faults.due_end() {
            break Ending::Fault(end);
        }
        if out.writer.queued() >= WRITE_BATCH {
            if let Err(ending) = flush(&mut io, &mut out, write_limit, &mut room).await {
                break ending;
            }
            unflushed.publish(&conn);
        }
        if let Some(member) = &mut room {
            if let Some(entry) = held.take() {
                held = member.try_publish(entry).err();
            }
            let Ok(entries) = member.take(WRITE_BATCH.saturating_sub(out.writer.queued())) else {
                break Ending::ServerClose(CloseCode::Policy, "fell behind the room");
            };
            for entry in entries {
                unflushed.sent.add(entry.payload.len());
                out.room_message(&entry, &conn);
            }
        }
        let ready = if batched < max_batch && held.is_none() {
            reader.next(&mut io, max_frame).now_or_never()
        } else {
            None
        };
        let next = match ready {
            Some(next) => next,
            None => {
                if out.writer.queued() > 0 {
                    if let Err(ending) = flush(&mut io, &mut out, write_limit, &mut room).await {
                        break ending;
                    }
                    unflushed.publish(&conn);
                }
                batched = 0;
                reader.release();
                out.release_idle();
                assembler.release_idle();
                tokio::select! {
                    biased;
                    () = &mut stopped => break Ending::ServerClose(CloseCode::Away, "server shutting down"),
                    () = idle.expired() => break Ending::ServerClose(CloseCode::Away, "idle timeout"),
                    event = faults.next_event() => match event {
                        FaultEvent::End(end) => break Ending::Fault(end),
                        FaultEvent::Ping => {
                            out.control(Control::Ping, PING_PAYLOAD);
                            continue;
                        }
                    },
                    () = broadcast::wake_for(&mut room, held.is_some()) => continue,
                    next = reader.next(&mut io, max_frame), if held.is_none() => next,
                }
            }
        };
        let (header, payload) = match next {
            Ok(frame) => frame,
            Err(e) => break ending_for(e),
        };
        idle.touch();
        batched += 1;
        let incoming = match assembler.take(&header, payload) {
            Ok(Some(incoming)) => incoming,
            Ok(None) => continue,
            Err(violation) => {
                let (code, reason) = violation.close();
                tracing::debug!("{peer} broke the protocol: {violation:?}");
                break Ending::ServerClose(code, reason);
            }
        };
        match incoming {
            Incoming::Message { text, payload } => {
                if settings.log_messages {
                    tracing::info!("{peer} echo {}", preview(text, &payload));
                }
                unflushed.received.add(payload.len());
                if let Some(member) = &mut room {
                    let entry = member.prepare(broadcast::Message { text, payload });
                    held = member.try_publish(entry).err();
                    continue;
                }
                if let Some(delay) = faults.echo_delay() {
                    tokio::select! {
                        biased;
                        () = &mut stopped => break Ending::ServerClose(CloseCode::Away, "server shutting down"),
                        () = tokio::time::sleep(delay) => {}
                    }
                }
                let (text, reply) = reply_to(text, payload, facts);
                unflushed.sent.add(reply.len());
                out.message(text, reply, &conn);
                faults.echoed();
            }
            Incoming::Ping(payload) => out.control(Control::Pong, &payload),
            Incoming::Pong => faults.pong_received(),
            Incoming::Close(frame) => {
                let (code, reason) = match &frame {
                    Some((code, reason)) => (code.to_string(), reason.clone()),
                    None => ("none".into(), String::new()),
                };
                tracing::debug!("{peer} sent close {code} {reason:?}");
                out.close(frame.as_ref().map(|(code, reason)| (*code, reason.as_str())));
                if write_within(write_limit, out.writer.write_out(&mut io))
                    .await
                    .is_ok()
                {
                    unflushed.publish(&conn);
                }
                break Ending::Gone;
            }
        }
    };
    // Leaving the room first: a member that is closing holds back none of its messages.
    drop(room);
    // Messages read count as received even when the connection ended before their echo was flushed.
    conn.received(unflushed.received.messages, unflushed.received.bytes);
    match ending {
        Ending::Gone => tracing::info!("{peer} disconnected"),
        Ending::Failed(e) => tracing::info!("{peer} disconnected: {e}"),
        Ending::Stalled(limit) => {
            tracing::info!("{peer} dropped: it read nothing it was sent for {limit:?}")
        }
        Ending::ServerClose(code, reason) => {
            tracing::info!("{peer} closing with {} ({reason})", u16::from(code));
            close_and_wait(&mut io, &mut out, &mut reader, max_frame, code.into(), reason).await;
        }
        Ending::Fault(FaultEnd::Close { code, reason }) => {
            tracing::info!("{peer} closing with {code} ({reason:?}) as its fault URL asked");
            close_and_wait(&mut io, &mut out, &mut reader, max_frame, code, &reason).await;
        }
        Ending::Fault(FaultEnd::Drop) => {
            tracing::info!("{peer} dropped without a close frame as its fault URL asked");
            // The echoes before the drop still go out; then the stream is dropped, closing the TCP connection.
            let _ = write_within(settings.idle_timeout, out.writer.write_out(&mut io)).await;
        }
    }
}

/// Sends a close frame after whatever is queued and waits (bounded) for the client's close reply.
async fn close_and_wait<S>(
    io: &mut S,
    out: &mut Outgoing,
    reader: &mut FrameReader,
    max_frame: usize,
    code: u16,
    reason: &str,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    out.close(Some((code, reason)));
    let closing = async {
        if out.writer.write_out(io).await.is_ok() {
            // Whatever the client still sends, up to its close reply or its disconnect, is ignored.
            while reader.next(io, max_frame).await.is_ok() {}
        }
    };
    let _ = tokio::time::timeout(CLOSE_REPLY_WAIT, closing).await;
}

/// What the server sends back for a received message: the connection's facts for `info`, otherwise the message
/// itself, as it came.
fn reply_to(text: bool, payload: Bytes, facts: &ConnectionFacts) -> (bool, Bytes) {
    match facts.answer(text, &payload) {
        Some(answer) => (true, answer),
        None => (text, payload),
    }
}

/// Writes out what is queued within `limit`; a room member's position then moves past what it was sent.
async fn flush<S>(
    io: &mut S,
    out: &mut Outgoing,
    limit: Option<Duration>,
    room: &mut Option<Member>,
) -> Result<(), Ending>
where
    S: AsyncWrite + Unpin,
{
    write_within(limit, out.writer.write_out(io)).await?;
    if let Some(member) = room {
        member.written();
    }
    Ok(())
}

/// Runs a write, giving up after the idle timeout (in a room, after its lag bound when sooner): a client that does not read blocks its echo, and is dropped
/// then so that it cannot hold its buffers and connection slot forever. A write that completes at once costs no
/// timer. Fails with how the connection ends.
async fn write_within(
    limit: Option<Duration>,
    write: impl Future<Output = std::io::Result<()>>,
) -> Result<(), Ending> {
    let written = match limit {
        Some(limit) => tokio::time::timeout(limit, write)
            .await
            .map_err(|_| Ending::Stalled(limit))?,
        None => write.await,
    };
    written.map_err(|e| Ending::Failed(ReadError::Io(e)))
}

/// Messages read and queued since the last flush, counted in `/stats` once the flush is done (a broadcast room
/// sends more than it receives).
#[derive(Default)]
struct Tally {
    received: Count,
    sent: Count,
}

#[derive(Default)]
struct Count {
    messages: usize,
    bytes: usize,
}

impl Count {
    fn add(&mut self, bytes: usize) {
        self.messages += 1;
        self.bytes += bytes;
    }
}

impl Tally {
    fn publish(&mut self, conn: &OpenConnection) {
        conn.received(self.received.messages, self.received.bytes);
        conn.sent(self.sent.messages, self.sent.bytes);
        *self = Tally::default();
    }
}

/// The idle timeout with one timer per connection instead of one per message: a message only records the time,
/// and when the timer fires early it is moved to the last message plus the limit.
struct IdleClock {
    last_message: Instant,
    /// The limit and its timer; `None` when connections may stay idle forever.
    timer: Option<(Duration, Pin<Box<Sleep>>)>,
}

impl IdleClock {
    fn new(limit: Option<Duration>) -> Self {
        IdleClock {
            last_message: Instant::now(),
            timer: limit.map(|limit| (limit, Box::pin(tokio::time::sleep(limit)))),
        }
    }

    fn touch(&mut self) {
        if self.timer.is_some() {
            self.last_message = Instant::now();
        }
    }

    /// Resolves once no message has arrived for the limit; never without one.
    async fn expired(&mut self) {
        let Some((limit, timer)) = self.timer.as_mut() else {
            return std::future::pending().await;
        };
        loop {
            timer.as_mut().await;
            let deadline = self.last_message + *limit;
            if deadline <= Instant::now() {
                return;
            }
            timer.as_mut().reset(deadline);
        }
    }
}

enum Ending {
    /// The close handshake completed or the peer went away.
    Gone,
    /// The transport failed; nothing more can be sent.
    Failed(ReadError),
    /// The client stopped reading: an echo could not be written within the idle timeout. Nothing more can be
    /// sent (not even a close frame), so the connection is dropped.
    Stalled(Duration),
    /// The server ends the connection with this close code.
    ServerClose(CloseCode, &'static str),
    /// The fault URL's ending came.
    Fault(FaultEnd),
}

/// Maps a read error to how the connection ends.
fn ending_for(error: ReadError) -> Ending {
    match error {
        ReadError::Eof => Ending::Gone,
        ReadError::TooBig => Ending::ServerClose(CloseCode::Size, "message too big"),
        ReadError::Protocol(_) => Ending::ServerClose(CloseCode::Protocol, "protocol error"),
        io @ ReadError::Io(_) => Ending::Failed(io),
    }
}

fn preview(text: bool, payload: &[u8]) -> String {
    match std::str::from_utf8(payload) {
        Ok(text_payload) if text => {
            let shown: String = text_payload.chars().take(LOG_PREVIEW_CHARS).collect();
            let more = if shown.len() < text_payload.len() {
                "..."
            } else {
                ""
            };
            format!("text {} bytes {shown:?}{more}", payload.len())
        }
        _ => format!("binary {} bytes", payload.len()),
    }
}

//! The echo loop of one WebSocket connection: text back as text, binary as binary, byte for byte.
//!
//! tungstenite answers pings and echoes the client's close frame (code and reason) by itself; this loop adds the
//! limits (1009 for oversized messages, the idle timeout) and the 1001 on shutdown.

use std::pin::Pin;
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Bytes;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::connection_facts::ConnectionFacts;
use super::stats::OpenConnection;

/// How long to wait for the client's answer after the server sent a close frame.
const CLOSE_REPLY_WAIT: Duration = Duration::from_secs(2);
/// Largest frame the server writes. tungstenite's write buffer keeps its capacity for the life of the connection,
/// so a message written as one frame would leave every connection that ever echoed a big message holding that
/// much memory; fragments keep it at this size.
pub(crate) const MAX_WRITE_FRAME: usize = 64 * 1024;
/// Echoes queued before tungstenite writes them out without waiting for the flush (its write buffer size).
pub(crate) const WRITE_BATCH: usize = 16 * 1024;
/// Longest text shown per message with `-v`.
const LOG_PREVIEW_CHARS: usize = 60;

/// Per-connection settings of the loop.
pub(crate) struct EchoSettings {
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) log_messages: bool,
}

/// Most echoes queued before the loop stops to flush them and look at shutdown and the idle timer, so that a
/// client that never pauses cannot delay either.
const MAX_BATCH: usize = 64;

/// Echoes until the client closes, an error or limit ends the connection, or the server shuts down.
/// `peer` names the connection in log lines; `facts` answer its `info` command.
///
/// Echoes of messages that are already readable are queued and written out together once nothing more is, as
/// `StreamExt::forward` does: a client with many messages in flight gets one write (and under TLS, fewer records)
/// for many echoes, and a client with one in flight gets one write per echo as before.
pub(crate) async fn run<S>(
    mut ws: WebSocketStream<S>,
    conn: OpenConnection,
    settings: &EchoSettings,
    peer: &str,
    facts: &ConnectionFacts,
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let stopped = super::shutdown::stopped(&mut shutdown);
    tokio::pin!(stopped);
    let mut idle = IdleClock::new(settings.idle_timeout);
    let mut unflushed = Tally::default();
    let ending = loop {
        let ready = if unflushed.messages < MAX_BATCH {
            ws.next().now_or_never()
        } else {
            None
        };
        let next = match ready {
            Some(next) => next,
            None => {
                if unflushed.messages > 0 {
                    if let Err(ending) = write_within(settings.idle_timeout, ws.flush()).await {
                        break ending;
                    }
                    unflushed.publish(&conn);
                }
                tokio::select! {
                    biased;
                    () = &mut stopped => break Ending::ServerClose(CloseCode::Away, "server shutting down"),
                    () = idle.expired() => break Ending::ServerClose(CloseCode::Away, "idle timeout"),
                    next = ws.next() => next,
                }
            }
        };
        let message = match next {
            Some(Ok(message)) => message,
            Some(Err(e)) => break ending_for(e),
            None => break Ending::Gone,
        };
        idle.touch();
        match message {
            Message::Text(_) | Message::Binary(_) => {
                let len = message.len();
                let message = facts.answer(&message).unwrap_or(message);
                if settings.log_messages {
                    tracing::info!("{peer} echo {}", preview(&message));
                }
                if let Err(ending) =
                    write_within(settings.idle_timeout, feed_fragmented(&mut ws, message)).await
                {
                    break ending;
                }
                unflushed.add(len);
            }
            Message::Close(frame) => {
                // tungstenite queued the same frame as our reply; the next read flushes it and ends the stream.
                let (code, reason) = frame
                    .map(|f| (u16::from(f.code).to_string(), f.reason.to_string()))
                    .unwrap_or_else(|| ("none".into(), String::new()));
                tracing::debug!("{peer} sent close {code} {reason:?}");
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    };
    // Messages whose echo was queued count as received even when the connection ended before the flush.
    conn.received(unflushed.messages, unflushed.bytes);
    match ending {
        Ending::Gone => tracing::info!("{peer} disconnected"),
        Ending::Failed(e) => tracing::info!("{peer} disconnected: {e}"),
        Ending::Stalled(limit) => {
            tracing::info!("{peer} dropped: it read none of its echo for {limit:?} (idle timeout)")
        }
        Ending::ServerClose(code, reason) => {
            tracing::info!("{peer} closing with {} ({reason})", u16::from(code));
            close_and_wait(&mut ws, code, reason).await;
        }
    }
}

/// Runs a write, giving up after the idle timeout: a client that does not read blocks its echo, and is dropped
/// then so that it cannot hold its buffers and connection slot forever. A write that completes at once costs no
/// timer. Fails with how the connection ends.
async fn write_within(
    limit: Option<Duration>,
    write: impl Future<Output = Result<(), WsError>>,
) -> Result<(), Ending> {
    let written = match limit {
        Some(limit) => tokio::time::timeout(limit, write)
            .await
            .map_err(|_| Ending::Stalled(limit))?,
        None => write.await,
    };
    written.map_err(ending_for)
}

/// Echoes queued but not yet flushed, counted in `/stats` once they are written.
#[derive(Default)]
struct Tally {
    messages: usize,
    bytes: usize,
}

impl Tally {
    fn add(&mut self, bytes: usize) {
        self.messages += 1;
        self.bytes += bytes;
    }

    fn publish(&mut self, conn: &OpenConnection) {
        conn.received(self.messages, self.bytes);
        conn.sent(self.messages, self.bytes);
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

/// Queues a data message, as fragments of at most [`MAX_WRITE_FRAME`] bytes when it is bigger (RFC 6455 5.4: the
/// receiver reassembles the same message; a text fragment may end inside a UTF-8 sequence). tungstenite writes
/// the queue out once it holds more than the write buffer size, or on flush.
async fn feed_fragmented<S>(ws: &mut WebSocketStream<S>, message: Message) -> Result<(), WsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (kind, payload): (Data, Bytes) = match message {
        Message::Text(text) if text.len() > MAX_WRITE_FRAME => (Data::Text, text.into()),
        Message::Binary(bytes) if bytes.len() > MAX_WRITE_FRAME => (Data::Binary, bytes),
        small => return ws.feed(small).await,
    };
    let mut opcode = OpCode::Data(kind);
    let mut start = 0;
    while start < payload.len() {
        let end = (start + MAX_WRITE_FRAME).min(payload.len());
        let frame = Frame::message(payload.slice(start..end), opcode, end == payload.len());
        ws.feed(Message::Frame(frame)).await?;
        opcode = OpCode::Data(Data::Continue);
        start = end;
    }
    Ok(())
}

enum Ending {
    /// The close handshake completed or the peer went away.
    Gone,
    /// The transport failed; nothing more can be sent.
    Failed(WsError),
    /// The client stopped reading: an echo could not be written within the idle timeout. Nothing more can be
    /// sent (not even a close frame), so the connection is dropped.
    Stalled(Duration),
    /// The server ends the connection with this close code.
    ServerClose(CloseCode, &'static str),
}

/// Maps a read or write error to how the connection ends: RFC 6455 close codes for what the client did wrong.
fn ending_for(error: WsError) -> Ending {
    match error {
        WsError::Capacity(_) => Ending::ServerClose(CloseCode::Size, "message too big"),
        WsError::Utf8(_) => Ending::ServerClose(CloseCode::Invalid, "invalid UTF-8 in text"),
        WsError::Protocol(_) => Ending::ServerClose(CloseCode::Protocol, "protocol error"),
        WsError::ConnectionClosed | WsError::AlreadyClosed => Ending::Gone,
        other => Ending::Failed(other),
    }
}

/// Sends a close frame and waits (bounded) for the client's close reply.
async fn close_and_wait<S>(ws: &mut WebSocketStream<S>, code: CloseCode, reason: &'static str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if ws.close(Some(frame)).await.is_err() {
        return;
    }
    let drain = async { while let Some(Ok(_)) = ws.next().await {} };
    let _ = tokio::time::timeout(CLOSE_REPLY_WAIT, drain).await;
}

fn preview(message: &Message) -> String {
    match message {
        Message::Text(text) => {
            let shown: String = text.chars().take(LOG_PREVIEW_CHARS).collect();
            let more = if shown.len() < text.len() { "..." } else { "" };
            format!("text {} bytes {shown:?}{more}", text.len())
        }
        other => format!("binary {} bytes", other.len()),
    }
}

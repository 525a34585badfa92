//! The echo loop of one WebSocket connection: text back as text, binary as binary, byte for byte.
//!
//! tungstenite answers pings and echoes the client's close frame (code and reason) by itself; this loop adds the
//! limits (1009 for oversized messages, the idle timeout) and the 1001 on shutdown.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Bytes;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::stats::OpenConnection;

/// How long to wait for the client's answer after the server sent a close frame.
const CLOSE_REPLY_WAIT: Duration = Duration::from_secs(2);
/// Largest frame the server writes. tungstenite's write buffer keeps its capacity for the life of the connection,
/// so a message written as one frame would leave every connection that ever echoed a big message holding that
/// much memory; fragments keep it at this size.
const MAX_WRITE_FRAME: usize = 64 * 1024;
/// Longest text shown per message with `-v`.
const LOG_PREVIEW_CHARS: usize = 60;

/// Per-connection settings of the loop.
pub(crate) struct EchoSettings {
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) log_messages: bool,
}

/// Echoes until the client closes, an error or limit ends the connection, or the server shuts down.
/// `peer` names the connection in log lines.
pub(crate) async fn run<S>(
    mut ws: WebSocketStream<S>,
    conn: OpenConnection,
    settings: &EchoSettings,
    peer: &str,
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let ending = loop {
        let next = tokio::select! {
            next = next_with_idle_timeout(&mut ws, settings.idle_timeout) => next,
            _ = super::shutdown::stopped(&mut shutdown) => {
                break Ending::ServerClose(CloseCode::Away, "server shutting down");
            }
        };
        let message = match next {
            Next::Message(message) => message,
            Next::Idle => break Ending::ServerClose(CloseCode::Away, "idle timeout"),
            Next::End => break Ending::Gone,
            Next::Error(e) => break ending_for(e),
        };
        match message {
            Message::Text(_) | Message::Binary(_) => {
                let len = message.len();
                conn.received(len);
                if settings.log_messages {
                    tracing::info!("{peer} echo {}", preview(&message));
                }
                let sent = match settings.idle_timeout {
                    // A client that does not read blocks the echo; after the idle timeout it is dropped, so it
                    // cannot hold its buffers and connection slot forever.
                    Some(limit) => match tokio::time::timeout(limit, send_fragmented(&mut ws, message)).await
                    {
                        Ok(sent) => sent,
                        Err(_) => break Ending::Stalled(limit),
                    },
                    None => send_fragmented(&mut ws, message).await,
                };
                if let Err(e) = sent {
                    break ending_for(e);
                }
                conn.sent(len);
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

/// Sends a data message, as fragments of at most [`MAX_WRITE_FRAME`] bytes when it is bigger (RFC 6455 5.4: the
/// receiver reassembles the same message; a text fragment may end inside a UTF-8 sequence).
async fn send_fragmented<S>(ws: &mut WebSocketStream<S>, message: Message) -> Result<(), WsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (kind, payload): (Data, Bytes) = match message {
        Message::Text(text) if text.len() > MAX_WRITE_FRAME => (Data::Text, text.into()),
        Message::Binary(bytes) if bytes.len() > MAX_WRITE_FRAME => (Data::Binary, bytes),
        small => return ws.send(small).await,
    };
    let mut opcode = OpCode::Data(kind);
    let mut start = 0;
    while start < payload.len() {
        let end = (start + MAX_WRITE_FRAME).min(payload.len());
        let frame = Frame::message(payload.slice(start..end), opcode, end == payload.len());
        ws.send(Message::Frame(frame)).await?;
        opcode = OpCode::Data(Data::Continue);
        start = end;
    }
    Ok(())
}

enum Next {
    Message(Message),
    Idle,
    End,
    Error(WsError),
}

async fn next_with_idle_timeout<S>(ws: &mut WebSocketStream<S>, idle: Option<Duration>) -> Next
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let next = match idle {
        Some(limit) => match tokio::time::timeout(limit, ws.next()).await {
            Ok(next) => next,
            Err(_) => return Next::Idle,
        },
        None => ws.next().await,
    };
    match next {
        Some(Ok(message)) => Next::Message(message),
        Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) | None => Next::End,
        Some(Err(e)) => Next::Error(e),
    }
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

//! A client connection that offered permessage-deflate. tungstenite does the handshake; its protocol layer
//! refuses RSV1 frames, so the messages then go through the protocol module's pieces (`ws/`) in the client role:
//! the frame reader and writer (masking what it sends), the message assembler and the deflate codec.
//!
//! The connection is always held as two halves, so that one task can send while it receives (`wsecho bench
//! --pipeline`, the interactive client): [`DeflateSender`] owns the compressor and the write side,
//! [`DeflateReceiver`] the frame reader, the assembler with its inflater and the read side. The receiver must
//! answer pings and closes, so the write side is shared behind a lock. It never waits for that lock: it leaves
//! its answer in `answers` and writes it only if the lock is free; otherwise the sender, which holds the lock,
//! finds the answer when it lets go. Waiting for the lock could deadlock: the sender may be blocked writing to
//! a server that is itself blocked writing echoes nobody reads.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::io::{ReadHalf, WriteHalf};
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};

use super::Io;
use crate::Error;
use crate::ws::deflate::{Agreed, Codec, Compressor};
use crate::ws::frame::{FrameReader, FrameWriter, ReadError, Role};
use crate::ws::message::{Assembler, Incoming};

/// The largest echo the client takes, inflated or not.
const MAX_MESSAGE: usize = 64 << 20;

/// An open connection whose messages are compressed when the server agreed to it.
pub struct DeflateStream {
    sender: DeflateSender,
    receiver: DeflateReceiver,
}

/// What arrived on a [`DeflateReceiver`].
#[derive(Debug)]
pub enum Received {
    /// A whole data message (`true` for text, which is valid UTF-8).
    Data(bool, Bytes),
    /// The server's close frame, as `CODE REASON` (or `no close code`); answered already.
    Closed(String),
}

/// The sending half: compresses and writes.
pub struct DeflateSender {
    writing: Arc<tokio::sync::Mutex<Writing>>,
    answers: Answers,
}

/// The receiving half: reads, inflates, and answers pings and closes through the shared write side.
pub struct DeflateReceiver {
    io: ReadHalf<Box<dyn Io>>,
    reader: FrameReader,
    assembler: Assembler,
    writing: Arc<tokio::sync::Mutex<Writing>>,
    answers: Answers,
    /// The server's close frame came: the stream may end in any way now.
    closed: bool,
}

/// Control frames the receiver owes the server and has not written yet.
type Answers = Arc<Mutex<Vec<(Control, Vec<u8>)>>>;

/// The write side of the connection and the compressor.
struct Writing {
    io: WriteHalf<Box<dyn Io>>,
    writer: FrameWriter,
    compressor: Option<Compressor>,
    /// A close frame went out: RFC 6455 5.5.1 allows one, and a second one to a server that has closed its
    /// socket would only earn a reset.
    close_sent: bool,
}

impl DeflateStream {
    /// Takes over the stream right after the handshake: the server sends nothing before the client's first
    /// message, so tungstenite holds no buffered frame. `agreed` is `None` when the server declined deflate.
    pub(crate) fn new(io: Box<dyn Io>, agreed: Option<&Agreed>) -> Self {
        // Every message is compressed: the point of --deflate is to exercise the compressed path. The sender
        // gets the compressor, the receiver's assembler the inflater.
        let (compressor, inflater) = agreed
            .map(|agreed| Codec::new(agreed, 0, Role::Client).split())
            .unzip();
        let (read, write) = tokio::io::split(io);
        let writing = Arc::new(tokio::sync::Mutex::new(Writing {
            io: write,
            writer: FrameWriter::new(Role::Client),
            compressor,
            close_sent: false,
        }));
        let answers = Answers::default();
        DeflateStream {
            sender: DeflateSender {
                writing: writing.clone(),
                answers: answers.clone(),
            },
            receiver: DeflateReceiver {
                io: read,
                reader: FrameReader::new(Role::Client),
                assembler: Assembler::new(MAX_MESSAGE, MAX_MESSAGE, inflater),
                writing,
                answers,
                closed: false,
            },
        }
    }

    /// The two halves, to send and receive at the same time.
    pub fn split(&mut self) -> (&mut DeflateSender, &mut DeflateReceiver) {
        (&mut self.sender, &mut self.receiver)
    }
}

impl DeflateSender {
    /// Queues one message in one frame, compressed when deflate was negotiated; [`flush`](Self::flush) writes it.
    pub async fn feed(&self, text: bool, payload: &[u8]) {
        let mut writing = self.writing.lock().await;
        let writing = &mut *writing;
        let compressed = writing
            .compressor
            .as_mut()
            .and_then(|compressor| compressor.compress(payload));
        let header = FrameHeader {
            rsv1: compressed.is_some(),
            opcode: OpCode::Data(if text { Data::Text } else { Data::Binary }),
            ..FrameHeader::default()
        };
        writing
            .writer
            .queue(&header, compressed.as_deref().unwrap_or(payload));
    }

    /// Writes out what is queued, with the receiver's answers that are waiting.
    pub async fn flush(&self) -> Result<(), Error> {
        loop {
            self.writing.lock().await.write_out(&self.answers).await?;
            // An answer left while the lock was held is written now (see the module comment).
            if lock(&self.answers).is_empty() {
                return Ok(());
            }
        }
    }

    /// Sends one message in one frame, compressed when deflate was negotiated.
    pub async fn send(&self, text: bool, payload: &[u8]) -> Result<(), Error> {
        self.feed(text, payload).await;
        self.flush().await
    }

    /// Starts the closing handshake with close 1000.
    pub async fn send_close(&self) -> Result<(), Error> {
        lock(&self.answers).push((Control::Close, 1000u16.to_be_bytes().to_vec()));
        self.flush().await
    }
}

impl DeflateReceiver {
    /// The next data message or the server's close; `None` when the stream ended. Pings are answered.
    pub async fn next(&mut self) -> Result<Option<Received>, Error> {
        loop {
            let (header, payload) = match self.reader.next(&mut self.io, MAX_MESSAGE).await {
                Ok(frame) => frame,
                Err(ReadError::Eof) => return Ok(None),
                Err(_) if self.closed => return Ok(None),
                Err(other) => return Err(Error::Echo(format!("connection failed: {other}"))),
            };
            match self.assembler.take(&header, payload) {
                Ok(None) | Ok(Some(Incoming::Pong)) => {}
                Ok(Some(Incoming::Message { text, payload })) => {
                    self.assembler.release_idle();
                    return Ok(Some(Received::Data(text, payload)));
                }
                Ok(Some(Incoming::Ping(payload))) => self.answer(Control::Pong, payload.to_vec()).await?,
                Ok(Some(Incoming::Close(frame))) => {
                    self.closed = true;
                    // Once the server closed, a failed reply changes nothing.
                    let _ = self.answer(Control::Close, Vec::new()).await;
                    let why = frame.map_or("no close code".to_string(), |(code, reason)| {
                        format!("{code} {reason}")
                    });
                    return Ok(Some(Received::Closed(why)));
                }
                Err(violation) => {
                    let (code, reason) = violation.close();
                    let mut close = u16::from(code).to_be_bytes().to_vec();
                    close.extend_from_slice(reason.as_bytes());
                    let _ = self.answer(Control::Close, close).await;
                    return Err(Error::Echo(format!(
                        "the server broke the protocol: {violation:?}"
                    )));
                }
            }
        }
    }

    /// Leaves a control frame for the server and writes it now if the sender is not writing.
    async fn answer(&mut self, control: Control, payload: Vec<u8>) -> Result<(), Error> {
        lock(&self.answers).push((control, payload));
        match self.writing.try_lock() {
            Ok(mut writing) => writing.write_out(&self.answers).await,
            Err(_) => Ok(()),
        }
    }
}

impl Writing {
    /// Queues the waiting answers, then writes out everything queued.
    async fn write_out(&mut self, answers: &Mutex<Vec<(Control, Vec<u8>)>>) -> Result<(), Error> {
        for (control, payload) in lock(answers).drain(..) {
            if control == Control::Close && std::mem::replace(&mut self.close_sent, true) {
                continue;
            }
            let header = FrameHeader {
                opcode: OpCode::Control(control),
                ..FrameHeader::default()
            };
            self.writer.queue(&header, &payload);
        }
        self.writer
            .write_out(&mut self.io)
            .await
            .map_err(|e| Error::Echo(format!("sending failed: {e}")))
    }
}

/// The answers list; a panic elsewhere cannot leave it half-changed, so a poisoned lock is still good.
fn lock(answers: &Mutex<Vec<(Control, Vec<u8>)>>) -> std::sync::MutexGuard<'_, Vec<(Control, Vec<u8>)>> {
    answers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

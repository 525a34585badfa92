//! A client connection that offered permessage-deflate. tungstenite does the handshake; its protocol layer
//! refuses RSV1 frames, so the messages then go through the server's own pieces in the client role: the frame
//! reader and writer (masking what it sends), the message assembler and the deflate codec.

use std::time::Duration;

use bytes::Bytes;
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};

use super::Io;
use crate::Error;
use crate::server::deflate::{Agreed, Codec};
use crate::server::frame_io::{FrameReader, FrameWriter, ReadError, Role};
use crate::server::messages::{Assembler, Incoming};

/// The largest echo the client takes, inflated or not.
const MAX_MESSAGE: usize = 64 << 20;

/// An open connection whose messages are compressed when the server agreed to it.
pub struct DeflateStream {
    io: Box<dyn Io>,
    reader: FrameReader,
    writer: FrameWriter,
    assembler: Assembler,
}

impl DeflateStream {
    /// Takes over the stream right after the handshake: the server sends nothing before the client's first
    /// message, so tungstenite holds no buffered frame. `agreed` is `None` when the server declined deflate.
    pub(crate) fn new(io: Box<dyn Io>, agreed: Option<&Agreed>) -> Self {
        // Every message is compressed: the point of --deflate is to exercise the compressed path.
        let codec = agreed.map(|agreed| Codec::new(agreed, 0, Role::Client));
        DeflateStream {
            io,
            reader: FrameReader::new(Role::Client),
            writer: FrameWriter::new(Role::Client),
            assembler: Assembler::new(MAX_MESSAGE, MAX_MESSAGE, codec),
        }
    }

    /// Sends one message in one frame, compressed when deflate was negotiated.
    pub(crate) async fn send(&mut self, text: bool, payload: &[u8]) -> Result<(), Error> {
        let compressed = self.assembler.deflate().and_then(|codec| codec.compress(payload));
        let header = FrameHeader {
            rsv1: compressed.is_some(),
            opcode: OpCode::Data(if text { Data::Text } else { Data::Binary }),
            ..FrameHeader::default()
        };
        self.writer
            .queue(&header, compressed.as_deref().unwrap_or(payload));
        self.write_out().await
    }

    /// The next data message (`true` for text), answering pings; a close or a broken frame ends it with an error.
    pub(crate) async fn next_data(&mut self) -> Result<(bool, Bytes), Error> {
        loop {
            let (header, payload) =
                self.reader
                    .next(&mut self.io, MAX_MESSAGE)
                    .await
                    .map_err(|e| match e {
                        ReadError::Eof => {
                            Error::Echo("server closed the connection without a close frame".into())
                        }
                        other => Error::Echo(format!("connection failed: {other}")),
                    })?;
            match self.assembler.take(&header, payload) {
                Ok(None) | Ok(Some(Incoming::Pong)) => {}
                Ok(Some(Incoming::Message { text, payload })) => {
                    self.assembler.release_idle();
                    return Ok((text, payload));
                }
                Ok(Some(Incoming::Ping(payload))) => {
                    self.control(Control::Pong, &payload);
                    self.write_out().await?;
                }
                Ok(Some(Incoming::Close(frame))) => {
                    self.control(Control::Close, &[]);
                    let _ = self.write_out().await;
                    let why = frame.map_or("no close code".to_string(), |(code, reason)| {
                        format!("{code} {reason}")
                    });
                    return Err(Error::Echo(format!("server closed the connection: {why}")));
                }
                Err(violation) => {
                    let (code, reason) = violation.close();
                    let mut close = u16::from(code).to_be_bytes().to_vec();
                    close.extend_from_slice(reason.as_bytes());
                    self.control(Control::Close, &close);
                    let _ = self.write_out().await;
                    return Err(Error::Echo(format!(
                        "the server broke the protocol: {violation:?}"
                    )));
                }
            }
        }
    }

    /// Sends close 1000 and waits (bounded) for the server's close reply.
    pub(crate) async fn close(&mut self, timeout: Duration) {
        self.control(Control::Close, &1000u16.to_be_bytes());
        if self.write_out().await.is_ok() {
            let drain = async { while self.next_data().await.is_ok() {} };
            let _ = tokio::time::timeout(timeout, drain).await;
        }
    }

    fn control(&mut self, control: Control, payload: &[u8]) {
        let header = FrameHeader {
            opcode: OpCode::Control(control),
            ..FrameHeader::default()
        };
        self.writer.queue(&header, payload);
    }

    async fn write_out(&mut self) -> Result<(), Error> {
        self.writer
            .write_out(&mut self.io)
            .await
            .map_err(|e| Error::Echo(format!("sending failed: {e}")))
    }
}

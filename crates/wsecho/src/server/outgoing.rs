//! The frames the server sends on one WebSocket: data messages cut into frames of a bounded size, compressed when
//! the connection negotiated permessage-deflate (a broadcast room's messages in the form the room shares), and
//! control frames. The echo loop decides what to send; this file decides how it goes on the wire.

use bytes::Bytes;
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};

use super::broadcast::Entry;
use super::stats::OpenConnection;
use crate::ws::deflate::Compressor;
use crate::ws::frame::FrameWriter;
use crate::ws::limits::MAX_WRITE_FRAME;

/// Largest room message compressed for a member with server context takeover, which compresses for itself;
/// bigger ones reach it uncompressed (RFC 7692 allows that, and its context stays as it was), so that such a
/// member holds at most this much of its own while its client does not read.
const OWN_COMPRESSION_MAX: usize = MAX_WRITE_FRAME;

/// The frames the server sends, queued in the connection's writer, and the compressor of its data messages.
pub(crate) struct Outgoing {
    pub(crate) writer: FrameWriter,
    /// Largest frame payload of a data message: [`MAX_WRITE_FRAME`], or what a `fragment=` fault asks.
    frame_size: usize,
    /// The permessage-deflate compressor, when negotiated.
    compressor: Option<Compressor>,
}

impl Outgoing {
    pub(crate) fn new(writer: FrameWriter, frame_size: usize, compressor: Option<Compressor>) -> Self {
        Outgoing {
            writer,
            frame_size,
            compressor,
        }
    }

    /// Frees the write buffer and, without context takeover, the compressor's state until the next message.
    pub(crate) fn release_idle(&mut self) {
        self.writer.release();
        if let Some(compressor) = &mut self.compressor {
            compressor.release_idle();
        }
    }

    /// Queues a data message: compressed when the connection negotiated it and it pays (the first frame then
    /// carries RSV1), and as fragments of at most `frame_size` bytes when bigger (the receiver reassembles
    /// the same message; a text fragment may end inside a UTF-8 sequence).
    pub(crate) fn message(&mut self, text: bool, payload: Bytes, conn: &OpenConnection) {
        let compressed = self
            .compressor
            .as_mut()
            .and_then(|compressor| compressor.compress(&payload));
        if let Some(compressed) = &compressed {
            conn.deflate_saved(payload.len().saturating_sub(compressed.len()));
        }
        let rsv1 = compressed.is_some();
        self.data(text, compressed.map_or(payload, Bytes::from), rsv1);
    }

    /// Queues a room's message: in the form compressed once for the room when the connection's compression is
    /// shared, compressed by the connection itself with context takeover (up to [`OWN_COMPRESSION_MAX`]), else
    /// as it is.
    pub(crate) fn room_message(&mut self, entry: &Entry, conn: &OpenConnection) {
        let Some(compressor) = &self.compressor else {
            return self.data(entry.text, entry.payload.clone(), false);
        };
        match compressor.shared() {
            Some(shared) => match entry.compressed_for(shared) {
                Some(compressed) => {
                    conn.deflate_saved(entry.payload.len().saturating_sub(compressed.len()));
                    self.data(entry.text, compressed.clone(), true);
                }
                None => self.data(entry.text, entry.payload.clone(), false),
            },
            None if entry.payload.len() <= OWN_COMPRESSION_MAX => {
                self.message(entry.text, entry.payload.clone(), conn)
            }
            None => self.data(entry.text, entry.payload.clone(), false),
        }
    }

    /// Queues a data message's bytes as they go on the wire, RSV1 on the first frame when `rsv1`.
    fn data(&mut self, text: bool, wire: Bytes, rsv1: bool) {
        let data = OpCode::Data(if text { Data::Text } else { Data::Binary });
        // An empty message is one empty frame; fragments share the message's buffer.
        let starts = (0..wire.len().max(1)).step_by(self.frame_size);
        let count = starts.len();
        for (index, start) in starts.enumerate() {
            let first = index == 0;
            let header = FrameHeader {
                is_final: index + 1 == count,
                rsv1: rsv1 && first,
                opcode: if first { data } else { OpCode::Data(Data::Continue) },
                ..FrameHeader::default()
            };
            let end = (start + self.frame_size).min(wire.len());
            self.writer.queue_bytes(&header, wire.slice(start.min(end)..end));
        }
    }

    pub(crate) fn control(&mut self, control: Control, payload: &[u8]) {
        self.frame(OpCode::Control(control), true, false, payload);
    }

    /// Queues a close frame with the code and reason, or an empty one.
    pub(crate) fn close(&mut self, frame: Option<(u16, &str)>) {
        let mut payload = Vec::new();
        if let Some((code, reason)) = frame {
            payload.extend_from_slice(&code.to_be_bytes());
            payload.extend_from_slice(reason.as_bytes());
        }
        self.control(Control::Close, &payload);
    }

    fn frame(&mut self, opcode: OpCode, is_final: bool, rsv1: bool, payload: &[u8]) {
        let header = FrameHeader {
            is_final,
            rsv1,
            opcode,
            ..FrameHeader::default()
        };
        self.writer.queue(&header, payload);
    }
}

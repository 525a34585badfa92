//! The receiving half of RFC 6455 (and RFC 7692's RSV1 rule): the peer's frames in, whole messages and control
//! frames out, or the [`Violation`] that ends the connection. Fragments are reassembled, compressed messages
//! inflated within the limits, and text checked as UTF-8 frame by frame so that a bad sequence fails at once.

use bytes::Bytes;
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Control, Data, OpCode};

use crate::ws::deflate::{InflateError, Inflater};

/// A text or binary message, a control frame, or nothing yet (a fragment).
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A whole data message; text is valid UTF-8.
    Message {
        text: bool,
        payload: Bytes,
    },
    Ping(Bytes),
    Pong,
    /// The peer's close frame: its code and reason, if it sent one.
    Close(Option<(u16, String)>),
}

/// What the peer did wrong, as the close code this end answers with.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Violation {
    /// 1002.
    Protocol(&'static str),
    /// 1007.
    InvalidUtf8,
    /// 1009.
    TooBig,
}

impl Violation {
    pub(crate) fn close(&self) -> (CloseCode, &'static str) {
        match self {
            Violation::Protocol(_) => (CloseCode::Protocol, "protocol error"),
            Violation::InvalidUtf8 => (CloseCode::Invalid, "invalid UTF-8 in text"),
            Violation::TooBig => (CloseCode::Size, "message too big"),
        }
    }
}

/// A fragmented or compressed message being received.
struct Partial {
    text: bool,
    compressed: bool,
    payload: Vec<u8>,
    /// Bytes of `payload` known to be valid UTF-8 (text only); a sequence cut by a frame boundary waits.
    checked: usize,
}

/// Turns one connection's frames into [`Incoming`]s.
pub(crate) struct Assembler {
    max_message: usize,
    max_frame: usize,
    /// The connection's permessage-deflate inflater, when negotiated (its compressor is the sender's).
    deflate: Option<Inflater>,
    partial: Option<Partial>,
}

impl Assembler {
    pub(crate) fn new(max_message: usize, max_frame: usize, deflate: Option<Inflater>) -> Self {
        Assembler {
            max_message,
            max_frame,
            deflate,
            partial: None,
        }
    }

    /// Frees what only a message in progress needs; called when the connection goes idle.
    pub(crate) fn release_idle(&mut self) {
        if self.partial.is_none()
            && let Some(inflater) = &mut self.deflate
        {
            inflater.release_idle();
        }
    }

    /// Takes one frame; `Ok(None)` while a message is incomplete.
    pub(crate) fn take(
        &mut self,
        header: &FrameHeader,
        payload: Bytes,
    ) -> Result<Option<Incoming>, Violation> {
        if header.rsv2 || header.rsv3 {
            return Err(Violation::Protocol("RSV2 or RSV3 set"));
        }
        let start = match header.opcode {
            OpCode::Control(control) => {
                if header.rsv1 {
                    return Err(Violation::Protocol("RSV1 on a control frame"));
                }
                return control_frame(control, payload).map(Some);
            }
            OpCode::Data(Data::Continue) => {
                if header.rsv1 {
                    return Err(Violation::Protocol("RSV1 on a continuation frame"));
                }
                false
            }
            OpCode::Data(_) => {
                if header.rsv1 && self.deflate.is_none() {
                    return Err(Violation::Protocol("RSV1 set without permessage-deflate"));
                }
                true
            }
        };
        let text = header.opcode == OpCode::Data(Data::Text);
        match (start, self.partial.is_some()) {
            (false, false) => return Err(Violation::Protocol("continuation without a start")),
            (true, true) => return Err(Violation::Protocol("new message inside a fragmented one")),
            // The common case needs no copy: one uncompressed frame is the message.
            (true, false) if header.is_final && !header.rsv1 => {
                if payload.len() > self.max_message {
                    return Err(Violation::TooBig);
                }
                if text && std::str::from_utf8(&payload).is_err() {
                    return Err(Violation::InvalidUtf8);
                }
                return Ok(Some(Incoming::Message { text, payload }));
            }
            (true, false) => {
                self.partial = Some(Partial {
                    text,
                    compressed: header.rsv1,
                    payload: Vec::new(),
                    checked: 0,
                })
            }
            (false, true) => {}
        }
        self.append(&payload, header.is_final)
    }

    /// Adds a fragment to the message in progress; at the last one, returns the message.
    fn append(&mut self, fragment: &[u8], last: bool) -> Result<Option<Incoming>, Violation> {
        let Some(partial) = self.partial.as_mut() else {
            return Err(Violation::Protocol("continuation without a start"));
        };
        if partial.compressed {
            let inflater = self
                .deflate
                .as_mut()
                .ok_or(Violation::Protocol("RSV1 set without permessage-deflate"))?;
            let limit = self
                .max_message
                .min(partial.payload.len().saturating_add(self.max_frame));
            inflater
                .inflate(fragment, &mut partial.payload, limit)
                .map_err(inflate_violation)?;
            if last {
                inflater
                    .finish_inflate(&mut partial.payload, self.max_message)
                    .map_err(inflate_violation)?;
            }
        } else {
            if partial.payload.len() + fragment.len() > self.max_message {
                return Err(Violation::TooBig);
            }
            partial.payload.extend_from_slice(fragment);
        }
        if partial.text {
            check_utf8(partial, last)?;
        }
        if !last {
            return Ok(None);
        }
        let partial = self.partial.take().expect("a message in progress");
        Ok(Some(Incoming::Message {
            text: partial.text,
            payload: partial.payload.into(),
        }))
    }
}

fn inflate_violation(error: InflateError) -> Violation {
    match error {
        InflateError::TooBig => Violation::TooBig,
        InflateError::Corrupt => Violation::Protocol("compressed data is not a deflate stream"),
    }
}

/// Checks the text received so far; only the message's end may leave a sequence incomplete.
fn check_utf8(partial: &mut Partial, last: bool) -> Result<(), Violation> {
    match std::str::from_utf8(&partial.payload[partial.checked..]) {
        Ok(_) => partial.checked = partial.payload.len(),
        Err(e) if e.error_len().is_none() && !last => partial.checked += e.valid_up_to(),
        Err(_) => return Err(Violation::InvalidUtf8),
    }
    Ok(())
}

fn control_frame(control: Control, payload: Bytes) -> Result<Incoming, Violation> {
    match control {
        Control::Ping => Ok(Incoming::Ping(payload)),
        Control::Pong => Ok(Incoming::Pong),
        Control::Close => close_frame(&payload).map(Incoming::Close),
        // FrameHeader::parse refuses reserved opcodes.
        Control::Reserved(_) => Err(Violation::Protocol("reserved control opcode")),
    }
}

/// A close frame's code and reason (RFC 6455 5.5.1, 7.4): none, or a code allowed on the wire and UTF-8 text.
fn close_frame(payload: &[u8]) -> Result<Option<(u16, String)>, Violation> {
    match payload {
        [] => Ok(None),
        [_] => Err(Violation::Protocol("close frame with a 1-byte payload")),
        [high, low, reason @ ..] => {
            let code = u16::from_be_bytes([*high, *low]);
            if !CloseCode::from(code).is_allowed() {
                return Err(Violation::Protocol("close code not allowed on the wire"));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| Violation::InvalidUtf8)?;
            Ok(Some((code, reason.to_owned())))
        }
    }
}

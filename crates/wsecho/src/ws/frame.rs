//! WebSocket frames on the raw upgraded stream, with tungstenite's frame types (`FrameHeader` parses and formats
//! the header), for either end of a connection ([`Role`]): [`FrameReader`] reads the peer's frames (a server's
//! reader requires and removes the client's mask, a client's refuses masked frames), [`FrameWriter`] queues
//! frames, header and payload in one buffer (masked when the client sends), and writes them out together.
//!
//! Both buffers exist only while the connection is busy: the loop calls `release` when it waits for the next
//! message, and the reader then waits with a small inline buffer, so an idle connection holds no buffer at all.

use std::io::{Cursor, IoSlice};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::OpCode;

use super::limits::MAX_CONTROL_PAYLOAD;

/// What an idle connection reads into: enough for a small message, or the header of a big one.
const IDLE_READ: usize = 512;
/// Least read-ahead once a connection is busy, so that back-to-back small frames come in one read.
const MIN_READ: usize = 8 * 1024;
/// Most buffer reserved at a time for a frame still arriving: a client that announces a big frame gets memory
/// as its bytes come, not for what it claims.
const MAX_READ: usize = 256 * 1024;

/// Why no frame could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer closed the TCP connection.
    Eof,
    Io(std::io::Error),
    /// The frame is larger than `--max-frame-size`.
    TooBig,
    /// The frame breaks RFC 6455.
    Protocol(&'static str),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Eof => f.write_str("connection closed"),
            ReadError::Io(e) => e.fmt(f),
            ReadError::TooBig => f.write_str("frame over --max-frame-size"),
            ReadError::Protocol(what) => f.write_str(what),
        }
    }
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// Which end of the connection this is: RFC 6455 5.1 makes clients mask every frame and servers none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Server,
    Client,
}

/// Reads the peer's frames.
pub(crate) struct FrameReader {
    role: Role,
    /// Bytes read and not yet taken as frames.
    buf: BytesMut,
}

impl FrameReader {
    pub(crate) fn new(role: Role) -> Self {
        FrameReader {
            role,
            buf: BytesMut::new(),
        }
    }

    /// The next frame, its payload unmasked. Cancel-safe: what was read stays buffered.
    pub(crate) async fn next<S>(
        &mut self,
        io: &mut S,
        max_frame: usize,
    ) -> Result<(FrameHeader, Bytes), ReadError>
    where
        S: AsyncRead + Unpin,
    {
        loop {
            let missing = match self.parse(max_frame)? {
                Parsed::Frame(header, payload) => return Ok((header, payload)),
                Parsed::Missing(bytes) => bytes,
            };
            let read = if self.buf.is_empty() {
                let mut first = [0u8; IDLE_READ];
                let read = io.read(&mut first).await?;
                self.buf.extend_from_slice(&first[..read]);
                read
            } else {
                self.buf.reserve(missing.clamp(MIN_READ, MAX_READ));
                io.read_buf(&mut self.buf).await?
            };
            if read == 0 {
                return Err(ReadError::Eof);
            }
        }
    }

    /// A whole frame from the buffer, or how many more bytes are needed at least.
    fn parse(&mut self, max_frame: usize) -> Result<Parsed, ReadError> {
        let mut cursor = Cursor::new(&self.buf[..]);
        let Some((header, length)) =
            FrameHeader::parse(&mut cursor).map_err(|_| ReadError::Protocol("reserved opcode"))?
        else {
            return Ok(Parsed::Missing(1));
        };
        if let OpCode::Control(_) = header.opcode {
            if !header.is_final {
                return Err(ReadError::Protocol("fragmented control frame"));
            }
            if length > MAX_CONTROL_PAYLOAD {
                return Err(ReadError::Protocol("control frame over 125 bytes"));
            }
        }
        if length > max_frame as u64 {
            return Err(ReadError::TooBig);
        }
        let mask = match (self.role, header.mask) {
            (Role::Server, Some(mask)) => Some(mask),
            (Role::Server, None) => return Err(ReadError::Protocol("unmasked client frame")),
            (Role::Client, None) => None,
            (Role::Client, Some(_)) => return Err(ReadError::Protocol("masked server frame")),
        };
        let header_len = cursor.position() as usize;
        let length = length as usize;
        if self.buf.len() < header_len + length {
            return Ok(Parsed::Missing(header_len + length - self.buf.len()));
        }
        let _ = self.buf.split_to(header_len);
        let mut payload = self.buf.split_to(length);
        if let Some(mask) = mask {
            unmask(&mut payload, mask);
        }
        Ok(Parsed::Frame(header, payload.freeze()))
    }

    /// Frees the buffer when it holds nothing; the next read starts small again.
    pub(crate) fn release(&mut self) {
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
        }
    }
}

enum Parsed {
    Frame(FrameHeader, Bytes),
    Missing(usize),
}

/// XORs the payload with the client's masking key (RFC 6455 5.3); masking and unmasking are the same.
fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    let word = u32::from_ne_bytes(mask);
    let mut chunks = payload.chunks_exact_mut(4);
    for chunk in &mut chunks {
        let value = u32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) ^ word;
        chunk.copy_from_slice(&value.to_ne_bytes());
    }
    for (byte, key) in chunks.into_remainder().iter_mut().zip(mask) {
        *byte ^= key;
    }
}

/// Payloads at least this large are written from where they already are (the echoed message's buffer), next to
/// their headers in one vectored write, instead of being copied into the queue first: at 64 KiB that copy was
/// a quarter of the server's CPU. Smaller ones are cheaper to copy than to list.
const SHARE_FROM: usize = 4 * 1024;

/// Queues frames and writes them out.
pub(crate) struct FrameWriter {
    role: Role,
    /// Frame headers and small payloads, in order.
    buf: Vec<u8>,
    /// Large payloads, each to be written after `buf[..at]` and before the rest: `(at, payload)`, in order.
    shared: Vec<(usize, Bytes)>,
    /// Bytes queued in `shared`.
    shared_len: usize,
}

impl FrameWriter {
    pub(crate) fn new(role: Role) -> Self {
        FrameWriter {
            role,
            buf: Vec::new(),
            shared: Vec::new(),
            shared_len: 0,
        }
    }

    /// Queues one frame, masked with a fresh random key when the client sends it. Every frame passes here.
    pub(crate) fn queue(&mut self, header: &FrameHeader, payload: &[u8]) {
        let mask = self.header(header, payload.len());
        let start = self.buf.len();
        self.buf.extend_from_slice(payload);
        if let Some(mask) = mask {
            unmask(&mut self.buf[start..], mask);
        }
    }

    /// Queues one frame whose payload is already in a shared buffer: a server's large payload is kept there
    /// and written from it; anything else is copied as by [`FrameWriter::queue`].
    pub(crate) fn queue_bytes(&mut self, header: &FrameHeader, payload: Bytes) {
        if self.role == Role::Client || payload.len() < SHARE_FROM {
            return self.queue(header, &payload);
        }
        self.header(header, payload.len());
        self.shared_len += payload.len();
        self.shared.push((self.buf.len(), payload));
    }

    /// Formats the header into the queue, masked with a fresh key in the client role; returns the key.
    fn header(&mut self, header: &FrameHeader, payload_len: usize) -> Option<[u8; 4]> {
        let mask = (self.role == Role::Client).then(random_mask);
        let header = FrameHeader {
            mask,
            ..header.clone()
        };
        // Formatting into a Vec cannot fail.
        let _ = header.format(payload_len as u64, &mut self.buf);
        mask
    }

    /// Bytes queued and not yet written.
    pub(crate) fn queued(&self) -> usize {
        self.buf.len() + self.shared_len
    }

    /// Writes out everything queued and flushes the stream.
    pub(crate) async fn write_out<S>(&mut self, io: &mut S) -> std::io::Result<()>
    where
        S: AsyncWrite + Unpin,
    {
        if self.shared.is_empty() {
            io.write_all(&self.buf).await?;
        } else if io.is_write_vectored() {
            write_all_vectored(io, &mut self.slices()).await?;
        } else {
            // One slice per write would send every header in a packet of its own: copy instead.
            let whole: Vec<u8> = self
                .slices()
                .iter()
                .flat_map(|slice| slice.iter().copied())
                .collect();
            io.write_all(&whole).await?;
        }
        self.buf.clear();
        self.shared.clear();
        self.shared_len = 0;
        io.flush().await
    }

    /// The queue in wire order: pieces of `buf` with the shared payloads between them.
    fn slices(&self) -> Vec<IoSlice<'_>> {
        let mut slices = Vec::with_capacity(2 * self.shared.len() + 1);
        let mut from = 0;
        for (at, payload) in &self.shared {
            slices.push(IoSlice::new(&self.buf[from..*at]));
            slices.push(IoSlice::new(payload));
            from = *at;
        }
        slices.push(IoSlice::new(&self.buf[from..]));
        slices.retain(|slice| !slice.is_empty());
        slices
    }

    /// Frees the buffers; called when the connection goes idle.
    pub(crate) fn release(&mut self) {
        self.buf = Vec::new();
        self.shared = Vec::new();
        self.shared_len = 0;
    }
}

/// `write_all` for a list of slices, each call writing as many of them as the stream takes.
async fn write_all_vectored<S>(io: &mut S, mut slices: &mut [IoSlice<'_>]) -> std::io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    while !slices.is_empty() {
        let written = io.write_vectored(slices).await?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut slices, written);
    }
    Ok(())
}

/// A masking key from the TLS provider's random source (RFC 6455 10.3: keys must be unpredictable).
fn random_mask() -> [u8; 4] {
    let mut mask = [0u8; 4];
    // aws-lc-rs's system random source does not fail on the systems we run on; a zero key would still be valid.
    let _ = crate::tls::provider().secure_random.fill(&mut mask);
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmasking_matches_the_rfc_example() {
        // RFC 6455 5.7: a masked "Hello".
        let mut payload = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        unmask(&mut payload, [0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(&payload, b"Hello");
    }

    /// A stream without vectored writes (tokio's default `poll_write_vectored` writes the first slice only).
    struct PlainWrites(Vec<u8>);

    impl AsyncWrite for PlainWrites {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            self.0.extend_from_slice(buf);
            std::task::Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    /// Frames with large payloads kept in place go out byte for byte as if every payload had been copied, to a
    /// stream that takes vectored writes (a Vec) and to one that does not.
    #[tokio::test]
    async fn shared_payloads_reach_the_wire_in_order_with_and_without_vectored_writes() {
        use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, Data};
        let header = |opcode| FrameHeader {
            opcode,
            ..FrameHeader::default()
        };
        let (ping, binary) = (
            header(OpCode::Control(Control::Ping)),
            header(OpCode::Data(Data::Binary)),
        );
        let big = Bytes::from((0..20_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>());
        let frames = [
            (&ping, Bytes::from_static(b"p")),
            (&binary, big.clone()),
            (&binary, big.slice(..SHARE_FROM)),
            (&ping, Bytes::from_static(b"q")),
            (&binary, big.slice(7..SHARE_FROM - 1)),
        ];
        let mut copied = FrameWriter::new(Role::Server);
        let mut shared = FrameWriter::new(Role::Server);
        for (header, payload) in &frames {
            copied.queue(header, payload);
            shared.queue_bytes(header, payload.clone());
        }
        assert_eq!(
            shared.shared.len(),
            2,
            "the two payloads of SHARE_FROM bytes or more stay in place"
        );
        assert_eq!(shared.queued(), copied.queued());
        let mut expected = Vec::new();
        copied.write_out(&mut expected).await.unwrap();

        let mut vectored = Vec::new();
        let mut again = FrameWriter::new(Role::Server);
        for (header, payload) in &frames {
            again.queue_bytes(header, payload.clone());
        }
        again.write_out(&mut vectored).await.unwrap();
        assert_eq!(vectored, expected);
        assert_eq!(again.queued(), 0);

        let mut plain = PlainWrites(Vec::new());
        assert!(!plain.is_write_vectored());
        shared.write_out(&mut plain).await.unwrap();
        let piped = plain.0;
        assert_eq!(piped, expected);
    }
}

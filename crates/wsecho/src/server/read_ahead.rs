//! A read-ahead buffer that exists only while a connection is busy.
//!
//! Readers that ask for little at a time (rustls asks its socket for 4 KiB per call, and so does the echo loop's
//! 4 KiB WebSocket read buffer, so a 16 KiB message costs four or five `recv` calls) get their bytes from one
//! large `recv` instead. Reads go straight to the socket until one fills the reader's buffer, a sign that more
//! is waiting; only then is the read-ahead buffer allocated, and it is freed as soon as the socket has nothing
//! more to give (a read returns `Pending`). So small messages never touch it and an idle connection holds no
//! buffer at all. Reads at least as large as the buffer bypass it. Writes pass straight through, vectored ones
//! included.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::io::poll_read_buf;

/// Bytes taken from the socket per `recv` while busy: a 16 KiB TLS record and then some.
const READ_AHEAD: usize = 32 * 1024;
/// Room for [`ReadAhead::first_bytes`]: enough to see that bytes came; the rest waits in the stream.
const FIRST_BYTES: usize = 4 * 1024;

/// `inner` with a read-ahead buffer; see the module documentation.
pub(crate) struct ReadAhead<S> {
    inner: S,
    /// Bytes read from the socket but not yet handed out; unallocated while idle.
    buffer: BytesMut,
    /// The last direct read filled the reader's buffer: read ahead next time.
    busy: bool,
}

impl<S> ReadAhead<S> {
    pub(crate) fn new(inner: S) -> Self {
        ReadAhead {
            inner,
            buffer: BytesMut::new(),
            busy: false,
        }
    }

    /// Copies buffered bytes into `out`; false when there were none.
    fn drain_into(&mut self, out: &mut ReadBuf<'_>) -> bool {
        if self.buffer.is_empty() {
            return false;
        }
        let n = self.buffer.len().min(out.remaining());
        out.put_slice(&self.buffer[..n]);
        self.buffer.advance(n);
        true
    }

    /// Waits for the stream's first bytes and keeps them for the next reads; `Ok(0)` when it ended without any.
    /// Cancel-safe: nothing is taken from the stream while it has no bytes.
    pub(crate) async fn first_bytes(&mut self) -> io::Result<usize>
    where
        S: AsyncRead + Unpin,
    {
        self.buffer.reserve(FIRST_BYTES);
        std::future::poll_fn(|cx| poll_read_buf(Pin::new(&mut self.inner), cx, &mut self.buffer)).await
    }

    /// Drops the buffer's memory: the connection has gone quiet.
    fn release(&mut self) {
        self.buffer = BytesMut::new();
        self.busy = false;
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ReadAhead<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.drain_into(out) {
            return Poll::Ready(Ok(()));
        }
        if !this.busy || out.remaining() >= READ_AHEAD {
            this.release();
            let (before, room) = (out.filled().len(), out.remaining());
            let read = Pin::new(&mut this.inner).poll_read(cx, out);
            this.busy = matches!(read, Poll::Ready(Ok(()))) && out.filled().len() - before == room;
            return read;
        }
        // Empty here, so this reuses the allocation while the connection stays busy. The socket writes into the
        // spare capacity as it is: zero-filling 32 KiB first would cost a memset per busy spell.
        this.buffer.reserve(READ_AHEAD);
        match poll_read_buf(Pin::new(&mut this.inner), cx, &mut this.buffer) {
            Poll::Pending => {
                this.release();
                Poll::Pending
            }
            Poll::Ready(Err(e)) => {
                this.release();
                Poll::Ready(Err(e))
            }
            Poll::Ready(Ok(_)) => {
                this.drain_into(out);
                Poll::Ready(Ok(()))
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ReadAhead<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn small_reads_see_every_byte_in_order_and_the_buffer_goes_when_quiet() {
        let (mut writer, reader) = tokio::io::duplex(256 * 1024);
        let mut reader = ReadAhead::new(reader);
        let mut chunk = [0u8; 4096];
        // A small message fits the reader's buffer: no read-ahead buffer is ever made for it.
        writer.write_all(b"small").await.unwrap();
        assert_eq!(reader.read(&mut chunk).await.unwrap(), 5);
        assert_eq!(reader.buffer.capacity(), 0);

        let sent: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        writer.write_all(&sent).await.unwrap();
        let mut received = Vec::new();
        let mut reads = 0;
        while received.len() < sent.len() {
            let n = reader.read(&mut chunk).await.unwrap();
            received.extend_from_slice(&chunk[..n]);
            reads += 1;
            if reads == 2 {
                // The first read filled the reader's buffer, so the second one read ahead: more came in than the
                // reader took.
                assert!(!reader.buffer.is_empty());
            }
        }
        assert_eq!(received, sent);
        // Nothing more to read: the next read waits, and the buffer is gone meanwhile.
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(50), reader.read(&mut chunk)).await;
        assert!(waiting.is_err());
        assert_eq!(reader.buffer.capacity(), 0);
        // Large reads bypass the buffer.
        writer.write_all(&sent[..READ_AHEAD]).await.unwrap();
        let mut large = vec![0u8; READ_AHEAD];
        reader.read_exact(&mut large).await.unwrap();
        assert_eq!(large, sent[..READ_AHEAD]);
        assert_eq!(reader.buffer.capacity(), 0);
    }
}

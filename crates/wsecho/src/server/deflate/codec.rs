//! Compressing and inflating messages for one connection (RFC 7692 section 7.2). Each message is compressed
//! with a sync flush and without the `00 00 ff ff` it ends with; inflating puts that tail back. Inflating never
//! writes past the caller's limit: it stops there and reports [`InflateError::TooBig`].

use flate2::{Compress, Decompress, FlushCompress, FlushDecompress, Status};

use super::Agreed;
use super::spare_state;
use crate::server::frame_io::Role;

/// What a sync flush appends to a deflate stream; removed from every compressed message.
const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// Spare output room the compressor gets at a time.
const COMPRESS_STEP: usize = 4 * 1024;
/// Most output the inflater is given at a time, so that a message's buffer grows with what it really holds.
const INFLATE_STEP: usize = 64 * 1024;

/// Why a compressed message could not be inflated.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// The inflated message would pass the limit.
    TooBig,
    /// Not a deflate stream.
    Corrupt,
}

/// One direction of a connection's compression: its window and whether its context lives on between messages.
#[derive(Debug, Clone, Copy)]
struct Direction {
    window_bits: u8,
    context_takeover: bool,
}

/// The compressor and inflater of one connection end, each created when first needed.
pub(crate) struct Codec {
    /// What this end sends with.
    sending: Direction,
    /// What the peer sends with, which this end inflates.
    receiving: Direction,
    min_size: usize,
    compressor: Option<Compress>,
    inflater: Option<Decompress>,
}

impl Codec {
    /// The codec of the `role` end of a connection with these parameters.
    pub(crate) fn new(agreed: &Agreed, min_size: usize, role: Role) -> Self {
        let server = Direction {
            window_bits: agreed.server_window_bits,
            context_takeover: agreed.server_context_takeover,
        };
        let client = Direction {
            window_bits: agreed.client_window_bits,
            context_takeover: agreed.client_context_takeover,
        };
        let (sending, receiving) = match role {
            Role::Server => (server, client),
            Role::Client => (client, server),
        };
        Codec {
            sending,
            receiving,
            min_size,
            compressor: None,
            inflater: None,
        }
    }

    /// Drops the state no message needs any more: all of it, unless a context is taken over between messages.
    /// Called when the connection goes idle.
    pub(crate) fn release_idle(&mut self) {
        if !self.sending.context_takeover {
            self.give_back_compressor();
        }
        if !self.receiving.context_takeover {
            self.give_back_inflater();
        }
    }

    fn give_back_compressor(&mut self) {
        if let Some(compressor) = self.compressor.take() {
            spare_state::give_compressor(self.sending.window_bits, compressor);
        }
    }

    fn give_back_inflater(&mut self) {
        if let Some(inflater) = self.inflater.take() {
            spare_state::give_inflater(self.inflating_window_bits(), inflater);
        }
    }

    /// The window the inflater is made with: the peer's, at least what zlib can inflate with.
    fn inflating_window_bits(&self) -> u8 {
        self.receiving.window_bits.max(*super::WINDOW_BITS.start())
    }

    /// The compressed form of a whole message, or `None` below the minimum size, to send it as it is. A message
    /// that does not shrink is still sent compressed: Autobahn's suite (kosoku) fails an uncompressed echo on a
    /// compressed connection, although RFC 7692 allows it.
    pub(crate) fn compress(&mut self, message: &[u8]) -> Option<Vec<u8>> {
        if message.len() < self.min_size {
            return None;
        }
        let bits = self.sending.window_bits;
        let compressor = self
            .compressor
            .get_or_insert_with(|| spare_state::compressor(bits));
        let out = compress_with(compressor, message);
        if !self.sending.context_takeover {
            compressor.reset();
        }
        out
    }

    /// What this end's compressed messages share with every other end that has the same: `None` with context
    /// takeover, where each message depends on the ones before.
    pub(crate) fn shared(&self) -> Option<SharedDeflate> {
        (!self.sending.context_takeover).then_some(SharedDeflate {
            window_bits: self.sending.window_bits,
            min_size: self.min_size,
        })
    }

    /// Inflates one frame's compressed payload onto `out`, which may then hold at most `limit` bytes.
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        let bits = self.inflating_window_bits();
        let inflater = self.inflater.get_or_insert_with(|| spare_state::inflater(bits));
        let mut rest = input;
        loop {
            if out.len() == out.capacity() {
                if out.len() >= limit {
                    return more_output(inflater, rest);
                }
                out.reserve_exact(INFLATE_STEP.min(limit - out.len()));
            }
            let (in_before, out_before) = (inflater.total_in(), out.len());
            let status = inflater
                .decompress_vec(rest, out, FlushDecompress::Sync)
                .map_err(|_| InflateError::Corrupt)?;
            rest = &rest[(inflater.total_in() - in_before) as usize..];
            if status == Status::StreamEnd {
                // A final block ends this deflate stream; the next message starts a new one.
                inflater.reset(false);
            }
            let stuck = inflater.total_in() == in_before && out.len() == out_before;
            if rest.is_empty() && out.len() < out.capacity() {
                return Ok(());
            }
            if stuck && out.len() < out.capacity() {
                return Err(InflateError::Corrupt);
            }
        }
    }

    /// Ends an inflated message: the removed sync tail goes back in, and without context takeover the inflater
    /// starts afresh for the next message.
    pub(crate) fn finish_inflate(&mut self, out: &mut Vec<u8>, limit: usize) -> Result<(), InflateError> {
        self.inflate(&SYNC_TAIL, out, limit)?;
        if !self.receiving.context_takeover
            && let Some(inflater) = &mut self.inflater
        {
            inflater.reset(false);
        }
        Ok(())
    }
}

/// A closed connection's states go back too, so that connections coming and going do not churn them either.
impl Drop for Codec {
    fn drop(&mut self) {
        self.give_back_compressor();
        self.give_back_inflater();
    }
}

/// At the limit: `TooBig` if the stream still has a byte to give, else done.
fn more_output(inflater: &mut Decompress, rest: &[u8]) -> Result<(), InflateError> {
    let mut probe = [0u8; 1];
    let before = inflater.total_out();
    inflater
        .decompress(rest, &mut probe, FlushDecompress::Sync)
        .map_err(|_| InflateError::Corrupt)?;
    if inflater.total_out() > before {
        Err(InflateError::TooBig)
    } else {
        Ok(())
    }
}

/// The compression settings that make a message's compressed form the same for every connection that has them
/// and no context takeover (the level is always [`flate2::Compression::fast`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SharedDeflate {
    window_bits: u8,
    min_size: usize,
}

/// A message compressed as [`Codec::compress`] would for every connection with `deflate`, with a spare
/// compressor; `None` below the minimum size.
pub(crate) fn compress_shared(deflate: SharedDeflate, message: &[u8]) -> Option<Vec<u8>> {
    if message.len() < deflate.min_size {
        return None;
    }
    let mut compressor = spare_state::compressor(deflate.window_bits);
    let out = compress_with(&mut compressor, message);
    spare_state::give_compressor(deflate.window_bits, compressor);
    out
}

/// One message through `compressor` with a sync flush, the sync tail removed; `None` if zlib fails (only on a
/// misused stream, which this never makes: the message is then sent as it is).
fn compress_with(compressor: &mut Compress, message: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(message.len() / 2 + COMPRESS_STEP);
    let start = compressor.total_in();
    loop {
        let consumed = (compressor.total_in() - start) as usize;
        if out.capacity() - out.len() < COMPRESS_STEP / 4 {
            out.reserve(COMPRESS_STEP.max(out.len() / 2));
        }
        compressor
            .compress_vec(&message[consumed..], &mut out, FlushCompress::Sync)
            .ok()?;
        // A sync flush is complete once all input is taken and output room is left over.
        if (compressor.total_in() - start) as usize == message.len() && out.len() < out.capacity() {
            break;
        }
    }
    if out.ends_with(&SYNC_TAIL) {
        out.truncate(out.len() - SYNC_TAIL.len());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agreed(takeover: bool) -> Agreed {
        Agreed {
            server_window_bits: 15,
            client_window_bits: 15,
            server_context_takeover: takeover,
            client_context_takeover: takeover,
            response: String::new(),
        }
    }

    /// A server codec's output is what a client's inflater reads back.
    fn round_trip(codec: &mut Codec, peer: &mut Codec, message: &[u8]) -> Vec<u8> {
        let compressed = codec.compress(message).expect("compressible");
        let mut out = Vec::new();
        peer.inflate(&compressed, &mut out, usize::MAX).expect("inflate");
        peer.finish_inflate(&mut out, usize::MAX).expect("finish");
        out
    }

    #[test]
    fn messages_round_trip_with_and_without_context_takeover() {
        for takeover in [false, true] {
            let (mut server, mut client) = (
                Codec::new(&agreed(takeover), 1, Role::Server),
                Codec::new(&agreed(takeover), 1, Role::Client),
            );
            let text = b"hello hello hello hello hello hello".repeat(100);
            for _ in 0..3 {
                assert_eq!(round_trip(&mut server, &mut client, &text), text);
            }
            let big: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
            assert_eq!(round_trip(&mut server, &mut client, &big), big);
            server.release_idle();
            client.release_idle();
            assert_eq!(round_trip(&mut server, &mut client, &text), text);
        }
    }

    /// What a room compresses once is what each member's own codec would have sent, and inflates back.
    #[test]
    fn a_shared_compression_equals_each_connections_own() {
        let mut server = Codec::new(&agreed(false), 16, Role::Server);
        let shared = server.shared().expect("no context takeover");
        let text = b"room message room message room message".repeat(50);
        let once = compress_shared(shared, &text).expect("compressed");
        assert_eq!(server.compress(&text), Some(once.clone()));
        let mut client = Codec::new(&agreed(false), 16, Role::Client);
        let mut out = Vec::new();
        client.inflate(&once, &mut out, usize::MAX).expect("inflate");
        client.finish_inflate(&mut out, usize::MAX).expect("finish");
        assert_eq!(out, text);
        assert_eq!(
            compress_shared(shared, &text[..15]),
            None,
            "below the minimum size"
        );
        assert_eq!(Codec::new(&agreed(true), 16, Role::Server).shared(), None);
    }

    #[test]
    fn only_messages_below_the_minimum_size_go_uncompressed() {
        let mut codec = Codec::new(&agreed(false), 64, Role::Server);
        assert_eq!(codec.compress(&[b'a'; 63]), None);
        assert!(codec.compress(&[b'a'; 64]).is_some());
        // Incompressible bytes are still compressed (a little larger): see `compress`.
        let noise: Vec<u8> = (0..200u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let mut every = Codec::new(&agreed(false), 0, Role::Server);
        let packed = every.compress(&noise).expect("compressed");
        let mut out = Vec::new();
        every.inflate(&packed, &mut out, 1024).expect("inflate");
        every.finish_inflate(&mut out, 1024).expect("finish");
        assert_eq!(out, noise);
        assert!(every.compress(b"").is_some());
    }

    #[test]
    fn inflating_stops_at_the_limit_without_growing_past_it() {
        let mut server = Codec::new(&agreed(false), 1, Role::Server);
        let bomb = server.compress(&vec![0u8; 10 << 20]).expect("compressible");
        assert!(bomb.len() < 128 * 1024, "{} bytes", bomb.len());
        let mut client = Codec::new(&agreed(false), 1, Role::Server);
        let mut out = Vec::new();
        assert_eq!(
            client.inflate(&bomb, &mut out, 1 << 20),
            Err(InflateError::TooBig)
        );
        assert_eq!(out.len(), 1 << 20);
        assert_eq!(out.capacity(), 1 << 20);
        let mut exact = Vec::new();
        let mut client = Codec::new(&agreed(false), 1, Role::Server);
        client.inflate(&bomb, &mut exact, 10 << 20).expect("fits exactly");
        client.finish_inflate(&mut exact, 10 << 20).expect("finish");
        assert_eq!(exact.len(), 10 << 20);
    }

    #[test]
    fn garbage_is_corrupt() {
        let mut codec = Codec::new(&agreed(false), 1, Role::Server);
        let mut out = Vec::new();
        assert_eq!(
            codec.inflate(&[0xff; 32], &mut out, 1024),
            Err(InflateError::Corrupt)
        );
    }
}

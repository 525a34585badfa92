//! The sending side of permessage-deflate (RFC 7692 section 7.2.1): each message is compressed with a sync flush
//! and without the `00 00 ff ff` it ends with. The compressor belongs to whoever writes the connection's frames;
//! with context takeover its state is the connection's, kept from one message to the next.

use flate2::{Compress, FlushCompress};

use super::spare_state::{self, Held};

/// What a sync flush appends to a deflate stream; removed from every compressed message (and put back by the
/// inflater).
pub(super) const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// Spare output room the compressor gets at a time.
const COMPRESS_STEP: usize = 4 * 1024;

/// The compressor of one connection end, its zlib state created when first needed.
pub(crate) struct Compressor {
    state: Held<Compress>,
    min_size: usize,
}

impl Compressor {
    pub(super) fn new(window_bits: u8, context_takeover: bool, min_size: usize) -> Self {
        Compressor {
            state: Held::new(window_bits, context_takeover),
            min_size,
        }
    }

    /// Hands the zlib state back unless the next message needs it (context takeover). Called when the connection
    /// goes idle.
    pub(crate) fn release_idle(&mut self) {
        self.state.release_idle();
    }

    /// The compressed form of a whole message, or `None` below the minimum size, to send it as it is. A message
    /// that does not shrink is still sent compressed: Autobahn's suite (kosoku) fails an uncompressed echo on a
    /// compressed connection, although RFC 7692 allows it.
    pub(crate) fn compress(&mut self, message: &[u8]) -> Option<Vec<u8>> {
        if message.len() < self.min_size {
            return None;
        }
        let context_takeover = self.state.context_takeover;
        let state = self.state.get();
        let out = compress_with(state, message);
        if !context_takeover {
            state.reset();
        }
        out
    }

    /// What this end's compressed messages share with every other end that has the same: `None` with context
    /// takeover, where each message depends on the ones before.
    pub(crate) fn shared(&self) -> Option<SharedDeflate> {
        (!self.state.context_takeover).then_some(SharedDeflate {
            window_bits: self.state.window_bits,
            min_size: self.min_size,
        })
    }
}

/// The compression settings that make a message's compressed form the same for every connection that has them
/// and no context takeover (the level is always [`flate2::Compression::fast`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SharedDeflate {
    window_bits: u8,
    min_size: usize,
}

/// A message compressed as [`Compressor::compress`] would for every connection with `deflate`, with a spare
/// compressor; `None` below the minimum size.
pub(crate) fn compress_shared(deflate: SharedDeflate, message: &[u8]) -> Option<Vec<u8>> {
    if message.len() < deflate.min_size {
        return None;
    }
    let mut compressor = spare_state::take(deflate.window_bits);
    let out = compress_with(&mut compressor, message);
    spare_state::give(deflate.window_bits, compressor);
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

//! The receiving side of permessage-deflate (RFC 7692 section 7.2.2): a message's frames are inflated with the
//! removed sync tail put back at its end. Inflating never writes past the caller's limit: it stops there and
//! reports [`InflateError::TooBig`].

use flate2::{Decompress, FlushDecompress, Status};

use super::compressor::SYNC_TAIL;
use super::settings::WINDOW_BITS;
use super::spare_state::Held;

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

/// The inflater of one connection end, its zlib state created when first needed.
pub(crate) struct Inflater {
    state: Held<Decompress>,
}

impl Inflater {
    /// The inflater for a peer that compresses with a `window_bits` window (made with at least the smallest
    /// window zlib can inflate with) and keeps its context between messages when `context_takeover`.
    pub(super) fn new(window_bits: u8, context_takeover: bool) -> Self {
        Inflater {
            state: Held::new(window_bits.max(*WINDOW_BITS.start()), context_takeover),
        }
    }

    /// Hands the zlib state back unless the next message needs it (context takeover). Called when the connection
    /// goes idle between messages.
    pub(crate) fn release_idle(&mut self) {
        self.state.release_idle();
    }

    /// Inflates one frame's compressed payload onto `out`, which may then hold at most `limit` bytes.
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        let inflater = self.state.get();
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
        if !self.state.context_takeover
            && let Some(inflater) = self.state.current()
        {
            inflater.reset(false);
        }
        Ok(())
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

//! zlib states that idle connections handed back, kept for the next connection that needs one.
//!
//! Dropping a compressor (about 256 KiB) each time a connection goes idle and allocating a new one at its next
//! message lets the allocator fill the freed space with other connections' small long-lived allocations, so
//! the next state comes from fresh memory: under load an idle compressed connection measured 200-300 KiB instead
//! of a plain one's 5 KiB. Handing states back here keeps them out of that churn; at most [`KEPT`] of each kind
//! are kept, for the whole server.

use std::sync::{Mutex, MutexGuard};

use flate2::{Compress, Compression, Decompress};

/// Spare states kept per kind; more than the busy connections of a moment need on two cores.
const KEPT: usize = 8;

static COMPRESSORS: Mutex<Vec<(u8, Compress)>> = Mutex::new(Vec::new());
static INFLATERS: Mutex<Vec<(u8, Decompress)>> = Mutex::new(Vec::new());

/// A raw-deflate compressor with a `window_bits` window, reset; a spare one when there is one.
pub(super) fn compressor(window_bits: u8) -> Compress {
    take(&COMPRESSORS, window_bits)
        .unwrap_or_else(|| Compress::new_with_window_bits(Compression::fast(), false, window_bits))
}

/// A raw-deflate inflater with a `window_bits` window, reset; a spare one when there is one.
pub(super) fn inflater(window_bits: u8) -> Decompress {
    take(&INFLATERS, window_bits).unwrap_or_else(|| Decompress::new_with_window_bits(false, window_bits))
}

/// Hands a compressor back (reset, so it starts a new stream), or drops it when enough are kept.
pub(super) fn give_compressor(window_bits: u8, mut compressor: Compress) {
    compressor.reset();
    give(&COMPRESSORS, window_bits, compressor);
}

/// Hands an inflater back (reset, so it starts a new stream), or drops it when enough are kept.
pub(super) fn give_inflater(window_bits: u8, mut inflater: Decompress) {
    inflater.reset(false);
    give(&INFLATERS, window_bits, inflater);
}

fn take<T>(spares: &Mutex<Vec<(u8, T)>>, window_bits: u8) -> Option<T> {
    let mut spares = lock(spares);
    let index = spares.iter().position(|(bits, _)| *bits == window_bits)?;
    Some(spares.swap_remove(index).1)
}

fn give<T>(spares: &Mutex<Vec<(u8, T)>>, window_bits: u8, state: T) {
    let mut spares = lock(spares);
    if spares.len() < KEPT {
        spares.push((window_bits, state));
    }
}

/// The lists stay usable after a panic elsewhere: each change to them is a single push or removal.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

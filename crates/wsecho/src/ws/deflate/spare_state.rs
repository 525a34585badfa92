//! zlib states that idle connections handed back, kept for the next connection that needs one, and [`Held`]: one
//! direction's state, made (or taken from the spares) when first needed and handed back when not.
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

/// A kind of raw-deflate zlib state that spares are kept of.
pub(super) trait Spare: Sized + 'static {
    /// The spares of this kind, each with its window.
    fn spares() -> &'static Mutex<Vec<(u8, Self)>>;
    /// A new state with a `window_bits` window.
    fn fresh(window_bits: u8) -> Self;
    /// Back to the start of a new stream.
    fn restart(&mut self);
}

impl Spare for Compress {
    fn spares() -> &'static Mutex<Vec<(u8, Self)>> {
        &COMPRESSORS
    }
    fn fresh(window_bits: u8) -> Self {
        Compress::new_with_window_bits(Compression::fast(), false, window_bits)
    }
    fn restart(&mut self) {
        self.reset();
    }
}

impl Spare for Decompress {
    fn spares() -> &'static Mutex<Vec<(u8, Self)>> {
        &INFLATERS
    }
    fn fresh(window_bits: u8) -> Self {
        Decompress::new_with_window_bits(false, window_bits)
    }
    fn restart(&mut self) {
        self.reset(false);
    }
}

/// A state with a `window_bits` window, reset; a spare one when there is one.
pub(super) fn take<T: Spare>(window_bits: u8) -> T {
    let mut spares = lock(T::spares());
    match spares.iter().position(|(bits, _)| *bits == window_bits) {
        Some(index) => spares.swap_remove(index).1,
        None => T::fresh(window_bits),
    }
}

/// Hands a state back (reset, so it starts a new stream), or drops it when enough are kept.
pub(super) fn give<T: Spare>(window_bits: u8, mut state: T) {
    state.restart();
    let mut spares = lock(T::spares());
    if spares.len() < KEPT {
        spares.push((window_bits, state));
    }
}

/// The lists stay usable after a panic elsewhere: each change to them is a single push or removal.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One direction's zlib state: its window, whether its context lives on between messages, and the state itself
/// while a message needs it.
pub(super) struct Held<T: Spare> {
    pub(super) window_bits: u8,
    pub(super) context_takeover: bool,
    state: Option<T>,
}

impl<T: Spare> Held<T> {
    pub(super) fn new(window_bits: u8, context_takeover: bool) -> Self {
        Held {
            window_bits,
            context_takeover,
            state: None,
        }
    }

    /// The state, taken now if this direction has none.
    pub(super) fn get(&mut self) -> &mut T {
        let bits = self.window_bits;
        self.state.get_or_insert_with(|| take(bits))
    }

    /// The state, if this direction holds one.
    pub(super) fn current(&mut self) -> Option<&mut T> {
        self.state.as_mut()
    }

    /// Hands the state back unless the next message needs it (context takeover). Called when the connection goes
    /// idle.
    pub(super) fn release_idle(&mut self) {
        if !self.context_takeover {
            self.give_back();
        }
    }

    fn give_back(&mut self) {
        if let Some(state) = self.state.take() {
            give(self.window_bits, state);
        }
    }
}

/// A closed connection's state goes back too, so that connections coming and going do not churn it either.
impl<T: Spare> Drop for Held<T> {
    fn drop(&mut self) {
        self.give_back();
    }
}

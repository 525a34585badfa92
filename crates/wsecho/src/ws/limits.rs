//! The sizes the protocol layer works within: RFC 6455's bound on control frames, and the largest frame this
//! implementation writes (bigger messages go out as fragments).

/// RFC 6455 5.5: control frames carry at most 125 bytes and are never fragmented.
pub(crate) const MAX_CONTROL_PAYLOAD: u64 = 125;

/// Largest frame the server writes; bigger messages go out as fragments (RFC 6455 5.4), so that the write
/// buffer never holds more than a batch plus one frame.
pub(crate) const MAX_WRITE_FRAME: usize = 64 * 1024;

//! permessage-deflate (RFC 7692): [`DeflateSettings`] are what the server is willing to use, negotiate.rs picks
//! the parameters of one connection from the client's offers, codec.rs compresses echoes and inflates the
//! client's messages within the size limits.
//!
//! Memory: zlib state costs about 256 KiB for a compressor and 40 KiB for an inflater with a 32 KiB window. By
//! default both sides agree on no context takeover, so neither has to outlive a message: the state exists while
//! a connection is busy and is handed back (spare_state.rs keeps a few for the next busy connection) when it
//! goes idle, and an idle compressed connection costs what a plain one does. With context takeover the state must live as long as the connection.
//!
//! Without context takeover a message compresses to the same bytes on every connection with the same window
//! ([`SharedDeflate`]), which lets a broadcast room compress each message once for all its members
//! ([`compress_shared`]).

mod codec;
mod negotiate;
mod spare_state;

pub(crate) use codec::{Codec, InflateError, SharedDeflate, compress_shared};
pub(crate) use negotiate::{Agreed, CLIENT_OFFER, accepted, negotiate};

/// The server's side of permessage-deflate: the `serve --deflate-*` flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeflateSettings {
    /// Largest LZ77 window (base-2 logarithm, 9 to 15) the server compresses with.
    pub server_max_window_bits: u8,
    /// Largest window the server asks a client to compress with, when the client offers to be limited.
    pub client_max_window_bits: u8,
    /// Keep the server's compression context from one message to the next (better ratio, state per connection).
    pub server_context_takeover: bool,
    /// Let the client keep its compression context (the server must then keep an inflater per connection).
    pub client_context_takeover: bool,
    /// Messages shorter than this many bytes are echoed uncompressed (0: every message is compressed).
    pub min_size: usize,
}

/// The window sizes zlib can compress with; RFC 7692 also allows 8, which zlib cannot honour for raw deflate.
pub const WINDOW_BITS: std::ops::RangeInclusive<u8> = 9..=15;

impl Default for DeflateSettings {
    fn default() -> Self {
        DeflateSettings {
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            server_context_takeover: false,
            client_context_takeover: false,
            min_size: 0,
        }
    }
}

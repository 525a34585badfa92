//! What the server is willing to use for permessage-deflate ([`DeflateSettings`], the `serve --deflate-*`
//! flags) and the windows zlib can honour ([`WINDOW_BITS`]).

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

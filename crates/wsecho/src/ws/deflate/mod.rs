//! permessage-deflate (RFC 7692): [`DeflateSettings`] are what the server is willing to use, negotiate.rs picks
//! the parameters of one connection from the client's offers (or reads the server's answer, on the client), and
//! codec.rs makes that end's [`Compressor`] (for the side that sends) and [`Inflater`] (for the side that
//! receives, which inflates within the size limits).
//!
//! Memory: zlib state costs about 256 KiB for a compressor and 40 KiB for an inflater with a 32 KiB window. By
//! default both sides agree on no context takeover, so neither has to outlive a message: the state exists while
//! a connection is busy and is handed back (spare_state.rs keeps a few for the next busy connection) when it
//! goes idle, and an idle compressed connection costs what a plain one does. With context takeover the state
//! must live as long as the connection.
//!
//! Without context takeover a message compresses to the same bytes on every connection with the same window
//! ([`SharedDeflate`]), which lets a broadcast room compress each message once for all its members
//! ([`compress_shared`]).

mod codec;
mod compressor;
mod inflater;
mod negotiate;
mod settings;
mod spare_state;

pub(crate) use codec::Codec;
pub(crate) use compressor::{Compressor, SharedDeflate, compress_shared};
pub(crate) use inflater::{InflateError, Inflater};
pub(crate) use negotiate::{Agreed, CLIENT_OFFER, accepted, negotiate};
pub use settings::{DeflateSettings, WINDOW_BITS};

//! The WebSocket protocol, for either end of a connection: frames on the raw stream (frame.rs), RFC 6455's
//! rules for what arrives (message.rs), permessage-deflate (deflate/), the one `Sec-WebSocket-Extensions`
//! parser (extensions.rs) and the protocol's sizes (limits.rs).
//!
//! The server, the client and the bench all build on this module; it imports nothing from them, so the
//! protocol can be read, tested and changed without the server around it.

pub(crate) mod deflate;
pub(crate) mod extensions;
pub(crate) mod frame;
pub(crate) mod limits;
pub(crate) mod message;

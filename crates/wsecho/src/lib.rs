//! A ws + wss echo server with a browser self-check page, a client and a load generator.
//!
//! [`server::start`] runs the echo server from a [`server::Config`]; [`client::connect`] opens a client
//! connection that trusts only the CA it is given. The `wsecho` binary is a thin command-line shell over both.

pub mod bench;
pub mod client;
mod error;
pub mod server;

pub use error::Error;

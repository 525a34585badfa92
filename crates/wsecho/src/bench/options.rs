//! What one bench run is asked to do.

use crate::client::TlsOptions;
use std::time::Duration;

/// The kind of WebSocket message sent (and expected back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Text,
    Binary,
}

/// How the connections are driven.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Load {
    /// Each connection sends, waits for the echo, and sends again: measures saturation throughput.
    ClosedLoop,
    /// A fixed total number of messages per second, spread evenly over the connections.
    Rate(f64),
    /// Open loop with a window: each connection keeps this many messages in flight, sending the next as soon as
    /// an echo returns, and checks the echoes in the order sent.
    Pipelined(usize),
    /// Connection churn: each of the connections, in a loop, connects (TCP, TLS, WebSocket upgrade), sends one
    /// message, checks its echo and closes; measures connections per second.
    Churn,
    /// Connections are opened and held without traffic: measures the server's memory per connection.
    Idle,
}

/// Everything one bench run needs.
#[derive(Debug, Clone)]
pub struct Options {
    pub url: String,
    pub connections: usize,
    pub size: usize,
    pub kind: Kind,
    pub load: Load,
    pub warmup: Duration,
    pub duration: Duration,
    /// Trust for `wss://` (`--ca`, or `--insecure`); the client's own TLS set-up.
    pub tls: TlsOptions,
    /// Limit for one connection's TCP + TLS + WebSocket handshake.
    pub connect_timeout: Duration,
    /// How many handshakes may be in flight at once.
    pub connect_concurrency: usize,
    /// Whether `wss://` connections offer to resume earlier TLS sessions (the rustls client default); what
    /// churn over wss measures with and without.
    pub tls_resumption: bool,
    /// A server process on this machine whose CPU time over the measured window is reported next to the load
    /// generator's own (Linux).
    pub server_pid: Option<u32>,
    /// Offer permessage-deflate on every connection (`client::connect_deflate`'s offer) and send and receive
    /// every message on the compressed path; a server that declines gets the same path uncompressed.
    pub deflate: bool,
}

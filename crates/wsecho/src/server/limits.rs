//! Size limits and timeouts of the server (the `serve` flags `--max-*`, `--*-timeout`, `--room-*`), with defaults
//! for a developer machine.

use std::time::Duration;

use super::broadcast::RoomLimits;

/// Size limits and timeouts. The defaults suit a developer machine and pass the Autobahn suite (16 MiB messages).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest message (after reassembly of fragments); bigger ones end the connection with close 1009.
    pub max_message_size: usize,
    /// Largest single frame payload; bigger ones end the connection with close 1009.
    pub max_frame_size: usize,
    /// WebSocket connections open at once over all listeners; further upgrade requests get HTTP 503.
    pub max_connections: usize,
    /// From TCP accept until the WebSocket upgrade is done, TLS included.
    pub handshake_timeout: Duration,
    /// A connection that receives nothing (no message, no ping) for this long is closed with 1001. `None`: never.
    pub idle_timeout: Option<Duration>,
    /// How long shutdown waits for clients to answer the 1001 close before giving up on them.
    pub shutdown_timeout: Duration,
    /// Bytes of messages a broadcast room holds for its slowest member before its senders wait.
    pub room_backlog: usize,
    /// Longest a broadcast message may wait for a member before that member is closed with 1008.
    pub room_max_lag: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 16 << 20,
            max_frame_size: 16 << 20,
            max_connections: 10_000,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Some(Duration::from_secs(300)),
            shutdown_timeout: Duration::from_secs(5),
            room_backlog: RoomLimits::default().backlog_bytes,
            room_max_lag: RoomLimits::default().max_lag,
        }
    }
}

//! The echo servers the benchmark compares.

/// The echo servers compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Wsecho,
    /// tokio-tungstenite's own echo-server example (`crates/wsecho/examples/baseline_echo.rs`).
    Baseline,
    Websocat,
    Python,
    /// Node `ws` on Node's `http`/`https` server (`tests/peers/echo_server.js`).
    Node,
}

impl Peer {
    pub const ALL: [Peer; 5] = [
        Peer::Wsecho,
        Peer::Baseline,
        Peer::Websocat,
        Peer::Python,
        Peer::Node,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Peer::Wsecho => "wsecho serve",
            Peer::Baseline => "tokio-tungstenite echo (baseline)",
            Peer::Websocat => "websocat mirror",
            Peer::Python => "Python websockets",
            Peer::Node => "Node ws",
        }
    }

    /// Whether the server negotiates permessage-deflate (as `tests/peers/echo_server.*` run it with `--deflate`).
    /// tokio-tungstenite 0.30 has no permessage-deflate, nor has websocat 1.14 (rust-websocket; its
    /// `--compress-deflate` compresses message bodies, not the RFC 7692 extension).
    pub fn deflate(self) -> bool {
        matches!(self, Peer::Wsecho | Peer::Python | Peer::Node)
    }

    pub fn short(self) -> &'static str {
        match self {
            Peer::Wsecho => "wsecho",
            Peer::Baseline => "baseline",
            Peer::Websocat => "websocat",
            Peer::Python => "python",
            Peer::Node => "node",
        }
    }
}

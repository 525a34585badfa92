//! The echo servers the benchmark compares.

/// The echo servers compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Wsecho,
    /// tokio-tungstenite's own echo-server example (`crates/wsecho/examples/baseline_echo.rs`).
    Baseline,
    Websocat,
    Python,
}

impl Peer {
    pub const ALL: [Peer; 4] = [Peer::Wsecho, Peer::Baseline, Peer::Websocat, Peer::Python];

    pub fn name(self) -> &'static str {
        match self {
            Peer::Wsecho => "wsecho serve",
            Peer::Baseline => "tokio-tungstenite echo (baseline)",
            Peer::Websocat => "websocat mirror",
            Peer::Python => "Python websockets",
        }
    }

    pub fn short(self) -> &'static str {
        match self {
            Peer::Wsecho => "wsecho",
            Peer::Baseline => "baseline",
            Peer::Websocat => "websocat",
            Peer::Python => "python",
        }
    }
}

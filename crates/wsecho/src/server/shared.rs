//! [`Shared`]: the server-wide settings and state every connection reads, built once by start.rs.

use std::sync::Arc;

use certgen::acme::http01::Http01Tokens;
use hyper::body::Bytes;
use tokio::sync::watch;

use super::broadcast::Rooms;
use super::devices::Devices;
use super::echo::EchoSettings;
use super::handshake::Policy;
use super::stats::{Stats, StatsSnapshot};
use super::tls::TlsState;

/// Server-wide settings and state every connection reads.
pub(crate) struct Shared {
    pub(crate) stats: Stats,
    pub(crate) echo: EchoSettings,
    /// What a WebSocket upgrade may ask for: subprotocols, origins, permessage-deflate, faults.
    pub(crate) handshake: Policy,
    /// DER bytes of `--ca`, served at `/ca.cer`.
    pub(crate) ca_cer: Option<Bytes>,
    /// `/trust`, `/ca.mobileconfig` and the QR codes for other devices.
    pub(crate) devices: Devices,
    pub(crate) rooms: Rooms,
    /// The wss certificate's state, for `/stats`.
    pub(crate) tls: Option<Arc<TlsState>>,
    /// `--acme` with http-01: the answers served under `/.well-known/acme-challenge/`.
    pub(crate) acme_http01: Option<Http01Tokens>,
    pub(crate) shutdown: watch::Receiver<bool>,
}

impl Shared {
    /// The `/stats` document: the counters and where the certificate came from.
    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        let mut snapshot = self.stats.snapshot();
        snapshot.certificate = self.tls.as_ref().and_then(|tls| tls.source());
        snapshot
    }
}

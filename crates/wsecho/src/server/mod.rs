//! The echo server: [`Config`] holds every setting (the `serve` flags), [`start`] binds the listeners and returns
//! a [`RunningServer`] with the bound addresses, live statistics, TLS reload and graceful shutdown.
//!
//! ```no_run
//! # async fn demo() -> Result<(), wsecho::Error> {
//! let config = wsecho::server::Config {
//!     ws: vec!["127.0.0.1:0".parse().unwrap()],
//!     ..Default::default()
//! };
//! let server = wsecho::server::start(config).await?;
//! println!("echo at {}", server.listeners()[0].url);
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! A connection's way through: listeners.rs accepts it (TLS by tls.rs), http.rs answers its requests,
//! handshake.rs decides a WebSocket upgrade's whole answer once, and echo.rs runs the WebSocket. Server-wide state
//! is in shared.rs, built by start.rs from config.rs and limits.rs.

mod acme;
mod assets;
mod bad_certs;
mod banner;
mod bound_listener;
mod broadcast;
mod ca_match;
mod certificate_resolver;
mod certificate_source;
mod config;
mod connection_facts;
mod devices;
mod echo;
mod faults;
mod handshake;
mod http;
mod limits;
mod listeners;
mod outgoing;
mod port_holder;
mod read_ahead;
mod response;
mod running_server;
mod shared;
mod shutdown;
mod start;
mod stats;
mod tls;

pub use crate::ws::deflate::{DeflateSettings, WINDOW_BITS};
pub use acme::AcmeConfig;
pub use bad_certs::BadCerts;
pub use bound_listener::BoundListener;
pub use certificate_source::CertificateSource;
pub use config::Config;
pub use devices::{lan_addresses, reachable_ipv4};
pub use limits::Limits;
pub use listeners::ensure_ports_free;
pub use running_server::RunningServer;
pub use shutdown::{ShutdownOutcome, StopSignals};
pub use start::{start, start_dual_stack};
pub use stats::{Counts, ListenerStats, StatsSnapshot};
pub use tls::{ClientAuth, TlsFiles};

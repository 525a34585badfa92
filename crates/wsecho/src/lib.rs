//! A ws + wss echo server with a browser self-check page, a client and a load generator.
//!
//! [`server::start`] runs the echo server from a [`server::Config`]; [`client::connect`] opens a client
//! connection that trusts only the CA it is given; [`bench::run`] measures an echo server and returns a
//! [`bench::Report`]. All three speak the WebSocket protocol through `ws/`, which depends on none of them. The
//! library neither parses flags nor prints: the `wsecho` binary's `cli/` modules, declared by `main.rs` and not
//! by this file, do both.

pub mod bench;
pub mod client;
mod error;
pub mod server;
mod tls;
mod ws;

pub use error::Error;

/// Logs to stderr through `tracing`, filtered by `RUST_LOG` (default `info`; `verbose` adds wsecho's debug lines).
/// The system-roots verifier's own log lines stay off: the client's one error line already says what it found.
pub fn init_logging(verbose: bool) {
    let default = if verbose {
        "info,wsecho=debug,rustls_platform_verifier=off"
    } else {
        "info,rustls_platform_verifier=off"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

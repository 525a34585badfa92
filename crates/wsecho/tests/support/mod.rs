//! Shared by every wsecho integration test, one concept per file: the certificate fixture ([`certs`]), the
//! server in this process ([`in_process`]) or as a `wsecho serve` child ([`serve`]), an independent client
//! ([`client`]) and hand-written bytes ([`wire`]), pebble as a test ACME CA ([`pebble`], certgen's file), bounded
//! child processes ([`process`]), real peers with the skip-or-fail rule ([`peers`]), a private copy of the system
//! trust store ([`private_store`], certgen's file), what the real-browser tests
//! share ([`browser`], used by its path), the `--bad-certs` server with what each client says ([`bad_certs`],
//! used by its path) and QR codes read back by zbarimg ([`qr`], used by its path). Every wait is bounded.
#![allow(dead_code, unused_imports)] // each test binary uses a different part of this module

pub mod bad_certs;
pub mod browser;
pub mod certs;
pub mod client;
pub mod in_process;
#[path = "../../../certgen/tests/common/pebble.rs"]
pub mod pebble;
pub mod peers;
#[path = "../../../certgen/tests/common/private_store.rs"]
pub mod private_store;
pub mod process;
pub mod qr;
pub mod serve;
pub mod wire;

pub use certs::*;
pub use client::*;
pub use in_process::*;
pub use peers::*;
pub use process::*;
pub use serve::*;
pub use wire::*;

use std::future::Future;
use std::time::Duration;

/// Bound on every single wait in the tests.
pub const WAIT: Duration = Duration::from_secs(10);

/// Awaits `future` for at most [`WAIT`]; a hang is a test failure, not a stuck test run.
pub async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(WAIT, future)
        .await
        .expect("timed out waiting (bounded test wait)")
}

//! What a bench run tells its caller while it runs, so that a front end can draw progress without the library
//! printing anything.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// Receives a run's progress; every method has a do-nothing default, so `Arc::new(())` ignores it all.
pub trait Progress: Send + Sync {
    /// `wss://` without verifying the server certificate was asked for (`TlsOptions::insecure`); called once,
    /// before the first connection.
    fn tls_unverified(&self) {}
    /// The target is resolved and connecting starts: `attempts` connections will be tried.
    fn connecting(&self, _attempts: usize) {}
    /// One more of the connection attempts finished, opened or failed.
    fn connection_attempted(&self) {}
    /// Connecting is over: `open` connections are now driven (or held) for `window`, warm-up included.
    fn running(&self, _open: usize, _window: Duration) {}
    /// About every 200 ms while running: time since the start and echoes received so far.
    fn echoes(&self, _elapsed: Duration, _echoes: u64) {}
    /// The run is over; its report (or error) follows.
    fn finished(&self) {}
}

impl Progress for () {}

/// How often [`tick`] passes the echo count on.
const TICK: Duration = Duration::from_millis(200);

/// Passes the live echo count to `progress` until aborted.
pub(crate) async fn tick(progress: Arc<dyn Progress>, start: Instant, done: Arc<AtomicU64>) {
    let mut tick = tokio::time::interval(TICK);
    loop {
        tick.tick().await;
        progress.echoes(start.elapsed(), done.load(Ordering::Relaxed));
    }
}

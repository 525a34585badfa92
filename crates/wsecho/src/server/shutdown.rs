//! Graceful shutdown: one signal that every accept loop and echo loop watches, and a way to wait until every
//! connection has ended.

use std::time::Duration;

use tokio::sync::{mpsc, watch};

/// How a graceful shutdown ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownOutcome {
    /// Every connection closed within the bound.
    Drained,
    /// The bound passed with connections still open; they are abandoned.
    TimedOut,
}

/// Owned by the running server. Accept loops and connections hold a clone of the `alive` token that [`new`]
/// returns; once every clone is gone, everything has ended.
///
/// [`new`]: Shutdown::new
pub(crate) struct Shutdown {
    stop: watch::Sender<bool>,
    all_ended: mpsc::Receiver<()>,
}

impl Shutdown {
    pub(crate) fn new() -> (Self, mpsc::Sender<()>) {
        let (stop, _) = watch::channel(false);
        let (alive, all_ended) = mpsc::channel(1);
        (Shutdown { stop, all_ended }, alive)
    }

    /// What accept loops and connections watch; it turns `true` once.
    pub(crate) fn watcher(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Stops accepting and tells every connection to close with 1001.
    pub(crate) fn begin(&self) {
        self.stop.send_replace(true);
    }

    /// Waits until every connection has ended, at most `bound`. Returns whether they all did.
    pub(crate) async fn wait(&mut self, bound: Duration) -> bool {
        // `recv` yields `None` once every token is dropped; nobody ever sends a value.
        tokio::time::timeout(bound, self.all_ended.recv()).await.is_ok()
    }
}

/// Resolves once shutdown has begun (or the server is gone).
pub(crate) async fn stopped(watcher: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`; drop it here instead of holding it in callers' futures.
    let _ = watcher.wait_for(|stop| *stop).await;
}

/// SIGINT (Ctrl-C) and SIGTERM, registered on creation so that a signal arriving between start-up and the wait
/// is not lost (or, worse, left to the default action that kills the process without closing connections).
pub struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    pub fn register() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    /// Waits for the next stop signal and returns its name.
    pub async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            match tokio::signal::ctrl_c().await {
                Ok(()) => "Ctrl-C",
                Err(_) => std::future::pending().await,
            }
        }
    }
}

//! Graceful shutdown: one signal that every accept loop and echo loop watches, and a way to wait until every
//! connection has ended.

use std::time::Duration;

use tokio::sync::{mpsc, watch};

/// Owned by the running server. Connections hold an `alive` token; when every token is gone, all have ended.
pub(crate) struct Shutdown {
    stop: watch::Sender<bool>,
    alive: Option<mpsc::Sender<()>>,
    all_ended: mpsc::Receiver<()>,
}

impl Shutdown {
    pub(crate) fn new() -> Self {
        let (stop, _) = watch::channel(false);
        let (alive, all_ended) = mpsc::channel(1);
        Shutdown {
            stop,
            alive: Some(alive),
            all_ended,
        }
    }

    /// What accept loops and connections watch; it turns `true` once.
    pub(crate) fn watcher(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// A token to hold for as long as a connection (or an accept loop) lives.
    pub(crate) fn alive_token(&self) -> mpsc::Sender<()> {
        match &self.alive {
            Some(alive) => alive.clone(),
            // After `begin`, nothing new may start; a closed channel's sender stands in.
            None => mpsc::channel(1).0,
        }
    }

    /// Stops accepting and tells every connection to close with 1001.
    pub(crate) fn begin(&mut self) {
        self.stop.send_replace(true);
        self.alive = None;
    }

    /// Waits until every connection has ended, at most `bound`. Returns whether they all did.
    pub(crate) async fn wait(&mut self, bound: Duration) -> bool {
        // `recv` yields `None` once every sender is dropped; nobody ever sends a value.
        tokio::time::timeout(bound, self.all_ended.recv()).await.is_ok()
    }
}

/// Resolves once shutdown has begun (or the server is gone).
pub(crate) async fn stopped(watcher: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`; drop it here instead of holding it in callers' futures.
    let _ = watcher.wait_for(|stop| *stop).await;
}

/// Waits for SIGINT (Ctrl-C) or SIGTERM and returns its name.
pub async fn signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
        }
    }
    match tokio::signal::ctrl_c().await {
        Ok(()) => "SIGINT",
        // Without signal handling the server runs until killed.
        Err(_) => std::future::pending().await,
    }
}

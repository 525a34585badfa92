//! [`RunningServer`]: what [`start`](super::start::start) returns, the handle to a server that is serving: its
//! listeners, banner and statistics, certificate reload and renewal, and graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::acme::Acme;
use super::banner::Banner;
use super::bound_listener::BoundListener;
use super::shared::Shared;
use super::shutdown::{Shutdown, ShutdownOutcome};
use super::stats::StatsSnapshot;
use super::tls::TlsState;
use crate::Error;

/// A started server. Dropping it stops accepting and closes connections without waiting; prefer
/// [`RunningServer::shutdown`].
pub struct RunningServer {
    pub(super) listeners: Vec<BoundListener>,
    pub(super) shared: Arc<Shared>,
    pub(super) banner: Banner,
    pub(super) tls: Option<Arc<TlsState>>,
    pub(super) acme: Option<Arc<Acme>>,
    pub(super) shutdown: Shutdown,
    pub(super) shutdown_timeout: Duration,
    pub(super) tasks: Vec<JoinHandle<()>>,
}

impl RunningServer {
    /// The bound listeners, in the order given (ws first, then wss, then the `--bad-certs` ones).
    pub fn listeners(&self) -> &[BoundListener] {
        &self.listeners
    }

    /// The first listener of the given kind, if any (never a `--bad-certs` one).
    pub fn listener(&self, tls: bool) -> Option<&BoundListener> {
        self.listeners
            .iter()
            .find(|l| l.tls == tls && l.bad_cert.is_none())
    }

    /// The start-up banner (banner.rs says what it holds).
    pub fn banner(&self) -> String {
        self.banner
            .render(&self.listeners, &self.shared, self.acme.as_deref())
    }

    /// The numbers `/stats` serves.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.snapshot()
    }

    /// With `--acme`: renews the certificate now, due or not, in the background (new handshakes get the new one
    /// once it arrives; open connections keep theirs).
    pub fn renew_acme_now(&self) -> Result<(), Error> {
        match &self.acme {
            Some(acme) => {
                acme.renew_now();
                Ok(())
            }
            None => Err(Error::Usage("no --acme configured: nothing to renew".into())),
        }
    }

    /// Loads the certificate files again now (as SIGHUP does). On error the old pair stays in use.
    pub fn reload_tls(&self) -> Result<(), Error> {
        match &self.tls {
            Some(tls) => tls.reload(),
            None => Err(Error::Usage("no TLS configured: nothing to reload".into())),
        }
    }

    /// Stops accepting, sends close 1001 to every client and waits for them, at most the shutdown timeout.
    pub async fn shutdown(mut self) -> ShutdownOutcome {
        self.shutdown.begin();
        let outcome = if self.shutdown.wait(self.shutdown_timeout).await {
            ShutdownOutcome::Drained
        } else {
            ShutdownOutcome::TimedOut
        };
        tracing::info!("shutdown {outcome:?}");
        outcome
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shutdown.begin();
        for task in &self.tasks {
            task.abort();
        }
    }
}

//! Counters for `/stats`: WebSocket connections, data messages and payload bytes, per listener and in total, and
//! WebSocket connections by HTTP and TLS version.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Counters of one listener. Messages and bytes count text and binary payloads only (not control frames).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    open: AtomicU64,
    total: AtomicU64,
    refused: AtomicU64,
    messages_in: AtomicU64,
    messages_out: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    compressed_connections: AtomicU64,
    deflate_bytes_saved: AtomicU64,
}

/// Numbers as served by `GET /stats`, for the whole server or for one listener.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// WebSocket connections open now.
    pub open_connections: u64,
    /// WebSocket connections opened since start. An HTTP/2 stream reset before it opened (before its first byte
    /// or its first second, see server/http.rs) is not one.
    pub total_connections: u64,
    /// Upgrade requests refused with 503 because `--max-connections` was reached.
    pub refused_connections: u64,
    /// Text and binary messages received from clients.
    pub messages_in: u64,
    /// Text and binary messages sent to clients.
    pub messages_out: u64,
    /// Payload bytes received in text and binary messages.
    pub bytes_in: u64,
    /// Payload bytes sent in text and binary messages.
    pub bytes_out: u64,
    /// WebSocket connections that negotiated permessage-deflate since start.
    pub compressed_connections: u64,
    /// Bytes permessage-deflate kept off the wire in echoes: payload minus compressed size.
    pub deflate_bytes_saved: u64,
}

/// One listener's share of the numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerStats {
    /// The URL printed in the banner, e.g. `ws://127.0.0.1:8080`.
    pub url: String,
    /// The bound socket address.
    pub local_addr: String,
    /// The broken-certificate fixture this listener serves (`--bad-certs`), e.g. `expired`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bad_cert: Option<String>,
    #[serde(flatten)]
    pub counts: Counts,
}

/// The whole `/stats` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsSnapshot {
    /// Whole seconds since the server started.
    pub uptime_secs: u64,
    /// Sum over all listeners.
    #[serde(flatten)]
    pub totals: Counts,
    pub listeners: Vec<ListenerStats>,
    /// WebSocket connections accepted since start by HTTP version (`HTTP/1.1`, `HTTP/2`).
    #[serde(default)]
    pub by_http_version: BTreeMap<String, u64>,
    /// WebSocket connections accepted since start by TLS version (`TLS1.3`, `TLS1.2`, `plain` for ws://).
    #[serde(default)]
    pub by_tls_version: BTreeMap<String, u64>,
    /// Where the wss certificate came from; absent without TLS (and while `--acme` has none yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<super::certificate_source::CertificateSource>,
}

struct ListenerEntry {
    url: String,
    local_addr: String,
    bad_cert: Option<String>,
    counters: Arc<Counters>,
}

/// Shared by every connection; cheap to clone.
#[derive(Clone)]
pub(crate) struct Stats {
    inner: Arc<StatsInner>,
}

struct StatsInner {
    started: Instant,
    max_connections: u64,
    /// Open connections over all listeners, for the `--max-connections` check.
    open_total: AtomicU64,
    listeners: std::sync::Mutex<Vec<ListenerEntry>>,
    by_version: std::sync::Mutex<ByVersion>,
    /// WebSocket requests accepted but reset before they opened, since the last summary of them was logged.
    reset_before_open: AtomicU64,
}

/// The two tallies of [`StatsSnapshot::by_http_version`] and [`StatsSnapshot::by_tls_version`].
#[derive(Default)]
struct ByVersion {
    http: BTreeMap<String, u64>,
    tls: BTreeMap<String, u64>,
}

impl Stats {
    pub(crate) fn new(max_connections: usize) -> Self {
        Stats {
            inner: Arc::new(StatsInner {
                started: Instant::now(),
                max_connections: max_connections as u64,
                open_total: AtomicU64::new(0),
                listeners: std::sync::Mutex::new(Vec::new()),
                by_version: std::sync::Mutex::default(),
                reset_before_open: AtomicU64::new(0),
            }),
        }
    }

    /// Registers a listener and returns its counters.
    pub(crate) fn add_listener(
        &self,
        url: String,
        local_addr: String,
        bad_cert: Option<String>,
    ) -> Arc<Counters> {
        let counters = Arc::new(Counters::default());
        let entry = ListenerEntry {
            url,
            local_addr,
            bad_cert,
            counters: counters.clone(),
        };
        self.lock_listeners().push(entry);
        counters
    }

    fn lock_listeners(&self) -> std::sync::MutexGuard<'_, Vec<ListenerEntry>> {
        lock(&self.inner.listeners)
    }

    /// Reserves a connection slot, or `None` (and counts a refusal) when `--max-connections` is reached.
    pub(crate) fn try_open(&self, counters: &Arc<Counters>) -> Option<OpenConnection> {
        let max = self.inner.max_connections;
        let reserved = self
            .inner
            .open_total
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < max).then_some(open + 1)
            });
        if reserved.is_err() {
            counters.refused.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        counters.open.fetch_add(1, Ordering::Relaxed);
        Some(OpenConnection {
            stats: self.clone(),
            counters: counters.clone(),
        })
    }

    /// Counts a WebSocket request that was reset before it opened; true when it is the first since the last
    /// [`Stats::take_reset_before_open`], so that the caller schedules the next summary.
    pub(crate) fn count_reset_before_open(&self) -> bool {
        self.inner.reset_before_open.fetch_add(1, Ordering::Relaxed) == 0
    }

    /// The requests reset before they opened since the last call.
    pub(crate) fn take_reset_before_open(&self) -> u64 {
        self.inner.reset_before_open.swap(0, Ordering::Relaxed)
    }

    /// Counts an opened WebSocket under its HTTP version and TLS version (`None`: plain).
    fn count_versions(&self, http_version: &str, tls_version: Option<&str>) {
        let mut by_version = lock(&self.inner.by_version);
        *by_version.http.entry(http_version.into()).or_default() += 1;
        *by_version
            .tls
            .entry(tls_version.unwrap_or("plain").into())
            .or_default() += 1;
    }

    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        let mut totals = Counts::default();
        let listeners = self
            .lock_listeners()
            .iter()
            .map(|entry| {
                let counts = entry.counters.counts();
                totals.add(&counts);
                ListenerStats {
                    url: entry.url.clone(),
                    local_addr: entry.local_addr.clone(),
                    bad_cert: entry.bad_cert.clone(),
                    counts,
                }
            })
            .collect();
        let by_version = lock(&self.inner.by_version);
        StatsSnapshot {
            uptime_secs: self.inner.started.elapsed().as_secs(),
            totals,
            listeners,
            by_http_version: by_version.http.clone(),
            by_tls_version: by_version.tls.clone(),
            certificate: None,
        }
    }
}

/// A panic while holding one of these locks cannot leave its data half-written, so poison is ignored.
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Counters {
    fn counts(&self) -> Counts {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Counts {
            open_connections: get(&self.open),
            total_connections: get(&self.total),
            refused_connections: get(&self.refused),
            messages_in: get(&self.messages_in),
            messages_out: get(&self.messages_out),
            bytes_in: get(&self.bytes_in),
            bytes_out: get(&self.bytes_out),
            compressed_connections: get(&self.compressed_connections),
            deflate_bytes_saved: get(&self.deflate_bytes_saved),
        }
    }
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.open_connections += other.open_connections;
        self.total_connections += other.total_connections;
        self.refused_connections += other.refused_connections;
        self.messages_in += other.messages_in;
        self.messages_out += other.messages_out;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.compressed_connections += other.compressed_connections;
        self.deflate_bytes_saved += other.deflate_bytes_saved;
    }
}

/// A reserved connection slot; counts the connection as open until dropped, and in the totals once
/// [`OpenConnection::opened`].
pub(crate) struct OpenConnection {
    stats: Stats,
    counters: Arc<Counters>,
}

impl OpenConnection {
    /// Counts the WebSocket as opened (in `total_connections` and by version); until then the slot only holds
    /// its place under `--max-connections`.
    pub(crate) fn opened(&self, http_version: &str, tls_version: Option<&str>) {
        self.counters.total.fetch_add(1, Ordering::Relaxed);
        self.stats.count_versions(http_version, tls_version);
    }

    pub(crate) fn received(&self, messages: usize, bytes: usize) {
        if messages > 0 {
            self.counters
                .messages_in
                .fetch_add(messages as u64, Ordering::Relaxed);
            self.counters.bytes_in.fetch_add(bytes as u64, Ordering::Relaxed);
        }
    }

    pub(crate) fn sent(&self, messages: usize, bytes: usize) {
        self.counters
            .messages_out
            .fetch_add(messages as u64, Ordering::Relaxed);
        self.counters.bytes_out.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Counts this connection as one that negotiated permessage-deflate.
    pub(crate) fn compressed(&self) {
        self.counters
            .compressed_connections
            .fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn deflate_saved(&self, bytes: usize) {
        self.counters
            .deflate_bytes_saved
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.counters.open.fetch_sub(1, Ordering::Relaxed);
        self.stats.inner.open_total.fetch_sub(1, Ordering::AcqRel);
    }
}

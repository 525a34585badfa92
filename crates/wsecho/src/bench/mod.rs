//! `wsecho bench`: a load generator for any WebSocket echo server.
//!
//! Opens N connections (bounded concurrency, each with a timeout), then drives them for a warm-up plus a measured
//! window, either closed loop (each connection sends one message, waits for its echo, repeats) or at a fixed total
//! rate (open loop: latency is measured from the scheduled send time, so a slow server cannot hide its queueing).
//! Every echo is checked against what was sent, content and kind; a mismatch ends that connection and counts as an
//! error. The idle mode only holds the connections open, to measure a server's memory per connection.

mod args;
mod connect;
mod drive;
mod report;

pub use args::{BenchArgs, command};
pub use report::{Latency, Report};

use crate::Error;
use crate::client::TlsOptions;
use connect::Target;
use drive::{Outcome, Plan};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// The kind of WebSocket message sent (and expected back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Text,
    Binary,
}

/// How the connections are driven.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Load {
    /// Each connection sends, waits for the echo, and sends again: measures saturation throughput.
    ClosedLoop,
    /// A fixed total number of messages per second, spread evenly over the connections.
    Rate(f64),
    /// Connections are opened and held without traffic: measures the server's memory per connection.
    Idle,
}

/// Everything one bench run needs.
#[derive(Debug, Clone)]
pub struct Options {
    pub url: String,
    pub connections: usize,
    pub size: usize,
    pub kind: Kind,
    pub load: Load,
    pub warmup: Duration,
    pub duration: Duration,
    /// Trust for `wss://` (`--ca`, or `--insecure`); the client's own TLS set-up.
    pub tls: TlsOptions,
    /// Limit for one connection's TCP + TLS + WebSocket handshake.
    pub connect_timeout: Duration,
    /// How many handshakes may be in flight at once.
    pub connect_concurrency: usize,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// How long a connection may still wait for its last echoes (and close) after the measured window ends.
const DRAIN_GRACE: Duration = Duration::from_secs(5);

/// Runs one benchmark and returns its report; errors are only returned when no measurement was possible.
pub async fn run(opts: Options) -> Result<Report, Error> {
    validate(&opts)?;
    raise_open_files_limit(opts.connections)?;
    let target = Arc::new(Target::new(&opts).await?);

    let bar = progress_bar(opts.progress, opts.connections as u64, "connecting");
    let (connections, mut errors) = connect::open_all(
        &target,
        opts.connections,
        opts.connect_concurrency,
        opts.connect_timeout,
        &bar,
    )
    .await;
    if connections.is_empty() {
        bar.finish_and_clear();
        let first = errors.first().map(String::as_str).unwrap_or("no error recorded");
        return Err(Error::Connect {
            url: opts.url.clone(),
            detail: format!("none of the {} connections opened: {first}", opts.connections),
        });
    }

    let start = Instant::now();
    let plan = Arc::new(Plan::new(&opts, connections.len(), start));
    if opts.load == Load::Idle {
        eprintln!(
            "wsecho bench: {} connections open, holding them for {:.1} s",
            connections.len(),
            (opts.warmup + opts.duration).as_secs_f64()
        );
    }
    let done = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = connections
        .into_iter()
        .enumerate()
        .map(|(index, conn)| tokio::spawn(drive::drive(conn, plan.clone(), index, done.clone())))
        .collect();
    let ticker = tokio::spawn(show_progress(
        bar.clone(),
        start,
        opts.warmup + opts.duration,
        done.clone(),
    ));

    let mut total = Outcome::new();
    for task in tasks {
        match task.await {
            Ok(outcome) => total.merge(outcome),
            Err(join) => total.fail(format!("connection task ended abnormally: {join}")),
        }
    }
    ticker.abort();
    bar.finish_and_clear();
    errors.append(&mut total.errors);
    Ok(Report::new(&opts, plan.connections, total, errors))
}

fn validate(opts: &Options) -> Result<(), Error> {
    if opts.connections == 0 {
        return Err(Error::Usage("-c 0: need at least one connection".into()));
    }
    if opts.size == 0 && opts.load != Load::Idle {
        return Err(Error::Usage("--size 0: messages need at least one byte".into()));
    }
    if let Load::Rate(rate) = opts.load
        && !(rate.is_finite() && rate > 0.0)
    {
        return Err(Error::Usage(format!(
            "--rate {rate}: give a positive number of messages per second"
        )));
    }
    if opts.duration.is_zero() {
        return Err(Error::Usage(
            "--duration 0: give a positive number of seconds".into(),
        ));
    }
    Ok(())
}

/// Many connections need many file descriptors: raise the soft limit towards the hard one when needed.
/// (A server receiving them needs the same; `ulimit -n` before starting it.)
pub fn raise_open_files_limit(connections: usize) -> Result<(), Error> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let needed = connections as u64 + 64;
    let limit = getrlimit(Resource::Nofile);
    if limit.current.is_none_or(|current| current >= needed) {
        return Ok(());
    }
    if limit.maximum.is_some_and(|maximum| maximum < needed) {
        return Err(Error::Usage(format!(
            "-c {connections} needs about {needed} open files but the hard limit is {}; raise it (ulimit -Hn) or use fewer connections",
            limit.maximum.unwrap_or_default()
        )));
    }
    let raised = rustix::process::Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    setrlimit(Resource::Nofile, raised).map_err(|e| {
        Error::Usage(format!(
            "-c {connections} needs about {needed} open files; raising the limit failed: {e} (try ulimit -n {needed})"
        ))
    })
}

fn progress_bar(shown: bool, len: u64, phase: &'static str) -> ProgressBar {
    if !shown {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(phase);
    bar
}

/// Updates the bar every 200 ms with elapsed time and the live message rate.
async fn show_progress(bar: ProgressBar, start: Instant, total: Duration, done: Arc<AtomicU64>) {
    if bar.is_hidden() {
        return;
    }
    bar.reset();
    bar.set_length(total.as_secs());
    bar.set_prefix("running");
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let (mut last_count, mut last_at) = (0, Instant::now());
    loop {
        tick.tick().await;
        let count = done.load(Ordering::Relaxed);
        let now = Instant::now();
        let rate = (count - last_count) as f64 / (now - last_at).as_secs_f64().max(1e-3);
        (last_count, last_at) = (count, now);
        bar.set_position((now - start).as_secs().min(total.as_secs()));
        bar.set_message(format!("s  {count} echoes, {rate:.0} msg/s"));
    }
}

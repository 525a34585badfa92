//! `wsecho bench`: a load generator for any WebSocket echo server.
//!
//! Opens N connections (bounded concurrency, each with a timeout), then drives them for a warm-up plus a measured
//! window, either closed loop (each connection sends one message, waits for its echo, repeats) or at a fixed total
//! rate (open loop: latency is measured from the scheduled send time, so a slow server cannot hide its queueing).
//! Every echo is checked against what was sent, content and kind; a mismatch ends that connection and counts as an
//! error. Pipelined mode keeps N messages in flight per connection (open loop with a window) and checks the echoes
//! in the order sent. Churn mode measures connections per second: each connection slot connects, sends one message,
//! checks the echo and closes, in a loop. The idle mode only holds the connections open (reading, to answer
//! pings), to measure a server's memory per connection. With `deflate`, every connection offers permessage-deflate and every load shape sends
//! and receives on the compressed path; the report says how many connections agreed.

mod connect;
mod cpu;
mod drive;
mod options;
mod progress;
mod report;

pub use cpu::CpuUse;
pub use options::{Kind, Load, Options};
pub use progress::Progress;
pub use report::{Deflate, Latency, Report};

use crate::Error;
use connect::Target;
use drive::{Outcome, Plan};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use tokio::time::Instant;

/// Runs one benchmark, telling `progress` how it goes, and returns its report; errors are only returned when no
/// measurement was possible.
pub async fn run(opts: Options, progress: Arc<dyn Progress>) -> Result<Report, Error> {
    let result = measure(&opts, &progress).await;
    progress.finished();
    result
}

async fn measure(opts: &Options, progress: &Arc<dyn Progress>) -> Result<Report, Error> {
    validate(opts)?;
    raise_open_files_limit(opts.connections)?;
    let target = Arc::new(Target::new(opts, progress.as_ref()).await?);
    if opts.load == Load::Churn {
        return Ok(churn(opts, target, progress).await);
    }
    progress.connecting(opts.connections);

    let (connections, mut errors) = connect::open_all(
        &target,
        opts.connections,
        opts.connect_concurrency,
        opts.connect_timeout,
        progress.as_ref(),
    )
    .await;
    if connections.is_empty() {
        let first = errors.first().map(String::as_str).unwrap_or("no error recorded");
        return Err(Error::Connect {
            url: opts.url.clone(),
            detail: format!("none of the {} connections opened: {first}", opts.connections),
        });
    }

    let start = Instant::now();
    let plan = Arc::new(Plan::new(opts, connections.len(), start));
    let cpu = tokio::spawn(cpu::window(opts.server_pid, plan.measure_from, plan.end));
    progress.running(connections.len(), opts.warmup + opts.duration);
    let done = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = connections
        .into_iter()
        .enumerate()
        .map(|(index, conn)| tokio::spawn(drive::drive(conn, plan.clone(), index, done.clone())))
        .collect();
    let ticker = tokio::spawn(progress::tick(progress.clone(), start, done));

    let mut total = gather(tasks).await;
    ticker.abort();
    errors.append(&mut total.errors);
    let cpu = cpu_use(opts, cpu, total.messages).await;
    Ok(Report::new(opts, plan.connections, total, errors, cpu))
}

/// Churn: every connection slot connects, echoes once and closes, over and over, for the whole window.
async fn churn(opts: &Options, target: Arc<Target>, progress: &Arc<dyn Progress>) -> Report {
    let start = Instant::now();
    let plan = Arc::new(Plan::new(opts, opts.connections, start));
    let cpu = tokio::spawn(cpu::window(opts.server_pid, plan.measure_from, plan.end));
    progress.running(opts.connections, opts.warmup + opts.duration);
    let done = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..opts.connections)
        .map(|_| tokio::spawn(drive::churn(target.clone(), plan.clone(), done.clone())))
        .collect();
    let ticker = tokio::spawn(progress::tick(progress.clone(), start, done));
    let mut total = gather(tasks).await;
    ticker.abort();
    let errors = std::mem::take(&mut total.errors);
    let cpu = cpu_use(opts, cpu, total.messages).await;
    Report::new(opts, plan.connections, total, errors, cpu)
}

/// The CPU the measured window took, once it is over.
async fn cpu_use(
    opts: &Options,
    window: tokio::task::JoinHandle<Option<(cpu::CpuMark, cpu::CpuMark)>>,
    messages: u64,
) -> Option<CpuUse> {
    let (start, end) = window.await.ok()??;
    Some(start.until(&end, opts.duration.as_secs_f64(), messages))
}

/// Waits for every connection task and adds up what they measured.
async fn gather(tasks: Vec<tokio::task::JoinHandle<Outcome>>) -> Outcome {
    let mut total = Outcome::new();
    for task in tasks {
        match task.await {
            Ok(outcome) => total.merge(outcome),
            Err(join) => total.fail(format!("connection task ended abnormally: {join}")),
        }
    }
    total
}

fn validate(opts: &Options) -> Result<(), Error> {
    if let Some(pid) = opts.server_pid {
        cpu::check_server_pid(pid)?;
    }
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
    if opts.load == Load::Pipelined(0) {
        return Err(Error::Usage(
            "--pipeline 0: keep at least one message in flight".into(),
        ));
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

//! `cargo xtask soak --minutes N`: one release `wsecho serve` under steady echo load plus connection churn for N
//! minutes, its memory (VmRSS) and open file descriptors sampled every few seconds, and a failure when either
//! grows beyond the bounds below. The load comes from `wsecho bench` processes (the project's one load generator):
//! two long runs (ws and wss) for the steady load, and a loop of one-second runs for the churn, each of which opens
//! its connections, echoes and closes them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::banner;
use crate::cmd::{self, KillOnDrop};
use crate::scratch::Scratch;
use crate::tls_files::TlsFiles;

/// Knobs of `cargo xtask soak`.
#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// How long to run the load, in minutes (decimals allowed).
    #[arg(long, default_value_t = 10.0)]
    pub minutes: f64,
    /// Steady connections, split over ws and wss.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Steady echo messages per second over all steady connections.
    #[arg(long, default_value_t = 2000.0)]
    pub rate: f64,
}

/// How often the server is sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// Connections each churn run opens and closes.
const CHURN_CONNECTIONS: usize = 20;
/// RSS may grow by this much after warm-up...
const RSS_GROWTH_MIB: f64 = 16.0;
/// ...or by this fraction of the warm RSS, whichever is larger.
const RSS_GROWTH_FRACTION: f64 = 0.20;
/// How long a `wsecho bench` may take beyond its duration to finish (then it is killed and the soak fails).
const EXIT_GRACE: Duration = Duration::from_secs(60);
/// Open descriptors once the load has stopped may exceed those before it by at most this many.
const FD_GROWTH: i64 = 16;

pub fn run(root: &Path, args: &SoakArgs) -> anyhow::Result<()> {
    check(args)?;
    let total = Duration::from_secs_f64(args.minutes * 60.0);
    let warmup = (total / 5).min(Duration::from_secs(60));
    let wsecho = cmd::build_release(root, &["--package", "wsecho", "--bin", "wsecho"])?.join("wsecho");
    let scratch = Scratch::new("soak")?;
    let tls = TlsFiles::create(&scratch.0)?;

    let server = Server::spawn(&wsecho, &tls, &scratch.0.join("server.log"))?;
    let quiet_before = server.sample()?;
    eprintln!(
        "soak: server pid {} at {} and {}; {} steady connections at {} msg/s plus churn of {CHURN_CONNECTIONS} \
         connections per run, for {:.1} min (warm-up {:.0} s)",
        server.pid(),
        server.ws_url,
        server.wss_url,
        args.connections,
        args.rate,
        args.minutes,
        warmup.as_secs_f64()
    );

    let bench = Bench {
        wsecho: wsecho.clone(),
        ca: tls.ca.clone(),
    };
    let half = args.connections / 2;
    let mut steady = Vec::new();
    for url in [&server.ws_url, &server.wss_url] {
        steady.push(bench.spawn(url, half, args.rate / 2.0, total, false)?);
    }
    let churn = Churn::start(bench, [server.ws_url.clone(), server.wss_url.clone()]);

    let started = Instant::now();
    let mut samples = Vec::new();
    println!(
        "{:>8} {:>10} {:>6} {:>12} {:>12}",
        "elapsed", "RSS MiB", "fds", "churn runs", "churn fails"
    );
    while started.elapsed() < total {
        std::thread::sleep(SAMPLE_EVERY.min(total.saturating_sub(started.elapsed())));
        let sample = server.sample()?;
        let (runs, failed) = churn.counts();
        println!(
            "{:>7.0}s {:>10.1} {:>6} {:>12} {:>12}",
            started.elapsed().as_secs_f64(),
            mib(sample.rss_kib),
            sample.fds,
            runs,
            failed
        );
        samples.push((started.elapsed(), sample));
    }
    let (churn_runs, churn_failed) = churn.stop();
    let mut steady_failures = Vec::new();
    for mut child in steady {
        // The load ran for `total` while the samples were taken; it only has to close its connections now.
        let exit = cmd::wait_within(&mut child, EXIT_GRACE, "a steady wsecho bench")?;
        if !exit.success() {
            steady_failures.push(exit.to_string());
        }
    }
    std::thread::sleep(Duration::from_secs(3));
    let quiet_after = server.sample()?;

    let warm = samples
        .iter()
        .find(|(at, _)| *at >= warmup)
        .or(samples.first())
        .map(|(_, sample)| *sample)
        .context("no sample taken: run for at least a few seconds")?;
    let last = samples.last().map(|(_, sample)| *sample).unwrap_or(warm);
    let peak = samples
        .iter()
        .map(|(_, s)| s.rss_kib)
        .max()
        .unwrap_or(last.rss_kib);
    let allowed_kib = (RSS_GROWTH_MIB * 1024.0).max(warm.rss_kib as f64 * RSS_GROWTH_FRACTION);
    let rss_growth_kib = last.rss_kib as i64 - warm.rss_kib as i64;
    let fd_growth = quiet_after.fds as i64 - quiet_before.fds as i64;
    println!();
    println!("soak summary ({:.1} min):", args.minutes);
    println!(
        "  RSS: quiet before {:.1} MiB, warm {:.1} MiB, end of load {:.1} MiB (growth {:+.1} MiB, allowed {:.1}), \
         peak {:.1} MiB, quiet after {:.1} MiB",
        mib(quiet_before.rss_kib),
        mib(warm.rss_kib),
        mib(last.rss_kib),
        rss_growth_kib as f64 / 1024.0,
        allowed_kib / 1024.0,
        mib(peak),
        mib(quiet_after.rss_kib)
    );
    println!(
        "  fds: quiet before {}, under load {}..{}, quiet after {} (growth {fd_growth:+}, allowed {FD_GROWTH})",
        quiet_before.fds,
        samples.iter().map(|(_, s)| s.fds).min().unwrap_or_default(),
        samples.iter().map(|(_, s)| s.fds).max().unwrap_or_default(),
        quiet_after.fds
    );
    println!(
        "  churn: {churn_runs} runs of {CHURN_CONNECTIONS} connections ({} connections opened and closed), {churn_failed} failed",
        churn_runs * CHURN_CONNECTIONS as u64
    );
    println!(
        "  steady load: {}",
        if steady_failures.is_empty() {
            "no errors".into()
        } else {
            steady_failures.join(", ")
        }
    );

    let mut failures = Vec::new();
    if rss_growth_kib as f64 > allowed_kib {
        failures.push(format!(
            "RSS grew {:.1} MiB after warm-up",
            rss_growth_kib as f64 / 1024.0
        ));
    }
    if fd_growth > FD_GROWTH {
        failures.push(format!(
            "{fd_growth} more open descriptors after the load than before"
        ));
    }
    if churn_failed > 0 {
        failures.push(format!("{churn_failed} churn runs failed"));
    }
    if !steady_failures.is_empty() {
        failures.push("a steady load run reported errors".into());
    }
    if !failures.is_empty() {
        bail!(
            "soak failed: {} (server log: {})",
            failures.join("; "),
            scratch.0.join("server.log").display()
        );
    }
    println!("soak passed");
    Ok(())
}

/// Rejects knobs the run cannot use, before anything is built or started.
fn check(args: &SoakArgs) -> anyhow::Result<()> {
    let positive = |x: f64| x.is_finite() && x > 0.0;
    if !positive(args.minutes) {
        bail!(
            "--minutes {}: give a positive number of minutes, e.g. --minutes 10",
            args.minutes
        );
    }
    if !positive(args.rate) {
        bail!(
            "--rate {}: give a positive number of messages per second, e.g. --rate 2000",
            args.rate
        );
    }
    if args.connections < 2 {
        bail!(
            "--connections {}: need at least 2 (one ws, one wss)",
            args.connections
        );
    }
    Ok(())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The spawned server; killed on drop.
struct Server {
    child: KillOnDrop,
    ws_url: String,
    wss_url: String,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    rss_kib: u64,
    fds: usize,
}

impl Server {
    fn spawn(wsecho: &Path, tls: &TlsFiles, log: &Path) -> anyhow::Result<Server> {
        let log_file =
            std::fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut child = KillOnDrop::spawn(
            Command::new(wsecho)
                .args(["serve", "--ws", "127.0.0.1:0", "--wss", "127.0.0.1:0", "--cert"])
                .arg(&tls.fullchain)
                .arg("--key")
                .arg(&tls.key)
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(log_file),
        )
        .with_context(|| format!("cannot start {}", wsecho.display()))?;
        let stdout = child.stdout.take().context("server stdout")?;
        let lines = cmd::lines(stdout, None);
        // The banner prints one `listening URL page URL` line per listener.
        let (mut ws_url, mut wss_url) = (None, None);
        cmd::wait_for_line(&lines, Duration::from_secs(30), |line| {
            match banner::listening_url(line) {
                Some(url) if url.starts_with("ws://") => ws_url = Some(url.to_string()),
                Some(url) if url.starts_with("wss://") => wss_url = Some(url.to_string()),
                _ => {}
            }
            ws_url.clone().zip(wss_url.clone())
        })
        .map(|(ws_url, wss_url)| Server {
            child,
            ws_url,
            wss_url,
        })
        .with_context(|| {
            format!(
                "wsecho serve announced no ws and wss listeners within 30 s; see {}",
                log.display()
            )
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn sample(&self) -> anyhow::Result<Sample> {
        let rss_kib = cmd::rss_kib(self.pid())?;
        let fds = std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .context("cannot list /proc/PID/fd")?
            .count();
        Ok(Sample { rss_kib, fds })
    }
}

/// How to start `wsecho bench` against the server.
#[derive(Clone)]
struct Bench {
    wsecho: PathBuf,
    ca: PathBuf,
}

impl Bench {
    fn spawn(
        &self,
        url: &str,
        connections: usize,
        rate: f64,
        duration: Duration,
        quiet: bool,
    ) -> anyhow::Result<KillOnDrop> {
        let mut cmd = Command::new(&self.wsecho);
        cmd.args(["bench", url, "--ca"])
            .arg(&self.ca)
            .args(["-c", &connections.to_string()])
            .args(["--rate", &format!("{rate:.0}")])
            .args(["--warmup", "0"])
            .args(["--duration", &format!("{:.1}", duration.as_secs_f64())])
            .stdin(Stdio::null());
        if quiet {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
        KillOnDrop::spawn(&mut cmd).with_context(|| format!("cannot start {}", self.wsecho.display()))
    }
}

/// A background loop of short bench runs, alternating ws and wss: each opens and closes its connections.
struct Churn {
    stop: Arc<AtomicBool>,
    runs: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl Churn {
    fn start(bench: Bench, urls: [String; 2]) -> Churn {
        let stop = Arc::new(AtomicBool::new(false));
        let runs = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, runs, failed) = (stop.clone(), runs.clone(), failed.clone());
            std::thread::spawn(move || {
                for url in urls.iter().cycle() {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let ok = bench
                        .spawn(url, CHURN_CONNECTIONS, 100.0, Duration::from_secs(1), true)
                        .and_then(|mut child| {
                            let limit = Duration::from_secs(1) + EXIT_GRACE;
                            Ok(cmd::wait_within(&mut child, limit, "a churn wsecho bench")?.success())
                        })
                        .unwrap_or(false);
                    runs.fetch_add(1, Ordering::Relaxed);
                    if !ok {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        };
        Churn {
            stop,
            runs,
            failed,
            thread,
        }
    }

    fn counts(&self) -> (u64, u64) {
        (
            self.runs.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }

    /// Lets the current run finish and returns (runs, failed runs).
    fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let counts = (self.runs, self.failed);
        let _ = self.thread.join();
        (counts.0.load(Ordering::Relaxed), counts.1.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(minutes: f64, connections: usize, rate: f64) -> SoakArgs {
        SoakArgs {
            minutes,
            connections,
            rate,
        }
    }

    #[test]
    fn knobs_are_checked_with_the_fix_in_the_message() {
        check(&args(10.0, 32, 2000.0)).unwrap();
        check(&args(0.1, 2, 1.0)).unwrap();
        let message = |a: SoakArgs| check(&a).unwrap_err().to_string();
        assert_eq!(
            message(args(0.0, 32, 2000.0)),
            "--minutes 0: give a positive number of minutes, e.g. --minutes 10"
        );
        assert_eq!(
            message(args(f64::NAN, 32, 2000.0)),
            "--minutes NaN: give a positive number of minutes, e.g. --minutes 10"
        );
        assert_eq!(
            message(args(10.0, 32, -1.0)),
            "--rate -1: give a positive number of messages per second, e.g. --rate 2000"
        );
        assert_eq!(
            message(args(10.0, 1, 2000.0)),
            "--connections 1: need at least 2 (one ws, one wss)"
        );
    }
}

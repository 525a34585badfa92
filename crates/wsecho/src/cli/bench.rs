//! `wsecho bench`: the load generator's flags, turned into [`Options`], and its progress bar and report.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use wsecho::Error;
use wsecho::bench::{self, Kind, Load, Options, Progress};
use wsecho::client::{Roots, TlsOptions};

/// Measure a WebSocket echo server: throughput, latency percentiles, and that every echo is right.
#[derive(Args)]
#[command(after_help = "Examples:
  wsecho bench ws://127.0.0.1:8080/ -c 100 --size 32
  wsecho bench wss://localhost:8443/ --ca certs/ca.pem -c 200 --size 16384 --kind binary
  wsecho bench ws://127.0.0.1:8080/ -c 100 --rate 20000 --duration 10 --json
  wsecho bench ws://127.0.0.1:8080/ -c 50 --pipeline 16   (16 messages in flight per connection)
  wsecho bench wss://localhost:8443/ --ca certs/ca.pem -c 8 --churn --no-tls-resumption   (full handshakes per second)
  wsecho bench ws://127.0.0.1:8080/ -c 10000 --idle --duration 30   (memory per idle connection)
  wsecho bench ws://127.0.0.1:8080/ -c 50 --size 16384 --deflate   (compressed; the report shows what was agreed)
  wsecho bench ws://127.0.0.1:8080/ -c 200 --size 16384 --server-pid 4242   (CPU per message: load generator and process 4242)

Exit code: 0 when every connection opened and every echo matched, 1 otherwise (the report still prints), 2 for bad usage.")]
pub(crate) struct BenchArgs {
    /// Server URL: ws://HOST:PORT/PATH or wss://HOST:PORT/PATH.
    url: String,
    /// Number of connections.
    #[arg(short = 'c', long = "connections", default_value_t = 10)]
    connections: usize,
    /// Payload bytes per message.
    #[arg(long, default_value_t = 32)]
    size: usize,
    /// Message kind; the echo must come back as the same kind.
    #[arg(long, value_enum, default_value_t = KindArg::Text)]
    kind: KindArg,
    /// Total messages per second over all connections (open loop). Without it: closed loop, as fast as echoes return.
    #[arg(long, value_name = "MSGS_PER_S", conflicts_with = "idle")]
    rate: Option<f64>,
    /// Keep N messages in flight on each connection (open loop with a window): the next is sent as soon as an
    /// echo returns, echoes are checked in the order sent.
    #[arg(long, value_name = "N", conflicts_with_all = ["rate", "idle"])]
    pipeline: Option<usize>,
    /// Connection churn: each of the -c connections, in a loop, connects, sends one message, checks the echo
    /// and closes; reports connections per second.
    #[arg(long, conflicts_with_all = ["rate", "idle", "pipeline"])]
    churn: bool,
    /// Offer permessage-deflate (RFC 7692) on every connection and send every message compressed (with any
    /// load shape); the report shows the server's answer and on how many connections it agreed. A server that
    /// declines gets the same messages uncompressed, and the report says so.
    #[arg(long)]
    deflate: bool,
    /// wss://: never resume an earlier TLS session, so every connection makes a full handshake.
    #[arg(long)]
    no_tls_resumption: bool,
    /// Open the connections and hold them without traffic (to measure the server's memory per connection).
    #[arg(long)]
    idle: bool,
    /// Seconds measured (after the warm-up).
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    duration: f64,
    /// Seconds of traffic before measuring starts (echoes are still checked).
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    warmup: f64,
    /// CA certificate (PEM) that issued the wss:// server's certificate; `system`: the operating system's roots.
    #[arg(long, value_name = "FILE|system", value_parser = super::values::parse_roots)]
    ca: Option<Roots>,
    /// wss:// without verifying the server certificate (prints a warning).
    #[arg(long, conflicts_with = "ca")]
    insecure: bool,
    /// Seconds allowed for each connection's TCP, TLS and WebSocket handshakes.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    connect_timeout: f64,
    /// Handshakes in flight at once while connecting.
    #[arg(long, value_name = "N", default_value_t = 128)]
    connect_concurrency: usize,
    /// Also report the CPU this server process (on this Linux machine) used over the measured window, per
    /// message, next to the load generator's own: shows which of the two bounds the figure when they share cores
    #[arg(long, value_name = "PID")]
    server_pid: Option<u32>,
    /// Print the report as JSON on stdout (no progress bar).
    #[arg(long)]
    json: bool,
}

/// `--kind`: the flag's spelling of [`Kind`].
#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Text,
    Binary,
}

impl From<KindArg> for Kind {
    fn from(arg: KindArg) -> Kind {
        match arg {
            KindArg::Text => Kind::Text,
            KindArg::Binary => Kind::Binary,
        }
    }
}

impl BenchArgs {
    fn options(&self) -> Result<Options, Error> {
        let seconds = |flag: &str, value: f64| {
            Duration::try_from_secs_f64(value)
                .map_err(|_| Error::Usage(format!("{flag} {value}: give a number of seconds, 0 or more")))
        };
        let load = match (self.rate, self.pipeline, self.churn, self.idle) {
            (Some(rate), ..) => Load::Rate(rate),
            (None, Some(depth), ..) => Load::Pipelined(depth),
            (None, None, true, _) => Load::Churn,
            (None, None, false, true) => Load::Idle,
            (None, None, false, false) => Load::ClosedLoop,
        };
        Ok(Options {
            url: self.url.clone(),
            connections: self.connections,
            size: self.size,
            kind: self.kind.into(),
            load,
            warmup: seconds("--warmup", self.warmup)?,
            duration: seconds("--duration", self.duration)?,
            tls: TlsOptions {
                ca: self.ca.clone(),
                insecure: self.insecure,
                ..TlsOptions::default()
            },
            connect_timeout: seconds("--connect-timeout", self.connect_timeout)?,
            connect_concurrency: self.connect_concurrency,
            tls_resumption: !self.no_tls_resumption,
            deflate: self.deflate,
            server_pid: self.server_pid,
        })
    }
}

/// Runs `wsecho bench` and prints its report; any failed connection or echo makes it an error (exit code 1)
/// after the report is printed.
pub(crate) async fn bench(args: BenchArgs) -> Result<(), Error> {
    let options = args.options()?;
    let shown = !args.json && std::io::stderr().is_terminal();
    let display = Arc::new(Display::new(shown, &options));
    let report = bench::run(options, display).await?;
    if args.json {
        let json = serde_json::to_string_pretty(&report).expect("the report is plain data");
        println!("{json}");
    } else {
        println!("{report}");
    }
    match report.error_samples.first() {
        None => Ok(()),
        Some(first) => Err(Error::Echo(format!(
            "{} of the connections failed; first: {first}",
            report.errors
        ))),
    }
}

/// The run's progress on stderr: a bar while connecting and running (hidden unless stderr is a terminal and
/// the report is not JSON), and the notes that are always shown.
struct Display {
    bar: ProgressBar,
    idle: bool,
    /// Echo count and time of the previous tick, for the live rate.
    last: Mutex<(u64, Instant)>,
}

impl Display {
    /// A bar that draws nothing until [`Progress::connecting`] names its first phase.
    fn new(shown: bool, options: &Options) -> Display {
        let bar = if shown {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        Display {
            bar,
            idle: options.load == Load::Idle,
            last: Mutex::new((0, Instant::now())),
        }
    }
}

impl Progress for Display {
    fn tls_unverified(&self) {
        eprintln!(
            "wsecho bench: WARNING --insecure: the server certificate is NOT verified; these figures say nothing about trust"
        );
    }

    fn connecting(&self, attempts: usize) {
        if self.bar.is_hidden() {
            return;
        }
        self.bar.set_length(attempts as u64);
        self.bar.set_style(
            ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        self.bar.set_prefix("connecting");
    }

    fn connection_attempted(&self) {
        self.bar.inc(1);
    }

    fn running(&self, open: usize, window: Duration) {
        if self.idle {
            eprintln!(
                "wsecho bench: {open} connections open, holding them for {:.1} s",
                window.as_secs_f64()
            );
        }
        if self.bar.is_hidden() {
            return;
        }
        self.bar.reset();
        self.bar.set_length(window.as_secs());
        self.bar.set_prefix("running");
        *self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = (0, Instant::now());
    }

    fn echoes(&self, elapsed: Duration, echoes: u64) {
        if self.bar.is_hidden() {
            return;
        }
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let rate = (echoes - last.0) as f64 / (now - last.1).as_secs_f64().max(1e-3);
        *last = (echoes, now);
        let window = self.bar.length().unwrap_or_default();
        self.bar.set_position(elapsed.as_secs().min(window));
        self.bar
            .set_message(format!("s  {echoes} echoes, {rate:.0} msg/s"));
    }

    fn finished(&self) {
        self.bar.finish_and_clear();
    }
}

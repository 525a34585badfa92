//! The `wsecho bench` command line, turned into [`Options`] and run.

use super::{Kind, Load, Options};
use crate::Error;
use crate::client::TlsOptions;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

/// Measure a WebSocket echo server: throughput, latency percentiles, and that every echo is right.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  wsecho bench ws://127.0.0.1:8080/ -c 100 --size 32
  wsecho bench wss://localhost:8443/ --ca certs/ca.pem -c 200 --size 16384 --kind binary
  wsecho bench ws://127.0.0.1:8080/ -c 100 --rate 20000 --duration 10 --json
  wsecho bench ws://127.0.0.1:8080/ -c 10000 --idle --duration 30   (memory per idle connection)

Exit code: 0 when every connection opened and every echo matched, 1 otherwise (the report still prints), 2 for bad usage.")]
pub struct BenchArgs {
    /// Server URL: ws://HOST:PORT/PATH or wss://HOST:PORT/PATH.
    pub url: String,
    /// Number of connections.
    #[arg(short = 'c', long = "connections", default_value_t = 10)]
    pub connections: usize,
    /// Payload bytes per message.
    #[arg(long, default_value_t = 32)]
    pub size: usize,
    /// Message kind; the echo must come back as the same kind.
    #[arg(long, value_enum, default_value_t = Kind::Text)]
    pub kind: Kind,
    /// Total messages per second over all connections (open loop). Without it: closed loop, as fast as echoes return.
    #[arg(long, value_name = "MSGS_PER_S", conflicts_with = "idle")]
    pub rate: Option<f64>,
    /// Open the connections and hold them without traffic (to measure the server's memory per connection).
    #[arg(long)]
    pub idle: bool,
    /// Seconds measured (after the warm-up).
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub duration: f64,
    /// Seconds of traffic before measuring starts (echoes are still checked).
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    pub warmup: f64,
    /// CA certificate (PEM) that issued the wss:// server's certificate.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// wss:// without verifying the server certificate (prints a warning).
    #[arg(long, conflicts_with = "ca")]
    pub insecure: bool,
    /// Seconds allowed for each connection's TCP, TLS and WebSocket handshakes.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub connect_timeout: f64,
    /// Handshakes in flight at once while connecting.
    #[arg(long, value_name = "N", default_value_t = 128)]
    pub connect_concurrency: usize,
    /// Print the report as JSON on stdout (no progress bar).
    #[arg(long)]
    pub json: bool,
}

impl BenchArgs {
    pub fn options(&self) -> Result<Options, Error> {
        let seconds = |flag: &str, value: f64| {
            Duration::try_from_secs_f64(value)
                .map_err(|_| Error::Usage(format!("{flag} {value}: give a number of seconds, 0 or more")))
        };
        let load = match (self.rate, self.idle) {
            (Some(rate), _) => Load::Rate(rate),
            (None, true) => Load::Idle,
            (None, false) => Load::ClosedLoop,
        };
        Ok(Options {
            url: self.url.clone(),
            connections: self.connections,
            size: self.size,
            kind: self.kind,
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
            progress: !self.json && std::io::stderr().is_terminal(),
        })
    }
}

/// Runs `wsecho bench` and prints its report; any failed connection or echo makes it an error (exit code 1)
/// after the report is printed.
pub async fn command(args: BenchArgs) -> Result<(), Error> {
    let report = super::run(args.options()?).await?;
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

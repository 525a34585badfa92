//! The result of a bench run, as text for people and JSON for scripts; `Deserialize` lets a script in Rust (xtask
//! bench) read that JSON back into this struct, so a renamed field fails to compile there instead of reading as 0.

use super::cpu::CpuUse;
use super::drive::Outcome;
use super::options::{Kind, Load, Options};
use crate::ws::deflate::CLIENT_OFFER;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Only the first few distinct error messages are kept; `errors` counts them all.
const ERROR_SAMPLES: usize = 5;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub url: String,
    /// Connections that opened (of `connections_requested`).
    pub connections: usize,
    pub connections_requested: usize,
    /// Payload bytes per message.
    pub size: usize,
    pub kind: Kind,
    /// `closed-loop`, `rate`, `pipelined`, `churn` or `idle`.
    pub mode: String,
    /// Messages in flight per connection (`pipelined` mode only).
    pub pipeline: Option<usize>,
    /// The requested total rate in messages per second (`rate` mode only).
    pub target_rate: Option<f64>,
    /// Length of the measured window (warm-up excluded).
    pub duration_s: f64,
    /// Echoes received for messages sent inside the measured window; in `churn` mode, connection cycles
    /// (connect, one echo, close) started inside it.
    pub messages: u64,
    pub messages_per_s: f64,
    /// Payload megabytes (10^6 bytes) per second in each direction: what was sent, and the same again echoed back.
    pub mb_per_s: f64,
    /// Round-trip latency in microseconds; absent when nothing was measured.
    pub latency_us: Option<Latency>,
    /// Churn over wss: TLS handshakes, and how many resumed an earlier session.
    pub tls_handshakes: Option<u64>,
    pub tls_resumed: Option<u64>,
    /// With `--deflate`: what was offered and what the server agreed to.
    pub deflate: Option<Deflate>,
    /// CPU over the measured window (Linux): the load generator's, and the `--server-pid` process's.
    pub cpu: Option<CpuUse>,
    /// Failed connections and failed echoes (mismatch, close, timeout).
    pub errors: usize,
    pub error_samples: Vec<String>,
}

/// permessage-deflate as negotiated over the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deflate {
    /// The `Sec-WebSocket-Extensions` offer every connection made.
    pub offer: String,
    /// The server's answer (the first one, when answers differ); `None`: it declined everywhere.
    pub answer: Option<String>,
    /// Connections that agreed to it, of `connections` opened (churn: one per cycle).
    pub negotiated: u64,
    pub connections: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Latency {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p99_9: u64,
    pub max: u64,
    pub mean: f64,
}

impl Report {
    pub(crate) fn new(
        opts: &Options,
        connections: usize,
        outcome: Outcome,
        errors: Vec<String>,
        cpu: Option<CpuUse>,
    ) -> Report {
        let seconds = (opts.duration.as_secs_f64()).max(1e-9);
        let messages_per_s = outcome.messages as f64 / seconds;
        let latency = &outcome.latency_us;
        let latency_us = (!latency.is_empty()).then(|| Latency {
            p50: latency.value_at_quantile(0.50),
            p90: latency.value_at_quantile(0.90),
            p99: latency.value_at_quantile(0.99),
            p99_9: latency.value_at_quantile(0.999),
            max: latency.max(),
            mean: latency.mean(),
        });
        let mut error_samples: Vec<String> = Vec::new();
        for error in &errors {
            if error_samples.len() < ERROR_SAMPLES && !error_samples.contains(error) {
                error_samples.push(error.clone());
            }
        }
        let (mode, target_rate) = match opts.load {
            Load::ClosedLoop => ("closed-loop", None),
            Load::Rate(rate) => ("rate", Some(rate)),
            Load::Pipelined(_) => ("pipelined", None),
            Load::Churn => ("churn", None),
            Load::Idle => ("idle", None),
        };
        let pipeline = match opts.load {
            Load::Pipelined(depth) => Some(depth),
            _ => None,
        };
        let deflate = opts.deflate.then(|| Deflate {
            offer: CLIENT_OFFER.to_owned(),
            answer: outcome.deflate_answer.clone(),
            negotiated: outcome.deflated,
            connections: outcome.opened,
        });
        let tls = (outcome.tls_handshakes > 0).then_some((outcome.tls_handshakes, outcome.resumed));
        Report {
            url: opts.url.clone(),
            connections,
            connections_requested: opts.connections,
            size: opts.size,
            kind: opts.kind,
            mode: mode.to_owned(),
            pipeline,
            target_rate,
            duration_s: seconds,
            messages: outcome.messages,
            messages_per_s,
            mb_per_s: messages_per_s * opts.size as f64 / 1e6,
            latency_us,
            tls_handshakes: tls.map(|(all, _)| all),
            tls_resumed: tls.map(|(_, resumed)| resumed),
            deflate,
            cpu,
            errors: errors.len(),
            error_samples,
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            Kind::Text => "text",
            Kind::Binary => "binary",
        };
        writeln!(f, "target       {}", self.url)?;
        writeln!(
            f,
            "load         {} connections ({} requested), {}, {}-byte {kind} messages, {:.1} s measured",
            self.connections, self.connections_requested, self.mode, self.size, self.duration_s
        )?;
        if let Some(rate) = self.target_rate {
            writeln!(f, "target rate  {rate:.0} msg/s")?;
        }
        if let Some(depth) = self.pipeline {
            writeln!(f, "pipeline     {depth} messages in flight per connection")?;
        }
        if let (Some(all), Some(resumed)) = (self.tls_handshakes, self.tls_resumed) {
            writeln!(f, "tls          {resumed} of {all} handshakes resumed a session")?;
        }
        if let Some(deflate) = &self.deflate {
            match &deflate.answer {
                Some(answer) => writeln!(
                    f,
                    "deflate      negotiated on {} of {} connections: {answer}",
                    deflate.negotiated, deflate.connections
                )?,
                None => writeln!(
                    f,
                    "deflate      offered, not negotiated (declined on all {} connections): messages went uncompressed",
                    deflate.connections
                )?,
            }
        }
        writeln!(
            f,
            "throughput   {:.0} msg/s, {:.2} MB/s payload each way ({} echoes)",
            self.messages_per_s, self.mb_per_s, self.messages
        )?;
        if let Some(l) = &self.latency_us {
            writeln!(
                f,
                "latency µs   p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  mean {:.0}",
                l.p50, l.p90, l.p99, l.p99_9, l.max, l.mean
            )?;
        }
        if let Some(cpu) = &self.cpu {
            writeln!(f, "cpu          {}", cpu_line(cpu))?;
        }
        write!(f, "errors       {}", self.errors)?;
        for sample in &self.error_samples {
            write!(f, "\n  {sample}")?;
        }
        Ok(())
    }
}

/// "load generator 1.62 cores (61.0 µs/message), server pid 42 0.91 cores (47.3 µs/message)".
fn cpu_line(cpu: &CpuUse) -> String {
    let one = |cores: f64, per_message: Option<f64>| match per_message {
        Some(us) => format!("{cores:.2} cores ({us:.1} µs/message)"),
        None => format!("{cores:.2} cores"),
    };
    let mut line = format!(
        "load generator {}",
        one(cpu.load_generator_cores, cpu.load_generator_us_per_message)
    );
    if let (Some(pid), Some(cores)) = (cpu.server_pid, cpu.server_cores) {
        line += &format!(", server pid {pid} {}", one(cores, cpu.server_us_per_message));
    }
    line
}

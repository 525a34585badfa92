//! One measurement each: a `wsecho bench` run, a `bomb` cross-check, idle memory, and the crypto-provider comparison.

use super::programs::Programs;
use super::provider_report::ProviderReport;
use super::servers::Server;
use crate::cmd::{self, KillOnDrop, output_within};
use anyhow::{Context, bail};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use wsecho::bench::{CpuUse, Deflate, Report};

/// What `wsecho bench --json` reported (the figures the report uses), from its [`Report`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Echo {
    pub messages_per_s: f64,
    pub mb_per_s: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    /// Churn over wss: the share of TLS handshakes that resumed a session.
    pub resumed_share: Option<f64>,
    /// CPU microseconds per echoed message over the measured window: the server process's and the load
    /// generator's (0 where `/proc` could not be read).
    pub server_cpu_us: f64,
    pub generator_cpu_us: f64,
}

/// Runs `wsecho bench URL ARGS --json`; any failed connection or echo fails the whole benchmark. Returns the
/// figures and, when ARGS offer permessage-deflate, the server's answer (which every connection must have got).
pub fn echo(
    programs: &Programs,
    server: &Server,
    ca: Option<&Path>,
    args: &[String],
) -> anyhow::Result<(Echo, Option<Negotiated>)> {
    let mut cmd = Command::new(&programs.wsecho);
    cmd.arg("bench").arg(&server.url).args(args);
    cmd.arg("--server-pid").arg(server.pid().to_string());
    if let Some(ca) = ca {
        cmd.arg("--ca").arg(ca);
    }
    let limit =
        Duration::from_secs_f64(seconds_arg(args, "--warmup") + seconds_arg(args, "--duration") + 60.0);
    let output = output_within(&mut cmd, limit)?;
    // The crate's own type: a field renamed in wsecho fails to compile here, a report missing one fails to parse.
    let report: Report = serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "wsecho bench against {} printed no JSON report: {}",
            server.shown,
            String::from_utf8_lossy(&output.stderr).trim()
        )
    })?;
    if !output.status.success() || report.errors > 0 || report.messages < 1 {
        bail!(
            "wsecho bench against {} failed ({}): {} errors, {} echoes, first errors: {}",
            server.shown,
            output.status,
            report.errors,
            report.messages,
            serde_json::Value::from(report.error_samples)
        );
    }
    let deflate = negotiated(
        report.deflate.as_ref(),
        args.iter().any(|arg| arg == "--deflate"),
        &server.shown,
    )?;
    // Every echo counted in `messages` has its round trip in the histogram.
    let latency = report
        .latency_us
        .as_ref()
        .with_context(|| format!("wsecho bench against {} reported no latency", server.shown))?;
    let cpu =
        |per_message: fn(&CpuUse) -> Option<f64>| report.cpu.as_ref().and_then(per_message).unwrap_or(0.0);
    let echo = Echo {
        messages_per_s: report.messages_per_s,
        mb_per_s: report.mb_per_s,
        p50_us: latency.p50 as f64,
        p90_us: latency.p90 as f64,
        p99_us: latency.p99 as f64,
        p999_us: latency.p99_9 as f64,
        max_us: latency.max as f64,
        resumed_share: match (report.tls_handshakes, report.tls_resumed) {
            (Some(all), Some(resumed)) if all > 0 => Some(resumed as f64 / all as f64),
            _ => None,
        },
        server_cpu_us: cpu(|c| c.server_us_per_message),
        generator_cpu_us: cpu(|c| c.load_generator_us_per_message),
    };
    Ok((echo, deflate))
}

/// permessage-deflate as a `wsecho bench --deflate` run negotiated it on every connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The `Sec-WebSocket-Extensions` offer the load generator made.
    pub offer: String,
    /// The server's answer.
    pub answer: String,
}

/// When the run `offered` permessage-deflate: what the JSON report says was negotiated, and an error unless every
/// connection agreed (else the figures would be those of an uncompressed run).
fn negotiated(deflate: Option<&Deflate>, offered: bool, shown: &str) -> anyhow::Result<Option<Negotiated>> {
    if !offered {
        return Ok(None);
    }
    let (agreed, connections) = deflate.map_or((0, 0), |d| (d.negotiated, d.connections));
    match deflate {
        Some(Deflate {
            offer,
            answer: Some(answer),
            ..
        }) if connections > 0 && agreed == connections => Ok(Some(Negotiated {
            offer: offer.clone(),
            answer: answer.clone(),
        })),
        _ => bail!(
            "{shown} negotiated permessage-deflate on {agreed} of {connections} connections (answer: {}); the \
             compressed rows need it on all of them",
            deflate.and_then(|d| d.answer.as_deref()).unwrap_or("none")
        ),
    }
}

/// The share of the echoed payload that permessage-deflate kept off the wire so far, from `wsecho serve`'s
/// `/stats` (`deflate_bytes_saved` over `bytes_out`, both counted by the server over all its connections).
pub fn deflate_saving(server: &Server) -> anyhow::Result<f64> {
    let addr = server
        .url
        .strip_prefix("ws://")
        .map(|rest| rest.trim_end_matches('/'))
        .with_context(|| format!("{}: /stats is read over ws:// only", server.url))?;
    let failed = || format!("GET http://{addr}/stats");
    let mut stream = TcpStream::connect(addr).with_context(failed)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    // HTTP/1.0: the server closes after the answer, so the body is everything after the headers.
    stream
        .write_all(b"GET /stats HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .with_context(failed)?;
    let mut response = String::new();
    stream.read_to_string(&mut response).with_context(failed)?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .with_context(|| format!("{}: no HTTP body in {response:?}", failed()))?;
    let stats: wsecho::server::StatsSnapshot = serde_json::from_str(body)
        .with_context(|| format!("{}: not wsecho's /stats document: {body:?}", failed()))?;
    let (out, saved) = (stats.totals.bytes_out, stats.totals.deflate_bytes_saved);
    Ok(if out > 0 { saved as f64 / out as f64 } else { 0.0 })
}

fn seconds_arg(args: &[String], flag: &str) -> f64 {
    args.iter()
        .position(|arg| arg == flag)
        .and_then(|at| args.get(at + 1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}

/// What `bomb` (an independent load generator) measured: echoes per second and its mean round trip.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bomb {
    pub messages_per_s: f64,
    pub mean_rtt_ms: f64,
}

/// bomb sends JSON text messages carrying an `id` it matches against the echo; this one is 45 bytes.
pub const BOMB_PAYLOAD: &str = r#"{"id":"<rnd:uuid>"}"#;

pub fn bomb_args(connections: usize, duration: f64) -> Vec<String> {
    vec![
        "-c".into(),
        connections.to_string(),
        "-d".into(),
        format!("{duration:.0}s"),
        "-r".into(),
        "0".into(),
        "-p".into(),
        BOMB_PAYLOAD.into(),
    ]
}

/// Runs `bomb -t URL ARGS` and reads received messages and test duration from its text report.
pub fn bomb(bomb: &Path, server: &Server, args: &[String], duration: f64) -> anyhow::Result<Bomb> {
    let mut cmd = Command::new(bomb);
    cmd.arg("-t").arg(&server.url).args(args);
    let output = output_within(&mut cmd, Duration::from_secs_f64(duration + 60.0))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(name))
            .map(|value| {
                value
                    .trim()
                    .trim_end_matches("ms")
                    .trim_end_matches('s')
                    .replace(',', "")
            })
            .and_then(|value| value.parse::<f64>().ok())
    };
    match (field("Messages Received:"), field("Test Duration:")) {
        (Some(received), Some(seconds)) if received > 0.0 && seconds > 0.0 => Ok(Bomb {
            messages_per_s: received / seconds,
            mean_rtt_ms: field("Average RTT:").unwrap_or(0.0),
        }),
        _ => bail!(
            "bomb against {} reported no received messages ({}): {}{}",
            server.shown,
            output.status,
            text.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    }
}

/// Runs `provider-bench SECONDS` (xtask/providers) and returns its report.
pub fn providers(program: &Path, seconds: f64) -> anyhow::Result<ProviderReport> {
    let mut cmd = Command::new(program);
    cmd.arg(format!("{seconds}"));
    // About 30 figures of `seconds` each, plus RSA key generation.
    let output = output_within(&mut cmd, Duration::from_secs_f64(seconds * 40.0 + 120.0))?;
    if !output.status.success() {
        bail!(
            "provider-bench failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    serde_json::from_slice(&output.stdout).context("provider-bench printed no JSON report")
}

/// Server memory per idle connection.
#[derive(Debug, Clone, Copy)]
pub struct Idle {
    pub connections: usize,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
}

impl Idle {
    pub fn kib_per_connection(&self) -> f64 {
        (self.rss_after_kib as f64 - self.rss_before_kib as f64) / self.connections as f64
    }
}

/// Opens `connections` idle connections with `wsecho bench --idle`, then reads the server's RSS growth; with
/// `deflate` they offer permessage-deflate, and the server's answer is returned too.
pub fn idle(
    programs: &Programs,
    server: &Server,
    ca: Option<&Path>,
    connections: usize,
    deflate: bool,
) -> anyhow::Result<(Idle, Option<Negotiated>)> {
    // Let the server finish starting before the "before" reading.
    std::thread::sleep(Duration::from_millis(500));
    let rss_before_kib = server.rss_kib()?;
    let mut cmd = Command::new(&programs.wsecho);
    cmd.arg("bench")
        .arg(&server.url)
        .args(idle_args(connections, deflate))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(ca) = ca {
        cmd.arg("--ca").arg(ca);
    }
    let mut bench = KillOnDrop::spawn(&mut cmd).context("cannot start wsecho bench --idle")?;
    let stderr = bench.stderr.take().context("bench stderr")?;
    let lines = cmd::lines(stderr, None);
    let opened = cmd::wait_for_line(&lines, Duration::from_secs(180), |line| {
        line.contains("connections open").then(|| line.to_string())
    })
    .with_context(|| {
        format!(
            "wsecho bench --idle did not open {connections} connections to {}",
            server.shown
        )
    })?;
    if !opened.contains(&format!(" {connections} connections open")) {
        bail!("wsecho bench --idle against {}: {opened}", server.shown);
    }
    // Let the last handshakes settle in the server before reading.
    std::thread::sleep(Duration::from_secs(2));
    let rss_after_kib = server.rss_kib()?;
    let mut stdout = String::new();
    if let Some(mut out) = bench.stdout.take() {
        out.read_to_string(&mut stdout)?;
    }
    let status = bench.wait()?;
    if !status.success() {
        bail!(
            "wsecho bench --idle against {} failed ({status}): {stdout}",
            server.shown
        );
    }
    let report: Report = serde_json::from_str(&stdout).with_context(|| {
        format!(
            "wsecho bench --idle against {} printed no JSON report: {stdout}",
            server.shown
        )
    })?;
    let idle = Idle {
        connections,
        rss_before_kib,
        rss_after_kib,
    };
    Ok((idle, negotiated(report.deflate.as_ref(), deflate, &server.shown)?))
}

pub fn idle_args(connections: usize, deflate: bool) -> Vec<String> {
    let mut args = [
        "-c",
        &connections.to_string(),
        "--idle",
        "--warmup",
        "0",
        "--duration",
        "4",
    ]
    .map(String::from)
    .to_vec();
    if deflate {
        args.push("--deflate".into());
    }
    args.push("--json".into());
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// [`super::negotiated`] on the `deflate` part of a JSON report, read as `wsecho::bench::Report` reads it.
    fn negotiated(
        report: &serde_json::Value,
        offered: bool,
        shown: &str,
    ) -> anyhow::Result<Option<Negotiated>> {
        let deflate: Option<Deflate> = serde_json::from_value(report["deflate"].clone())?;
        super::negotiated(deflate.as_ref(), offered, shown)
    }

    fn report(answer: Option<&str>, negotiated: u64, connections: u64) -> serde_json::Value {
        json!({"deflate": {
            "offer": "permessage-deflate; client_max_window_bits",
            "answer": answer,
            "negotiated": negotiated,
            "connections": connections,
        }})
    }

    #[test]
    fn a_compressed_row_needs_every_connection_to_have_negotiated() {
        let answer = "permessage-deflate; server_no_context_takeover";
        let all = negotiated(&report(Some(answer), 200, 200), true, "server").unwrap();
        assert_eq!(
            all,
            Some(Negotiated {
                offer: "permessage-deflate; client_max_window_bits".into(),
                answer: answer.into()
            })
        );
        let some = negotiated(&report(Some(answer), 199, 200), true, "server").unwrap_err();
        assert!(some.to_string().contains("on 199 of 200 connections"), "{some}");
        let declined = negotiated(&report(None, 0, 200), true, "server").unwrap_err();
        assert!(declined.to_string().contains("(answer: none)"), "{declined}");
        assert!(negotiated(&json!({"deflate": null}), true, "server").is_err());
        assert_eq!(
            negotiated(&json!({"deflate": null}), false, "server").unwrap(),
            None
        );
    }
}

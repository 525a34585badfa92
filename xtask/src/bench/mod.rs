//! `cargo xtask bench`: `wsecho serve` against a bare tokio-tungstenite echo (the baseline), websocat, Python
//! `websockets` and Node `ws`, all measured in one run on this machine, alternating the servers over several rounds
//! and taking medians: closed loop, pipelined (ours and bomb's), 16 and 64 KiB messages over ws and wss, 16 KiB
//! with permessage-deflate on the servers that have it, and connection churn over ws and wss with and without TLS
//! session resumption; then latency at half of the saturation rate, memory per idle connection (with and without
//! permessage-deflate), certificate set-up time and ring against aws-lc-rs. Writes docs/performance.md and
//! docs/performance.svg. `--quick` and `--smoke` run shorter and write elsewhere (plan.rs). Only loopback
//! addresses; every server is killed when its measurement ends.

mod cert_setup;
mod chart;
mod measure;
mod peer;
mod plan;
mod programs;
mod provider_report;
mod report;
mod results;
mod servers;
mod stats;
mod workload;

use crate::scratch::Scratch;
use crate::tls_files::TlsFiles;
use anyhow::Context;
use cert_setup::CertTool;
use peer::Peer;
use plan::{Case, IDLE_CASES, Mode, Profile, SMALL};
use programs::Programs;
use results::Results;
use servers::{Launch, Server};
use std::path::Path;

/// Knobs of `cargo xtask bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// One short round and 500 idle connections: checks that everything runs; figures are rough, so the
    /// report goes to TARGET_DIR/bench-quick/ instead of docs/.
    #[arg(long)]
    pub quick: bool,
    /// Every case once against the in-tree servers only (wsecho, the tokio-tungstenite baseline, Python
    /// websockets, Node ws), in half-second windows, without bomb, websocat and the provider comparison, so
    /// nothing is built from crates.io: what `cargo xtask test` runs. The report goes to TARGET_DIR/bench-smoke/.
    #[arg(long, conflicts_with = "quick")]
    pub smoke: bool,
}

impl BenchArgs {
    /// The arguments of `cargo xtask bench --smoke`.
    pub fn smoke() -> BenchArgs {
        BenchArgs {
            quick: false,
            smoke: true,
        }
    }

    fn mode(&self) -> Mode {
        match (self.quick, self.smoke) {
            (_, true) => Mode::Smoke,
            (true, false) => Mode::Quick,
            (false, false) => Mode::Full,
        }
    }
}

pub fn run(root: &Path, args: &BenchArgs) -> anyhow::Result<()> {
    let mode = args.mode();
    let profile = mode.profile();
    let programs = Programs::prepare(root, mode)?;
    // Many idle connections: the servers and load generators started from here inherit this process's limit,
    // and each of them holds one descriptor per connection.
    wsecho::bench::raise_open_files_limit(profile.idle_connections)
        .context("raising the open-files limit for the idle-connection measurement")?;
    let scratch = Scratch::new("bench")?;
    let tls = TlsFiles::create(&scratch.0)?;
    let mut results = Results::new(programs.peers());

    for round in 0..profile.rounds {
        eprintln!("xtask bench: round {} of {}", round + 1, profile.rounds);
        echo_round(&programs, &profile, round, &scratch.0, &tls, &mut results)?;
    }
    half_saturation(&programs, &profile, &scratch.0, &mut results)?;
    idle_memory(&programs, &profile, &scratch.0, &tls, &mut results)?;
    cert_setup(&programs, &profile, &scratch.0, &mut results)?;
    if let Some(provider_bench) = &programs.provider_bench {
        results.providers = Some(measure::providers(provider_bench, profile.provider_seconds)?);
    }

    let docs = mode.report_dir(root);
    report::write(&docs, &profile, mode, &programs.versions(), &results)?;
    eprintln!(
        "xtask bench: wrote {} and {}",
        docs.join("performance.md").display(),
        docs.join("performance.svg").display()
    );
    Ok(())
}

/// One round: every case against every server (small messages also under bomb).
fn echo_round(
    programs: &Programs,
    profile: &Profile,
    round: usize,
    scratch: &Path,
    tls: &TlsFiles,
    results: &mut Results,
) -> anyhow::Result<()> {
    // Alternate the order each round so no server always runs first (cold caches) or last.
    let mut order = results.peers.clone();
    let turn = round % order.len();
    order.rotate_left(turn);
    for case in Case::ALL {
        let work = case.workload();
        for peer in order.iter().copied().filter(|&peer| case.runs_on(peer)) {
            let launch = Launch {
                peer,
                binary: work.binary,
                tls: case.tls().then_some(tls),
                many_idle: false,
                deflate: work.deflate,
            };
            let server = Server::start(programs, &launch, scratch)?;
            let args = workload::bench_args(&work, None, profile.warmup, profile.duration);
            results.remember(&server, &args);
            let ca = case.tls().then_some(tls.ca.as_path());
            let (echo, deflate) = measure::echo(programs, &server, ca, &args)?;
            results.note_extension(peer, deflate);
            if work.deflate && peer == Peer::Wsecho {
                results.deflate_saving.push(measure::deflate_saving(&server)?);
            }
            eprintln!(
                "  {:<9} {:<52} {:>9.0} msg/s  p99 {:>6.0} µs",
                peer.short(),
                case.label(),
                echo.messages_per_s,
                echo.p99_us
            );
            results::push(&mut results.echo, (peer, case), echo);
            if let (Case::Small, Some(bomb)) = (case, &programs.bomb) {
                let bomb_args = measure::bomb_args(work.connections, profile.duration);
                results.remember_bomb(&bomb_args);
                let measured = measure::bomb(bomb, &server, &bomb_args, profile.duration)?;
                eprintln!(
                    "  {:<9} bomb cross-check                                     {:>9.0} msg/s",
                    peer.short(),
                    measured.messages_per_s
                );
                results::push(&mut results.bomb, peer, measured);
            }
        }
    }
    Ok(())
}

/// p99 at half of the measured saturation rate, for wsecho and the baseline (small messages).
fn half_saturation(
    programs: &Programs,
    profile: &Profile,
    scratch: &Path,
    results: &mut Results,
) -> anyhow::Result<()> {
    for peer in [Peer::Wsecho, Peer::Baseline] {
        let saturation = stats::median_of(
            results
                .echo_samples(peer, Case::Small)
                .iter()
                .map(|e| e.messages_per_s),
        );
        let rate = (saturation / 2.0).max(1.0);
        let mut samples = Vec::new();
        for _ in 0..profile.rounds {
            let launch = Launch {
                peer,
                binary: false,
                tls: None,
                many_idle: false,
                deflate: false,
            };
            let server = Server::start(programs, &launch, scratch)?;
            let args = workload::bench_args(&SMALL, Some(rate), profile.warmup, profile.duration);
            results.remember(&server, &args);
            let (echo, _) = measure::echo(programs, &server, None, &args)?;
            eprintln!(
                "  {:<9} at {rate:.0} msg/s: p99 {:.0} µs",
                peer.short(),
                echo.p99_us
            );
            samples.push(echo);
        }
        results.half_rate.push((peer, rate, samples));
    }
    Ok(())
}

fn idle_memory(
    programs: &Programs,
    profile: &Profile,
    scratch: &Path,
    tls: &TlsFiles,
    results: &mut Results,
) -> anyhow::Result<()> {
    for case in IDLE_CASES {
        let tls = case.tls.then_some(tls);
        let launch = Launch {
            peer: case.peer,
            binary: false,
            tls,
            many_idle: true,
            deflate: case.deflate,
        };
        let server = Server::start(programs, &launch, scratch)?;
        let args = measure::idle_args(profile.idle_connections, case.deflate);
        results.remember(&server, &args);
        let ca = tls.map(|tls| tls.ca.as_path());
        let (idle, deflate) = measure::idle(programs, &server, ca, profile.idle_connections, case.deflate)?;
        results.note_extension(case.peer, deflate);
        eprintln!(
            "  idle {:<44} {:>7.1} KiB per connection",
            case.label,
            idle.kib_per_connection()
        );
        results.idle.push((case, idle));
    }
    Ok(())
}

fn cert_setup(
    programs: &Programs,
    profile: &Profile,
    scratch: &Path,
    results: &mut Results,
) -> anyhow::Result<()> {
    let mut times: Vec<(CertTool, Vec<f64>)> = CertTool::ALL.iter().map(|&t| (t, Vec::new())).collect();
    for run in 0..profile.cert_runs {
        let count = times.len();
        for i in 0..count {
            // Rotate the order every run.
            let (tool, samples) = &mut times[(i + run) % count];
            samples.push(cert_setup::run(programs, *tool, scratch, run)?);
        }
    }
    for (tool, samples) in &times {
        eprintln!(
            "  certs {:<40} median {:>7.1} ms",
            tool.name(),
            stats::median_of(samples.iter().copied())
        );
    }
    results.certs = times;
    Ok(())
}

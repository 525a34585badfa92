//! `cargo xtask bench`: `wsecho serve` against a bare tokio-tungstenite echo (the baseline), websocat and Python
//! `websockets`, all measured in one run on this machine, alternating the servers over several rounds and taking
//! medians; then wss versus ws, latency at half of the saturation rate, memory per idle connection and certificate
//! set-up time. Writes docs/performance.md and docs/performance.svg. Only loopback addresses; every server is
//! killed when its measurement ends.

mod measure;
mod report;
mod servers;

use crate::scratch::Scratch;
use crate::test::status;
use anyhow::{Context, bail};
use measure::{Bomb, CertTool, Echo, Idle, Workload};
use servers::{Launch, Peer, Programs, Server, TlsFiles};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Knobs of `cargo xtask bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// One short round and 500 idle connections: checks that everything runs (CI); figures are rough, so the
    /// report goes to TARGET_DIR/bench-quick/ instead of docs/.
    #[arg(long)]
    pub quick: bool,
}

/// Sizes of one benchmark run.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    pub rounds: usize,
    pub warmup: f64,
    pub duration: f64,
    pub idle_connections: usize,
    pub cert_runs: usize,
}

const FULL: Profile = Profile {
    rounds: 5,
    warmup: 1.0,
    duration: 5.0,
    idle_connections: 10_000,
    cert_runs: 10,
};

const QUICK: Profile = Profile {
    rounds: 1,
    warmup: 0.5,
    duration: 1.0,
    idle_connections: 500,
    cert_runs: 3,
};

/// websocat, an echo server compared against, from crates.io at this version.
pub const WEBSOCAT_VERSION: &str = "1.14.1";
/// bomb, the second load generator, from crates.io at this version (0.1.0 is yanked; 0.1.4 still says
/// "bomb 0.1.0" to `--version`, so the report names this constant instead).
pub const BOMB_VERSION: &str = "0.1.4";

pub const SMALL: Workload = Workload {
    connections: 100,
    size: 32,
    binary: false,
};

pub const LARGE: Workload = Workload {
    connections: 200,
    size: 16 * 1024,
    binary: true,
};

/// Every figure of one run; medians are taken when the report is written.
#[derive(Default)]
pub struct Results {
    /// (peer, workload index 0 = small / 1 = large) -> one sample per round.
    pub echo: Vec<((Peer, usize), Vec<Echo>)>,
    pub bomb: Vec<(Peer, Vec<Bomb>)>,
    pub wss_large: Vec<Echo>,
    /// (peer, rate, samples) at half of that peer's median saturation rate.
    pub half_rate: Vec<(Peer, f64, Vec<Echo>)>,
    /// (label, measurement).
    pub idle: Vec<(&'static str, Idle)>,
    pub certs: Vec<(CertTool, Vec<f64>)>,
    /// Server command lines as run, for the report.
    pub commands: Vec<(String, String)>,
}

pub fn run(root: &Path, args: &BenchArgs) -> anyhow::Result<()> {
    let profile = if args.quick { QUICK } else { FULL };
    let programs = prepare(root)?;
    // Many idle connections: the servers and load generators started from here inherit this process's limit,
    // and each of them holds one descriptor per connection.
    wsecho::bench::raise_open_files_limit(profile.idle_connections)
        .context("raising the open-files limit for the idle-connection measurement")?;
    let scratch = Scratch::new("bench")?;
    let tls = make_certificate(&scratch.0)?;
    let ca = tls.ca.clone();
    let mut results = Results::default();

    for round in 0..profile.rounds {
        eprintln!("xtask bench: round {} of {}", round + 1, profile.rounds);
        // Alternate the order each round so no server always runs first (cold caches) or last.
        let mut order = Peer::ALL.to_vec();
        order.rotate_left(round % Peer::ALL.len());
        for (index, work) in [SMALL, LARGE].iter().enumerate() {
            for &peer in &order {
                let launch = Launch {
                    peer,
                    binary: work.binary,
                    tls: None,
                    many_idle: false,
                };
                let server = Server::start(&programs, &launch, &scratch.0)?;
                let args = measure::bench_args(work, None, profile.warmup, profile.duration);
                remember(&mut results, &server, &args);
                let echo = measure::echo(&programs, &server, None, &args)?;
                eprintln!(
                    "  {:<9} {:<28} {:>9.0} msg/s  p99 {:>6.0} µs",
                    peer.short(),
                    work.label(),
                    echo.messages_per_s,
                    echo.p99_us
                );
                push(&mut results.echo, (peer, index), echo);
                if index == 0 {
                    let bomb_args = measure::bomb_args(work.connections, profile.duration);
                    remember_bomb(&mut results, &bomb_args);
                    let bomb = measure::bomb(&programs, &server, &bomb_args, profile.duration)?;
                    eprintln!(
                        "  {:<9} bomb cross-check          {:>9.0} msg/s",
                        peer.short(),
                        bomb.messages_per_s
                    );
                    push(&mut results.bomb, peer, bomb);
                }
            }
        }
        let launch = Launch {
            peer: Peer::Wsecho,
            binary: true,
            tls: Some(&tls),
            many_idle: false,
        };
        let server = Server::start(&programs, &launch, &scratch.0)?;
        let args = measure::bench_args(&LARGE, None, profile.warmup, profile.duration);
        remember(&mut results, &server, &args);
        let echo = measure::echo(&programs, &server, Some(&ca), &args)?;
        eprintln!(
            "  wsecho wss {:<27} {:>9.0} msg/s",
            LARGE.label(),
            echo.messages_per_s
        );
        results.wss_large.push(echo);
    }

    half_saturation(&programs, &profile, &scratch.0, &mut results)?;
    idle_memory(&programs, &profile, &scratch.0, &tls, &ca, &mut results)?;
    cert_setup(&programs, &profile, &scratch.0, &mut results)?;

    // A quick run only checks that everything works: it must not replace the real table in docs/.
    let docs = if args.quick {
        target_dir(root).join("bench-quick")
    } else {
        root.join("docs")
    };
    report::write(&docs, &profile, args.quick, &programs, &results)?;
    eprintln!(
        "xtask bench: wrote {} and {}",
        docs.join("performance.md").display(),
        docs.join("performance.svg").display()
    );
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
        let saturation = report::median_of(results.echo_samples(peer, 0).iter().map(|e| e.messages_per_s));
        let rate = (saturation / 2.0).max(1.0);
        let mut samples = Vec::new();
        for _ in 0..profile.rounds {
            let launch = Launch {
                peer,
                binary: false,
                tls: None,
                many_idle: false,
            };
            let server = Server::start(programs, &launch, scratch)?;
            let args = measure::bench_args(&SMALL, Some(rate), profile.warmup, profile.duration);
            remember(results, &server, &args);
            let echo = measure::echo(programs, &server, None, &args)?;
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
    ca: &Path,
    results: &mut Results,
) -> anyhow::Result<()> {
    let cases: [(&'static str, Peer, Option<&TlsFiles>); 3] = [
        ("wsecho serve, ws", Peer::Wsecho, None),
        ("wsecho serve, wss", Peer::Wsecho, Some(tls)),
        ("tokio-tungstenite baseline, ws", Peer::Baseline, None),
    ];
    for (label, peer, tls) in cases {
        let launch = Launch {
            peer,
            binary: false,
            tls,
            many_idle: true,
        };
        let server = Server::start(programs, &launch, scratch)?;
        let args = measure::idle_args(profile.idle_connections);
        remember(results, &server, &args);
        let idle = measure::idle(programs, &server, tls.map(|_| ca), profile.idle_connections)?;
        eprintln!(
            "  idle {label:<32} {:>7.1} KiB per connection",
            idle.kib_per_connection()
        );
        results.idle.push((label, idle));
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
            samples.push(measure::cert_setup(programs, *tool, scratch, run)?);
        }
    }
    for (tool, samples) in &times {
        eprintln!(
            "  certs {:<40} median {:>7.1} ms",
            tool.name(),
            report::median_of(samples.iter().copied())
        );
    }
    results.certs = times;
    Ok(())
}

fn push<K: PartialEq, V>(list: &mut Vec<(K, Vec<V>)>, key: K, value: V) {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some((_, values)) => values.push(value),
        None => list.push((key, vec![value])),
    }
}

fn remember(results: &mut Results, server: &Server, bench_args: &[String]) {
    let scheme = if server.url.starts_with("wss") {
        "wss"
    } else {
        "ws"
    };
    let bench = format!("wsecho bench {scheme}://127.0.0.1:PORT/ {}", bench_args.join(" "));
    let bench = if scheme == "wss" {
        bench + " --ca ca.pem"
    } else {
        bench
    };
    let entry = (server.shown.clone(), bench);
    if !results.commands.contains(&entry) {
        results.commands.push(entry);
    }
}

fn remember_bomb(results: &mut Results, bomb_args: &[String]) {
    let shown: Vec<String> = bomb_args
        .iter()
        .map(|arg| {
            if arg.contains('{') {
                format!("'{arg}'")
            } else {
                arg.clone()
            }
        })
        .collect();
    let entry = (
        "(each server above)".to_string(),
        format!("bomb -t ws://127.0.0.1:PORT/ {}", shown.join(" ")),
    );
    if !results.commands.contains(&entry) {
        results.commands.push(entry);
    }
}

impl Results {
    pub fn echo_samples(&self, peer: Peer, workload: usize) -> Vec<Echo> {
        self.echo
            .iter()
            .filter(|(key, _)| *key == (peer, workload))
            .flat_map(|(_, samples)| samples.iter().copied())
            .collect()
    }
}

/// Builds the release binaries and finds (or installs) the other servers and tools.
fn prepare(root: &Path) -> anyhow::Result<Programs> {
    status(Command::new(env!("CARGO")).current_dir(root).args([
        "build",
        "--release",
        "--package",
        "wsecho",
        "--bin",
        "wsecho",
        "--example",
        "baseline_echo",
        "--package",
        "certgen",
        "--bin",
        "certgen",
    ]))?;
    let release = target_dir(root).join("release");
    for tool in ["mkcert", "openssl"] {
        if Command::new(tool).arg("-help").output().is_err() {
            bail!("{tool} is not installed: apt-get install {tool}");
        }
    }
    Ok(Programs {
        wsecho: release.join("wsecho"),
        baseline: release.join("examples/baseline_echo"),
        certgen: release.join("certgen"),
        websocat: cargo_tool(root, "websocat", WEBSOCAT_VERSION)?,
        bomb: cargo_tool(root, "bomb", BOMB_VERSION)?,
        python: python_with_websockets(root)?,
        python_echo: root.join("tests/peers/echo_server.py"),
    })
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// A crates.io tool at a pinned version (with its own lock file), installed under .ci-cache/cargo. `cargo install`
/// runs every time: it returns at once when that version is already there, and replaces any other version.
fn cargo_tool(root: &Path, name: &str, version: &str) -> anyhow::Result<PathBuf> {
    let prefix = root.join(".ci-cache/cargo");
    status(
        Command::new(env!("CARGO"))
            .args([
                "install",
                "--quiet",
                "--locked",
                &format!("{name}@{version}"),
                "--root",
            ])
            .arg(&prefix),
    )?;
    Ok(prefix.join("bin").join(name))
}

/// The Python of the peers venv (`cargo xtask test` installs it; installed here too when missing).
fn python_with_websockets(root: &Path) -> anyhow::Result<PathBuf> {
    let python = std::env::var_os("LOCALTLS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".ci-cache/venv/bin/python"));
    let has_websockets = |python: &Path| {
        Command::new(python)
            .args(["-c", "import websockets"])
            .output()
            .is_ok_and(|out| out.status.success())
    };
    if !has_websockets(&python) {
        crate::peers::ensure(root)?;
    }
    if !has_websockets(&python) {
        bail!(
            "{} cannot import websockets; run cargo xtask test once to install the peers",
            python.display()
        );
    }
    Ok(python)
}

/// A CA and a localhost certificate for the wss measurements, made with the certgen library.
fn make_certificate(dir: &Path) -> anyhow::Result<TlsFiles> {
    let certs = certgen::CertsDir::new(dir.to_path_buf());
    let ca = certs.create_ca(&certgen::CaOptions::default())?.files;
    let leaf = certs
        .issue(
            &certgen::SubjectName::parse_all(["localhost", "127.0.0.1"])?,
            &certgen::LeafOptions::default(),
        )?
        .files;
    Ok(TlsFiles {
        ca: ca.cert_pem,
        fullchain: leaf.fullchain_pem,
        key: leaf.key_pem,
    })
}

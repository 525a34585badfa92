//! Workspace automation in plain Rust (the rust-analyzer `xtask` pattern): each task is one function.
//! Certificate and socket logic lives in the `certgen` and `wsecho` libraries, never here.

mod banner;
mod bench;
mod circles;
mod cmd;
mod nss_tools;
mod peers;
mod scratch;
mod soak;
mod steps;
mod test;
mod tls_files;
mod up;

use certgen::trust::Host;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    bin_name = "cargo xtask",
    about = "Workspace tasks: the whole local TLS trust chain in one command, and every test",
    version
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// The whole chain: CA + server certificate in certs/, trust for this user (installing certutil if needed),
    /// echo server on 8080 (ws) and 8443 (wss); ends with one verdict line.
    Up(up::UpArgs),
    /// Create or reuse the CA and the server certificate in certs/ (renewed when expiring or when names change).
    Certs(up::NameArgs),
    /// Make this user's browsers (NSS) trust certs/ca.pem; `--system` also the OS store.
    Trust(up::TrustArgs),
    /// Remove certs/ca.pem from every store `trust` put it in.
    Untrust(up::TrustArgs),
    /// Where certs/ca.pem is trusted, and whether the server certificate is valid; exit 0 only when all is well.
    Status(up::StatusArgs),
    /// Start the echo server with the certificate in certs/ (run `certs` first).
    Serve(up::ServeArgs),
    /// Run every check CI runs: fmt, clippy -D warnings, unit, integration, real-peer and browser tests.
    Test,
    /// Only the real-browser tests (headless Chromium with the CA imported into a fresh NSS db).
    E2e,
    /// Echo server under steady load and connection churn; fails when memory or file descriptors grow.
    Soak(soak::SoakArgs),
    /// Fail when a module reaches, through its imports, back to itself (in any crate of the workspace).
    Circles,
    /// Measure wsecho against a bare tokio-tungstenite echo, websocat and Python websockets; write docs/performance.md.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = match certgen::usage::parse::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match run(cli.task) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line with its causes; no backtrace even when RUST_BACKTRACE is set.
            certgen::usage::print_error("xtask", format_args!("{err:#}"));
            ExitCode::FAILURE
        }
    }
}

fn run(task: Task) -> anyhow::Result<()> {
    let root = workspace_root();
    let host = Host::current();
    let host = Host {
        invocation: host.invocation.clone().for_xtask(),
        ..host
    };
    match task {
        Task::Up(args) => up::up(&root, &host, &args),
        Task::Certs(args) => up::certs(&root, &host, &args, false).map(drop),
        Task::Trust(args) => up::trust(&root, &host, &args),
        Task::Untrust(args) => up::untrust(&root, &host, &args),
        Task::Status(args) => up::status(&root, &host, &args),
        Task::Serve(args) => up::serve(&root, &args),
        Task::Test => test::run(&root),
        Task::E2e => test::e2e(&root),
        Task::Soak(args) => soak::run(&root, &args),
        Task::Bench(args) => bench::run(&root, &args),
        Task::Circles => circles::run(&root),
    }
}

/// The workspace root: xtask lives one folder below it.
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent folder")
        .to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> Result<Task, clap::Error> {
        Cli::try_parse_from(std::iter::once("xtask").chain(args.iter().copied())).map(|cli| cli.task)
    }

    #[test]
    fn every_task_parses_with_its_flags() {
        assert!(matches!(
            parse(&[
                "up",
                "--lan",
                "--system",
                "--name",
                "a.test",
                "--yes",
                "--ws-port",
                "1"
            ]),
            Ok(Task::Up(_))
        ));
        assert!(matches!(
            parse(&["certs", "--name", "10.0.0.1", "--lan"]),
            Ok(Task::Certs(_))
        ));
        assert!(matches!(
            parse(&["trust", "--system", "--dry-run"]),
            Ok(Task::Trust(_))
        ));
        assert!(matches!(parse(&["untrust", "--dry-run"]), Ok(Task::Untrust(_))));
        assert!(matches!(parse(&["status", "--system"]), Ok(Task::Status(_))));
        assert!(matches!(
            parse(&["serve", "--lan", "--ws-port", "18080", "--wss-port", "18443"]),
            Ok(Task::Serve(_))
        ));
        assert!(matches!(parse(&["test"]), Ok(Task::Test)));
        assert!(matches!(parse(&["e2e"]), Ok(Task::E2e)));
        assert!(matches!(parse(&["circles"]), Ok(Task::Circles)));
        assert!(matches!(parse(&["bench", "--smoke"]), Ok(Task::Bench(b)) if b.smoke && !b.quick));
        assert!(matches!(
            parse(&["soak", "--minutes", "0.5", "--connections", "4", "--rate", "100"]),
            Ok(Task::Soak(s)) if s.minutes == 0.5 && s.connections == 4 && s.rate == 100.0
        ));
    }

    #[test]
    fn soak_defaults_are_ten_minutes_32_connections_2000_per_second() {
        let Ok(Task::Soak(s)) = parse(&["soak"]) else {
            panic!("soak parses")
        };
        assert_eq!((s.minutes, s.connections, s.rate), (10.0, 32, 2000.0));
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        let kind = |args: &[&str]| parse(args).err().map(|e| e.kind());
        assert_eq!(kind(&["frobnicate"]), Some(ErrorKind::InvalidSubcommand));
        assert_eq!(
            kind(&["bench", "--quick", "--smoke"]),
            Some(ErrorKind::ArgumentConflict)
        );
        assert_eq!(kind(&["up", "--name"]), Some(ErrorKind::InvalidValue));
        assert_eq!(kind(&["status", "--dry-run"]), Some(ErrorKind::UnknownArgument));
        assert_eq!(
            kind(&["soak", "--connections", "many"]),
            Some(ErrorKind::ValueValidation)
        );
    }
}

//! Process helpers every task uses: running a command (with or without a time bound), the cargo target dir and
//! release builds, a process's memory. The children themselves (stopped on drop, read line by line, bounded waits)
//! are `testkit`'s, shared with the tests of the workspace.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output};
use std::time::Duration;
pub use testkit::{KillOnDrop, StopGroupOnDrop, kib_field, lines, wait_for_line};

/// `cargo` (the one running xtask) in the workspace root.
pub fn cargo(root: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(root);
    cmd
}

/// Runs a command with this process's stdio; a non-zero exit is an error naming the command.
pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let shown = announce(cmd);
    let exit = cmd.status().with_context(|| format!("cannot start {shown}"))?;
    if !exit.success() {
        bail!("{shown} failed with {exit}");
    }
    Ok(())
}

/// Like [`run`], but the command is killed, and the run fails, once it has taken longer than `limit`.
pub fn run_within(cmd: &mut Command, limit: Duration) -> anyhow::Result<()> {
    let shown = announce(cmd);
    let mut child = KillOnDrop::spawn(cmd).with_context(|| format!("cannot start {shown}"))?;
    let exit = wait_within(&mut child, limit, &shown)?;
    if !exit.success() {
        bail!("{shown} failed with {exit}");
    }
    Ok(())
}

/// Runs a command to completion with stdout and stderr collected, killing it after `limit`.
pub fn output_within(cmd: &mut Command, limit: Duration) -> anyhow::Result<Output> {
    let shown = format!("{cmd:?}");
    let ran = testkit::run_within(cmd, b"", limit).with_context(|| format!("cannot start {shown}"))?;
    match ran.status {
        Some(status) => Ok(Output {
            status,
            stdout: ran.stdout,
            stderr: ran.stderr,
        }),
        None => Err(overran(&shown, limit)),
    }
}

/// Waits for the child to exit; after `limit` it is killed (when dropped) and that is an error naming `shown`.
pub fn wait_within(child: &mut KillOnDrop, limit: Duration, shown: &str) -> anyhow::Result<ExitStatus> {
    child.wait_within(limit)?.ok_or_else(|| overran(shown, limit))
}

fn overran(shown: &str, limit: Duration) -> anyhow::Error {
    anyhow::anyhow!("{shown} still running after {} s; killed", limit.as_secs())
}

fn announce(cmd: &Command) -> String {
    let shown = format!("{cmd:?}");
    eprintln!("xtask: running {shown}");
    shown
}

/// Cargo's target dir: `$CARGO_TARGET_DIR` (relative to the workspace root), else `target/` in it.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |dir| root.join(dir))
}

/// `cargo build --release` with `args` (packages, binaries, examples); returns the folder the binaries land in.
pub fn build_release(root: &Path, args: &[&str]) -> anyhow::Result<PathBuf> {
    build(root, true, args)
}

/// `cargo build`, `--release` or the dev profile, with `args`; returns the folder the binaries land in.
pub fn build(root: &Path, release: bool, args: &[&str]) -> anyhow::Result<PathBuf> {
    let mut cargo = cargo(root);
    cargo.arg("build");
    if release {
        cargo.arg("--release");
    }
    run(cargo.args(args))?;
    Ok(target_dir(root).join(if release { "release" } else { "debug" }))
}

/// Resident memory (VmRSS) of a running process, KiB.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("process {pid} is gone (read /proc/{pid}/status)"))?;
    kib_field(&status, "VmRSS:").with_context(|| format!("no VmRSS in /proc/{pid}/status"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn rss_of_this_process_is_positive() {
        assert!(rss_kib(std::process::id()).unwrap() > 0);
    }

    #[test]
    fn output_within_kills_a_command_that_overruns() {
        let started = Instant::now();
        let err = output_within(Command::new("sleep").arg("30"), Duration::from_millis(300)).unwrap_err();
        assert!(err.to_string().contains("still running after"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn run_within_reports_a_failing_exit() {
        let err = run_within(&mut Command::new("false"), Duration::from_secs(30)).unwrap_err();
        assert!(err.to_string().contains("failed with"), "{err}");
        run_within(&mut Command::new("true"), Duration::from_secs(30)).unwrap();
    }
}

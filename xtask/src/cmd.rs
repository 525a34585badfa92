//! Process helpers every task uses: running a command (with or without a time bound), a child that is stopped
//! when dropped, a child's output line by line, the cargo target dir and release builds, a process's memory.

use anyhow::{Context, bail};
use std::io::{BufRead, BufReader, Read};
use std::ops::{Deref, DerefMut};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// How often a bounded wait looks at its child.
const POLL: Duration = Duration::from_millis(20);

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
    let exit = child.wait_within(limit, &shown)?;
    if !exit.success() {
        bail!("{shown} failed with {exit}");
    }
    Ok(())
}

/// Runs a command to completion with stdout and stderr collected, killing it after `limit`.
pub fn output_within(cmd: &mut Command, limit: Duration) -> anyhow::Result<Output> {
    let shown = format!("{cmd:?}");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = KillOnDrop::spawn(cmd).with_context(|| format!("cannot start {shown}"))?;
    let stdout = collect(child.stdout.take());
    let stderr = collect(child.stderr.take());
    let status = child.wait_within(limit, &shown)?;
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

fn announce(cmd: &Command) -> String {
    let shown = format!("{cmd:?}");
    eprintln!("xtask: running {shown}");
    shown
}

/// Reads a pipe to its end on a thread, so the child never blocks on a full pipe.
fn collect(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// A child process that is stopped when dropped, so no server outlives the task that started it (also on error).
pub struct KillOnDrop {
    child: Child,
    /// For a child leading its own process group: how long the group may take to exit after SIGTERM.
    group_grace: Option<Duration>,
}

impl KillOnDrop {
    /// Starts the command; dropping the result kills the process.
    pub fn spawn(cmd: &mut Command) -> std::io::Result<KillOnDrop> {
        Ok(KillOnDrop {
            child: cmd.spawn()?,
            group_grace: None,
        })
    }

    /// Starts the command in a process group of its own (for `cargo run`, which starts the real program as a
    /// grandchild); dropping the result sends the group SIGTERM, then SIGKILL if it has not exited within `grace`.
    pub fn spawn_group(cmd: &mut Command, grace: Duration) -> std::io::Result<KillOnDrop> {
        Ok(KillOnDrop {
            child: cmd.process_group(0).spawn()?,
            group_grace: Some(grace),
        })
    }

    /// Waits for the child to exit; after `limit` it is killed and that is an error naming `shown`.
    pub fn wait_within(&mut self, limit: Duration, shown: &str) -> anyhow::Result<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                bail!("{shown} still running after {} s; killed", limit.as_secs());
            }
            std::thread::sleep(POLL);
        }
    }

    fn signal_group(&self, name: &str) {
        // `--`: a negative number after it is a process group, not an option.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-s", name, "--", &group]).status();
    }
}

impl Deref for KillOnDrop {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.child
    }
}

impl DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(grace) = self.group_grace {
            // SIGTERM lets a server close its connections with 1001; SIGKILL if it has not exited in time.
            self.signal_group("TERM");
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            self.signal_group("KILL");
        } else {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The lines of a child's pipe, read to its end by a thread (so the child never blocks on a full pipe); each line
/// is also printed with `echo` in front when given, including those nobody receives any more.
pub fn lines(pipe: impl Read + Send + 'static, echo: Option<&'static str>) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if let Some(prefix) = echo {
                println!("{prefix}{line}");
            }
            let _ = tx.send(line);
        }
    });
    rx
}

/// Reads lines until `find` returns something; `None` when `limit` passes or the pipe closes first.
pub fn wait_for_line<T>(
    lines: &Receiver<String>,
    limit: Duration,
    mut find: impl FnMut(&str) -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .ok()?;
        if let Some(found) = find(&line) {
            return Some(found);
        }
    }
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

/// The value of a `Name:   1234 kB` line, as in /proc/PID/status and /proc/meminfo.
pub fn kib_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kib_field_reads_proc_lines() {
        let status = "Name:\twsecho\nVmRSS:\t   12345 kB\nVmSwap:\t0 kB\n";
        assert_eq!(kib_field(status, "VmRSS:"), Some(12345));
        assert_eq!(kib_field(status, "VmHWM:"), None);
    }

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

    #[test]
    fn wait_for_line_finds_a_line_or_gives_up() {
        let mut child = KillOnDrop::spawn(
            Command::new("sh")
                .args(["-c", "echo one; echo 'listening ws://x'; sleep 30"])
                .stdout(Stdio::piped()),
        )
        .unwrap();
        let rx = lines(child.stdout.take().unwrap(), None);
        let found = wait_for_line(&rx, Duration::from_secs(10), |line| {
            line.strip_prefix("listening ").map(String::from)
        });
        assert_eq!(found.as_deref(), Some("ws://x"));
        let started = Instant::now();
        assert_eq!(wait_for_line(&rx, Duration::from_millis(200), |_| Some(())), None);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn dropping_a_group_stops_it() {
        let child = KillOnDrop::spawn_group(
            Command::new("sh").args(["-c", "sleep 30 & wait"]),
            Duration::from_secs(5),
        )
        .unwrap();
        let pid = child.id();
        let started = Instant::now();
        drop(child);
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
    }
}

//! Child processes of the tests: killed when dropped, every run bounded in time (both `testkit`'s, shared with
//! xtask), and the `wsecho` binary run to completion.

use std::process::{Command, ExitStatus};
use std::time::Duration;

use super::WAIT;

pub use testkit::KillOnDrop;

/// What a finished external command printed.
pub struct Finished {
    pub status: ExitStatus,
    /// `status.code()`: the exit code, `None` when a signal ended the command.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// Both streams, for assertion messages and pattern checks.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs a command to completion with stdin closed, killing it and panicking if it outlives `timeout`.
pub fn run(cmd: &mut Command, timeout: Duration) -> Finished {
    run_with_input(cmd, "", timeout)
}

/// Runs a command to completion with `input` as its stdin, killing it and panicking if it outlives `timeout`.
pub fn run_with_input(cmd: &mut Command, input: &str, timeout: Duration) -> Finished {
    let shown = format!("{cmd:?}");
    let ran = testkit::run_within(cmd, input.as_bytes(), timeout)
        .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    let stdout = String::from_utf8_lossy(&ran.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&ran.stderr).into_owned();
    let Some(status) = ran.status else {
        panic!("{shown} did not finish within {timeout:?}; stdout: {stdout}; stderr: {stderr}");
    };
    Finished {
        status,
        code: status.code(),
        stdout,
        stderr,
    }
}

/// The `wsecho` binary built for these tests.
pub const WSECHO: &str = env!("CARGO_BIN_EXE_wsecho");

/// Runs `wsecho ARGS` with `stdin` as its input, bounded by [`WAIT`] (killed if it hangs). Async, so that a
/// server in the same test process keeps running meanwhile.
pub async fn run_wsecho(args: &[&str], stdin: &str) -> Finished {
    let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    let stdin = stdin.to_string();
    tokio::task::spawn_blocking(move || run_with_input(Command::new(WSECHO).args(&args), &stdin, WAIT))
        .await
        .unwrap_or_else(|failed| std::panic::resume_unwind(failed.into_panic()))
}

/// A `/proc/PID/status` figure of a process in KiB, e.g. `VmRSS:` (resident now) or `VmHWM:` (peak resident).
pub fn memory_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("server process status");
    testkit::kib_field(&status, field).unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}

/// CPU time (user and system) a process has used, from `/proc/PID/stat`.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("server process stat");
    // Fields after the command name (which may hold spaces), from field 3 on; utime and stime are 14 and 15.
    let after_name = &stat[stat.rfind(')').expect("command name in /proc/PID/stat") + 2..];
    let ticks: u64 = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|field| field.parse::<u64>().expect("clock ticks"))
        .sum();
    // The kernel reports in USER_HZ, 100 on every Linux the tests run on.
    Duration::from_millis(ticks * 10)
}

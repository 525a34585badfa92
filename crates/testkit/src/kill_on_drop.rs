//! Children that are stopped when dropped, also when a test panics or a task fails half-way.

use std::ops::{Deref, DerefMut};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// How often a bounded wait looks at its child.
const POLL: Duration = Duration::from_millis(20);

/// A child process that is killed (and reaped) when dropped.
pub struct KillOnDrop(pub Child);

impl KillOnDrop {
    /// Starts the command; dropping the result kills the process.
    pub fn spawn(cmd: &mut Command) -> std::io::Result<KillOnDrop> {
        cmd.spawn().map(KillOnDrop)
    }

    /// Waits for the child to exit for at most `limit`; `None` when it is still running then (it is killed when
    /// dropped).
    pub fn wait_within(&mut self, limit: Duration) -> std::io::Result<Option<ExitStatus>> {
        wait_within(&mut self.0, limit)
    }
}

impl Deref for KillOnDrop {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A child leading a process group of its own (for `cargo run`, which starts the real program as a grandchild);
/// dropping it sends the group SIGTERM, so a server can close its connections, then SIGKILL if it has not exited
/// within the grace period.
pub struct StopGroupOnDrop {
    child: Child,
    grace: Duration,
}

impl StopGroupOnDrop {
    pub fn spawn(cmd: &mut Command, grace: Duration) -> std::io::Result<StopGroupOnDrop> {
        Ok(StopGroupOnDrop {
            child: cmd.process_group(0).spawn()?,
            grace,
        })
    }

    fn signal_group(&self, name: &str) {
        // `--`: a negative number after it is a process group, not an option.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-s", name, "--", &group]).status();
    }
}

impl Deref for StopGroupOnDrop {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.child
    }
}

impl DerefMut for StopGroupOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for StopGroupOnDrop {
    fn drop(&mut self) {
        self.signal_group("TERM");
        if let Ok(None) = wait_within(&mut self.child, self.grace) {
            self.signal_group("KILL");
        }
        let _ = self.child.wait();
    }
}

/// Waits for `child` to exit for at most `limit`; `None` when it is still running then.
fn wait_within(child: &mut Child, limit: Duration) -> std::io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn dropping_a_group_stops_it() {
        let child = StopGroupOnDrop::spawn(
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

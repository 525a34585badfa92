//! A child's output line by line, and a bounded wait for the line that says it is ready.

use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KillOnDrop;
    use std::process::{Command, Stdio};

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
}

//! A command run to completion within a time limit, its output collected.

use crate::KillOnDrop;
use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

/// How long the output of a command killed at its limit is still read: a grandchild may hold its pipes open.
const AFTER_KILL: Duration = Duration::from_secs(1);

/// What a command printed, and how it ended.
pub struct Ran {
    /// `None`: it was still running at the limit, so it was killed.
    pub status: Option<ExitStatus>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Runs `cmd` with `input` as its stdin (closed when empty) and stdout and stderr collected, for at most `limit`;
/// a command still running then is killed, and what it printed so far comes back without a status.
pub fn run_within(cmd: &mut Command, input: &[u8], limit: Duration) -> std::io::Result<Ran> {
    let stdin = if input.is_empty() {
        Stdio::null()
    } else {
        Stdio::piped()
    };
    cmd.stdin(stdin).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = KillOnDrop::spawn(cmd)?;
    if let Some(mut stdin) = child.stdin.take() {
        let input = input.to_vec();
        // A writer thread: a child that does not read must not block this one past the limit.
        thread::spawn(move || stdin.write_all(&input));
    }
    let stdout = collect(child.stdout.take());
    let stderr = collect(child.stderr.take());
    let status = child.wait_within(limit)?;
    // Killed now if it overran, which closes its end of the pipes.
    drop(child);
    let read = |pipe: Collected| {
        let _ = match status {
            Some(_) => pipe.done.recv().map_err(drop),
            None => pipe.done.recv_timeout(AFTER_KILL).map_err(drop),
        };
        std::mem::take(&mut *pipe.bytes.lock().unwrap_or_else(PoisonError::into_inner))
    };
    Ok(Ran {
        status,
        stdout: read(stdout),
        stderr: read(stderr),
    })
}

/// A pipe being read to its end on a thread, so the child never blocks on a full pipe; what has arrived so far
/// can be taken at any time.
struct Collected {
    bytes: Arc<Mutex<Vec<u8>>>,
    /// Closed when the pipe reached its end.
    done: Receiver<()>,
}

fn collect(pipe: Option<impl Read + Send + 'static>) -> Collected {
    let bytes = Arc::new(Mutex::new(Vec::new()));
    let (tx, done) = mpsc::channel::<()>();
    let sink = Arc::clone(&bytes);
    thread::spawn(move || {
        // Dropped when the thread ends, which closes `done`.
        let _end = tx;
        let Some(mut pipe) = pipe else { return };
        let mut chunk = [0; 8192];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => sink
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend_from_slice(&chunk[..n]),
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    });
    Collected { bytes, done }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_command_that_overruns_is_killed_and_keeps_what_it_printed() {
        let started = Instant::now();
        let ran = run_within(
            Command::new("sh").args(["-c", "echo early; sleep 30"]),
            b"",
            Duration::from_millis(300),
        )
        .unwrap();
        assert!(ran.status.is_none());
        assert_eq!(ran.stdout, b"early\n");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn input_reaches_the_command_and_both_streams_come_back() {
        let ran = run_within(
            Command::new("sh").args(["-c", "cat; echo oops >&2; exit 3"]),
            b"hello",
            Duration::from_secs(30),
        )
        .unwrap();
        assert_eq!(ran.status.and_then(|s| s.code()), Some(3));
        assert_eq!(
            (ran.stdout.as_slice(), ran.stderr.as_slice()),
            (&b"hello"[..], &b"oops\n"[..])
        );
    }
}

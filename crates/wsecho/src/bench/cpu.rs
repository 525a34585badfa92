//! CPU time spent during the measured window, by the load generator itself and (with `--server-pid`) by the
//! server, from Linux's `/proc/PID/stat`. On a machine whose cores the two share, it tells what bounds a figure:
//! when the load generator spends more per message than the server, a faster server cannot show it.

use crate::Error;
use serde::{Deserialize, Serialize};

/// CPU used over the measured window.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CpuUse {
    /// Cores kept busy on average (1.0 = one core all the time), and CPU microseconds per measured message.
    pub load_generator_cores: f64,
    pub load_generator_us_per_message: Option<f64>,
    /// The `--server-pid` process, if given.
    pub server_pid: Option<u32>,
    pub server_cores: Option<f64>,
    pub server_us_per_message: Option<f64>,
}

/// CPU seconds so far of this process and of the server, taken at the start of the window.
pub(crate) struct CpuMark {
    load_generator: f64,
    server: Option<(u32, f64)>,
}

impl CpuMark {
    /// `None` where `/proc` is not there to read (not Linux).
    pub(crate) fn now(server_pid: Option<u32>) -> Option<CpuMark> {
        let load_generator = cpu_seconds("self").ok()?;
        let server = server_pid.and_then(|pid| Some((pid, cpu_seconds(&pid.to_string()).ok()?)));
        Some(CpuMark {
            load_generator,
            server,
        })
    }

    /// What was used from this mark to `end`, `seconds` of wall time later, which measured `messages`.
    pub(crate) fn until(&self, end: &CpuMark, seconds: f64, messages: u64) -> CpuUse {
        let per_message = |cpu: f64| (messages > 0).then(|| cpu * 1e6 / messages as f64);
        let load_generator = end.load_generator - self.load_generator;
        let server = self
            .server
            .zip(end.server)
            .map(|((pid, before), (_, after))| (pid, after - before));
        CpuUse {
            load_generator_cores: load_generator / seconds,
            load_generator_us_per_message: per_message(load_generator),
            server_pid: server.map(|(pid, _)| pid),
            server_cores: server.map(|(_, cpu)| cpu / seconds),
            server_us_per_message: server.and_then(|(_, cpu)| per_message(cpu)),
        }
    }
}

/// Marks the start and the end of the measured window, sleeping until each; `None` without `/proc`.
pub(crate) async fn window(
    server_pid: Option<u32>,
    start: tokio::time::Instant,
    end: tokio::time::Instant,
) -> Option<(CpuMark, CpuMark)> {
    tokio::time::sleep_until(start).await;
    let first = CpuMark::now(server_pid)?;
    tokio::time::sleep_until(end).await;
    Some((first, CpuMark::now(server_pid)?))
}

/// Checks that `--server-pid` names a process whose CPU time can be read, before any connection is made.
pub(crate) fn check_server_pid(pid: u32) -> Result<(), Error> {
    cpu_seconds(&pid.to_string()).map(drop).map_err(|e| {
        Error::Usage(format!(
            "--server-pid {pid}: cannot read /proc/{pid}/stat ({e}); give the PID of a server running on this Linux machine"
        ))
    })
}

/// User plus system CPU seconds of `/proc/{process}/stat`, all threads included.
fn cpu_seconds(process: &str) -> Result<f64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{process}/stat")).map_err(|e| e.to_string())?;
    parse_cpu_ticks(&stat)
        .map(|ticks| ticks as f64 / rustix::param::clock_ticks_per_second() as f64)
        .ok_or_else(|| "unexpected format".to_string())
}

/// utime + stime (fields 14 and 15) of a stat line; the command name in parentheses may hold spaces, so fields
/// are counted after its closing parenthesis.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let stat = "4242 (tokio rt) worker) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 9 0 123 0";
        assert_eq!(parse_cpu_ticks(stat), Some(325));
        assert_eq!(parse_cpu_ticks("garbage"), None);
    }

    #[test]
    fn this_process_can_be_measured() {
        let me = Some(std::process::id());
        let start = CpuMark::now(me).expect("/proc on Linux");
        let spin = std::time::Instant::now();
        while spin.elapsed().as_millis() < 200 {
            std::hint::black_box(0u64);
        }
        let used = start.until(&CpuMark::now(me).expect("/proc on Linux"), 0.2, 10);
        assert!(used.load_generator_cores > 0.0, "{used:?}");
        assert_eq!(used.server_pid, me);
        assert!(used.server_cores.is_some_and(|cores| cores > 0.0), "{used:?}");
        assert!(check_server_pid(u32::MAX).is_err());
    }
}

//! The machine a run measured on, and the versions of the programs it compared.

use std::fmt::{self, Write as _};

pub(super) fn machine(md: &mut String, versions: &[String]) -> fmt::Result {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|v| v.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| crate::cmd::kib_field(&m, "MemTotal:"))
        .map_or(0.0, |kib| kib as f64 / 1024.0 / 1024.0);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    writeln!(md, "## Machine and versions\n")?;
    writeln!(
        md,
        "- CPU: {cpu}, {cores} cores (nproc); memory {memory_gib:.1} GiB; Linux {}",
        kernel.trim()
    )?;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    writeln!(
        md,
        "- load average (1, 5, 15 min) when the run ended: {} (above the core count means other work shared the CPU)",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(", ")
    )?;
    for version in versions {
        writeln!(md, "- {version}")?;
    }
    writeln!(md)
}

//! Memory per idle connection, each server.

use crate::bench::results::Results;
use std::fmt::{self, Write as _};

pub(super) fn idle_memory(md: &mut String, results: &Results) -> fmt::Result {
    writeln!(md, "\n## Memory per idle connection\n")?;
    writeln!(
        md,
        "Server resident memory (VmRSS from /proc/PID/status) before and 2 s after `wsecho bench --idle` opened the \
         connections, divided by their number. One measurement each.\n"
    )?;
    writeln!(
        md,
        "| server | connections | RSS before KiB | RSS after KiB | KiB per connection |\n|---|---:|---:|---:|---:|"
    )?;
    for (case, i) in results.idle.iter().filter(|(case, _)| !case.deflate) {
        writeln!(
            md,
            "| {} | {} | {} | {} | {:.1} |",
            case.label,
            i.connections,
            i.rss_before_kib,
            i.rss_after_kib,
            i.kib_per_connection()
        )?;
    }
    Ok(())
}

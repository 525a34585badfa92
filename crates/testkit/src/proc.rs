//! Figures from Linux's `/proc` files.

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
}

//! Medians and ranges over a benchmark's rounds.

use super::cert_setup::CertTool;
use super::measure::Echo;

pub fn median_of(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.filter(|v| v.is_finite()).collect();
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// `slowest–fastest`, whole numbers.
pub fn range(values: impl Iterator<Item = f64> + Clone) -> String {
    let min = values.clone().fold(f64::INFINITY, f64::min);
    let max = values.fold(f64::NEG_INFINITY, f64::max);
    format!("{min:.0}–{max:.0}")
}

/// Each certificate tool's median and range of set-up times, ms.
pub type CertMedians = Vec<(CertTool, f64, String)>;

pub fn cert_medians(times: &[(CertTool, Vec<f64>)]) -> CertMedians {
    times
        .iter()
        .map(|(tool, t)| (*tool, median_of(t.iter().copied()), range(t.iter().copied())))
        .collect()
}

/// Medians of one server's samples for one workload.
pub struct Summary {
    pub msgs: f64,
    pub mb: f64,
    pub p50: f64,
    pub p99: f64,
    pub range: String,
    /// CPU microseconds per echoed message: the server's and the load generator's.
    pub server_cpu_us: f64,
    pub generator_cpu_us: f64,
}

pub fn summary(samples: &[Echo]) -> Summary {
    let median = |f: fn(&Echo) -> f64| median_of(samples.iter().map(f));
    Summary {
        msgs: median(|e| e.messages_per_s),
        mb: median(|e| e.mb_per_s),
        p50: median(|e| e.p50_us),
        p99: median(|e| e.p99_us),
        range: range(samples.iter().map(|e| e.messages_per_s)),
        server_cpu_us: median(|e| e.server_cpu_us),
        generator_cpu_us: median(|e| e.generator_cpu_us),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts_skips_non_finite() {
        assert_eq!(median_of([3.0, 1.0, 2.0].into_iter()), 2.0);
        assert_eq!(median_of([4.0, 1.0, 2.0, 3.0].into_iter()), 2.5);
        assert_eq!(median_of([f64::NAN, 5.0].into_iter()), 5.0);
        assert_eq!(median_of(std::iter::empty()), 0.0);
    }

    #[test]
    fn range_is_slowest_to_fastest() {
        assert_eq!(range([1200.4, 998.0, 1100.0].into_iter()), "998–1200");
    }
}

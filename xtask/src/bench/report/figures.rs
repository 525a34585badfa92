//! What the sections share: a ratio, a met/missed cell, one server's medians for a case, a target row.

use crate::bench::cert_setup::CertTool;
use crate::bench::peer::Peer;
use crate::bench::plan::Case;
use crate::bench::results::Results;
use crate::bench::stats::{CertMedians, Summary, median_of, summary};
use std::fmt::{self, Write as _};

/// `value` as a multiple of `base`; 0 when there is no base.
pub(super) fn ratio(value: f64, base: f64) -> f64 {
    if base > 0.0 { value / base } else { 0.0 }
}

/// A target's cell: met or missed.
pub(super) fn verdict(met: bool) -> &'static str {
    if met { "**met**" } else { "**missed**" }
}

/// `peer`'s medians over the rounds of `case`.
pub(super) fn measured(results: &Results, peer: Peer, case: Case) -> Summary {
    summary(&results.echo_samples(peer, case))
}

/// Median echoes per second of bomb against `peer`.
pub(super) fn bomb_median(results: &Results, peer: Peer) -> f64 {
    median_of(results.bomb_samples(peer).iter().map(|b| b.messages_per_s))
}

/// `tool`'s median set-up time, ms.
pub(super) fn cert_median(certs: &CertMedians, tool: CertTool) -> f64 {
    certs
        .iter()
        .find(|(t, _, _)| *t == tool)
        .map_or(0.0, |(_, m, _)| *m)
}

/// A target row comparing two throughputs; `met` judges their ratio.
pub(super) fn throughput_target(
    md: &mut String,
    target: &str,
    (ours, theirs): (f64, f64),
    met: fn(f64) -> bool,
) -> fmt::Result {
    let r = ratio(ours, theirs);
    writeln!(
        md,
        "| {target} | {ours:.0} vs {theirs:.0} msg/s = {r:.2}× | {} |",
        verdict(met(r))
    )
}

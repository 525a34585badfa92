//! The targets table: each target of issues 6, 13 and 16 with its measured figure and whether it was met.

use super::deflate;
use super::figures::{bomb_median, cert_median, measured, ratio, throughput_target, verdict};
use crate::bench::cert_setup::CertTool;
use crate::bench::measure::Idle;
use crate::bench::peer::Peer;
use crate::bench::plan::{Case, IDLE_WS, IDLE_WSS, PIPELINE_DEPTH, Profile};
use crate::bench::results::Results;
use crate::bench::stats::{CertMedians, median_of};
use std::fmt::{self, Write as _};

/// The targets of issues 6, 13 and 16, each with its measured figure and whether it was met.
pub(super) fn targets(
    md: &mut String,
    profile: &Profile,
    results: &Results,
    certs: &CertMedians,
) -> fmt::Result {
    writeln!(md, "## Targets (issues 6, 13 and 16)\n")?;
    writeln!(md, "| target | measured | |\n|---|---|---|")?;
    let msgs = |peer, case| measured(results, peer, case).msgs;
    let ours_vs = |case, peer| (msgs(Peer::Wsecho, case), msgs(peer, case));
    let has_websocat = results.peers.contains(&Peer::Websocat);
    throughput_target(
        md,
        "small messages ≥ 1.5× the tokio-tungstenite baseline (issue 6: 1.1×)",
        ours_vs(Case::Small, Peer::Baseline),
        |r| r >= 1.5,
    )?;
    if has_websocat {
        throughput_target(
            md,
            "small messages above websocat",
            ours_vs(Case::Small, Peer::Websocat),
            |r| r > 1.0,
        )?;
    }
    throughput_target(
        md,
        "16 KiB ws ≥ 1.4× the baseline",
        ours_vs(Case::LargeWs, Peer::Baseline),
        |r| r >= 1.4,
    )?;
    throughput_target(
        md,
        "wss ≥ 0.8× ws, 16 KiB messages",
        (
            msgs(Peer::Wsecho, Case::LargeWss),
            msgs(Peer::Wsecho, Case::LargeWs),
        ),
        |r| r >= 0.8,
    )?;
    throughput_target(
        md,
        &format!("pipelined ({PIPELINE_DEPTH} in flight, `wsecho bench`) ≥ 1.0× the baseline"),
        ours_vs(Case::Pipelined, Peer::Baseline),
        |r| r >= 1.0,
    )?;
    if has_websocat {
        throughput_target(
            md,
            "pipelined (`wsecho bench`) ≥ websocat",
            ours_vs(Case::Pipelined, Peer::Websocat),
            |r| r >= 1.0,
        )?;
    }
    if !results.bomb.is_empty() {
        let bomb_ours = bomb_median(results, Peer::Wsecho);
        throughput_target(
            md,
            "pipelined (bomb) ≥ 1.0× the baseline",
            (bomb_ours, bomb_median(results, Peer::Baseline)),
            |r| r >= 1.0,
        )?;
        if has_websocat {
            throughput_target(
                md,
                "pipelined (bomb) ≥ websocat",
                (bomb_ours, bomb_median(results, Peer::Websocat)),
                |r| r >= 1.0,
            )?;
        }
    }
    for case in [
        Case::LargeWss,
        Case::HugeWss,
        Case::ChurnWs,
        Case::ChurnWssResumed,
        Case::ChurnWssFull,
    ] {
        let best_other = results
            .peers
            .iter()
            .filter(|&&peer| peer != Peer::Wsecho)
            .map(|&peer| (peer, msgs(peer, case)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((peer, theirs)) = best_other {
            throughput_target(
                md,
                &format!("{} ahead of every peer (best: {})", case.label(), peer.short()),
                (msgs(Peer::Wsecho, case), theirs),
                |r| r > 1.0,
            )?;
        }
    }
    for (case, limit) in [(IDLE_WS, 8.0), (IDLE_WSS, 16.0)] {
        if let Some(kib) = results.idle_of(case).map(Idle::kib_per_connection) {
            writeln!(
                md,
                "| ≤ {limit:.0} KiB per idle {} connection | {kib:.1} KiB ({} connections) | {} |",
                if limit > 8.0 { "wss" } else { "ws" },
                profile.idle_connections,
                verdict(kib <= limit)
            )?;
        }
    }
    deflate::targets(md, results)?;
    if let Some((_, rate, samples)) = results.half_rate.iter().find(|(p, _, _)| *p == Peer::Wsecho) {
        let p99 = median_of(samples.iter().map(|e| e.p99_us));
        writeln!(
            md,
            "| p99 < 5 ms at half the saturation rate | {:.2} ms at {rate:.0} msg/s | {} |",
            p99 / 1000.0,
            verdict(p99 < 5000.0)
        )?;
    }
    let mkcert = cert_median(certs, CertTool::Mkcert);
    for (tool, target) in [
        (CertTool::Certgen, "`certgen ca` + `issue` faster than mkcert"),
        (
            CertTool::CertgenRsa,
            "`certgen ca` + `issue` with mkcert's key types no slower than mkcert",
        ),
    ] {
        let ours = cert_median(certs, tool);
        writeln!(
            md,
            "| {target} | {ours:.1} vs {mkcert:.1} ms = {:.2}× faster | {} |",
            ratio(mkcert, ours),
            verdict(ours <= mkcert)
        )?;
    }
    writeln!(md)
}

//! The echo sections: throughput and latency per case, pipelined next to bomb, wss against ws, CPU per message,
//! connection churn, and latency at half the saturation rate.

use super::figures::{bomb_median, measured, ratio};
use crate::bench::measure::{BOMB_PAYLOAD, Echo};
use crate::bench::peer::Peer;
use crate::bench::plan::{Case, PIPELINE_DEPTH, SMALL};
use crate::bench::results::Results;
use crate::bench::stats::median_of;
use std::fmt::{self, Write as _};

pub(super) fn echo_intro(md: &mut String) -> fmt::Result {
    writeln!(md, "## Echo throughput and latency\n")?;
    writeln!(
        md,
        "Closed loop: each connection sends a message, waits for its echo, checks it byte for byte and kind for kind, \
         and sends the next. Latency is the round trip in microseconds. MB/s is payload per direction \
         (the same amount comes back). Range = slowest–fastest round. wss is TLS 1.3 with an ECDSA P-256 \
         certificate from certgen, the same for every server.\n"
    )
}

/// One case, every server.
pub(super) fn echo_table(md: &mut String, results: &Results, case: Case) -> fmt::Result {
    writeln!(md, "### {}\n", case.label())?;
    writeln!(
        md,
        "| server | msg/s | range | MB/s each way | × baseline | p50 µs | p99 µs |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|---:|---:|")?;
    let base = measured(results, Peer::Baseline, case);
    for &peer in &results.peers {
        let s = measured(results, peer, case);
        writeln!(
            md,
            "| {} | {:.0} | {} | {:.1} | {:.2} | {:.0} | {:.0} |",
            peer.name(),
            s.msgs,
            s.range,
            s.mb,
            ratio(s.msgs, base.msgs),
            s.p50,
            s.p99
        )?;
    }
    writeln!(md)
}

/// Open loop with a window: `wsecho bench --pipeline` next to bomb.
pub(super) fn pipelined(md: &mut String, results: &Results) -> fmt::Result {
    let case = Case::Pipelined;
    writeln!(md, "### {} (open loop), and bomb\n", case.label())?;
    writeln!(
        md,
        "`wsecho bench --pipeline {PIPELINE_DEPTH}` keeps {PIPELINE_DEPTH} messages in flight per connection, sends \
         the next as soon as an echo returns and checks every echo byte for byte in the order sent."
    )?;
    let with_bomb = !results.bomb.is_empty();
    if with_bomb {
        writeln!(
            md,
            " bomb (crates.io) is an independent load generator: open loop, unlimited rate with up to 6000 messages \
             in flight per connection, {} connections, 45-byte JSON text messages (`{BOMB_PAYLOAD}`, a fresh UUID \
             each) that it matches by id. Its round trips include its own queueing.\n",
            SMALL.connections
        )?;
        writeln!(
            md,
            "| server | msg/s | range | × baseline | p50 µs | p99 µs | bomb msg/s | bomb × baseline | bomb mean RTT ms |"
        )?;
        writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    } else {
        writeln!(md, "\n| server | msg/s | range | × baseline | p50 µs | p99 µs |")?;
        writeln!(md, "|---|---:|---:|---:|---:|---:|")?;
    }
    let base = measured(results, Peer::Baseline, case);
    let base_bomb = bomb_median(results, Peer::Baseline);
    for &peer in &results.peers {
        let s = measured(results, peer, case);
        write!(
            md,
            "| {} | {:.0} | {} | {:.2} | {:.0} | {:.0} |",
            peer.name(),
            s.msgs,
            s.range,
            ratio(s.msgs, base.msgs),
            s.p50,
            s.p99,
        )?;
        if with_bomb {
            let b = bomb_median(results, peer);
            let rtt = median_of(results.bomb_samples(peer).iter().map(|b| b.mean_rtt_ms));
            write!(md, " {b:.0} | {:.2} | {rtt:.1} |", ratio(b, base_bomb))?;
        }
        writeln!(md)?;
    }
    writeln!(md)
}

/// wss throughput as a share of the same server's ws throughput, per message size.
pub(super) fn wss_versus_ws(md: &mut String, results: &Results) -> fmt::Result {
    writeln!(md, "### wss versus ws, each server\n")?;
    writeln!(
        md,
        "| server | 16 KiB ws msg/s | 16 KiB wss msg/s | wss × ws | 64 KiB ws msg/s | 64 KiB wss msg/s | wss × ws |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|---:|---:|")?;
    for &peer in &results.peers {
        let m = |case| measured(results, peer, case).msgs;
        let (large_ws, large_wss, huge_ws, huge_wss) = (
            m(Case::LargeWs),
            m(Case::LargeWss),
            m(Case::HugeWs),
            m(Case::HugeWss),
        );
        writeln!(
            md,
            "| {} | {large_ws:.0} | {large_wss:.0} | {:.2} | {huge_ws:.0} | {huge_wss:.0} | {:.2} |",
            peer.name(),
            ratio(large_wss, large_ws),
            ratio(huge_wss, huge_ws)
        )?;
    }
    writeln!(md)
}

/// CPU per echoed 16 KiB message on each side, ws and wss: where the load generator shares the cores, what it
/// spends bounds every server's figure, and the wss × ws a server could reach at best.
pub(super) fn cpu_per_message(md: &mut String, results: &Results) -> fmt::Result {
    writeln!(
        md,
        "### CPU per echoed message, 16 KiB
"
    )?;
    writeln!(
        md,
        "CPU microseconds per echoed message over the measured window (`wsecho bench --server-pid`, from \
         `/proc/PID/stat`), medians of the rounds above: the server process, and the load generator on the same \
         cores. The load generator runs the same code against every server (its cost still varies with how each server \
         writes). \"wss × ws, CPU-bound\" \
         is the ratio the two totals allow when the cores are saturated; \"if the server's TLS were free\" keeps \
         the server at its ws cost and shows what the load generator's own TLS leaves.\n"
    )?;
    writeln!(
        md,
        "| server | ws server µs | ws load generator µs | wss server µs | wss load generator µs | wss × ws, CPU-bound | if the server's TLS were free |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|---:|---:|")?;
    for &peer in &results.peers {
        let (ws, wss) = (
            measured(results, peer, Case::LargeWs),
            measured(results, peer, Case::LargeWss),
        );
        let ws_total = ws.server_cpu_us + ws.generator_cpu_us;
        writeln!(
            md,
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} |",
            peer.name(),
            ws.server_cpu_us,
            ws.generator_cpu_us,
            wss.server_cpu_us,
            wss.generator_cpu_us,
            ratio(ws_total, wss.server_cpu_us + wss.generator_cpu_us),
            ratio(ws_total, ws.server_cpu_us + wss.generator_cpu_us)
        )?;
    }
    writeln!(md)
}

/// Connections per second: open, upgrade, one echo, close.
pub(super) fn churn(md: &mut String, results: &Results) -> fmt::Result {
    writeln!(md, "### Connection churn, {}\n", Case::ChurnWs.workload().label())?;
    writeln!(
        md,
        "Each of the {} connection slots connects (TCP, TLS for wss, WebSocket upgrade), sends one 32-byte message, \
         checks its echo, closes (closing handshake included) and starts again. \"resumed\" offers the session \
         tickets of earlier connections (the rustls client default); the share column is how many handshakes the \
         server actually resumed. \"full\" never resumes.\n",
        Case::ChurnWs.workload().connections
    )?;
    writeln!(
        md,
        "| server | ws conn/s | × baseline | wss resumed conn/s | resumed | × baseline | wss full conn/s | × baseline |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|")?;
    let base = |case| measured(results, Peer::Baseline, case).msgs;
    for &peer in &results.peers {
        let m = |case| measured(results, peer, case).msgs;
        let share = median_of(
            results
                .echo_samples(peer, Case::ChurnWssResumed)
                .iter()
                .filter_map(|e| e.resumed_share),
        );
        writeln!(
            md,
            "| {} | {:.0} | {:.2} | {:.0} | {:.0} % | {:.2} | {:.0} | {:.2} |",
            peer.name(),
            m(Case::ChurnWs),
            ratio(m(Case::ChurnWs), base(Case::ChurnWs)),
            m(Case::ChurnWssResumed),
            share * 100.0,
            ratio(m(Case::ChurnWssResumed), base(Case::ChurnWssResumed)),
            m(Case::ChurnWssFull),
            ratio(m(Case::ChurnWssFull), base(Case::ChurnWssFull)),
        )?;
    }
    Ok(())
}

pub(super) fn half_rate(md: &mut String, results: &Results) -> fmt::Result {
    writeln!(
        md,
        "\n### Latency at half the saturation rate, {}\n",
        SMALL.label()
    )?;
    writeln!(
        md,
        "Open loop at a fixed total rate, half of each server's median closed-loop throughput above; latency counts \
         from the scheduled send time, so queueing is not hidden.\n"
    )?;
    writeln!(
        md,
        "| server | rate msg/s | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs |\n|---|---:|---:|---:|---:|---:|---:|"
    )?;
    for (peer, rate, samples) in &results.half_rate {
        let m = |f: fn(&Echo) -> f64| median_of(samples.iter().map(f));
        writeln!(
            md,
            "| {} | {rate:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            peer.name(),
            m(|e| e.p50_us),
            m(|e| e.p90_us),
            m(|e| e.p99_us),
            m(|e| e.p999_us),
            m(|e| e.max_us)
        )?;
    }
    Ok(())
}

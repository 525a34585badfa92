//! The permessage-deflate part of docs/performance.md (issue 13): its target rows, and a section with the
//! negotiated answers, 16 KiB throughput with and without compression, and idle memory with and without it.

use super::figures::{measured, ratio, throughput_target, verdict};
use crate::bench::peer::Peer;
use crate::bench::plan::{Case, IDLE_DEFLATE, IDLE_PYTHON, IDLE_PYTHON_DEFLATE, IDLE_WS, IdleCase, Profile};
use crate::bench::results::Results;
use crate::bench::stats::median_of;
use std::fmt::{self, Write as _};

/// The compressed case, and the same load without compression.
const CASE: Case = Case::LargeWsDeflate;
const PLAIN: Case = Case::LargeWs;

/// Idle memory rows of the section, each server without and with compression.
const IDLE_ROWS: [IdleCase; 4] = [IDLE_WS, IDLE_DEFLATE, IDLE_PYTHON, IDLE_PYTHON_DEFLATE];

/// Rows for the targets table: idle compressed memory and compressed throughput against Python websockets.
pub(super) fn targets(md: &mut String, results: &Results) -> fmt::Result {
    if let (Some(ours), Some(python)) = (
        results.idle_of(IDLE_DEFLATE),
        results.idle_of(IDLE_PYTHON_DEFLATE),
    ) {
        let (ours, python) = (ours.kib_per_connection(), python.kib_per_connection());
        writeln!(
            md,
            "| an idle permessage-deflate connection costs at most what it costs in Python websockets | \
             {ours:.1} vs {python:.1} KiB per connection | {} |",
            verdict(ours <= python)
        )?;
    }
    throughput_target(
        md,
        &format!("{} ahead of Python websockets", CASE.label()),
        (
            measured(results, Peer::Wsecho, CASE).msgs,
            measured(results, Peer::Python, CASE).msgs,
        ),
        |r| r > 1.0,
    )
}

pub(super) fn section(md: &mut String, profile: &Profile, results: &Results) -> fmt::Result {
    writeln!(md, "\n## permessage-deflate\n")?;
    writeln!(
        md,
        "`wsecho bench --deflate` offers permessage-deflate (RFC 7692) on every connection (`{}`), sends every \
         message compressed and checks every inflated echo byte for byte; a figure counts only if every connection \
         negotiated the extension (the run fails otherwise). Each server runs with its own defaults: \
         `wsecho serve` as in every other case (`--deflate on` is its default; without `--deflate` the load \
         generator simply does not offer it), Python websockets with `compression=\"deflate\"` \
         (`echo_server.py --deflate`) and Node ws with `perMessageDeflate: true` (`echo_server.js --deflate`). \
         The tokio-tungstenite baseline and websocat are not in these rows: tokio-tungstenite 0.30 has no \
         permessage-deflate, and websocat 1.14 (rust-websocket) neither, its `--compress-deflate` compresses \
         message bodies, not the extension.\n",
        results
            .deflate_offer
            .as_deref()
            .unwrap_or("Sec-WebSocket-Extensions: permessage-deflate")
    )?;
    write!(
        md,
        "**The payload decides these figures.** It is `wsecho bench`'s usual one: the letters a–z repeated, the \
         first 16 bytes replaced by the message's sequence number in hex, so deflate shrinks a 16 KiB message to a \
         tiny fraction of its size"
    )?;
    if !results.deflate_saving.is_empty() {
        let saving = median_of(results.deflate_saving.iter().copied());
        write!(
            md,
            " (`wsecho serve`'s `/stats` after each round: its compressed echoes took {:.1} % of their payload \
             bytes on the wire, median)",
            (1.0 - saving) * 100.0
        )?;
    }
    writeln!(
        md,
        "; real data (JSON, text, already compressed media) compresses far less and costs more CPU per byte saved. \
         What the rows compare is the cost of compressing and inflating 16 KiB at both ends of each echo; the load \
         generator's own compression shares the machine's cores with the server.\n"
    )?;
    writeln!(md, "| server | `Sec-WebSocket-Extensions` answer |\n|---|---|")?;
    for (peer, answer) in &results.extensions {
        writeln!(md, "| {} | `{answer}` |", peer.name())?;
    }
    throughput(md, results)?;
    idle(md, profile, results)
}

fn throughput(md: &mut String, results: &Results) -> fmt::Result {
    writeln!(md, "\n### {}\n", CASE.label())?;
    writeln!(
        md,
        "× plain is the same server in the uncompressed {} case of the same rounds.\n",
        PLAIN.label()
    )?;
    writeln!(
        md,
        "| server | msg/s | range | MB/s each way | × plain | × Python websockets | p50 µs | p99 µs |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|")?;
    let python = measured(results, Peer::Python, CASE);
    for peer in results.peers.iter().copied().filter(|&peer| CASE.runs_on(peer)) {
        let s = measured(results, peer, CASE);
        let plain = measured(results, peer, PLAIN);
        writeln!(
            md,
            "| {} | {:.0} | {} | {:.1} | {:.2} | {:.2} | {:.0} | {:.0} |",
            peer.name(),
            s.msgs,
            s.range,
            s.mb,
            ratio(s.msgs, plain.msgs),
            ratio(s.msgs, python.msgs),
            s.p50,
            s.p99
        )?;
    }
    Ok(())
}

fn idle(md: &mut String, profile: &Profile, results: &Results) -> fmt::Result {
    writeln!(
        md,
        "\n### Memory per idle connection, with and without permessage-deflate\n"
    )?;
    writeln!(
        md,
        "As in the memory table above: {} connections opened by `wsecho bench --idle` (with `--deflate` for the \
         compressed rows), server RSS growth divided by their number, one measurement each. `wsecho serve` (no \
         context takeover either way, its default) holds zlib state only while a message passes; Python websockets \
         keeps a compressor and an inflater for each connection's life (context takeover, the windows of its answer \
         above, memLevel 5). × Python websockets compares with Python's row of the same kind (compressed or not). \
         These connections never sent a message, so state that a server allocates but has not touched yet may \
         not show in RSS; `wsecho bench` has no mode that sends one message per connection and then holds it idle, \
         which is what `cargo test -p wsecho --test server_deflate` measures (500 connections, one 16 KiB echo \
         each).\n",
        profile.idle_connections
    )?;
    writeln!(
        md,
        "| server | connections | RSS before KiB | RSS after KiB | KiB per connection | × Python websockets |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|---:|")?;
    for case in IDLE_ROWS {
        let Some(idle) = results.idle_of(case) else {
            continue;
        };
        let python = if case.deflate {
            IDLE_PYTHON_DEFLATE
        } else {
            IDLE_PYTHON
        };
        let python_kib = results.idle_of(python).map_or(0.0, |i| i.kib_per_connection());
        writeln!(
            md,
            "| {} | {} | {} | {} | {:.1} | {:.2} |",
            case.label,
            idle.connections,
            idle.rss_before_kib,
            idle.rss_after_kib,
            idle.kib_per_connection(),
            ratio(idle.kib_per_connection(), python_kib)
        )?;
    }
    Ok(())
}

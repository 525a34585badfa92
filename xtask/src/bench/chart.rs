//! docs/performance.svg: the report's headline figures as horizontal bars, plain SVG written by hand.

use super::plan::Case;
use super::results::Results;
use super::stats::{CertMedians, median_of};
use std::fmt::Write as _;

/// Panels of horizontal bars, plain SVG.
pub fn svg(results: &Results, certs: &CertMedians) -> String {
    let median_msgs =
        |peer, case| median_of(results.echo_samples(peer, case).iter().map(|e| e.messages_per_s));
    let median_mb = |peer, case| median_of(results.echo_samples(peer, case).iter().map(|e| e.mb_per_s));
    let mut panels: Vec<(String, Vec<(String, f64)>)> = vec![
        (
            format!(
                "Echo throughput, {} (msg/s, higher is better)",
                Case::Small.label()
            ),
            results
                .peers
                .iter()
                .map(|&p| (p.short().to_string(), median_msgs(p, Case::Small)))
                .collect(),
        ),
        (
            "Echo throughput, 16 KiB over ws and wss (MB/s each way, higher is better)".into(),
            results
                .peers
                .iter()
                .flat_map(|&p| {
                    [
                        (format!("{} ws", p.short()), median_mb(p, Case::LargeWs)),
                        (format!("{} wss", p.short()), median_mb(p, Case::LargeWss)),
                    ]
                })
                .collect(),
        ),
        (
            "Echo throughput, 16 KiB over ws without and with permessage-deflate (MB/s each way, higher is better)"
                .into(),
            results
                .peers
                .iter()
                .filter(|&&p| Case::LargeWsDeflate.runs_on(p))
                .flat_map(|&p| {
                    [
                        (format!("{} ws", p.short()), median_mb(p, Case::LargeWs)),
                        (
                            format!("{} ws deflate", p.short()),
                            median_mb(p, Case::LargeWsDeflate),
                        ),
                    ]
                })
                .collect(),
        ),
        (
            format!(
                "Connection churn, {} (conn/s, higher is better)",
                Case::ChurnWssFull.label()
            ),
            results
                .peers
                .iter()
                .map(|&p| (p.short().to_string(), median_msgs(p, Case::ChurnWssFull)))
                .collect(),
        ),
        (
            "Server memory per idle connection (KiB, lower is better)".into(),
            results
                .idle
                .iter()
                .map(|(case, i)| (case.label.to_string(), i.kib_per_connection()))
                .collect(),
        ),
        (
            "CA + localhost certificate (ms, lower is better)".into(),
            certs.iter().map(|(t, m, _)| (t.name().to_string(), *m)).collect(),
        ),
    ];
    panels.retain(|(_, bars)| !bars.is_empty());
    let (width, label_width, bar_height, gap) = (820.0, 300.0, 20.0, 6.0);
    let mut y = 10.0;
    let mut body = String::new();
    for (title, bars) in &panels {
        let _ = writeln!(
            body,
            r#"<text x="10" y="{}" font-weight="bold">{}</text>"#,
            y + 14.0,
            escape(title)
        );
        y += 24.0;
        let max = bars.iter().map(|(_, v)| *v).fold(0.0, f64::max).max(1e-9);
        for (label, value) in bars {
            let length = (width - label_width - 110.0) * value / max;
            let _ = writeln!(
                body,
                r##"<text x="{}" y="{}" text-anchor="end">{}</text><rect x="{label_width}" y="{y}" width="{length:.1}" height="{bar_height}" fill="{}"/><text x="{}" y="{}">{}</text>"##,
                label_width - 8.0,
                y + 15.0,
                escape(label),
                if label.starts_with("wsecho")
                    || label.starts_with("certgen ca + issue") && !label.contains("RSA")
                {
                    "#2b6cb0"
                } else {
                    "#a0aec0"
                },
                label_width + length + 6.0,
                y + 15.0,
                format_value(*value)
            );
            y += bar_height + gap;
        }
        y += 14.0;
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{y}\" viewBox=\"0 0 {width} {y}\" \
         font-family=\"sans-serif\" font-size=\"13\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{body}</svg>\n"
    )
}

fn format_value(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

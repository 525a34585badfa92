//! `wsecho bench` end to end, seconds long: against `wsecho serve` (ws and wss; closed loop, fixed rate,
//! pipelined, churn with and without TLS session resumption), against a Python `websockets` echo (a server that is
//! not ours), and against broken echoes (wrong kind, wrong order) that it must catch. `--deflate` runs every
//! load shape compressed against `wsecho serve` and Python `websockets` with compression, and against a server
//! that declines it. Correctness only: no test asserts a time or a rate.

mod support;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;
use support::{Finished, ServeProcess, TestCerts, http_get, run};
use tokio_tungstenite::tungstenite::Message;

/// A bench of one second plus connecting and closing.
const BENCH_TIMEOUT: Duration = Duration::from_secs(30);

/// `wsecho bench ARGS`, bounded, with its human report.
fn wsecho_bench(args: &[&str]) -> Finished {
    run(
        Command::new(env!("CARGO_BIN_EXE_wsecho")).arg("bench").args(args),
        BENCH_TIMEOUT,
    )
}

fn bench(url: &str, args: &[&str]) -> (Finished, Value) {
    let finished = run(
        Command::new(env!("CARGO_BIN_EXE_wsecho"))
            .args(["bench", url, "--duration", "1", "--warmup", "0.2", "--json"])
            .args(args),
        BENCH_TIMEOUT,
    );
    let report = serde_json::from_str(&finished.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}): {}", finished.output()));
    (finished, report)
}

/// The run succeeded, echoed something, and every connection and echo was right.
fn assert_clean(finished: &Finished, report: &Value, connections: u64) {
    assert!(finished.status.success(), "bench failed: {}", finished.output());
    assert_eq!(report["errors"], 0, "{report}");
    assert_eq!(report["connections"], connections, "{report}");
    assert!(report["messages"].as_u64().is_some_and(|m| m > 0), "{report}");
    let latency = &report["latency_us"];
    for percentile in ["p50", "p90", "p99", "p99_9", "max"] {
        assert!(
            latency[percentile].as_u64().is_some_and(|us| us > 0),
            "{percentile} in {report}"
        );
    }
    assert!(latency["p50"].as_u64() <= latency["max"].as_u64(), "{report}");
}

#[test]
fn closed_loop_text_against_wsecho_serve() {
    let server = ServeProcess::ws(&[]);
    let url = format!("ws://127.0.0.1:{}/", server.ws_port);
    let (finished, report) = bench(&url, &["-c", "8", "--size", "32"]);
    assert_clean(&finished, &report, 8);
    assert_eq!(report["kind"], "text");
    assert_eq!(report["mode"], "closed-loop");
}

#[test]
fn fixed_rate_binary_over_wss_trusting_only_our_ca() {
    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss(&certs);
    let port = server.wss_port.expect("wss listener");
    let url = format!("wss://localhost:{port}/");
    let ca = certs.ca_pem.to_str().expect("utf-8 temp path");
    let args = [
        "-c", "4", "--size", "16384", "--kind", "binary", "--rate", "200", "--ca", ca,
    ];
    let (finished, report) = bench(&url, &args);
    assert_clean(&finished, &report, 4);
    assert_eq!(report["mode"], "rate");
    assert_eq!(report["kind"], "binary");
    // At 200 msg/s for one measured second, about 200 echoes: neither flooding nor stalling.
    let messages = report["messages"].as_u64().unwrap_or_default();
    assert!((100..=300).contains(&messages), "{report}");

    // Without the CA the handshake must fail, with a one-line reason and exit code 1.
    let other = TestCerts::new();
    let wrong_ca = other.ca_pem.to_str().expect("utf-8 temp path");
    let failed = wsecho_bench(&[&url, "-c", "2", "--duration", "1", "--ca", wrong_ca]);
    assert_eq!(failed.status.code(), Some(1), "{}", failed.output());
    assert!(failed.stderr.contains("TLS handshake"), "{}", failed.output());
}

/// `--server-pid`: the CPU both sides spent in the measured window, read from /proc, per echoed message.
#[test]
fn server_pid_reports_the_cpu_of_both_sides_per_message() {
    let server = ServeProcess::ws(&[]);
    let url = format!("ws://127.0.0.1:{}/", server.ws_port);
    let pid = server.pid().to_string();
    let args = [
        "-c",
        "8",
        "--size",
        "16384",
        "--kind",
        "binary",
        "--server-pid",
        &pid,
    ];
    let (finished, report) = bench(&url, &args);
    assert_clean(&finished, &report, 8);
    let cpu = &report["cpu"];
    assert_eq!(cpu["server_pid"], server.pid(), "{report}");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    for side in ["load_generator", "server"] {
        let busy = cpu[format!("{side}_cores")].as_f64().unwrap_or_default();
        // Echoing 16 KiB messages as fast as they come keeps both sides busy, within the machine's cores.
        assert!(busy > 0.0 && busy <= cores + 0.5, "{side}: {report}");
        let per_message = cpu[format!("{side}_us_per_message")].as_f64().unwrap_or_default();
        assert!(per_message > 0.0, "{side}: {report}");
    }

    let text = wsecho_bench(&[&url, "-c", "2", "--duration", "0.5", "--server-pid", &pid]);
    assert!(text.status.success(), "{}", text.output());
    assert!(
        text.stdout.contains("cpu          load generator")
            && text.stdout.contains(&format!("server pid {pid}")),
        "{}",
        text.output()
    );
}

#[test]
fn idle_connections_are_held_and_counted() {
    let server = ServeProcess::ws(&[]);
    let url = format!("ws://127.0.0.1:{}/", server.ws_port);
    let (finished, report) = bench(&url, &["-c", "50", "--idle"]);
    assert!(finished.status.success(), "{}", finished.output());
    assert_eq!(report["connections"], 50, "{report}");
    assert_eq!(report["mode"], "idle");
    assert!(
        finished.stderr.contains("50 connections open"),
        "{}",
        finished.output()
    );
}

#[test]
fn against_python_websockets_echo() {
    let Some(python) = support::python_websockets("bench against python") else {
        return;
    };
    let (_server, url) = support::python_echo_server(&python, &[]);
    for kind in ["text", "binary"] {
        let (finished, report) = bench(&url, &["-c", "4", "--size", "1000", "--kind", kind]);
        assert_clean(&finished, &report, 4);
    }
}

/// `--deflate` with each load shape: closed loop (text), fixed rate, pipelined (binary, echoes checked in order),
/// churn and idle; every run must be clean, hold the `-c` connections it was asked for, and agree permessage-deflate
/// on every connection it opened. Returns the connections opened over all runs (churn opens one per cycle), which a
/// server's own count can be checked against.
fn bench_deflate_every_shape(url: &str, extra: &[&str], answer: &str) -> u64 {
    let shapes: [&[&str]; 5] = [
        &["-c", "4", "--size", "2000"],
        &["-c", "2", "--rate", "100"],
        &[
            "-c",
            "4",
            "--pipeline",
            "8",
            "--size",
            "16384",
            "--kind",
            "binary",
        ],
        &["-c", "2", "--churn"],
        &["-c", "20", "--idle"],
    ];
    let mut opened = 0;
    for shape in shapes {
        let args: Vec<&str> = shape.iter().chain(extra).chain(&["--deflate"]).copied().collect();
        let (finished, report) = bench(url, &args);
        let connections = requested_connections(shape);
        if report["mode"] == "idle" {
            assert!(finished.status.success(), "{}", finished.output());
            assert_eq!(report["errors"], 0, "{report}");
            assert_eq!(report["connections"], connections, "{report}");
        } else {
            assert_clean(&finished, &report, connections);
        }
        let deflate = &report["deflate"];
        assert_eq!(
            deflate["offer"], "permessage-deflate; client_max_window_bits",
            "{report}"
        );
        assert!(
            deflate["answer"].as_str().is_some_and(|a| a.starts_with(answer)),
            "{report}"
        );
        let negotiated = deflate["negotiated"].as_u64().unwrap_or_default();
        // Churn opens a connection per cycle: more than its -c.
        assert!(negotiated >= connections && negotiated > 0, "{report}");
        assert_eq!(deflate["connections"], negotiated, "{report}");
        opened += negotiated;
    }
    opened
}

/// The `-c` value of a bench's arguments.
fn requested_connections(args: &[&str]) -> u64 {
    let at = args
        .iter()
        .position(|&arg| arg == "-c")
        .expect("-c in the arguments");
    args[at + 1].parse().expect("-c takes a number")
}

#[test]
fn deflate_every_load_shape_against_wsecho_serve_over_ws_and_wss() {
    let (certs, _server, ws, wss) = ws_and_wss();
    let ca = certs.ca_pem.to_str().expect("utf-8 temp path");
    let ours = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
    let opened =
        bench_deflate_every_shape(&ws, &[], ours) + bench_deflate_every_shape(&wss, &["--ca", ca], ours);

    // The server counted each connection the reports say they opened, every one of them as compressed, and saved
    // bytes on the compressible payloads.
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let stats = runtime.block_on(http_get(&ws.replace("ws://", "http://"), "/stats", None));
    let stats: Value = serde_json::from_slice(&stats.body).expect("/stats is JSON");
    assert_eq!(stats["total_connections"], opened, "{stats}");
    assert_eq!(stats["compressed_connections"], opened, "{stats}");
    assert!(
        stats["deflate_bytes_saved"]
            .as_u64()
            .is_some_and(|saved| saved > 0),
        "{stats}"
    );
}

#[test]
fn deflate_every_load_shape_against_python_websockets_with_compression() {
    let Some(python) = support::python_websockets("bench --deflate against python") else {
        return;
    };
    // It pings every half second and drops a connection whose pong is half a second late: the receiving half
    // must answer while the sending half sends, and idle connections must answer too.
    let (_server, url) = support::python_echo_server(&python, &["--deflate", "--ping", "0.5"]);
    bench_deflate_every_shape(&url, &[], "permessage-deflate");
}

#[test]
fn deflate_declined_runs_uncompressed_and_says_so() {
    let Some(python) = support::python_websockets("bench --deflate declined") else {
        return;
    };
    let (_server, url) = support::python_echo_server(&python, &[]);
    let (finished, report) = bench(&url, &["-c", "3", "--pipeline", "4", "--deflate"]);
    assert_clean(&finished, &report, 3);
    assert!(report["deflate"]["answer"].is_null(), "{report}");
    assert_eq!(report["deflate"]["negotiated"], 0, "{report}");
    assert_eq!(report["deflate"]["connections"], 3, "{report}");

    let text = wsecho_bench(&[&url, "-c", "2", "--duration", "0.5", "--warmup", "0", "--deflate"]);
    assert!(text.status.success(), "{}", text.output());
    assert!(
        text.stdout
            .contains("deflate      offered, not negotiated (declined on all 2 connections)"),
        "{}",
        text.output()
    );
}

/// How a broken echo server gets its echoes wrong.
#[derive(Clone, Copy)]
enum Broken {
    /// Every text message comes back as binary with the same bytes.
    FlipsKind,
    /// Each pair of messages comes back in swapped order (right bytes, wrong order).
    SwapsPairs,
}

fn spawn_broken_echo(runtime: &tokio::runtime::Runtime, broken: Broken) -> u16 {
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind a loopback port");
    let port = listener.local_addr().expect("bound address").port();
    runtime.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                let mut held = None;
                while let Some(Ok(message)) = ws.next().await {
                    let replies = match (broken, message) {
                        (_, Message::Close(_)) => break,
                        (Broken::FlipsKind, Message::Text(text)) => {
                            vec![Message::binary(text.as_bytes().to_vec())]
                        }
                        (Broken::SwapsPairs, message) => match held.take() {
                            None => {
                                held = Some(message);
                                vec![]
                            }
                            Some(first) => vec![message, first],
                        },
                        (_, other) => vec![other],
                    };
                    for reply in replies {
                        if ws.send(reply).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    port
}

/// `wsecho serve` with a ws and a wss listener: its certificates, the server, and the ws:// and wss:// URLs.
fn ws_and_wss() -> (TestCerts, ServeProcess, String, String) {
    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss(&certs);
    let ws = format!("ws://127.0.0.1:{}/", server.ws_port);
    let wss = format!("wss://localhost:{}/", server.wss_port.expect("wss listener"));
    (certs, server, ws, wss)
}

#[test]
fn pipelined_echoes_are_checked_in_order_over_ws_and_wss() {
    let (certs, _server, ws, wss) = ws_and_wss();
    let ca = certs.ca_pem.to_str().expect("utf-8 temp path");
    for (url, size) in [(&ws, "32"), (&wss, "16384")] {
        let args = [
            "-c",
            "4",
            "--pipeline",
            "16",
            "--size",
            size,
            "--kind",
            "binary",
            "--ca",
            ca,
        ];
        let (finished, report) = bench(url, &args);
        assert_clean(&finished, &report, 4);
        assert_eq!(report["mode"], "pipelined", "{report}");
        assert_eq!(report["pipeline"], 16, "{report}");
    }
}

#[test]
fn a_pipelined_run_catches_echoes_out_of_order() {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let port = spawn_broken_echo(&runtime, Broken::SwapsPairs);
    let (finished, report) = bench(
        &format!("ws://127.0.0.1:{port}/"),
        &["-c", "2", "--pipeline", "8"],
    );
    assert_eq!(finished.status.code(), Some(1), "{}", finished.output());
    assert_eq!(report["errors"], 2, "{report}");
    assert!(
        report["error_samples"][0]
            .as_str()
            .is_some_and(|e| e.contains("message 0: echo differs")),
        "{report}"
    );
}

#[test]
fn churn_over_ws_and_wss_with_and_without_session_resumption() {
    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss(&certs);
    let ca = certs.ca_pem.to_str().expect("utf-8 temp path");
    let ws = format!("ws://127.0.0.1:{}/", server.ws_port);
    let (finished, report) = bench(&ws, &["-c", "2", "--churn"]);
    assert_clean(&finished, &report, 2);
    assert_eq!(report["mode"], "churn", "{report}");
    assert!(report["tls_handshakes"].is_null(), "{report}");

    let wss = format!("wss://localhost:{}/", server.wss_port.expect("wss listener"));
    let (finished, report) = bench(&wss, &["-c", "2", "--churn", "--ca", ca]);
    assert_clean(&finished, &report, 2);
    let handshakes = report["tls_handshakes"].as_u64().unwrap_or_default();
    let resumed = report["tls_resumed"].as_u64().unwrap_or_default();
    // Only each slot's first handshake is full; the server's tickets let every later one resume.
    assert!(handshakes > 2 && resumed > 0 && resumed <= handshakes, "{report}");

    let (finished, report) = bench(&wss, &["-c", "2", "--churn", "--no-tls-resumption", "--ca", ca]);
    assert_clean(&finished, &report, 2);
    assert!(
        report["tls_handshakes"].as_u64().is_some_and(|n| n > 0),
        "{report}"
    );
    assert_eq!(report["tls_resumed"], 0, "{report}");
}

#[test]
fn a_wrong_echo_is_counted_reported_and_fails_the_run() {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let port = spawn_broken_echo(&runtime, Broken::FlipsKind);
    let (finished, report) = bench(&format!("ws://127.0.0.1:{port}/"), &["-c", "3"]);
    assert_eq!(finished.status.code(), Some(1), "{}", finished.output());
    assert_eq!(report["errors"], 3, "{report}");
    assert!(
        report["error_samples"][0]
            .as_str()
            .is_some_and(|e| e.contains("sent text, echo came back as binary")),
        "{report}"
    );
    assert!(
        finished.stderr.contains("3 of the connections failed"),
        "{}",
        finished.output()
    );
}

#[test]
fn bad_usage_exits_2_naming_the_value() {
    for (args, named) in [
        (vec!["bench", "http://127.0.0.1:1/"], "ws:// or wss://"),
        (vec!["bench", "ws://127.0.0.1:1/", "-c", "0"], "-c 0"),
        (vec!["bench", "ws://127.0.0.1:1/", "--rate=-5"], "--rate -5"),
        (
            vec!["bench", "ws://127.0.0.1:1/", "--duration", "0"],
            "--duration 0",
        ),
        (vec!["bench", "wss://127.0.0.1:1/"], "--ca"),
        (
            vec!["bench", "ws://127.0.0.1:1/", "--pipeline", "0"],
            "--pipeline 0",
        ),
        (
            vec!["bench", "ws://127.0.0.1:1/", "--server-pid", "4294967295"],
            "--server-pid 4294967295",
        ),
    ] {
        let finished = run(
            Command::new(env!("CARGO_BIN_EXE_wsecho")).args(&args),
            BENCH_TIMEOUT,
        );
        assert_eq!(finished.status.code(), Some(2), "{args:?}: {}", finished.output());
        assert!(finished.stderr.contains(named), "{args:?}: {}", finished.output());
    }
}

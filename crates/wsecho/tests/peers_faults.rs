//! Each fault of the `/fault?...` grammar and the broadcast rooms, driven by Python `websockets` against the
//! `wsecho` binary: the close code and reason the client sees, when it comes, the refused upgrade's status, what
//! the client does with a subprotocol it did not offer, and `--no-faults`. The client is
//! `tests/peers/fault_client.py`, which reports what it observed as JSON; server_faults.rs checks the same URLs
//! on the wire.

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::{ServeProcess, run};

/// One client run: connect, a few echoes, and a wait of at most a few seconds for the server's ending.
const PEER_TIMEOUT: Duration = Duration::from_secs(40);
/// Slack for a timed fault on a loaded machine.
const LATE_S: f64 = 4.0;

/// `fault_client.py probe URL ARGS`, its JSON report; `None` when Python `websockets` is missing (skipped).
fn probe(test: &str, url: &str, args: &[&str]) -> Option<Value> {
    let python = support::python_websockets(test)?;
    let mut cmd = Command::new(python);
    cmd.arg(support::repo_root().join("tests/peers/fault_client.py"))
        .arg("probe")
        .arg(url)
        .args(args);
    Some(report_of(&mut cmd))
}

/// [`probe`] of `/fault?QUERY` on a server of its own.
fn probe_fault(test: &str, query: &str, args: &[&str]) -> Option<Value> {
    let server = ServeProcess::ws(&[]);
    probe(test, &fault_url(&server, query), args)
}

fn report_of(cmd: &mut Command) -> Value {
    let finished = run(cmd, PEER_TIMEOUT);
    assert!(finished.status.success(), "{cmd:?}: {}", finished.output());
    serde_json::from_str(finished.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", finished.output()))
}

fn fault_url(server: &ServeProcess, query: &str) -> String {
    format!("{}/fault?{query}", server.url("ws"))
}

fn echoes(report: &Value) -> Vec<&Value> {
    report["echoes"].as_array().expect("echoes").iter().collect()
}

fn close_of(report: &Value) -> (u64, &str) {
    (
        report["close_code"].as_u64().expect("close code"),
        report["close_reason"].as_str().expect("close reason"),
    )
}

fn secs(report: &Value, field: &str) -> f64 {
    report[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} in {report}"))
}

#[test]
fn close_after_n_messages_reaches_python_with_its_code_and_reason() {
    let server = ServeProcess::ws(&[]);
    let url = fault_url(&server, "close=4000&reason=bye&after=3");
    let Some(report) = probe("close after", &url, &["--send", "5"]) else {
        return;
    };
    let echoed = echoes(&report);
    assert_eq!(echoed.len(), 3, "three echoes, then the close: {report}");
    assert!(echoed.iter().all(|echo| echo["same"] == true), "{report}");
    assert_eq!(close_of(&report), (4000, "bye"), "{report}");
    assert_eq!(report["server_ended"], true, "{report}");

    let at_once = probe(
        "close at once",
        &fault_url(&server, "close=1000"),
        &["--send", "1"],
    )
    .expect("python");
    assert!(echoes(&at_once).is_empty(), "no echo before the close: {at_once}");
    assert_eq!(close_of(&at_once), (1000, ""), "{at_once}");
}

#[test]
fn close_after_seconds_comes_on_time() {
    let query = "close=4001&reason=time%20is%20up&after_secs=1.5";
    let Some(report) = probe_fault("close after_secs", query, &["--send", "1", "--wait", "10"]) else {
        return;
    };
    assert_eq!(echoes(&report).len(), 1, "echoes until the time: {report}");
    assert_eq!(close_of(&report), (4001, "time is up"), "{report}");
    let closed = secs(&report, "closed_after_s");
    assert!(
        (1.4..1.5 + LATE_S).contains(&closed),
        "closed after {closed} s: {report}"
    );
}

#[test]
fn drop_leaves_python_with_1006() {
    let Some(report) = probe_fault("drop", "drop&after=2", &["--send", "4"]) else {
        return;
    };
    assert_eq!(echoes(&report).len(), 2, "{report}");
    assert_eq!(close_of(&report), (1006, ""), "no close frame, so 1006: {report}");
}

#[test]
fn delay_holds_each_echo() {
    let Some(report) = probe_fault("delay", "delay_ms=400", &["--send", "3", "--wait", "0.1"]) else {
        return;
    };
    let echoed = echoes(&report);
    assert_eq!(echoed.len(), 3, "{report}");
    for echo in echoed {
        let rtt = secs(echo, "rtt_s");
        assert!(
            (0.39..0.4 + LATE_S).contains(&rtt),
            "round trip {rtt} s with delay_ms=400: {report}"
        );
        assert_eq!(echo["same"], true, "{report}");
    }
}

#[test]
fn fragmented_echoes_reassemble_in_python() {
    let Some(report) = probe_fault("fragment", "fragment=2", &["--send", "2", "--wait", "0.1"]) else {
        return;
    };
    let echoed = echoes(&report);
    assert_eq!(echoed.len(), 2, "{report}");
    assert!(echoed.iter().all(|echo| echo["same"] == true), "{report}");
}

#[test]
fn python_answers_the_pings_and_stays_connected() {
    let Some(report) = probe_fault("ping_every", "ping_every=0.2", &["--wait", "1.5"]) else {
        return;
    };
    // About seven pings in 1.5 s, each answered by websockets' automatic pong: no 1011.
    let pings = report["pings_received"].as_u64().expect("pings");
    assert!((3..=9).contains(&pings), "pings every 0.2 s for 1.5 s: {report}");
    assert_eq!(report["server_ended"], false, "{report}");
    assert_eq!(report["echo_after_wait"], true, "{report}");
    assert_eq!(close_of(&report), (1000, "probe done"), "{report}");
}

#[test]
fn refused_and_malformed_upgrades_show_their_status_in_python() {
    let Some(refused) = probe_fault("refuse", "refuse=503", &[]) else {
        return;
    };
    assert_eq!(refused["error_type"], "InvalidStatus", "{refused}");
    assert_eq!(refused["status"], 503, "{refused}");
    let malformed = probe_fault("malformed", "close=4000&fragment=0", &[]).expect("python");
    assert_eq!(malformed["status"], 400, "{malformed}");
    let body = malformed["body"].as_str().expect("body");
    assert!(body.contains("bad fault parameter \"fragment\""), "{malformed}");
}

#[test]
fn python_rejects_a_subprotocol_it_did_not_offer() {
    let server = ServeProcess::ws(&[]);
    let url = fault_url(&server, "subprotocol=mqtt");
    let Some(none_offered) = probe("subprotocol", &url, &[]) else {
        return;
    };
    assert_eq!(none_offered["error_type"], "NegotiationError", "{none_offered}");
    assert_eq!(
        none_offered["error"], "no subprotocols supported",
        "{none_offered}"
    );
    let other_offered = probe("subprotocol", &url, &["--offer", "chat"]).expect("python");
    assert_eq!(
        other_offered["error"], "unsupported subprotocol: mqtt",
        "{other_offered}"
    );
}

#[test]
fn no_faults_makes_the_fault_url_a_plain_echo() {
    let server = ServeProcess::ws(&["--no-faults"]);
    assert!(
        server.banner.iter().any(|line| line.starts_with("faults: off")),
        "{:?}",
        server.banner
    );
    let url = fault_url(&server, "close=4000&after=1&delay_ms=2000");
    let Some(report) = probe("no faults", &url, &["--send", "3", "--wait", "0.5"]) else {
        return;
    };
    let echoed = echoes(&report);
    assert_eq!(echoed.len(), 3, "{report}");
    assert!(
        echoed.iter().all(|echo| secs(echo, "rtt_s") < 1.5),
        "no delay: {report}"
    );
    assert_eq!(report["server_ended"], false, "{report}");
    let refused = probe("no faults", &fault_url(&server, "refuse=503"), &["--wait", "0.1"]).expect("python");
    assert_eq!(
        refused["echo_after_wait"], true,
        "connected, not refused: {refused}"
    );
}

#[test]
fn broadcast_members_hear_their_room_and_not_another() {
    let Some(python) = support::python_websockets("broadcast") else {
        return;
    };
    let server = ServeProcess::ws(&[]);
    let ws = server.url("ws");
    let mut cmd = Command::new(python);
    cmd.arg(support::repo_root().join("tests/peers/fault_client.py"))
        .arg("broadcast")
        .arg(format!("{ws}/broadcast/a"))
        .arg(format!("{ws}/broadcast/b"));
    let heard = report_of(&mut cmd);
    let room_a = serde_json::json!(["from a1", "from a2"]);
    assert_eq!(heard["a1"], room_a, "{heard}");
    assert_eq!(heard["a2"], room_a, "{heard}");
    assert_eq!(heard["b1"], serde_json::json!(["from b1"]), "{heard}");
}

#[test]
fn faults_work_the_same_over_wss() {
    let certs = support::TestCerts::new();
    let server = ServeProcess::ws_and_wss(&certs);
    let ca = certs.ca_pem.to_str().expect("UTF-8 path");
    let wss = server.url("wss");
    let Some(closed) = probe(
        "wss close",
        &format!("{wss}/fault?close=4000&reason=bye&after=1"),
        &["--send", "2", "--ca", ca],
    ) else {
        return;
    };
    assert_eq!(echoes(&closed).len(), 1, "{closed}");
    assert_eq!(close_of(&closed), (4000, "bye"), "{closed}");
    let dropped = probe(
        "wss drop",
        &format!("{wss}/fault?drop&after=1"),
        &["--send", "2", "--ca", ca],
    )
    .expect("python");
    assert_eq!(echoes(&dropped).len(), 1, "{dropped}");
    assert_eq!(
        close_of(&dropped),
        (1006, ""),
        "TLS ends without a close frame: {dropped}"
    );
}

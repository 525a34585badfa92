//! The test page under the common screenshot recipe `chromium --headless --virtual-time-budget=10000 --dump-dom`:
//! virtual time makes timers jump ahead while the page waits for a WebSocket, which once failed the 1 MiB step with
//! a bogus timeout. The page must reach PASS there too.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::*;

const CHROMIUM: &str = "/usr/bin/chromium";
/// The recipe's own budget runs out within seconds of real time; this bounds a browser that hangs.
const DUMP_TIMEOUT: Duration = Duration::from_secs(90);

#[test]
fn the_page_passes_under_a_virtual_time_budget() {
    if !Path::new(CHROMIUM).exists() {
        skip_or_fail(
            "page under virtual time",
            &format!("{CHROMIUM} is not installed (Debian package `chromium`)"),
        );
        return;
    }
    let server = ServeProcess::ws(&[]);
    let profile = tempfile::tempdir().expect("temp dir");
    let page = format!("http://127.0.0.1:{}/", server.ws_port);
    let dumped = run(
        Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--virtual-time-budget=10000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(&page)
            .env("HOME", profile.path()),
        DUMP_TIMEOUT,
    );
    assert!(dumped.status.success(), "{}", dumped.output());
    for step in ["connect", "text", "binary", "large", "latency", "close"] {
        let passed = format!("id=\"step-{step}\" data-status=\"pass\"");
        assert!(
            dumped.stdout.contains(&passed),
            "step {step} did not pass:\n{}",
            dumped.stdout
        );
    }
    assert!(dumped.stdout.contains("<title>PASS"), "{}", dumped.stdout);
}

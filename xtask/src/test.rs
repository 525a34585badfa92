//! `cargo xtask test`: everything CI checks (tests, then a smoke run of the benchmark against the in-tree
//! servers), in the order that fails fastest, each step timed; `cargo xtask e2e`: the browser part.

use crate::banner;
use crate::bench::{self, BenchArgs};
use crate::cmd::cargo;
use crate::cmd::{self, KillOnDrop};
use crate::peers::{self, Peers};
use crate::scratch::Scratch;
use crate::steps::Steps;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// `cargo xtask up` in a fresh clone compiles the workspace crates before it serves; this bounds that.
const UP_START_TIMEOUT: Duration = Duration::from_secs(600);
/// How long `cargo xtask up` may take to shut down gracefully before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// A local `git clone` of this checkout.
const CLONE_TIMEOUT: Duration = Duration::from_secs(120);

pub fn run(root: &Path) -> anyhow::Result<()> {
    let mut steps = Steps::new("test");
    steps.run("fmt", || cmd::run(cargo(root).args(["fmt", "--all", "--check"])))?;
    steps.run("clippy", || {
        cmd::run(cargo(root).args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))
    })?;
    let peers = steps.run("peers", || peers::ensure(root))?;
    steps.run("cargo test", || cargo_test(root, &peers, &["--all-targets"]))?;
    steps.run("doc tests", || cargo_test(root, &peers, &["--doc"]))?;
    // Every in-tree server and certificate tool of the benchmark runs once; no figure is checked.
    steps.run("bench smoke", || bench::run(root, &BenchArgs::smoke()))?;
    steps.run("up from a clean clone", || up_from_a_clean_clone(root))?;
    steps.finish();
    Ok(())
}

/// `cargo test --workspace` with `args`, pointed at the installed peers (a missing peer fails).
fn cargo_test(root: &Path, peers: &Peers, args: &[&str]) -> anyhow::Result<()> {
    let mut test = cargo(root);
    test.args(["test", "--workspace"]).args(args);
    peers.apply(&mut test);
    cmd::run(&mut test)
}

pub fn e2e(root: &Path) -> anyhow::Result<()> {
    let mut test = cargo(root);
    test.args(["test", "--package", "wsecho", "--test", "peers_browser"])
        .env("LOCALTLS_REQUIRE_PEERS", "1");
    cmd::run(&mut test)?;
    up_from_a_clean_clone(root)
}

/// The README's promise: in a fresh clone, `cargo xtask up` and nothing else makes a browser show PASS.
/// Runs `up` with a throw-away HOME (so its trust step fills a fresh NSS db), then points headless Chromium with
/// that HOME at the page (the browser test's `xtask_up_page_passes`, which only runs when given the page).
fn up_from_a_clean_clone(root: &Path) -> anyhow::Result<()> {
    let scratch = Scratch::new("xtask-up")?;
    let clone = scratch.0.join("clone");
    let home = scratch.0.join("home");
    std::fs::create_dir_all(&home)?;
    cmd::run_within(
        Command::new("git")
            .args(["clone", "--quiet"])
            .arg(root)
            .arg(&clone),
        CLONE_TIMEOUT,
    )?;

    let mut up = Command::new(env!("CARGO"));
    up.current_dir(&clone)
        .args(["xtask", "up"])
        .env("HOME", &home)
        // A new HOME must not hide the toolchain, which rustup finds through it by default.
        .env("RUSTUP_HOME", tool_home("RUSTUP_HOME", ".rustup"))
        .env("CARGO_HOME", tool_home("CARGO_HOME", ".cargo"))
        // Reuse this checkout's compiled dependencies; the clone's own crates still build from its sources.
        .env("CARGO_TARGET_DIR", cmd::target_dir(root))
        .stdout(Stdio::piped());
    eprintln!("xtask: running {up:?}");
    // Its own process group, so that stopping it also stops the server cargo started.
    let mut server =
        KillOnDrop::spawn_group(&mut up, STOP_TIMEOUT).context("cannot start `cargo xtask up`")?;
    let stdout = server.stdout.take().context("no stdout from `cargo xtask up`")?;
    let lines = cmd::lines(stdout, Some("up | "));
    let page = cmd::wait_for_line(&lines, UP_START_TIMEOUT, |line| {
        banner::listening_url(line)
            .filter(|url| url.starts_with("wss://"))
            .and(banner::page_url(line))
            .filter(|page| page.starts_with("https://localhost:"))
            .map(String::from)
    })
    .context("`cargo xtask up` did not announce its https://localhost page in time")?;

    let mut check = cargo(root);
    check
        .args([
            "test",
            "--package",
            "wsecho",
            "--test",
            "peers_browser",
            "--",
            "--ignored",
            "--exact",
            "xtask_up_page_passes",
        ])
        .env("LOCALTLS_REQUIRE_PEERS", "1")
        .env("LOCALTLS_UP_PAGE", &page)
        .env("LOCALTLS_UP_HOME", &home);
    cmd::run(&mut check)
}

/// Where rustup or cargo keeps its files for the current user: `$VAR`, else `$HOME/<default>`.
fn tool_home(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(default),
        PathBuf::from,
    )
}

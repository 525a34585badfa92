//! `cargo xtask test`: everything CI checks (tests, then a one-round `cargo xtask bench --quick`), in the order
//! that fails fastest; `cargo xtask e2e`: the browser part.

use crate::peers;
use crate::scratch::Scratch;
use anyhow::{Context, bail};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// `cargo xtask up` in a fresh clone compiles the workspace crates before it serves; this bounds that.
const UP_START_TIMEOUT: Duration = Duration::from_secs(600);
/// How long `cargo xtask up` may take to shut down gracefully before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

pub fn run(root: &Path) -> anyhow::Result<()> {
    cargo(root, &["fmt", "--all", "--check"])?;
    cargo(
        root,
        &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"],
    )?;
    let peers = peers::ensure(root)?;
    let mut test = Command::new(env!("CARGO"));
    test.current_dir(root)
        .args(["test", "--workspace", "--all-targets"]);
    peers.apply(&mut test);
    status(&mut test)?;
    cargo(root, &["test", "--workspace", "--doc"])?;
    // Every server, load generator and certificate tool of the benchmark runs once; no figure is checked.
    crate::bench::run(root, &crate::bench::BenchArgs { quick: true })?;
    up_from_a_clean_clone(root)
}

pub fn e2e(root: &Path) -> anyhow::Result<()> {
    let mut test = Command::new(env!("CARGO"));
    test.current_dir(root)
        .args(["test", "--package", "wsecho", "--test", "peers_browser"])
        .env("LOCALTLS_REQUIRE_PEERS", "1");
    status(&mut test)?;
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
    status(
        Command::new("git")
            .args(["clone", "--quiet"])
            .arg(root)
            .arg(&clone),
    )?;

    let mut up = Command::new(env!("CARGO"));
    up.current_dir(&clone)
        .args(["xtask", "up"])
        .env("HOME", &home)
        // A new HOME must not hide the toolchain, which rustup finds through it by default.
        .env("RUSTUP_HOME", tool_home("RUSTUP_HOME", ".rustup"))
        .env("CARGO_HOME", tool_home("CARGO_HOME", ".cargo"))
        // Reuse this checkout's compiled dependencies; the clone's own crates still build from its sources.
        .env("CARGO_TARGET_DIR", target_dir(root))
        .stdout(Stdio::piped())
        .process_group(0);
    eprintln!("xtask: running {up:?}");
    let mut server = ProcessGroup(up.spawn().context("cannot start `cargo xtask up`")?);
    let page = server.wait_for_page()?;

    let mut check = Command::new(env!("CARGO"));
    check
        .current_dir(root)
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
    status(&mut check)
}

/// `cargo xtask up` running in its own process group, so that stopping it also stops the server cargo started.
struct ProcessGroup(Child);

impl ProcessGroup {
    /// Reads the banner until the wss page URL appears (`listening wss://... page https://...`).
    fn wait_for_page(&mut self) -> anyhow::Result<String> {
        let stdout = self.0.stdout.take().context("no stdout from `cargo xtask up`")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("up | {line}");
                let page = line
                    .strip_prefix("listening wss://")
                    .and_then(|rest| rest.split_once(" page "))
                    .map(|(_, page)| page.trim().to_string());
                if let Some(page) = page.filter(|p| p.starts_with("https://localhost:")) {
                    let _ = tx.send(page);
                }
            }
        });
        rx.recv_timeout(UP_START_TIMEOUT)
            .context("`cargo xtask up` did not announce its https://localhost page in time")
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        // SIGTERM lets the server close its connections with 1001; SIGKILL if it has not exited in time.
        self.signal("TERM");
        let deadline = std::time::Instant::now() + STOP_TIMEOUT;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.signal("KILL");
        let _ = self.0.wait();
    }
}

impl ProcessGroup {
    fn signal(&self, name: &str) {
        // `--`: a negative number after it is a process group, not an option.
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-s", name, "--", &group]).status();
    }
}

/// Where rustup or cargo keeps its files for the current user: `$VAR`, else `$HOME/<default>`.
fn tool_home(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(default),
        PathBuf::from,
    )
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

fn cargo(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    status(Command::new(env!("CARGO")).current_dir(root).args(args))
}

pub fn status(cmd: &mut Command) -> anyhow::Result<()> {
    let shown = format!("{cmd:?}");
    eprintln!("xtask: running {shown}");
    let exit = cmd.status().with_context(|| format!("cannot start {shown}"))?;
    if !exit.success() {
        bail!("{shown} failed with {exit}");
    }
    Ok(())
}

//! `cargo xtask test`: everything CI checks (tests, then a smoke run of the benchmark against the in-tree
//! servers), in the order that fails fastest, each step timed; `cargo xtask e2e`: the browser part.

use crate::banner;
use crate::bench::{self, BenchArgs};
use crate::cmd::cargo;
use crate::cmd::{self, KillOnDrop, StopGroupOnDrop};
use crate::peers::{self, Peers};
use crate::scratch::Scratch;
use crate::steps::Steps;
use anyhow::{Context, bail};
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
    // The doc tests run even when a test above failed, so that one run names every failing test.
    let unit = steps.run("cargo test", || cargo_test(root, &peers, &["--all-targets"]));
    let doc = steps.run("doc tests", || cargo_test(root, &peers, &["--doc"]));
    steps.count_tests(both(unit, doc)?);
    // Every in-tree server and certificate tool of the benchmark runs once; no figure is checked.
    steps.run("bench smoke", || bench::run(root, &BenchArgs::smoke()))?;
    steps.run("up from a clean clone", || up_from_a_clean_clone(root))?;
    steps.finish();
    Ok(())
}

/// `cargo test --workspace --no-fail-fast` with `args` (so a failing test binary does not keep the others from
/// running), pointed at the installed peers (a missing peer fails); its output is shown as it comes. The tests
/// passed are counted from its `test result:` lines, and a failure names every failed test.
fn cargo_test(root: &Path, peers: &Peers, args: &[&str]) -> anyhow::Result<usize> {
    let mut test = cargo(root);
    test.args(["test", "--workspace", "--no-fail-fast"])
        .args(args)
        .stdout(Stdio::piped());
    peers.apply(&mut test);
    let shown = format!("{test:?}");
    eprintln!("xtask: running {shown}");
    let mut child = KillOnDrop::spawn(&mut test).with_context(|| format!("cannot start {shown}"))?;
    let stdout = child.stdout.take().context("no stdout from cargo test")?;
    let mut report = TestReport::default();
    for line in cmd::lines(stdout, Some("")) {
        report.read(&line);
    }
    let exit = child.wait()?;
    if !exit.success() {
        bail!("{shown} failed with {exit}: {}", report.failures());
    }
    Ok(report.passed)
}

/// What libtest printed on cargo test's stdout: the tests passed, and the names of those that failed.
#[derive(Default)]
struct TestReport {
    passed: usize,
    failed: Vec<String>,
}

impl TestReport {
    fn read(&mut self, line: &str) {
        self.passed += tests_passed(line);
        if let Some(name) = line
            .strip_prefix("test ")
            .and_then(|rest| rest.strip_suffix(" ... FAILED"))
        {
            self.failed.push(name.to_owned());
        }
    }

    /// The failed tests, one per line; when none printed FAILED (a test binary that crashed or did not build),
    /// where to look instead.
    fn failures(&self) -> String {
        match self.failed.len() {
            0 => "no test printed FAILED; see cargo's errors above (a build error, or a test binary that \
                  crashed)"
                .to_owned(),
            n => format!(
                "{n} failed test{}:\n  {}",
                if n == 1 { "" } else { "s" },
                self.failed.join("\n  ")
            ),
        }
    }
}

/// The N of a libtest summary line `test result: ok. N passed; ...`; 0 for any other line.
fn tests_passed(line: &str) -> usize {
    line.strip_prefix("test result: ")
        .and_then(|rest| {
            rest.split_once(". ")?
                .1
                .split_once(" passed")
                .map(|(n, _)| n.to_owned())
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The tests passed by two steps that both ran; when either failed, its error (both, one after the other).
fn both(first: anyhow::Result<usize>, second: anyhow::Result<usize>) -> anyhow::Result<usize> {
    match (first, second) {
        (Ok(a), Ok(b)) => Ok(a + b),
        (Err(err), Ok(_)) | (Ok(_), Err(err)) => Err(err),
        (Err(a), Err(b)) => Err(anyhow::anyhow!("{a:#}\n{b:#}")),
    }
}

pub fn e2e(root: &Path) -> anyhow::Result<()> {
    let mut test = cargo(root);
    test.args(["test", "--package", "wsecho", "--test", "peers_browser"])
        .env("LOCALTLS_REQUIRE_PEERS", "1");
    cmd::run(&mut test)?;
    up_from_a_clean_clone(root)
}

/// Set (by `.ci/run`, as root) to remove `libnss3-tools` before `up`, so that `up` itself must install it again.
const WITHOUT_NSS_TOOLS_VAR: &str = "LOCALTLS_UP_WITHOUT_NSS_TOOLS";
/// Removing a package is quick; this bounds a stuck dpkg lock.
const APT_TIMEOUT: Duration = Duration::from_secs(300);

/// The README's promise: in a fresh clone, `cargo xtask up` and nothing else makes a browser show PASS.
/// Runs `up --yes` with a throw-away HOME (so its trust step fills a fresh NSS db), then points headless Chromium
/// with that HOME at the page (the browser test's `xtask_up_page_passes`, which only runs when given the page).
/// With `$LOCALTLS_UP_WITHOUT_NSS_TOOLS` set, `libnss3-tools` is removed first and `up` must reinstall it. While
/// that `up` holds the default ports, a second `up` must fail with one line naming port 8080, and a third with
/// `--ws-port`/`--wss-port` must serve on the ports it was given.
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
    let removed = remove_nss_tools_when_asked()?;

    let (_server, lines) = start_up(root, &clone, &home, &["--yes"])?;
    let mut installed = false;
    let page = cmd::wait_for_line(&lines, UP_START_TIMEOUT, |line| {
        installed |= line.starts_with("certutil: installing");
        banner::listening_url(line)
            .filter(|url| url.starts_with("wss://"))
            .and(banner::page_url(line))
            .filter(|page| page.starts_with("https://localhost:"))
            .map(String::from)
    })
    .context("`cargo xtask up` did not announce its https://localhost page in time")?;
    let verdict = cmd::wait_for_line(&lines, STOP_TIMEOUT, |line| {
        line.starts_with("verdict: ").then(|| line.to_owned())
    })
    .context("`cargo xtask up` printed no verdict line")?;
    if !banner::trusted_by(&verdict, "Chromium") {
        bail!("`cargo xtask up` did not trust the CA: {verdict}");
    }
    match (removed, installed) {
        (true, true) => eprintln!("xtask: libnss3-tools was removed first; `up --yes` installed it again"),
        (true, false) => bail!("libnss3-tools was removed, but `up --yes` did not install it"),
        (false, _) => eprintln!(
            "xtask: note: certutil stayed installed, so up's install step was not exercised \
             ({WITHOUT_NSS_TOOLS_VAR}=1, as .ci/run sets it as root, removes libnss3-tools first)"
        ),
    }

    let mut check = ignored_wsecho_test(root, "peers_browser", "xtask_up_page_passes");
    check
        .env("LOCALTLS_UP_PAGE", &page)
        .env("LOCALTLS_UP_HOME", &home);
    cmd::run(&mut check)?;
    a_second_up_reports_the_taken_port(root, &clone, &home)?;
    up_serves_on_the_ports_it_is_given(root, &clone, &home)?;
    up_lan_prints_a_qr_code_for_phones(root, &clone, &home, &scratch)
}

/// With `$LOCALTLS_UP_WITHOUT_NSS_TOOLS` set: `apt-get remove libnss3-tools`, and check certutil is gone.
fn remove_nss_tools_when_asked() -> anyhow::Result<bool> {
    if std::env::var_os(WITHOUT_NSS_TOOLS_VAR).is_none() {
        return Ok(false);
    }
    cmd::run_within(
        Command::new("apt-get").args(["remove", "-y", "-qq", "libnss3-tools"]),
        APT_TIMEOUT,
    )?;
    if Command::new("certutil").arg("-H").output().is_ok() {
        bail!("certutil is still on PATH after removing libnss3-tools");
    }
    eprintln!("xtask: removed libnss3-tools: certutil is not installed now");
    Ok(true)
}

/// `cargo xtask up ARGS` in the clone with `home`, in its own process group; its stdout lines.
fn start_up(
    root: &Path,
    clone: &Path,
    home: &Path,
    args: &[&str],
) -> anyhow::Result<(StopGroupOnDrop, std::sync::mpsc::Receiver<String>)> {
    let mut up = up_command(root, clone, home);
    up.args(args).stdin(Stdio::null()).stdout(Stdio::piped());
    eprintln!("xtask: running {up:?}");
    // Its own process group, so that stopping it also stops the server cargo started.
    let mut server =
        StopGroupOnDrop::spawn(&mut up, STOP_TIMEOUT).context("cannot start `cargo xtask up`")?;
    let stdout = server.stdout.take().context("no stdout from `cargo xtask up`")?;
    Ok((server, cmd::lines(stdout, Some("up | "))))
}

fn up_command(root: &Path, clone: &Path, home: &Path) -> Command {
    let mut up = Command::new(env!("CARGO"));
    up.current_dir(clone)
        .args(["xtask", "up"])
        .env("HOME", home)
        // A new HOME must not hide the toolchain, which rustup finds through it by default.
        .env("RUSTUP_HOME", tool_home("RUSTUP_HOME", ".rustup"))
        .env("CARGO_HOME", tool_home("CARGO_HOME", ".cargo"))
        // Reuse this checkout's compiled dependencies; the clone's own crates still build from its sources.
        .env("CARGO_TARGET_DIR", cmd::target_dir(root));
    up
}

/// While the first `up` serves, another one fails with exactly one error line naming port 8080.
fn a_second_up_reports_the_taken_port(root: &Path, clone: &Path, home: &Path) -> anyhow::Result<()> {
    let out = cmd::output_within(&mut up_command(root, clone, home), UP_START_TIMEOUT)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
    eprintln!("xtask: a second `up`: {}", errors.join(" | "));
    if out.status.success() || errors.len() != 1 || !errors[0].contains("port 8080 is already in use") {
        bail!("a second `up` on taken ports must fail with one line naming port 8080; stderr:\n{stderr}");
    }
    if stderr.contains("IPv6") || stderr.matches("os error").count() > 1 {
        bail!("a taken port is not an IPv6 problem and says its OS error at most once; stderr:\n{stderr}");
    }
    Ok(())
}

/// `up --ws-port P --wss-port Q` (two free loopback ports) announces them and serves the CA on P.
fn up_serves_on_the_ports_it_is_given(root: &Path, clone: &Path, home: &Path) -> anyhow::Result<()> {
    let (ws, wss) = (free_port()?, free_port()?);
    let (_server, lines) = start_up(root, clone, home, &["--ws-port", &ws, "--wss-port", &wss])?;
    let wanted = format!("listening wss://localhost:{wss} ");
    cmd::wait_for_line(&lines, UP_START_TIMEOUT, |line| {
        line.starts_with(&wanted).then_some(())
    })
    .with_context(|| format!("`up --wss-port {wss}` did not announce wss://localhost:{wss}"))?;
    let ca = cmd::output_within(
        Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10"])
            .arg(format!("http://127.0.0.1:{ws}/ca.cer")),
        Duration::from_secs(20),
    )?;
    let status = String::from_utf8_lossy(&ca.stdout).into_owned();
    if status != "200" {
        bail!("`up --ws-port {ws}`: GET http://127.0.0.1:{ws}/ca.cer answered {status:?}");
    }
    eprintln!("xtask: `up --ws-port {ws} --wss-port {wss}` served there");
    Ok(())
}

/// `up --lan` (on two free ports; it listens on every interface, nothing here connects beyond loopback) prints a
/// QR code for phones: the wsecho test `xtask_up_lan_prints_a_qr_code_of_its_trust_page` decodes it with zbarimg
/// from what `up` printed, while `up` still serves. Last, since `--lan` reissues the certificate and the CA.
fn up_lan_prints_a_qr_code_for_phones(
    root: &Path,
    clone: &Path,
    home: &Path,
    scratch: &Scratch,
) -> anyhow::Result<()> {
    let (ws, wss) = (free_port()?, free_port()?);
    let (_server, lines) = start_up(
        root,
        clone,
        home,
        &["--lan", "--ws-port", &ws, "--wss-port", &wss],
    )?;
    let mut printed = String::new();
    cmd::wait_for_line(&lines, UP_START_TIMEOUT, |line| {
        printed.push_str(line);
        printed.push('\n');
        line.starts_with("verdict: ").then_some(())
    })
    .context("`cargo xtask up --lan` printed no verdict line")?;
    let output = scratch.0.join("up-lan-output.txt");
    std::fs::write(&output, printed)?;
    cmd::run(
        ignored_wsecho_test(
            root,
            "peers_phone",
            "xtask_up_lan_prints_a_qr_code_of_its_trust_page",
        )
        .env("LOCALTLS_UP_LAN_OUTPUT", &output),
    )
}

/// `cargo test` of the one ignored wsecho test `name` in `file`, which checks a running `up` it is told about,
/// with every real peer required.
fn ignored_wsecho_test(root: &Path, file: &str, name: &str) -> Command {
    let mut test = cargo(root);
    test.args([
        "test",
        "--package",
        "wsecho",
        "--test",
        file,
        "--",
        "--ignored",
        "--exact",
        name,
    ])
    .env("LOCALTLS_REQUIRE_PEERS", "1");
    test
}

/// A port that was free on loopback a moment ago.
fn free_port() -> anyhow::Result<String> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port()
        .to_string())
}

/// Where rustup or cargo keeps its files for the current user: `$VAR`, else `$HOME/<default>`.
fn tool_home(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(default),
        PathBuf::from,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_passed_tests_of_libtest_summary_lines_only() {
        let line =
            "test result: ok. 28 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.55s";
        assert_eq!(tests_passed(line), 28);
        assert_eq!(
            tests_passed("test result: FAILED. 3 passed; 1 failed; 0 ignored"),
            3
        );
        assert_eq!(tests_passed("test foo ... ok"), 0);
        assert_eq!(tests_passed("up | test result: ok. 5 passed"), 0);
    }

    #[test]
    fn a_failure_names_every_failed_test() {
        let mut report = TestReport::default();
        for line in [
            "test system_store_install_makes_openssl_trust_the_leaf ... FAILED",
            "test nss_install_is_idempotent ... ok",
            "test result: FAILED. 13 passed; 1 failed; 0 ignored",
            "test crates/certgen/src/lib.rs - issue (line 12) ... FAILED",
            "test result: FAILED. 4 passed; 1 failed; 0 ignored",
            "failures:",
            "    system_store_install_makes_openssl_trust_the_leaf",
        ] {
            report.read(line);
        }
        assert_eq!(report.passed, 17);
        assert_eq!(
            report.failures(),
            "2 failed tests:\n  system_store_install_makes_openssl_trust_the_leaf\n  \
             crates/certgen/src/lib.rs - issue (line 12)"
        );
        report.failed.truncate(1);
        assert!(report.failures().starts_with("1 failed test:\n  system_store_"));
        assert!(
            TestReport::default()
                .failures()
                .starts_with("no test printed FAILED")
        );
    }

    #[test]
    fn both_steps_errors_are_kept() {
        let err = |m: &str| Err(anyhow::anyhow!(m.to_owned()));
        assert_eq!(both(Ok(2), Ok(3)).unwrap(), 5);
        assert_eq!(both(err("unit"), Ok(3)).unwrap_err().to_string(), "unit");
        assert_eq!(both(Ok(2), err("doc")).unwrap_err().to_string(), "doc");
        assert_eq!(
            both(err("unit"), err("doc")).unwrap_err().to_string(),
            "unit\ndoc"
        );
    }
}

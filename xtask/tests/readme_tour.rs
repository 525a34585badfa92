//! README.md's "A one-minute tour", run line by line as a new user would, in a fresh folder with a throw-away HOME,
//! so the README cannot drift from what the tools do. The `cargo install` line is replaced by the binaries this
//! workspace built (`cargo xtask test` builds every target first); a line ending in `&` is the server, started in
//! the background and stopped at the end. Needs certutil for the trust lines (a CI peer).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// One tour command may take this long (the bench line runs for 10 s).
const LINE_TIMEOUT: Duration = Duration::from_secs(60);
/// The background server must print its banner within this.
const SERVER_START: Duration = Duration::from_secs(20);

/// The commands of the tour's code block, comments and blank lines dropped.
fn tour_commands(readme: &str) -> Vec<String> {
    let after = readme
        .split_once("## A one-minute tour")
        .expect("README has the tour")
        .1;
    let block = after
        .split_once("```sh\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("the tour has a sh block")
        .0;
    block
        .lines()
        .map(
            |line| match line.find(" #").or(line.starts_with('#').then_some(0)) {
                Some(comment) => line[..comment].trim(),
                None => line.trim(),
            },
        )
        .filter(|line| !line.is_empty())
        .map(String::from)
        .collect()
}

/// Where cargo put the workspace binaries: this test runs from `target/<profile>/deps/`.
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf()
}

struct Stopped(Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_bounded(cmd: &mut Command) -> (Option<i32>, String) {
    let out_file = tempfile_path("line");
    let file = std::fs::File::create(&out_file).expect("output file");
    let mut child = Stopped(
        cmd.stdin(Stdio::null())
            .stdout(file.try_clone().expect("dup"))
            .stderr(file)
            .spawn()
            .expect("start sh"),
    );
    let deadline = Instant::now() + LINE_TIMEOUT;
    let code = loop {
        if let Some(status) = child.0.try_wait().expect("wait") {
            break status.code();
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = std::fs::read_to_string(&out_file).unwrap_or_default();
    let _ = std::fs::remove_file(&out_file);
    (code, output)
}

fn tempfile_path(what: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("readme-tour-{}-{what}-{n}", std::process::id()))
}

#[test]
fn the_readme_tour_runs_top_to_bottom_in_a_fresh_folder() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let commands = tour_commands(&readme);
    let bins = bin_dir();
    for tool in ["certgen", "wsecho"] {
        assert!(
            bins.join(tool).is_file(),
            "no {tool} in {}: build the workspace first (`cargo build --workspace`)",
            bins.display()
        );
    }
    let folder = tempfile_path("folder");
    let home = folder.join("home");
    std::fs::create_dir_all(&home).expect("fresh folder");
    firefox_started_once(&home);
    let path = format!("{}:{}", bins.display(), std::env::var("PATH").unwrap_or_default());
    let sh = |line: &str| {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", line])
            .current_dir(&folder)
            .env("HOME", &home)
            .env("PATH", &path)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME");
        cmd
    };
    let mut server = None;
    let mut ran = 0;
    for line in &commands {
        if line.starts_with("cargo install") {
            eprintln!(
                "tour: skipped `{line}` (using the binaries in {})",
                bins.display()
            );
            continue;
        }
        if let Some(background) = line.strip_suffix('&') {
            let mut child = Stopped(
                sh(&format!("exec {background}"))
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start the server"),
            );
            let (tx, rx) = mpsc::channel();
            let stdout = child.0.stdout.take().expect("stdout");
            std::thread::spawn(move || {
                for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                    let _ = tx.send(l);
                }
            });
            let deadline = Instant::now() + SERVER_START;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(l) if l.starts_with("stop with") => break,
                    Ok(_) => {}
                    Err(_) => panic!("tour: `{line}` printed no banner within {SERVER_START:?}"),
                }
            }
            eprintln!("tour: started `{line}`");
            server = Some(child);
            ran += 1;
            continue;
        }
        let (code, output) = run_bounded(&mut sh(line));
        assert_eq!(code, Some(0), "tour: `{line}` failed (exit {code:?}):\n{output}");
        eprintln!("tour: ok `{line}`");
        ran += 1;
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&folder);
    assert!(ran >= 12, "the tour has its commands: {commands:?}");
}

/// The tour's reader has used the browsers on the machine: where Firefox is installed, it has a profile with a
/// certificate database (as its first start leaves), or `trust status` rightly reports a Firefox it cannot cover.
fn firefox_started_once(home: &Path) {
    let profile = home.join(".config/mozilla/firefox/tour.default-release");
    std::fs::create_dir_all(&profile).expect("Firefox profile folder");
    let mut certutil = Command::new("certutil");
    certutil
        .args(["-N", "--empty-password", "-d"])
        .arg(format!("sql:{}", profile.display()));
    let (code, output) = run_bounded(&mut certutil);
    assert_eq!(code, Some(0), "{certutil:?}: {output}");
}

#[test]
fn tour_lines_lose_their_comments_and_blank_lines() {
    let readme = "## A one-minute tour\n\n```sh\ncertgen ca   # a CA\n       # more words\n\nwsecho serve --x &   # bg\n```\n";
    assert_eq!(tour_commands(readme), ["certgen ca", "wsecho serve --x &"]);
}

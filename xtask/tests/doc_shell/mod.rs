//! Running a documentation page's shell block as a new user would: line by line, in a fresh folder with a
//! throw-away HOME and the binaries this workspace built first on PATH. A line ending in `&` is a server, started
//! in the background (it must print its banner) and stopped when the folder is dropped; any other line must exit 0
//! (`! cmd` when the page shows a refusal). A line whose comment starts with `->` must print the text after it,
//! which is how a page says what the user should see. Shared by the README tour and docs/outside.md's walk-through.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use testkit::KillOnDrop;

/// One command may take this long (the README's bench line runs for 10 s).
const LINE_TIMEOUT: Duration = Duration::from_secs(60);
/// A background server must print its banner within this.
const SERVER_START: Duration = Duration::from_secs(20);

/// One command of a block, and what its `# -> TEXT` comment says it prints.
#[derive(Debug, PartialEq)]
pub struct Line {
    pub command: String,
    pub prints: Option<String>,
}

/// The commands of a shell block, comments and blank lines dropped.
pub fn commands(block: &str) -> Vec<Line> {
    block
        .lines()
        .filter_map(|line| {
            let (command, comment) = match line.find(" #").or(line.starts_with('#').then_some(0)) {
                Some(at) => (line[..at].trim(), Some(line[at..].trim_start()[1..].trim())),
                None => (line.trim(), None),
            };
            let prints = comment
                .and_then(|c| c.strip_prefix("->"))
                .map(|text| text.trim().to_string());
            (!command.is_empty()).then(|| Line {
                command: command.to_string(),
                prints,
            })
        })
        .collect()
}

/// Where cargo put the workspace binaries: a test runs from `target/<profile>/deps/`.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf()
}

/// The built `tool`, or a panic saying to build the workspace first.
pub fn built(tool: &str) -> PathBuf {
    let path = bin_dir().join(tool);
    assert!(
        path.is_file(),
        "no {tool} in {}: build the workspace first (`cargo build --workspace`)",
        bin_dir().display()
    );
    path
}

/// Runs `cmd` with stdin closed, stdout and stderr together, for at most [`LINE_TIMEOUT`]: its exit code
/// (`None` when it timed out or was killed by a signal) and output.
pub fn run_bounded(cmd: &mut Command) -> (Option<i32>, String) {
    let out_file = temp_path("line");
    let file = std::fs::File::create(&out_file).expect("output file");
    let mut child = KillOnDrop::spawn(
        cmd.stdin(Stdio::null())
            .stdout(file.try_clone().expect("dup"))
            .stderr(file),
    )
    .expect("start the command");
    let code = child
        .wait_within(LINE_TIMEOUT)
        .expect("wait")
        .and_then(|status| status.code());
    let output = std::fs::read_to_string(&out_file).unwrap_or_default();
    let _ = std::fs::remove_file(&out_file);
    (code, output)
}

/// A path in the temp folder no other call of this process gets.
pub fn temp_path(what: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("doc-shell-{}-{what}-{n}", std::process::id()))
}

/// A fresh folder with its own HOME in which a page's lines run one after the other; dropping it stops the servers
/// they started and deletes it.
pub struct FreshFolder {
    /// Names the page in every message.
    page: &'static str,
    pub folder: PathBuf,
    pub home: PathBuf,
    path: String,
    servers: Vec<KillOnDrop>,
}

impl FreshFolder {
    pub fn new(page: &'static str) -> FreshFolder {
        for tool in ["certgen", "wsecho"] {
            built(tool);
        }
        let folder = temp_path("folder");
        let home = folder.join("home");
        std::fs::create_dir_all(&home).expect("fresh folder");
        let path = format!(
            "{}:{}",
            bin_dir().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        FreshFolder {
            page,
            folder,
            home,
            path,
            servers: Vec::new(),
        }
    }

    /// `sh -c line` in the folder, as the page's reader would type it.
    pub fn sh(&self, line: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", line])
            .current_dir(&self.folder)
            .env("HOME", &self.home)
            .env("PATH", &self.path)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME");
        cmd
    }

    /// Runs one line as the module documentation says, panicking with its output when it does not behave as the
    /// page promises.
    pub fn run(&mut self, line: &Line) {
        let command = line.command.as_str();
        if let Some(background) = command.strip_suffix('&') {
            self.start_server(command, background);
        } else {
            let (code, output) = run_bounded(&mut self.sh(command));
            let page = self.page;
            assert_eq!(
                code,
                Some(0),
                "{page}: `{command}` failed (exit {code:?}):\n{output}"
            );
            if let Some(expected) = &line.prints {
                assert!(
                    output.contains(expected.as_str()),
                    "{page}: `{command}` should print `{expected}`, printed:\n{output}"
                );
            }
            eprintln!("{page}: ok `{command}`");
        }
    }

    fn start_server(&mut self, line: &str, background: &str) {
        let log = self.folder.join(format!("server-{}.log", self.servers.len()));
        let mut child = KillOnDrop::spawn(
            self.sh(&format!("exec {background}"))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(std::fs::File::create(&log).expect("server log")),
        )
        .expect("start the server");
        let lines = testkit::lines(child.stdout.take().expect("stdout"), None);
        let banner =
            testkit::wait_for_line(&lines, SERVER_START, |l| l.starts_with("stop with").then_some(()));
        if banner.is_none() {
            panic!(
                "{}: `{line}` printed no banner within {SERVER_START:?}; its stderr:\n{}",
                self.page,
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        eprintln!("{}: started `{line}`", self.page);
        self.servers.push(child);
    }
}

impl Drop for FreshFolder {
    fn drop(&mut self) {
        self.servers.clear();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

//! The programs the benchmark runs: this workspace's builds (release, except for a smoke run), the peers from
//! crates.io (built on demand, pinned) and the Python peer of the tests.

use super::peer::Peer;
use super::plan::Mode;
use crate::cmd;
use anyhow::bail;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// websocat, an echo server compared against, from crates.io at this version.
pub const WEBSOCAT_VERSION: &str = "1.14.1";
/// bomb, the second load generator, from crates.io at this version (0.1.0 is yanked; 0.1.4 still says
/// "bomb 0.1.0" to `--version`, so the report names this constant instead).
pub const BOMB_VERSION: &str = "0.1.4";
/// One `cargo install` of a pinned tool: a cold build of websocat takes several minutes on two cores.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(1200);

pub struct Programs {
    pub wsecho: PathBuf,
    pub baseline: PathBuf,
    pub certgen: PathBuf,
    /// `None` when the run measures the in-tree servers only.
    pub websocat: Option<PathBuf>,
    /// `None` when the run measures the in-tree servers only.
    pub bomb: Option<PathBuf>,
    pub python: PathBuf,
    pub python_echo: PathBuf,
    /// `node_modules` holding `ws`, for `NODE_PATH`.
    pub node_modules: PathBuf,
    pub node_echo: PathBuf,
    /// The ring against aws-lc-rs comparison (`xtask/providers`); `None` when the run measures the in-tree
    /// servers only.
    pub provider_bench: Option<PathBuf>,
}

impl Programs {
    /// Builds this workspace's binaries (release builds unless `mode` is a smoke run) and finds the other
    /// servers and tools; where `mode` measures external peers, also installs websocat and bomb.
    pub fn prepare(root: &Path, mode: Mode) -> anyhow::Result<Programs> {
        let built = cmd::build(
            root,
            mode.release_build(),
            &[
                "--package",
                "wsecho",
                "--bin",
                "wsecho",
                "--example",
                "baseline_echo",
                "--package",
                "certgen",
                "--bin",
                "certgen",
            ],
        )?;
        for tool in ["mkcert", "openssl"] {
            if Command::new(tool).arg("-help").output().is_err() {
                bail!("{tool} is not installed: apt-get install {tool}");
            }
        }
        let (websocat, bomb, provider_bench) = if mode.external_peers() {
            (
                Some(cargo_tool(root, "websocat", WEBSOCAT_VERSION)?),
                Some(cargo_tool(root, "bomb", BOMB_VERSION)?),
                Some(provider_bench(root)?),
            )
        } else {
            (None, None, None)
        };
        Ok(Programs {
            wsecho: built.join("wsecho"),
            baseline: built.join("examples/baseline_echo"),
            certgen: built.join("certgen"),
            websocat,
            bomb,
            python: python_with_websockets(root)?,
            python_echo: root.join("tests/peers/echo_server.py"),
            node_modules: node_with_ws(root)?,
            node_echo: root.join("tests/peers/echo_server.js"),
            provider_bench,
        })
    }

    /// The versions the report lists, one line per program (rustc, Node, websocat, bomb, Python and websockets,
    /// mkcert, openssl), "unknown" where a program does not say.
    pub fn versions(&self) -> Vec<String> {
        let mut versions = vec![
            first_line(Path::new("rustc"), &["--version"]),
            format!("Node {}", first_line(Path::new("node"), &["--version"])),
        ];
        if let Some(websocat) = &self.websocat {
            versions.push(first_line(websocat, &["--version"]));
        }
        if self.bomb.is_some() {
            versions.push(format!("bomb {BOMB_VERSION} (crates.io)"));
        }
        versions.push(format!(
            "Python {}",
            first_line(
                &self.python,
                &[
                    "-c",
                    "import sys, websockets; print(sys.version.split()[0], 'websockets', websockets.__version__)"
                ]
            )
        ));
        versions.push(format!(
            "mkcert {}",
            first_line(Path::new("mkcert"), &["-version"])
        ));
        versions.push(first_line(Path::new("openssl"), &["version"]));
        versions
    }

    /// The echo servers this run compares, in report order.
    pub fn peers(&self) -> Vec<Peer> {
        Peer::ALL
            .into_iter()
            .filter(|&peer| peer != Peer::Websocat || self.websocat.is_some())
            .collect()
    }
}

/// The first line `program ARGS` prints (stdout, else stderr), trimmed; "unknown" when it prints nothing or cannot
/// start.
fn first_line(program: &Path, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|out| {
            let text = if out.stdout.is_empty() {
                out.stderr
            } else {
                out.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .filter(|line| !line.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// A crates.io tool at a pinned version (with its own lock file), installed under .ci-cache/cargo. `cargo install`
/// runs every time: it returns at once when that version is already there, and replaces any other version.
fn cargo_tool(root: &Path, name: &str, version: &str) -> anyhow::Result<PathBuf> {
    let prefix = root.join(".ci-cache/cargo");
    cmd::run_within(
        Command::new(env!("CARGO"))
            .args([
                "install",
                "--quiet",
                "--locked",
                &format!("{name}@{version}"),
                "--root",
            ])
            .arg(&prefix),
        INSTALL_TIMEOUT,
    )?;
    Ok(prefix.join("bin").join(name))
}

/// Builds `xtask/providers` (outside the workspace, with its own lock file) and returns its binary.
fn provider_bench(root: &Path) -> anyhow::Result<PathBuf> {
    // The workspace's target dir: the shared dependencies (ring, rustls) are built once.
    let target = cmd::target_dir(root);
    cmd::run_within(
        cmd::cargo(root)
            .args(["build", "--quiet", "--release", "--locked", "--manifest-path"])
            .arg(root.join("xtask/providers/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target),
        INSTALL_TIMEOUT,
    )?;
    Ok(target.join("release/provider-bench"))
}

/// The `node_modules` with `ws` (`NODE_PATH` if set, else the one `cargo xtask test` installs; installed here
/// too when missing).
fn node_with_ws(root: &Path) -> anyhow::Result<PathBuf> {
    let modules = std::env::var_os("NODE_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".ci-cache/node/node_modules"));
    if !modules.join("ws").exists() {
        crate::peers::ensure(root)?;
    }
    if !modules.join("ws").exists() {
        bail!(
            "{} has no ws package; run cargo xtask test once to install the peers",
            modules.display()
        );
    }
    Ok(modules)
}

/// The Python of the peers venv (`cargo xtask test` installs it; installed here too when missing).
fn python_with_websockets(root: &Path) -> anyhow::Result<PathBuf> {
    let python = std::env::var_os("LOCALTLS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".ci-cache/venv/bin/python"));
    let has_websockets = |python: &Path| {
        Command::new(python)
            .args(["-c", "import websockets"])
            .output()
            .is_ok_and(|out| out.status.success())
    };
    if !has_websockets(&python) {
        crate::peers::ensure(root)?;
    }
    if !has_websockets(&python) {
        bail!(
            "{} cannot import websockets; run cargo xtask test once to install the peers",
            python.display()
        );
    }
    Ok(python)
}

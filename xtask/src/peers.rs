//! The real peers the tests talk to, installed into `.ci-cache/` so nothing lands outside the checkout:
//! Python `websockets` and `kosoku` (Autobahn) in a venv, Node `ws` in a local `node_modules`.
//! System tools (chromium, certutil, openssl...) come from `.ci/install-packages`.
//! Every install is bounded: a hung index or registry fails the step in minutes.

use crate::cmd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Creating the venv (no network).
const VENV_TIMEOUT: Duration = Duration::from_secs(120);
/// One `pip install` or `npm install`, downloads and retries included.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);
/// pip: seconds a connection may stall, and how often each download is retried.
const PIP_NETWORK: [&str; 4] = ["--timeout", "30", "--retries", "2"];
/// npm: milliseconds a fetch may take, and how often it is retried.
const NPM_NETWORK: [&str; 2] = ["--fetch-timeout=30000", "--fetch-retries=2"];

/// Where the installed peers live; exported to the tests as environment variables.
pub struct Peers {
    python: PathBuf,
    node_modules: PathBuf,
}

pub fn ensure(root: &Path) -> anyhow::Result<Peers> {
    let cache = root.join(".ci-cache");
    let spec = root.join("tests/peers");

    let venv = cache.join("venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        cmd::run_within(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            VENV_TIMEOUT,
        )?;
    }
    cmd::run_within(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
            .args(PIP_NETWORK)
            .arg("-r")
            .arg(spec.join("requirements.txt")),
        INSTALL_TIMEOUT,
    )?;

    let node = cache.join("node");
    std::fs::create_dir_all(&node)?;
    std::fs::copy(spec.join("package.json"), node.join("package.json"))?;
    cmd::run_within(
        Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund"])
            .args(NPM_NETWORK)
            .arg("--prefix")
            .arg(&node),
        INSTALL_TIMEOUT,
    )?;

    Ok(Peers {
        python,
        node_modules: node.join("node_modules"),
    })
}

impl Peers {
    /// Points the tests at the peers and tells them that a missing peer is a failure, not a skip.
    pub fn apply(&self, cmd: &mut Command) {
        cmd.env("LOCALTLS_PYTHON", &self.python)
            .env("NODE_PATH", &self.node_modules)
            .env("LOCALTLS_REQUIRE_PEERS", "1");
    }
}

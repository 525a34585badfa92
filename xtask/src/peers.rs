//! The real peers the tests talk to, installed into `.ci-cache/` so nothing lands outside the checkout:
//! Python `websockets` and `kosoku` (Autobahn) in a venv, Node `ws` in a local `node_modules`.
//! System tools (chromium, chromedriver, certutil, openssl) come from `.ci/run`'s apt step.

use crate::test::status;
use std::path::{Path, PathBuf};
use std::process::Command;

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
        status(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    status(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(spec.join("requirements.txt")),
    )?;

    let node = cache.join("node");
    std::fs::create_dir_all(&node)?;
    std::fs::copy(spec.join("package.json"), node.join("package.json"))?;
    status(
        Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&node),
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

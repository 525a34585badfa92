//! `cargo xtask test`: everything CI checks, in the order that fails fastest.

use crate::peers;
use anyhow::{Context, bail};
use std::path::Path;
use std::process::Command;

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
    cargo(root, &["test", "--workspace", "--doc"])
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

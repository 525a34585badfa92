//! Workspace automation in plain Rust (the rust-analyzer `xtask` pattern): each task is one function.
//! Certificate and socket logic lives in the `certgen` and `wsecho` libraries, never here.

mod peers;
mod test;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "Workspace tasks for certgen and wsecho", version)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Run every check CI runs: fmt, clippy -D warnings, unit, integration and real-peer tests.
    Test,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.task {
        Task::Test => test::run(&workspace_root()),
    }
}

/// The workspace root: xtask lives one folder below it.
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent folder")
        .to_path_buf()
}

//! What a benchmark run measures: its mode (full, quick, smoke), the sizes that go with it, and the two echo
//! workloads.

use super::measure::Workload;
use crate::cmd;
use std::path::{Path, PathBuf};

/// How much a run measures, and where its report goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every server and tool, full rounds; the report replaces docs/performance.md.
    Full,
    /// Every server and tool, one short round.
    Quick,
    /// One short round against the in-tree servers only.
    Smoke,
}

impl Mode {
    pub fn profile(self) -> Profile {
        if self == Mode::Full { FULL } else { QUICK }
    }

    /// The command-line flag that selects this mode, as the report names it.
    pub fn flag(self) -> &'static str {
        match self {
            Mode::Full => "",
            Mode::Quick => " --quick",
            Mode::Smoke => " --smoke",
        }
    }

    /// Whether the crates.io peers (websocat, bomb) are built and measured.
    pub fn external_peers(self) -> bool {
        self != Mode::Smoke
    }

    /// A short run only checks that everything works: it must not replace the real table in docs/.
    pub fn report_dir(self, root: &Path) -> PathBuf {
        match self {
            Mode::Full => root.join("docs"),
            Mode::Quick => cmd::target_dir(root).join("bench-quick"),
            Mode::Smoke => cmd::target_dir(root).join("bench-smoke"),
        }
    }
}

/// Sizes of one benchmark run.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    pub rounds: usize,
    pub warmup: f64,
    pub duration: f64,
    pub idle_connections: usize,
    pub cert_runs: usize,
}

const FULL: Profile = Profile {
    rounds: 5,
    warmup: 1.0,
    duration: 5.0,
    idle_connections: 10_000,
    cert_runs: 10,
};

const QUICK: Profile = Profile {
    rounds: 1,
    warmup: 0.5,
    duration: 1.0,
    idle_connections: 500,
    cert_runs: 3,
};

pub const SMALL: Workload = Workload {
    connections: 100,
    size: 32,
    binary: false,
};

pub const LARGE: Workload = Workload {
    connections: 200,
    size: 16 * 1024,
    binary: true,
};

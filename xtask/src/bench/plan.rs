//! What a benchmark run measures: its mode (full, quick, smoke), the sizes that go with it, and the echo cases
//! (load shape, message size, ws or wss).

use super::peer::Peer;
use super::workload::{Shape, Workload};
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
        match self {
            Mode::Full => FULL,
            Mode::Quick => QUICK,
            Mode::Smoke => SMOKE,
        }
    }

    /// The command-line flag that selects this mode, as the report names it.
    pub fn flag(self) -> &'static str {
        match self {
            Mode::Full => "",
            Mode::Quick => " --quick",
            Mode::Smoke => " --smoke",
        }
    }

    /// Whether the crates.io peers (websocat, bomb) and the crypto-provider comparison (which builds aws-lc-rs)
    /// are built and measured.
    pub fn external_peers(self) -> bool {
        self != Mode::Smoke
    }

    /// Whether the servers and the load generator are release builds. A smoke run only checks that every case
    /// runs, so it takes the dev build `cargo xtask test` has just made, which spares CI a release build of the
    /// workspace (about five minutes).
    pub fn release_build(self) -> bool {
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
    /// Seconds the provider comparison spends on each of its figures.
    pub provider_seconds: f64,
}

// Ten cases on up to five servers per round: 3 rounds of 3-second windows keep a full run near 30 minutes.
const FULL: Profile = Profile {
    rounds: 3,
    warmup: 1.0,
    duration: 3.0,
    idle_connections: 10_000,
    cert_runs: 10,
    provider_seconds: 1.0,
};

const QUICK: Profile = Profile {
    rounds: 1,
    warmup: 0.5,
    duration: 1.0,
    idle_connections: 500,
    cert_runs: 3,
    provider_seconds: 0.2,
};

/// Messages in flight per connection in the pipelined load (bomb keeps up to 6000).
pub const PIPELINE_DEPTH: usize = 16;

/// Every echo measurement of a round, each run against every server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    Small,
    Pipelined,
    LargeWs,
    /// LARGE with permessage-deflate offered, on the servers that negotiate it ([`Peer::deflate`]).
    LargeWsDeflate,
    LargeWss,
    HugeWs,
    HugeWss,
    ChurnWs,
    ChurnWssResumed,
    ChurnWssFull,
}

impl Case {
    pub const ALL: [Case; 10] = [
        Case::Small,
        Case::Pipelined,
        Case::LargeWs,
        Case::LargeWsDeflate,
        Case::LargeWss,
        Case::HugeWs,
        Case::HugeWss,
        Case::ChurnWs,
        Case::ChurnWssResumed,
        Case::ChurnWssFull,
    ];

    pub fn workload(self) -> Workload {
        match self {
            Case::Small => SMALL,
            Case::Pipelined => Workload {
                shape: Shape::Pipelined(PIPELINE_DEPTH),
                ..SMALL
            },
            Case::LargeWs | Case::LargeWss => LARGE,
            Case::LargeWsDeflate => Workload {
                deflate: true,
                ..LARGE
            },
            Case::HugeWs | Case::HugeWss => HUGE,
            Case::ChurnWs => CHURN,
            Case::ChurnWssResumed => Workload {
                shape: Shape::Churn { resume: true },
                ..CHURN
            },
            Case::ChurnWssFull => Workload {
                shape: Shape::Churn { resume: false },
                ..CHURN
            },
        }
    }

    /// Whether `peer` is measured in this case: a compressed case only on the servers that can compress, the
    /// others would decline the offer and repeat the uncompressed case.
    pub fn runs_on(self, peer: Peer) -> bool {
        !self.workload().deflate || peer.deflate()
    }

    pub fn tls(self) -> bool {
        matches!(
            self,
            Case::LargeWss | Case::HugeWss | Case::ChurnWssResumed | Case::ChurnWssFull
        )
    }

    pub fn label(self) -> String {
        let scheme = if self.tls() { "wss" } else { "ws" };
        format!("{scheme} {}", self.workload().label())
    }
}

/// Every case against every in-tree server once, in about a minute: a check that all of it runs.
const SMOKE: Profile = Profile {
    rounds: 1,
    warmup: 0.2,
    duration: 0.5,
    idle_connections: 500,
    cert_runs: 1,
    provider_seconds: 0.2,
};

pub const SMALL: Workload = Workload {
    connections: 100,
    size: 32,
    binary: false,
    shape: Shape::ClosedLoop,
    deflate: false,
};

pub const LARGE: Workload = Workload {
    connections: 200,
    size: 16 * 1024,
    binary: true,
    shape: Shape::ClosedLoop,
    deflate: false,
};

/// 64 KiB: fewer connections, so the bytes in flight stay near LARGE's.
pub const HUGE: Workload = Workload {
    connections: 50,
    size: 64 * 1024,
    binary: true,
    shape: Shape::ClosedLoop,
    deflate: false,
};

/// A few connection slots, each connecting, echoing once and closing in a loop.
pub const CHURN: Workload = Workload {
    connections: 8,
    size: 32,
    binary: false,
    shape: Shape::Churn { resume: true },
    deflate: false,
};

/// One idle-memory measurement: a server over ws or wss, its connections offering permessage-deflate or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleCase {
    pub label: &'static str,
    pub peer: Peer,
    pub tls: bool,
    pub deflate: bool,
}

impl IdleCase {
    const fn new(label: &'static str, peer: Peer, tls: bool, deflate: bool) -> IdleCase {
        IdleCase {
            label,
            peer,
            tls,
            deflate,
        }
    }
}

pub const IDLE_WS: IdleCase = IdleCase::new("wsecho serve, ws", Peer::Wsecho, false, false);
pub const IDLE_WSS: IdleCase = IdleCase::new("wsecho serve, wss", Peer::Wsecho, true, false);
pub const IDLE_DEFLATE: IdleCase =
    IdleCase::new("wsecho serve, ws, permessage-deflate", Peer::Wsecho, false, true);
pub const IDLE_PYTHON: IdleCase = IdleCase::new("Python websockets, ws", Peer::Python, false, false);
pub const IDLE_PYTHON_DEFLATE: IdleCase = IdleCase::new(
    "Python websockets, ws, permessage-deflate",
    Peer::Python,
    false,
    true,
);

/// Every idle-memory measurement, in report order.
pub const IDLE_CASES: [IdleCase; 6] = [
    IDLE_WS,
    IDLE_WSS,
    IdleCase::new("tokio-tungstenite baseline, ws", Peer::Baseline, false, false),
    IDLE_PYTHON,
    IDLE_DEFLATE,
    IDLE_PYTHON_DEFLATE,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::workload::bench_args;

    #[test]
    fn only_the_compressed_case_offers_deflate_and_only_to_servers_that_have_it() {
        for case in Case::ALL {
            let offers = bench_args(&case.workload(), None, 1.0, 3.0).contains(&"--deflate".to_string());
            assert_eq!(offers, case == Case::LargeWsDeflate, "{case:?}");
            for peer in Peer::ALL {
                assert_eq!(
                    case.runs_on(peer),
                    !offers || peer.deflate(),
                    "{case:?} on {peer:?}"
                );
            }
        }
        assert!(!Case::LargeWsDeflate.runs_on(Peer::Baseline));
        assert!(!Case::LargeWsDeflate.runs_on(Peer::Websocat));
        assert_eq!(
            Case::LargeWsDeflate.label(),
            "ws 200 conns x 16 KiB binary, permessage-deflate"
        );
    }

    #[test]
    fn compressed_idle_rows_are_on_servers_that_compress() {
        for case in IDLE_CASES {
            assert!(!case.deflate || case.peer.deflate(), "{}", case.label);
            assert_eq!(IDLE_CASES.iter().filter(|c| c.label == case.label).count(), 1);
        }
    }
}

//! The fault hook that lets tests kill a commit after any step, as a crash would.

/// Test hook, read only by debug builds: `CERTGEN_FAULT_AFTER=N` aborts the process right after the Nth step of a
/// commit (each staged file, the journal, each rename or removal, the journal's deletion), as a kill would.
/// Release builds ignore it.
pub const FAULT_AFTER_ENV: &str = "CERTGEN_FAULT_AFTER";

/// Counts commit steps and aborts at the one [`FAULT_AFTER_ENV`] names.
pub(super) struct FaultHook {
    remaining: Option<u64>,
}

impl FaultHook {
    pub(super) fn from_env() -> Self {
        let remaining = if cfg!(debug_assertions) {
            std::env::var(FAULT_AFTER_ENV).ok().and_then(|n| n.parse().ok())
        } else {
            None
        };
        FaultHook { remaining }
    }

    pub(super) fn off() -> Self {
        FaultHook { remaining: None }
    }

    pub(super) fn step(&mut self) {
        if let Some(remaining) = &mut self.remaining {
            *remaining = remaining.saturating_sub(1);
            if *remaining == 0 {
                std::process::abort();
            }
        }
    }
}

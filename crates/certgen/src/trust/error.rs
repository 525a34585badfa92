//! What can go wrong while talking to a trust store; the stores, their commands and `install` all report it.

use super::store_kind::StoreKind;

/// What went wrong while talking to a trust store.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("{tool} not found: {fix}")]
    ToolMissing { tool: &'static str, fix: String },
    #[error("`{command}` failed: {detail}")]
    CommandFailed { command: String, detail: String },
    #[error("no {kind} trust store here: {reason}")]
    NoStore { kind: StoreKind, reason: String },
    /// The store cannot hold this CA at all, so nothing is run.
    #[error("this store cannot hold this CA: {0}")]
    Unsupported(&'static str),
}

//! The kinds of trust store `--store` selects, as the CLI, the reports and `status --json` name them.

use std::fmt;

use serde::Serialize;

/// The kinds of store `--store` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// The NSS databases of Chrome/Chromium on Linux and of every Firefox profile.
    Nss,
    /// The operating system's store (on WSL also the Windows side).
    System,
    /// The `cacerts` keystore of the JDK in `JAVA_HOME`.
    Java,
}

impl StoreKind {
    pub const ALL: [StoreKind; 3] = [StoreKind::Nss, StoreKind::System, StoreKind::Java];
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreKind::Nss => "nss",
            StoreKind::System => "system",
            StoreKind::Java => "java",
        })
    }
}

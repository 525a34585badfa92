//! One error type for the library; every message is a single line naming the bad value and, where one exists, the fix.

use std::path::PathBuf;

/// Everything that can go wrong in certgen. `Display` is the one-line message shown to users.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A name given on the command line (or found in a CSR) is malformed.
    #[error("invalid name `{input}`: {reason}")]
    InvalidName { input: String, reason: String },

    /// A `--permit` value is neither a DNS name nor a CIDR block.
    #[error("invalid --permit `{input}`: {reason}")]
    InvalidPermit { input: String, reason: String },

    /// The CA's name constraints do not cover a requested name.
    #[error(
        "`{name}` is outside the CA's name constraints ({permitted}); recreate the CA with \
         `certgen ca --force {hint}` (keeping your other --permit values) or issue a different name"
    )]
    OutsideConstraints {
        name: String,
        permitted: String,
        hint: String,
    },

    /// A certificate was asked for without any name.
    #[error("give at least one name, e.g. `certgen issue localhost 127.0.0.1 ::1`")]
    NoNames,

    /// Any other bad option value or combination (days, dates, key kinds, ...).
    #[error("{0}")]
    BadInput(String),

    /// A file we would write exists and `--force` was not given.
    #[error("{} already exists; {hint}", path.display())]
    AlreadyExists { path: PathBuf, hint: &'static str },

    /// The certs folder has no CA yet.
    #[error("no CA in {}: run `certgen ca --dir {}` first", dir.display(), dir.display())]
    NoCa { dir: PathBuf },

    /// A file exists but does not hold what it should (not a certificate, not a key, not a CSR, ...).
    #[error("{}: {reason}", path.display())]
    BadFile { path: PathBuf, reason: String },

    /// The CA key does not belong to the CA certificate.
    #[error(
        "the key in {} does not match the certificate in {}; restore the matching pair or recreate the CA with `certgen ca --force`",
        key.display(),
        cert.display()
    )]
    KeyMismatch { cert: PathBuf, key: PathBuf },

    /// A private key file other users can read; certgen refuses to use it.
    #[error(
        "{} is readable by other users (mode {mode:04o}); a private key must be readable by you alone: run `chmod 600 {}`",
        path.display(),
        shell_quoted(path)
    )]
    KeyPermissions { path: PathBuf, mode: u32 },

    /// Reading or writing a file failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    /// Key generation, signing or encoding failed inside a crypto library.
    #[error("{context}: {reason}")]
    Crypto { context: &'static str, reason: String },

    /// `certgen verify` or `lint`: a check the user asked for failed; the message says why and what to do.
    #[error("{0}")]
    CheckFailed(String),

    /// Reading the CA for, or changing, a trust store failed (see `trust::TrustError`).
    #[error(transparent)]
    Trust(#[from] crate::trust::TrustError),
}

impl Error {
    /// Process exit code for this error: 2 for bad usage or bad input, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::InvalidName { .. }
            | Error::InvalidPermit { .. }
            | Error::OutsideConstraints { .. }
            | Error::NoNames
            | Error::BadInput(_)
            | Error::AlreadyExists { .. }
            | Error::NoCa { .. }
            | Error::BadFile { .. }
            | Error::KeyMismatch { .. }
            | Error::KeyPermissions { .. } => 2,
            Error::Io { .. } | Error::Crypto { .. } | Error::CheckFailed(_) => 1,
            Error::Trust(err) => err.exit_code(),
        }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn crypto(context: &'static str, reason: impl std::fmt::Display) -> Self {
        Error::Crypto {
            context,
            reason: reason.to_string(),
        }
    }
}

/// `path` as one shell word, so the command in a message can be pasted as is.
fn shell_quoted(path: &std::path::Path) -> String {
    let text = path.display().to_string();
    let plain =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '-' | '_' | '+' | ',' | ':' | '@');
    if !text.is_empty() && text.chars().all(plain) {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

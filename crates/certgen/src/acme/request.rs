//! One ACME order as asked: by `certgen acme`'s and `wsecho serve --acme`'s flags (`flags.rs`), or by a record
//! at renewal (`record.rs`). Checked once before the order (`check.rs`).

use super::account_options::AccountOptions;
use super::challenge::Challenge;
use super::directory::Directory;
use crate::error::InputError;
use crate::{Error, KeyKind, SubjectName};

/// Everything one order needs.
#[derive(Debug, Clone)]
pub struct AcmeRequest {
    pub names: Vec<SubjectName>,
    pub directory: Directory,
    pub challenge: Challenge,
    /// `--profile`; `None` lets certgen choose (see `profile.rs`).
    pub profile: Option<String>,
    pub account: AccountOptions,
    /// File stem [default: the first name].
    pub out: Option<String>,
    pub key: KeyKind,
    /// Replace existing files of the stem (renewals do).
    pub force: bool,
    /// The ports the http-01 and tls-alpn-01 responders listen on, kept in the record for renewals.
    pub http_port: u16,
    pub tls_port: u16,
}

impl AcmeRequest {
    /// The file stem this request writes.
    pub fn stem(&self) -> Result<String, Error> {
        match (&self.out, self.names.first()) {
            (Some(out), _) => crate::leaf::valid_stem(out),
            (None, Some(first)) => Ok(first.file_stem()),
            (None, None) => Err(Error::Input(InputError::NoNames)),
        }
    }
}

//! The ACME flags `certgen acme` and `wsecho serve --acme` share, as their clap structs hand them over, and the
//! one conversion into an [`AcmeRequest`]. No clap here: each binary keeps its own flag definitions and help.

use std::path::PathBuf;

use super::account_options::{AccountOptions, Eab};
use super::challenge::{Challenge, ChallengeKind};
use super::directory::Directory;
use super::request::AcmeRequest;
use crate::{Error, KeyKind, SubjectName};

/// The flag values, as typed on the command line.
#[derive(Debug, Clone, Default)]
pub struct AcmeFlags {
    pub names: Vec<String>,
    /// `--directory PRESET|URL`.
    pub directory: String,
    /// `--challenge KIND`.
    pub challenge: String,
    pub dns_hook: Option<String>,
    pub profile: Option<String>,
    pub email: Option<String>,
    pub agree_tos: bool,
    pub eab_kid: Option<String>,
    pub eab_hmac_key: Option<String>,
    pub acme_ca: Option<PathBuf>,
    /// `--out STEM`.
    pub out: Option<String>,
    /// `--key KIND` [default: ecdsa-p256].
    pub key: Option<String>,
    pub force: bool,
    pub http_port: u16,
    pub tls_port: u16,
}

impl AcmeFlags {
    /// Parses every value once; the first bad one is the error.
    pub fn request(self) -> Result<AcmeRequest, Error> {
        let eab = match (&self.eab_kid, &self.eab_hmac_key) {
            (Some(key_id), Some(key)) => Some(Eab::from_base64url(key_id, key)?),
            _ => None,
        };
        let names = SubjectName::parse_all(&self.names)?;
        let directory = Directory::parse(&self.directory)?;
        let kind: ChallengeKind = self.challenge.parse()?;
        let key = self.key.as_deref().map_or(Ok(KeyKind::default()), str::parse)?;
        Ok(AcmeRequest {
            names,
            directory,
            challenge: Challenge::new(kind, self.dns_hook)?,
            profile: self.profile,
            account: AccountOptions {
                email: self.email,
                agree_tos: self.agree_tos,
                eab,
                acme_ca: self.acme_ca,
            },
            out: self.out,
            key,
            force: self.force,
            http_port: self.http_port,
            tls_port: self.tls_port,
        })
    }
}

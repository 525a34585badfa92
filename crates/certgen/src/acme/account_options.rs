//! What to tell the CA when creating an account, and how to reach it: part of every request, kept in the record
//! only as far as a renewal needs it (`--acme-ca`).

use std::path::PathBuf;

use super::error::Error as AcmeError;
use crate::Error;

/// How to reach the CA and what to tell it when creating an account.
#[derive(Debug, Clone, Default)]
pub struct AccountOptions {
    /// `mailto:` contact for expiry and policy mail; optional.
    pub email: Option<String>,
    /// The user accepted the CA's terms of service (`--agree-tos`); needed only to create the account.
    pub agree_tos: bool,
    /// External account binding (`--eab-kid`, `--eab-hmac-key`), for CAs that require one.
    pub eab: Option<Eab>,
    /// PEM root to trust for the directory's own TLS certificate (a private ACME server); default: the system's.
    pub acme_ca: Option<PathBuf>,
}

/// External account binding: the key id and the (decoded) HMAC key the CA gave.
#[derive(Debug, Clone)]
pub struct Eab {
    pub key_id: String,
    pub hmac_key: Vec<u8>,
}

impl Eab {
    /// From `--eab-kid` and `--eab-hmac-key` as CAs show them (the key base64url, padding optional).
    pub fn from_base64url(key_id: &str, hmac_key: &str) -> Result<Self, Error> {
        let hmac_key = data_encoding::BASE64URL_NOPAD
            .decode(hmac_key.trim().trim_end_matches('=').as_bytes())
            .map_err(|_| {
                AcmeError::Usage(
                    "--eab-hmac-key is not base64url; paste the HMAC key exactly as the CA shows it".into(),
                )
            })?;
        Ok(Eab {
            key_id: key_id.to_string(),
            hmac_key,
        })
    }
}

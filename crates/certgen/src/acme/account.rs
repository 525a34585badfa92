//! The ACME account: created once per CA directory (the key is made here and never sent), then reused from
//! `acme-account-HOST_PORT.json` in the certs folder (mode 0600, written through the crash-safe commit like every
//! key), so renewals and restarts do not spend the CA's account rate limits.

use std::path::{Path, PathBuf};

use instant_acme::{Account, AccountCredentials, ExternalAccountKey, NewAccount};

use super::{Directory, error_chain};
use crate::error::StoreError;
use crate::store::{Commit, Secrecy};
use crate::{CertsDir, Error};

/// How to reach the CA and what to tell it when creating an account.
#[derive(Debug, Clone, Default)]
pub struct AccountOptions {
    /// `mailto:` contact for expiry and policy mail; optional.
    pub email: Option<String>,
    /// The user accepted the CA's terms of service (`--agree-tos`); needed only to create the account.
    pub agree_tos: bool,
    /// External account binding (`--eab-kid`, `--eab-hmac-key`), for CAs that require one.
    pub eab: Option<super::Eab>,
    /// PEM root to trust for the directory's own TLS certificate (a private ACME server); default: the system's.
    pub acme_ca: Option<PathBuf>,
}

impl CertsDir {
    /// Where the account for `directory` is kept.
    pub fn acme_account_file(&self, directory: &Directory) -> PathBuf {
        let label: String = directory
            .url()
            .split_once("://")
            .map_or(directory.url(), |(_, rest)| rest)
            .split('/')
            .next()
            .unwrap_or_default()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.path().join(format!("acme-account-{label}.json"))
    }
}

/// Is there an account for `directory` in `dir` already (so no terms need accepting)?
pub(crate) fn exists(dir: &CertsDir, directory: &Directory) -> bool {
    dir.acme_account_file(directory).exists()
}

/// The URL of the account stored for `directory`, read from its file without asking the CA; `None` when there is
/// none or it cannot be read.
pub(crate) fn stored_id(dir: &CertsDir, directory: &Directory) -> Option<String> {
    let bytes = crate::secret::read_private_key(&dir.acme_account_file(directory)).ok()?;
    let credentials: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    credentials.get("id")?.as_str().map(str::to_string)
}

/// The stored account, or a new one (stored before it is used). The first network request happens here.
pub(crate) async fn load_or_create(
    dir: &CertsDir,
    directory: &Directory,
    opts: &AccountOptions,
) -> Result<Account, Error> {
    let file = dir.acme_account_file(directory);
    let unreachable = |e: instant_acme::Error| Error::AcmeUnreachable {
        url: directory.url().to_string(),
        reason: error_chain(&e),
    };
    if file.exists() {
        let bytes = crate::secret::read_private_key(&file)?;
        let credentials: AccountCredentials = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Store(StoreError::BadFile {
                path: file.clone(),
                reason: format!(
                    "is not an ACME account ({e}); move it away and run again to create a new account"
                ),
            })
        })?;
        return builder(opts.acme_ca.as_deref())?
            .from_credentials(credentials)
            .await
            .map_err(unreachable);
    }
    let contact = opts.email.as_ref().map(|e| format!("mailto:{e}"));
    let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
    let eab = opts
        .eab
        .as_ref()
        .map(|eab| ExternalAccountKey::new(eab.key_id.clone(), &eab.hmac_key));
    let new_account = NewAccount {
        contact: &contacts,
        terms_of_service_agreed: opts.agree_tos,
        only_return_existing: false,
    };
    // A nonce the CA still rejects after instant-acme's retries only costs another try: no account was made.
    let mut attempt = 1;
    let created = loop {
        let created = builder(opts.acme_ca.as_deref())?
            .create(&new_account, directory.url().to_string(), eab.as_ref())
            .await;
        match created {
            Err(instant_acme::Error::Api(problem))
                if attempt < super::order::REQUEST_ATTEMPTS
                    && problem.r#type.as_deref() == Some(super::order::BAD_NONCE) =>
            {
                attempt += 1;
            }
            created => break created,
        }
    };
    let (account, credentials) = created.map_err(|e| match e {
        instant_acme::Error::Api(problem) => Error::Acme {
            step: "account creation",
            url: directory.url().to_string(),
            detail: problem.to_string(),
        },
        other => unreachable(other),
    })?;
    let json = serde_json::to_vec_pretty(&credentials).map_err(Error::Json)?;
    let mut commit = Commit::default();
    commit.write(&file, json, Secrecy::Secret);
    commit.apply(dir.path())?;
    Ok(account)
}

/// The HTTP client: trusting the system's roots, or only `acme_ca`.
fn builder(acme_ca: Option<&Path>) -> Result<instant_acme::AccountBuilder, Error> {
    match acme_ca {
        Some(path) => {
            if !path.exists() {
                return Err(Error::io(
                    "read --acme-ca",
                    path,
                    std::io::Error::from(std::io::ErrorKind::NotFound),
                ));
            }
            instant_acme::Account::builder_with_root(path).map_err(|e| {
                Error::Store(StoreError::BadCa {
                    path: path.to_path_buf(),
                    reason: error_chain(&e),
                })
            })
        }
        None => instant_acme::Account::builder().map_err(|e| Error::Acme {
            step: "loading the system's trusted roots",
            url: String::new(),
            detail: error_chain(&e),
        }),
    }
}

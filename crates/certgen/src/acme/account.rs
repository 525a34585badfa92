//! The ACME account: created once per CA directory (the key is made here and never sent), then reused from
//! `acme-account-HOST_PORT.json` in the certs folder (mode 0600, written through the crash-safe commit like every
//! key), so renewals and restarts do not spend the CA's account rate limits.

use std::path::{Path, PathBuf};

use instant_acme::{Account, AccountCredentials, ExternalAccountKey, NewAccount};

use super::account_options::AccountOptions;
use super::directory::Directory;
use super::error::{Error as AcmeError, chain};
use super::nonce::resend_on_bad_nonce;
use crate::error::StoreError;
use crate::store::{Commit, Secrecy};
use crate::{CertsDir, Error};

impl CertsDir {
    /// Where the account for `directory` is kept.
    pub fn acme_account_file(&self, directory: &Directory) -> PathBuf {
        let label: String = directory
            .authority()
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
    let unreachable = |e: instant_acme::Error| {
        Error::from(AcmeError::Unreachable {
            url: directory.url().to_string(),
            reason: chain(&e),
        })
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
    let created = resend_on_bad_nonce!(
        builder(opts.acme_ca.as_deref())?
            .create(&new_account, directory.url().to_string(), eab.as_ref())
            .await
    );
    let (account, credentials) = created.map_err(|e| match e {
        instant_acme::Error::Api(_) => AcmeError::request("account creation", directory.url(), &e).into(),
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
                    reason: chain(&e),
                })
            })
        }
        None => instant_acme::Account::builder().map_err(|e| {
            AcmeError::Request {
                step: "loading the system's trusted roots",
                url: String::new(),
                cause: super::error::Cause::Other(chain(&e)),
            }
            .into()
        }),
    }
}

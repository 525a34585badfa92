//! Every check of a request that needs no network, run once before its order: names for this CA and this
//! challenge, the stem, the files already there, and the terms of service for a new account. A
//! [`CheckedRequest`] is the proof they passed, and the only thing an order takes.

use super::account;
use super::error::Error as AcmeError;
use super::record;
use super::request::AcmeRequest;
use crate::error::InputError;
use crate::{CertsDir, Error};

/// A request whose checks passed against one certs folder.
#[derive(Debug, Clone)]
pub struct CheckedRequest {
    request: AcmeRequest,
    stem: String,
}

impl CheckedRequest {
    pub fn request(&self) -> &AcmeRequest {
        &self.request
    }

    /// The file stem the order writes.
    pub fn stem(&self) -> &str {
        &self.stem
    }
}

impl AcmeRequest {
    /// Checks this request against `dir` (no network).
    pub fn check(&self, dir: &CertsDir) -> Result<CheckedRequest, Error> {
        if self.names.is_empty() {
            return Err(Error::Input(InputError::NoNames));
        }
        self.directory.check_names(&self.names)?;
        self.challenge.kind().check_names(&self.names)?;
        let stem = self.stem()?;
        let record_file = dir.acme_record_file(&stem);
        if !self.force
            && let Ok(record) = record::read(&record_file)
            && record.directory != self.directory
        {
            let (from, to) = record.directory.names_beside(&self.directory);
            return Err(AcmeError::Usage(format!(
                "the certificate stored as {stem} is from CA {from}, not {to}: use --force to replace it with one \
                 from {to}, or --out to keep both"
            ))
            .into());
        }
        let mut files: Vec<std::path::PathBuf> = dir.leaf_files(&stem, true).all().map(Into::into).collect();
        files.push(record_file);
        crate::store::refuse_existing(
            files.iter().map(|p| p.as_path()),
            self.force,
            "use --force to replace it, `certgen acme renew` to renew it, or --out to pick another file name",
        )?;
        if !self.account.agree_tos && !account::exists(dir, &self.directory) {
            return Err(AcmeError::Usage(format!(
                "creating an account at {} means accepting its terms of service: read them, then add --agree-tos",
                self.directory.label()
            ))
            .into());
        }
        Ok(CheckedRequest {
            request: self.clone(),
            stem,
        })
    }
}

//! `STEM.acme.json`: how an ACME certificate was obtained (CA, names, challenge and its ports or hook, profile),
//! written in the same commit as the certificate, so `certgen acme renew` can do it again unattended.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ChallengeKind;
use super::profile::ProfileChoice;
use crate::error::StoreError;
use crate::{CertsDir, Error};

/// What `certgen acme` was asked, as kept next to the certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcmeRecord {
    pub directory: String,
    pub names: Vec<String>,
    pub challenge: ChallengeKind,
    /// The port the http-01 responder listened on.
    pub http_port: u16,
    /// The port the tls-alpn-01 responder listened on.
    pub tls_port: u16,
    pub dns_hook: Option<String>,
    /// The profile asked for (or chosen automatically); renewals keep it.
    pub profile: Option<ProfileChoice>,
    /// The PEM root trusted for the directory's TLS certificate (a private ACME server).
    pub acme_ca: Option<PathBuf>,
    pub key: String,
    /// The account's URL at the CA that placed the order (absent in records older than this field).
    #[serde(default)]
    pub account: Option<String>,
}

/// The ending of a record's file name.
pub(crate) const RECORD_SUFFIX: &str = ".acme.json";

impl CertsDir {
    /// `STEM.acme.json`.
    pub fn acme_record_file(&self, stem: &str) -> PathBuf {
        self.path().join(format!("{stem}{RECORD_SUFFIX}"))
    }

    /// Every ACME record in this folder with its stem, sorted by stem.
    pub fn acme_records(&self) -> Result<Vec<(String, AcmeRecord)>, Error> {
        let entries = match std::fs::read_dir(self.path()) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("read folder", self.path(), e)),
        };
        let mut records = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(RECORD_SUFFIX)
                && !stem.starts_with('.')
            {
                records.push((stem.to_string(), read(&entry.path())?));
            }
        }
        records.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(records)
    }
}

pub(crate) fn read(path: &Path) -> Result<AcmeRecord, Error> {
    let bytes = crate::store::read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::Store(StoreError::BadFile {
            path: path.to_path_buf(),
            reason: format!(
                "is not a certgen ACME record ({e}); obtain the certificate again with `certgen acme`"
            ),
        })
    })
}

impl AcmeRecord {
    /// The request that obtains this certificate again (replacing its files).
    pub fn request(&self, stem: &str) -> Result<super::AcmeRequest, Error> {
        Ok(super::AcmeRequest {
            names: crate::SubjectName::parse_all(&self.names)?,
            directory: super::Directory::parse(&self.directory)?,
            challenge: self.challenge,
            // An automatic choice is made again, so it follows what the directory offers now.
            profile: self
                .profile
                .as_ref()
                .filter(|p| !p.automatic)
                .map(|p| p.name.clone()),
            account: super::account::AccountOptions {
                acme_ca: self.acme_ca.clone(),
                ..Default::default()
            },
            out: Some(stem.to_string()),
            key: self.key.parse()?,
            force: true,
            http_port: self.http_port,
            tls_port: self.tls_port,
            dns_hook: self.dns_hook.clone(),
        })
    }
}

//! `STEM.acme.json`: how an ACME certificate was obtained (CA, names, challenge and its ports or hook, profile),
//! written in the same commit as the certificate, so `certgen acme renew` can do it again unattended. In memory it
//! is typed (parsed once when read); on disk it carries a `version`, and records written before the version
//! field (version 1, the same fields) are read as they are.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::account_options::AccountOptions;
use super::challenge::{Challenge, ChallengeKind};
use super::directory::Directory;
use super::profile::ProfileChoice;
use super::request::AcmeRequest;
use crate::error::StoreError;
use crate::{CertsDir, Error, KeyKind, SubjectName};

/// The record format this certgen writes; it reads this one and every older one.
const VERSION: u32 = 2;

/// What `certgen acme` was asked, as kept next to the certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeRecord {
    pub directory: Directory,
    pub names: Vec<SubjectName>,
    pub challenge: Challenge,
    /// The port the http-01 responder listened on.
    pub http_port: u16,
    /// The port the tls-alpn-01 responder listened on.
    pub tls_port: u16,
    /// The profile asked for (or chosen automatically); renewals keep it.
    pub profile: Option<ProfileChoice>,
    /// The PEM root trusted for the directory's TLS certificate (a private ACME server).
    pub acme_ca: Option<PathBuf>,
    pub key: KeyKind,
    /// The account's URL at the CA that placed the order (absent in records older than this field).
    pub account: Option<String>,
}

/// The file's JSON: every field as text, as version 1 wrote them.
#[derive(Serialize, Deserialize)]
struct OnDisk {
    /// Absent in version 1.
    #[serde(default = "version_1")]
    version: u32,
    directory: Directory,
    names: Vec<String>,
    challenge: ChallengeKind,
    http_port: u16,
    tls_port: u16,
    dns_hook: Option<String>,
    profile: Option<ProfileChoice>,
    acme_ca: Option<PathBuf>,
    key: String,
    #[serde(default)]
    account: Option<String>,
}

fn version_1() -> u32 {
    1
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
    let bad = |reason: String| {
        Error::Store(StoreError::BadFile {
            path: path.to_path_buf(),
            reason,
        })
    };
    let not_a_record = |e: &dyn std::fmt::Display| {
        bad(format!(
            "is not a certgen ACME record ({e}); obtain the certificate again with `certgen acme`"
        ))
    };
    let file: OnDisk = serde_json::from_slice(&bytes).map_err(|e| not_a_record(&e))?;
    if file.version > VERSION {
        return Err(bad(format!(
            "is an ACME record of version {} from a newer certgen (this one reads up to {VERSION}); use that one",
            file.version
        )));
    }
    AcmeRecord::from_disk(file).map_err(|e| not_a_record(&e))
}

impl AcmeRecord {
    /// What `request` asked, ordered by `account` under `profile`.
    pub(crate) fn new(request: &AcmeRequest, profile: &Option<ProfileChoice>, account: &str) -> Self {
        AcmeRecord {
            directory: request.directory.clone(),
            names: request.names.clone(),
            challenge: request.challenge.clone(),
            http_port: request.http_port,
            tls_port: request.tls_port,
            profile: profile.clone(),
            acme_ca: request.account.acme_ca.clone(),
            key: request.key,
            account: Some(account.to_string()),
        }
    }

    /// The name of the CA this certificate came from, for messages, the banner and `/stats`.
    pub fn ca_label(&self) -> String {
        self.directory.label()
    }

    /// The request that obtains this certificate again (replacing its files).
    pub fn request(&self, stem: &str) -> AcmeRequest {
        AcmeRequest {
            names: self.names.clone(),
            directory: self.directory.clone(),
            challenge: self.challenge.clone(),
            // An automatic choice is made again, so it follows what the directory offers now.
            profile: self
                .profile
                .as_ref()
                .filter(|p| !p.automatic)
                .map(|p| p.name.clone()),
            account: AccountOptions {
                acme_ca: self.acme_ca.clone(),
                ..Default::default()
            },
            out: Some(stem.to_string()),
            key: self.key,
            force: true,
            http_port: self.http_port,
            tls_port: self.tls_port,
        }
    }

    /// The file's bytes, in the current version.
    pub(crate) fn to_json(&self) -> Result<Vec<u8>, Error> {
        let file = OnDisk {
            version: VERSION,
            directory: self.directory.clone(),
            names: self.names.iter().map(ToString::to_string).collect(),
            challenge: self.challenge.kind(),
            http_port: self.http_port,
            tls_port: self.tls_port,
            dns_hook: self.challenge.dns_hook().map(str::to_string),
            profile: self.profile.clone(),
            acme_ca: self.acme_ca.clone(),
            key: self.key.name().to_string(),
            account: self.account.clone(),
        };
        serde_json::to_vec_pretty(&file).map_err(Error::Json)
    }

    fn from_disk(file: OnDisk) -> Result<Self, Error> {
        Ok(AcmeRecord {
            directory: file.directory,
            names: SubjectName::parse_all(&file.names)?,
            challenge: Challenge::new(file.challenge, file.dns_hook)?,
            http_port: file.http_port,
            tls_port: file.tls_port,
            profile: file.profile,
            acme_ca: file.acme_ca,
            key: file.key.parse()?,
            account: file.account,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record as certgen wrote it before records had a version.
    const VERSION_1: &str = r#"{
  "directory": "https://127.0.0.1:14000/dir",
  "names": ["*.example.com", "example.com"],
  "challenge": "dns-01",
  "http_port": 80,
  "tls_port": 443,
  "dns_hook": "/usr/local/bin/my-dns-hook",
  "profile": {"name": "shortlived", "automatic": true},
  "acme_ca": "/etc/pebble/root.pem",
  "key": "ecdsa-p384",
  "account": "https://127.0.0.1:14000/my-account/1"
}"#;

    fn write(json: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("example.com.acme.json");
        std::fs::write(&path, json).unwrap();
        (dir, path)
    }

    #[test]
    fn a_version_1_record_reads_typed_and_is_written_back_as_the_current_version() {
        let (_dir, path) = write(VERSION_1.as_bytes());
        let record = read(&path).unwrap();
        assert_eq!(record.directory.url(), "https://127.0.0.1:14000/dir");
        assert_eq!(
            record.names,
            SubjectName::parse_all(["*.example.com", "example.com"]).unwrap()
        );
        assert_eq!(
            record.challenge,
            Challenge::Dns01 {
                hook: "/usr/local/bin/my-dns-hook".into()
            }
        );
        assert_eq!(record.key, KeyKind::EcdsaP384);
        assert_eq!(
            record.account.as_deref(),
            Some("https://127.0.0.1:14000/my-account/1")
        );
        let json: serde_json::Value = serde_json::from_slice(&record.to_json().unwrap()).unwrap();
        assert_eq!(json["version"], VERSION);
        let (_dir, again) = write(&record.to_json().unwrap());
        assert_eq!(read(&again).unwrap(), record);
    }

    #[test]
    fn a_record_from_a_newer_certgen_is_refused_by_name() {
        let newer = VERSION_1.replacen('{', &format!("{{\"version\": {},", VERSION + 1), 1);
        let (_dir, path) = write(newer.as_bytes());
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("from a newer certgen"), "{err}");
    }
}

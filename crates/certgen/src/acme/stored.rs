//! Whether the ACME certificate already in the certs folder answers a request: same names, not expired, and
//! obtained from the directory now configured by the account now stored for it. The CA is taken from the
//! certificate's record (`STEM.acme.json`), never from the request, so switching `--directory` (staging, then
//! production) orders anew instead of serving the old CA's certificate under the new CA's name.

use super::account;
use super::record::{self, AcmeRecord};
use super::request::AcmeRequest;
use crate::{Cert, CertsDir};

/// The stored certificate for a request, or why a new one must be ordered.
#[derive(Debug)]
pub enum Stored {
    /// Serve it: it is what the request would get.
    Reusable {
        cert: Box<Cert>,
        record: Box<AcmeRecord>,
    },
    /// Order a new one; `why` says what is wrong with the stored one (`None`: there is none).
    Order { why: Option<String> },
}

impl CertsDir {
    /// Looks at `STEM.pem` and `STEM.acme.json` for `request` (no network).
    pub fn acme_stored(&self, request: &AcmeRequest) -> Stored {
        let order = |why: String| Stored::Order { why: Some(why) };
        let Ok(stem) = request.stem() else {
            return Stored::Order { why: None };
        };
        let cert_file = self.leaf_files(&stem, false).cert_pem;
        if !cert_file.exists() {
            return Stored::Order { why: None };
        }
        let cert = match Cert::from_pem_file(&cert_file) {
            Ok(cert) => cert,
            Err(e) => {
                return order(format!(
                    "the stored certificate cannot be read ({e}); ordering a new one"
                ));
            }
        };
        let wanted = &request.names;
        if cert.names().len() != wanted.len() || !wanted.iter().all(|n| cert.names().contains(n)) {
            return order(format!(
                "the stored certificate is for {}, not {}; ordering a new one",
                list(cert.names()),
                list(wanted)
            ));
        }
        if cert.not_after() <= crate::validity::now() {
            return order(format!(
                "the stored certificate expired at {}; ordering a new one",
                crate::validity::rfc3339(cert.not_after())
            ));
        }
        let record_file = self.acme_record_file(&stem);
        let record = match record::read(&record_file) {
            Ok(record) => record,
            Err(_) => {
                return order(format!(
                    "{} does not say which CA issued the stored certificate; ordering from {}",
                    record_file.display(),
                    request.directory.label()
                ));
            }
        };
        if record.directory != request.directory {
            let (from, to) = record.directory.names_beside(&request.directory);
            return order(format!(
                "the stored certificate is from CA {from}; ordering from {to}"
            ));
        }
        let current = account::stored_id(self, &request.directory);
        if record.account.is_none() || record.account != current {
            return order(format!(
                "the stored certificate was ordered by another account than the one in {}; ordering from {} with it",
                self.acme_account_file(&request.directory).display(),
                request.directory.label()
            ));
        }
        Stored::Reusable {
            cert: Box::new(cert),
            record: Box::new(record),
        }
    }
}

fn list(names: &[crate::SubjectName]) -> String {
    names
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

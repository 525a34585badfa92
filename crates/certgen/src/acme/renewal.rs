//! `certgen acme renew`: every ACME certificate in a folder that is due (see `renew_at.rs`) is ordered again as
//! its record says, with the responder the record names.

use super::account;
use super::issued::AcmeIssued;
use super::renew_at::{self, RenewAt};
use super::request::AcmeRequest;
use super::standalone::Standalone;
use crate::{Cert, CertsDir, Error};

/// What `certgen acme renew` did with one certificate.
#[derive(Debug)]
pub enum Renewal {
    /// Not due yet.
    Kept {
        stem: String,
        renew_at: RenewAt,
    },
    Renewed {
        stem: String,
        issued: Box<AcmeIssued>,
    },
}

impl CertsDir {
    /// When `cert`, obtained by `request`, is due: the CA's ARI window, else a third of its lifetime left.
    pub async fn acme_renew_at(&self, request: &AcmeRequest, cert: &Cert) -> Result<RenewAt, Error> {
        let account = account::load_or_create(self, &request.directory, &request.account).await?;
        Ok(renew_at::renew_at(&account, cert).await)
    }

    /// Renews every ACME certificate in this folder that is due (all of them with `force`), each with the
    /// challenge, ports and CA its record names. Stops at the first failure; what was renewed before stays.
    pub async fn acme_renew(&self, force: bool) -> Result<Vec<Renewal>, Error> {
        let mut done = Vec::new();
        for (stem, record) in self.acme_records()? {
            let request = record.request(&stem);
            let current = Cert::from_pem_file(&self.leaf_files(&stem, false).cert_pem)?;
            let renew_at = self.acme_renew_at(&request, &current).await?;
            if !force && !renew_at.is_due(crate::validity::now()) {
                done.push(Renewal::Kept { stem, renew_at });
                continue;
            }
            let checked = request.check(self)?;
            let responder = Standalone::for_request(&request).await?;
            let issued = self.acme_obtain(&checked, &responder, Some(&current)).await?;
            done.push(Renewal::Renewed {
                stem,
                issued: Box::new(issued),
            });
        }
        Ok(done)
    }
}

//! What an order hands back: the files it wrote and, in memory, the chain and key in them, so a server swaps the
//! new pair in without reading back what was just written.

use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::profile::ProfileChoice;
use super::renew_at::RenewAt;
use crate::{Issued, LeafFiles};

/// A certificate obtained by ACME and written.
#[derive(Debug)]
pub struct AcmeIssued {
    pub issued: Issued<LeafFiles>,
    /// The chain as written to the full-chain file, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The new private key (PKCS#8), as written to the key file.
    pub key: PrivateKeyDer<'static>,
    /// The CA's name for messages (`letsencrypt`, or the directory's host), from the record written with it.
    pub ca: String,
    pub profile: Option<ProfileChoice>,
    pub renew_at: RenewAt,
    /// Things that did not stop the certificate (a dns-01 record that could not be cleared).
    pub warnings: Vec<String>,
}

//! Publicly trusted certificates from any ACME CA (RFC 8555), for DNS names, wildcards and IP addresses (RFC 8738).
//!
//! [`CertsDir::acme_obtain`](crate::CertsDir::acme_obtain) (in `order.rs`) runs one order: it checks the names
//! against the CA's rules before any request (`directory.rs`), loads or creates the account (`account.rs`), picks
//! the profile (`profile.rs`), answers each challenge through a [`Responder`], and writes the same file set as
//! `certgen issue` plus a record of how it was obtained (`record.rs`), all in one crash-safe commit.
//! `stored.rs` decides whether the certificate already in the folder answers a request (same names, same CA, same
//! account); `renewal.rs` decides when a certificate is due again: at the CA's ARI window (RFC 9773) when it offers one,
//! otherwise when a third of its lifetime is left.
//!
//! The responders: [`http01`] serves `/.well-known/acme-challenge/TOKEN`, [`tls_alpn01`] the `acme-tls/1`
//! certificate of RFC 8737, [`dns_hook`] runs a user's command to set and clear the `_acme-challenge` TXT record.
//! Each has a standalone server for `certgen acme`; `wsecho serve --acme` plugs the same token stores into its
//! own listeners.

pub mod account;
pub mod directory;
pub mod dns_hook;
pub mod http01;
mod order;
pub mod profile;
pub mod record;
pub mod renewal;
pub mod standalone;
pub mod stored;
pub mod tls_alpn01;

use std::fmt;
use std::str::FromStr;

use crate::{Error, SubjectName};

pub use directory::Directory;
pub use order::{AcmeIssued, AcmeRequest, Eab};
pub use record::AcmeRecord;
pub use renewal::{RenewAt, Renewal};
pub use standalone::Standalone;
pub use stored::Stored;

/// How the CA checks that we control a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ChallengeKind {
    /// A file at `http://NAME/.well-known/acme-challenge/TOKEN` (port 80 for a public CA).
    #[serde(rename = "http-01")]
    Http01,
    /// A special certificate on `NAME:443` for the `acme-tls/1` ALPN protocol.
    #[serde(rename = "tls-alpn-01")]
    TlsAlpn01,
    /// A TXT record at `_acme-challenge.NAME`; the only way to a wildcard, never for an IP (RFC 8738).
    #[serde(rename = "dns-01")]
    Dns01,
}

impl ChallengeKind {
    pub fn name(self) -> &'static str {
        match self {
            ChallengeKind::Http01 => "http-01",
            ChallengeKind::TlsAlpn01 => "tls-alpn-01",
            ChallengeKind::Dns01 => "dns-01",
        }
    }

    fn protocol_type(self) -> instant_acme::ChallengeType {
        match self {
            ChallengeKind::Http01 => instant_acme::ChallengeType::Http01,
            ChallengeKind::TlsAlpn01 => instant_acme::ChallengeType::TlsAlpn01,
            ChallengeKind::Dns01 => instant_acme::ChallengeType::Dns01,
        }
    }

    /// Refuses names this challenge cannot prove, before any request.
    pub fn check_names(self, names: &[SubjectName]) -> Result<(), Error> {
        for name in names {
            let refusal = match (self, name) {
                (ChallengeKind::Dns01, SubjectName::Ip(ip)) => Some(format!(
                    "`{ip}`: dns-01 cannot prove an IP address (RFC 8738); use --challenge http-01 or tls-alpn-01"
                )),
                (ChallengeKind::Http01 | ChallengeKind::TlsAlpn01, SubjectName::Wildcard(w)) => {
                    Some(format!(
                        "`{w}`: a wildcard can only be proven with dns-01; add --challenge dns-01 --dns-hook CMD"
                    ))
                }
                (_, SubjectName::Email(n) | SubjectName::Uri(n)) => Some(format!(
                    "`{n}`: ACME certificates name DNS names and IP addresses only"
                )),
                _ => None,
            };
            if let Some(message) = refusal {
                return Err(Error::AcmeUsage(message));
            }
        }
        Ok(())
    }
}

impl FromStr for ChallengeKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "http-01" => Ok(ChallengeKind::Http01),
            "tls-alpn-01" => Ok(ChallengeKind::TlsAlpn01),
            "dns-01" => Ok(ChallengeKind::Dns01),
            other => Err(Error::AcmeUsage(format!(
                "--challenge `{other}`: use http-01, tls-alpn-01 or dns-01"
            ))),
        }
    }
}

impl fmt::Display for ChallengeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One challenge to answer: what the CA will look for, and where.
#[derive(Debug, Clone)]
pub struct PendingChallenge {
    /// The name being proven; a wildcard's authorization names its base domain.
    pub name: SubjectName,
    /// The token in the http-01 URL.
    pub token: String,
    /// `TOKEN.THUMBPRINT`: the http-01 response body.
    pub key_authorization: String,
    /// SHA-256 of the key authorization: the tls-alpn-01 certificate's acmeIdentifier extension.
    pub digest: [u8; 32],
    /// Base64url of the digest: the dns-01 TXT record's value.
    pub dns_value: String,
}

/// Something that makes the CA's check pass while a challenge is pending.
pub trait Responder: Send + Sync {
    fn kind(&self) -> ChallengeKind;
    /// Puts the answer in place; the CA is told to look only after this returns.
    fn present(&self, challenge: &PendingChallenge) -> Result<(), Error>;
    /// Takes the answer away again (the order is done, or failed); an error becomes a warning.
    fn clear(&self, challenge: &PendingChallenge) -> Result<(), Error>;
}

/// An error and its sources as one line (hyper's "client error (Connect)" says little without them).
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

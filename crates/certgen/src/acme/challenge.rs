//! How the CA checks that we control a name: the challenge a request asks for ([`Challenge`], which carries what
//! its responder needs, so dns-01 without a hook cannot be asked for), one pending check ([`PendingChallenge`]),
//! and what answers it ([`Responder`]).

use std::fmt;
use std::str::FromStr;

use super::error::Error as AcmeError;
use crate::{Error, SubjectName};

/// The kind of a challenge, as the CA names it.
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

    pub(crate) fn protocol_type(self) -> instant_acme::ChallengeType {
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
                return Err(AcmeError::Usage(message).into());
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
            other => Err(AcmeError::Usage(format!(
                "--challenge `{other}`: use http-01, tls-alpn-01 or dns-01"
            ))
            .into()),
        }
    }
}

impl fmt::Display for ChallengeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The challenge a request answers, with what its responder needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Http01,
    TlsAlpn01,
    /// `hook` is run as `HOOK set|clear NAME VALUE` (see `dns_hook.rs`).
    Dns01 {
        hook: String,
    },
}

impl Challenge {
    /// From `--challenge KIND` and `--dns-hook CMD`: dns-01 needs the hook; the other kinds ignore it.
    pub fn new(kind: ChallengeKind, dns_hook: Option<String>) -> Result<Self, Error> {
        Ok(match (kind, dns_hook) {
            (ChallengeKind::Http01, _) => Challenge::Http01,
            (ChallengeKind::TlsAlpn01, _) => Challenge::TlsAlpn01,
            (ChallengeKind::Dns01, Some(hook)) => Challenge::Dns01 { hook },
            (ChallengeKind::Dns01, None) => {
                return Err(AcmeError::Usage(
                    "dns-01 needs --dns-hook CMD: a command certgen runs as `CMD set|clear NAME VALUE` to set and \
                     clear the TXT record"
                        .into(),
                )
                .into());
            }
        })
    }

    pub fn kind(&self) -> ChallengeKind {
        match self {
            Challenge::Http01 => ChallengeKind::Http01,
            Challenge::TlsAlpn01 => ChallengeKind::TlsAlpn01,
            Challenge::Dns01 { .. } => ChallengeKind::Dns01,
        }
    }

    pub fn dns_hook(&self) -> Option<&str> {
        match self {
            Challenge::Dns01 { hook } => Some(hook),
            Challenge::Http01 | Challenge::TlsAlpn01 => None,
        }
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind().name())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_01_comes_with_its_hook_or_not_at_all() {
        let hook = Challenge::new(ChallengeKind::Dns01, Some("set-txt".into())).unwrap();
        assert_eq!(hook.dns_hook(), Some("set-txt"));
        assert_eq!(hook.to_string(), "dns-01");
        let err = Challenge::new(ChallengeKind::Dns01, None).unwrap_err();
        assert!(
            err.to_string().starts_with("dns-01 needs --dns-hook CMD"),
            "{err}"
        );
        assert_eq!(err.exit_code(), 2);
        let http = Challenge::new(ChallengeKind::Http01, Some("ignored".into())).unwrap();
        assert_eq!((http.kind(), http.dns_hook()), (ChallengeKind::Http01, None));
    }
}

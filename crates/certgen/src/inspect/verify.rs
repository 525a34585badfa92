//! `certgen verify`: the chain and name check a rustls client runs, with its errors explained.

use std::fmt;
use std::path::Path;

use rustls_pki_types::{CertificateDer, ServerName, SignatureVerificationAlgorithm, UnixTime};
use serde::Serialize;
use time::OffsetDateTime;
use webpki::{EndEntityCert, KeyUsage};
use x509_parser::certificate::X509Certificate;

use super::constraints::{Outside, check_names};
use super::describe::{Extensions, validity_summary};
use super::objects::load_certificates;
use crate::Error;
use crate::cert::SubjectAltName;
use crate::error::InputError;

/// The signature algorithms rustls accepts with its aws-lc-rs provider (rustls `crypto::aws_lc_rs`).
static SIGNATURE_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::ECDSA_P256_SHA256,
    webpki::aws_lc_rs::ECDSA_P256_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA256,
    webpki::aws_lc_rs::ECDSA_P384_SHA384,
    webpki::aws_lc_rs::ED25519,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
];

/// Which side of a TLS connection the certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Usage {
    #[default]
    Server,
    Client,
}

impl Usage {
    fn key_usage(self) -> KeyUsage {
        match self {
            Self::Server => KeyUsage::server_auth(),
            Self::Client => KeyUsage::client_auth(),
        }
    }

    fn eku_name(self) -> &'static str {
        match self {
            Self::Server => "serverAuth",
            Self::Client => "clientAuth",
        }
    }
}

/// A successful verification.
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    pub subject: String,
    pub ca_subject: String,
    /// The name checked with `--name`, if any.
    pub name: Option<String>,
    /// The certificate's DNS and IP names (what a client may connect to).
    pub names: Vec<String>,
}

impl fmt::Display for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OK: {} chains to {}", self.subject, self.ca_subject)?;
        match &self.name {
            Some(name) => write!(f, ", valid for {name}"),
            None => write!(f, ", valid for {} (check one with --name)", self.names.join(", ")),
        }
    }
}

/// Verifies the certificate chain in `cert` (leaf first, intermediates after) against the CA
/// certificates in `ca`, at the current time, for `usage`, and for `name` when given.
///
/// Unreadable files and a `name` that is neither a DNS name nor an IP address are bad input
/// (exit 2); a failed check is [`Error::CheckFailed`] with one sentence saying why and what to do.
pub fn verify_files(ca: &Path, cert: &Path, name: Option<&str>, usage: Usage) -> Result<Verified, Error> {
    if let Some(name) = name {
        ServerName::try_from(name).map_err(|_| {
            Error::Input(InputError::InvalidName {
                input: name.to_string(),
                reason: "--name takes a DNS name or an IP address".into(),
            })
        })?;
    }
    let anchors = load_certificates(ca)?;
    let chain = load_certificates(cert)?;
    verify_chain(&anchors, &chain, name, usage).map_err(Error::CheckFailed)
}

/// [`verify_files`] on certificates already in memory: `chain` is the leaf then any
/// intermediates, `anchors` the trusted CAs. The error is the one-sentence explanation.
pub fn verify_chain(
    anchors: &[CertificateDer<'_>],
    chain: &[CertificateDer<'_>],
    name: Option<&str>,
    usage: Usage,
) -> Result<Verified, String> {
    let server_name = name
        .map(|n| {
            ServerName::try_from(n).map_err(|_| format!("{n:?} is neither a DNS name nor an IP address"))
        })
        .transpose()?;
    let (leaf_der, intermediates) = chain.split_first().ok_or("no certificate to verify")?;
    let context = Context::parse(leaf_der, intermediates, anchors, name)?;
    let trust_anchors = anchors
        .iter()
        .zip(&context.anchors)
        .map(|(der, parsed)| {
            webpki::anchor_from_trusted_cert(der)
                .map_err(|e| format!("TLS clients cannot use {} as a CA ({e:?})", parsed.subject()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = EndEntityCert::try_from(leaf_der)
        .map_err(|e| format!("TLS clients cannot parse {} ({e:?})", context.leaf_subject()))?;

    let path = leaf
        .verify_for_usage(
            SIGNATURE_ALGORITHMS,
            &trust_anchors,
            intermediates,
            UnixTime::now(),
            usage.key_usage(),
            None,
            None,
        )
        .map_err(|e| context.explain(&e, usage))?;
    if let Some(server_name) = &server_name {
        leaf.verify_is_valid_for_subject_name(server_name)
            .map_err(|e| context.explain(&e, usage))?;
    }
    let anchor = path.anchor();
    let ca_subject = trust_anchors
        .iter()
        .position(|a| {
            a.subject == anchor.subject && a.subject_public_key_info == anchor.subject_public_key_info
        })
        .and_then(|i| context.anchors.get(i))
        .map_or_else(|| context.ca_subjects(), |a| a.subject().to_string());
    Ok(Verified {
        subject: context.leaf_subject(),
        ca_subject,
        name: name.map(str::to_string),
        names: context
            .leaf_names
            .iter()
            .filter(|n| is_tls_name(n))
            .map(ToString::to_string)
            .collect(),
    })
}

fn is_tls_name(name: &SubjectAltName) -> bool {
    matches!(name, SubjectAltName::Dns(_) | SubjectAltName::Ip(_))
}

/// The parsed certificates, for turning a webpki error into a sentence about them.
struct Context<'a> {
    leaf: X509Certificate<'a>,
    leaf_names: Vec<SubjectAltName>,
    intermediates: Vec<X509Certificate<'a>>,
    anchors: Vec<X509Certificate<'a>>,
    requested_name: Option<String>,
}

impl<'a> Context<'a> {
    fn parse(
        leaf: &'a [u8],
        intermediates: &'a [CertificateDer<'a>],
        anchors: &'a [CertificateDer<'a>],
        requested_name: Option<&str>,
    ) -> Result<Self, String> {
        let parse = |der: &'a [u8], what: &str| {
            x509_parser::parse_x509_certificate(der)
                .map(|(_, cert)| cert)
                .map_err(|e| format!("the {what} is not a valid certificate: {e}"))
        };
        let leaf = parse(leaf, "leaf")?;
        let leaf_names = Extensions::of(&leaf).subject_alt_names;
        Ok(Self {
            leaf,
            leaf_names,
            intermediates: intermediates
                .iter()
                .map(|d| parse(d, "intermediate"))
                .collect::<Result<_, _>>()?,
            anchors: anchors.iter().map(|d| parse(d, "CA")).collect::<Result<_, _>>()?,
            requested_name: requested_name.map(str::to_string),
        })
    }

    fn leaf_subject(&self) -> String {
        self.leaf.subject().to_string()
    }

    fn ca_subjects(&self) -> String {
        let subjects: Vec<String> = self.anchors.iter().map(|a| a.subject().to_string()).collect();
        subjects.join(" or ")
    }

    /// One sentence: what is wrong, in terms of these certificates, and what to do.
    fn explain(&self, error: &webpki::Error, usage: Usage) -> String {
        use webpki::Error as E;
        let leaf = self.leaf_subject();
        let ca = self.ca_subjects();
        #[allow(deprecated)]
        match error {
            E::UnknownIssuer => format!(
                "{leaf} was not issued by {ca} (its issuer is {}); pass the CA that signed it with --ca, \
                 or a full chain file if an intermediate CA signed it",
                self.leaf.issuer()
            ),
            E::InvalidSignatureForPublicKey => format!(
                "the signature on {leaf} does not match the key of {ca}: a different CA with the same name \
                 signed it (was the CA recreated?); reissue the certificate with this CA"
            ),
            E::CertExpired { not_after, .. } => {
                let who = self.chain_member_with_not_after(not_after.as_secs());
                format!("{who}: {}; reissue it", self.validity_of(&who))
            }
            E::CertNotValidYet { not_before, .. } => {
                let who = self.chain_member_with_not_before(not_before.as_secs());
                format!("{who}: {}; check this machine's clock or reissue it", self.validity_of(&who))
            }
            E::CertNotValidForName(_) => {
                let covered: Vec<String> =
                    self.leaf_names.iter().filter(|n| is_tls_name(n)).map(ToString::to_string).collect();
                let covered = if covered.is_empty() { "no DNS or IP names".to_string() } else { covered.join(", ") };
                let wanted = self.requested_name.as_deref().unwrap_or("the requested name");
                format!("{leaf} is not valid for {wanted}: it covers {covered}; reissue it with `certgen issue {wanted} ...`")
            }
            E::NameConstraintViolation => match self.constraint_violation() {
                Some(outside) => format!(
                    "the name {} is outside the name constraints of {} ({}); recreate the CA with `certgen ca --force {}` and reissue",
                    outside.name, outside.ca, outside.permitted, outside.hint
                ),
                None => format!("{leaf} has a name outside the name constraints of {ca}; reissue the CA with --permit NAME"),
            },
            E::RequiredEkuNotFound | E::RequiredEkuNotFoundContext(_) | E::EmptyEkuExtension => format!(
                "{leaf} is not for {} (its extended key usage lacks {}); {}",
                match usage {
                    Usage::Server => "TLS servers",
                    Usage::Client => "TLS clients",
                },
                usage.eku_name(),
                match usage {
                    Usage::Server => "reissue it with `certgen issue`, or verify it as a client certificate with --client",
                    Usage::Client => "reissue it with `certgen client` or `certgen issue --client`",
                }
            ),
            E::CaUsedAsEndEntity => format!(
                "{leaf} is a CA certificate (CA:TRUE), not a server or client certificate; verify a leaf issued by it"
            ),
            E::EndEntityUsedAsCa => {
                "an intermediate in the chain is not a CA (CA:FALSE); pass only the leaf and real intermediate CAs".to_string()
            }
            E::PathLenConstraintViolated => format!(
                "the chain has more intermediate CAs than the path length limit of {ca} allows"
            ),
            E::UnsupportedSignatureAlgorithm
            | E::UnsupportedSignatureAlgorithmContext(_)
            | E::UnsupportedSignatureAlgorithmForPublicKey
            | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => format!(
                "a certificate in the chain of {leaf} uses a signature algorithm or key TLS clients reject (SHA-1, MD5, RSA under 2048 bits); reissue it"
            ),
            E::UnsupportedNameType => "the name given with --name is neither a DNS name nor an IP address".to_string(),
            other => format!("{leaf} does not verify against {ca}: {other:?}"),
        }
    }

    fn chain(&self) -> impl Iterator<Item = &X509Certificate<'a>> {
        std::iter::once(&self.leaf).chain(&self.intermediates)
    }

    fn chain_member_with_not_after(&self, secs: u64) -> String {
        self.chain()
            .find(|c| u64::try_from(c.validity().not_after.timestamp()).is_ok_and(|t| t == secs))
            .map_or_else(|| self.leaf_subject(), |c| c.subject().to_string())
    }

    fn chain_member_with_not_before(&self, secs: u64) -> String {
        self.chain()
            .find(|c| u64::try_from(c.validity().not_before.timestamp()).is_ok_and(|t| t == secs))
            .map_or_else(|| self.leaf_subject(), |c| c.subject().to_string())
    }

    fn validity_of(&self, subject: &str) -> String {
        self.chain()
            .find(|c| c.subject().to_string() == subject)
            .map(|c| {
                let validity = c.validity();
                validity_summary(
                    validity.not_before.to_datetime(),
                    validity.not_after.to_datetime(),
                    OffsetDateTime::now_utc(),
                )
            })
            .unwrap_or_default()
    }

    /// The first leaf name outside the name constraints of a CA in the chain.
    fn constraint_violation(&self) -> Option<Outside> {
        let cas = self.intermediates.iter().chain(&self.anchors);
        check_names(&self.leaf, cas).ok()?.outside.into_iter().next()
    }
}

//! One ACME order, start to finish: check the request (no network), account, profile, challenges, CSR with a key
//! made here, the certificate chain, and one crash-safe commit of the leaf files and the record.

use std::time::Duration;

use instant_acme::{
    Account, AuthorizationStatus, CertificateIdentifier, Identifier, NewOrder, Order, OrderStatus,
    RetryPolicy,
};
use sha2::{Digest, Sha256};

use super::account::{self, AccountOptions};
use super::profile::{self, ProfileChoice};
use super::record::AcmeRecord;
use super::renewal::{self, RenewAt};
use super::{ChallengeKind, Directory, PendingChallenge, Responder, error_chain};
use crate::params::empty_params;
use crate::pem;
use crate::store::{Commit, Secrecy};
use crate::{Cert, CertsDir, Error, Issued, KeyKind, LeafFiles, SubjectName};

/// The problem type of a rejected nonce (RFC 8555 6.5).
pub(crate) const BAD_NONCE: &str = "urn:ietf:params:acme:error:badNonce";
/// Times one request is sent while the CA rejects its nonce (each time after instant-acme's own three tries).
pub(crate) const REQUEST_ATTEMPTS: u32 = 6;
/// Whole orders tried when fetching an authorization keeps ending in a rejected nonce (that step cannot be resent).
const ORDER_ATTEMPTS: u32 = 5;
/// How long the CA may take to validate every challenge, and then to issue.
const VALIDATION_TIMEOUT: Duration = Duration::from_secs(120);

/// Evaluates `request` (an instant-acme call with its `.await`) again while the CA rejects its nonce: a request
/// rejected for its nonce was not processed (RFC 8555 6.5), so sending it again is always safe, even for finalize.
/// A macro rather than a function taking an async closure, whose future would not be `Send` for `tokio::spawn`.
macro_rules! resend_on_bad_nonce {
    ($request:expr) => {{
        let mut attempt = 1;
        loop {
            match $request {
                Err(instant_acme::Error::Api(problem))
                    if attempt < REQUEST_ATTEMPTS && problem.r#type.as_deref() == Some(BAD_NONCE) =>
                {
                    attempt += 1;
                }
                outcome => break outcome,
            }
        }
    }};
}

/// External account binding: the key id and the (decoded) HMAC key the CA gave.
#[derive(Debug, Clone)]
pub struct Eab {
    pub key_id: String,
    pub hmac_key: Vec<u8>,
}

impl Eab {
    /// From `--eab-kid` and `--eab-hmac-key` as CAs show them (the key base64url, padding optional).
    pub fn from_base64url(key_id: &str, hmac_key: &str) -> Result<Self, Error> {
        let hmac_key = data_encoding::BASE64URL_NOPAD
            .decode(hmac_key.trim().trim_end_matches('=').as_bytes())
            .map_err(|_| {
                Error::AcmeUsage(
                    "--eab-hmac-key is not base64url; paste the HMAC key exactly as the CA shows it".into(),
                )
            })?;
        Ok(Eab {
            key_id: key_id.to_string(),
            hmac_key,
        })
    }
}

/// Everything one order needs.
#[derive(Debug, Clone)]
pub struct AcmeRequest {
    pub names: Vec<SubjectName>,
    pub directory: Directory,
    pub challenge: ChallengeKind,
    /// `--profile`; `None` lets certgen choose (see `profile.rs`).
    pub profile: Option<String>,
    pub account: AccountOptions,
    /// File stem [default: the first name].
    pub out: Option<String>,
    pub key: KeyKind,
    /// Replace existing files of the stem (renewals do).
    pub force: bool,
    /// The ports and hook, kept in the record for renewals.
    pub http_port: u16,
    pub tls_port: u16,
    pub dns_hook: Option<String>,
}

/// A certificate obtained by ACME and written.
#[derive(Debug)]
pub struct AcmeIssued {
    pub issued: Issued<LeafFiles>,
    /// The CA's name for messages (`letsencrypt`, or the directory's host), from the record written with it.
    pub ca: String,
    pub profile: Option<ProfileChoice>,
    pub renew_at: RenewAt,
    /// Things that did not stop the certificate (a dns-01 record that could not be cleared).
    pub warnings: Vec<String>,
}

impl AcmeRequest {
    /// The file stem this request writes.
    pub fn stem(&self) -> Result<String, Error> {
        match (&self.out, self.names.first()) {
            (Some(out), _) => crate::leaf::valid_stem(out),
            (None, Some(first)) => Ok(first.file_stem()),
            (None, None) => Err(Error::NoNames),
        }
    }

    /// Every check that needs no network: names for this CA and this challenge, the stem, existing files, and the
    /// terms of service for a new account.
    pub fn check(&self, dir: &CertsDir) -> Result<(), Error> {
        if self.names.is_empty() {
            return Err(Error::NoNames);
        }
        self.directory.check_names(&self.names)?;
        self.challenge.check_names(&self.names)?;
        let stem = self.stem()?;
        let record_file = dir.acme_record_file(&stem);
        if !self.force
            && let Ok(record) = super::record::read(&record_file)
            && record.directory != self.directory.url()
        {
            let (from, to) = super::stored::ca_names(&record.directory, &self.directory);
            return Err(Error::AcmeUsage(format!(
                "the certificate stored as {stem} is from CA {from}, not {to}: use --force to replace it with one \
                 from {to}, or --out to keep both"
            )));
        }
        let mut files: Vec<std::path::PathBuf> = dir.leaf_files(&stem, true).all().map(Into::into).collect();
        files.push(record_file);
        crate::store::refuse_existing(
            files.iter().map(|p| p.as_path()),
            self.force,
            "use --force to replace it, `certgen acme renew` to renew it, or --out to pick another file name",
        )?;
        if !self.account.agree_tos && !account::exists(dir, &self.directory) {
            return Err(Error::AcmeUsage(format!(
                "creating an account at {} means accepting its terms of service: read them, then add --agree-tos",
                self.directory.label()
            )));
        }
        Ok(())
    }

    fn record(&self, profile: &Option<ProfileChoice>, account: &Account) -> AcmeRecord {
        AcmeRecord {
            directory: self.directory.url().to_string(),
            names: self.names.iter().map(ToString::to_string).collect(),
            challenge: self.challenge,
            http_port: self.http_port,
            tls_port: self.tls_port,
            dns_hook: self.dns_hook.clone(),
            profile: profile.clone(),
            acme_ca: self.account.acme_ca.clone(),
            key: self.key.name().to_string(),
            account: Some(account.id().to_string()),
        }
    }
}

impl CertsDir {
    /// Obtains a certificate for `request.names`, answering challenges with `responder` (whose kind must be
    /// `request.challenge`), and writes `STEM.pem`, `STEM-key.pem`, `STEM-fullchain.pem`, `STEM.cer` and
    /// `STEM.acme.json` together. `replaces` names the certificate this one renews (ARI), when known. On error the
    /// folder is as it was, except for a newly created account (kept, so a retry does not create another).
    pub async fn acme_obtain(
        &self,
        request: &AcmeRequest,
        responder: &dyn Responder,
        replaces: Option<&Cert>,
    ) -> Result<AcmeIssued, Error> {
        request.check(self)?;
        if responder.kind() != request.challenge {
            return Err(Error::AcmeUsage(format!(
                "the {} responder cannot answer {} challenges",
                responder.kind(),
                request.challenge
            )));
        }
        let account = account::load_or_create(self, &request.directory, &request.account).await?;
        let offered: Vec<String> = account.profiles().map(|p| p.name.to_string()).collect();
        let profile = profile::choose(
            request.profile.as_deref(),
            &request.names,
            &offered,
            request.directory.url(),
        )?;
        // Each request is resent while its nonce is rejected (`resend_on_bad_nonce!`), except the authorization
        // fetch, whose iterator has moved on: an order that still ends in badNonce is run again whole (nothing was
        // issued or written).
        let mut attempt = 1;
        let (chain_pem, key, warnings) = loop {
            match run_order(&account, request, responder, &profile, replaces).await {
                Err(err) if is_bad_nonce(&err) && attempt < ORDER_ATTEMPTS => attempt += 1,
                outcome => break outcome?,
            }
        };
        let record = request.record(&profile, &account);
        let issued = write(self, request, &record, &chain_pem, &key)?;
        let renew_at = renewal::renew_at(&account, &issued.cert).await;
        Ok(AcmeIssued {
            issued,
            ca: record.ca_label(),
            profile,
            renew_at,
            warnings,
        })
    }
}

/// One order from `newOrder` to the downloaded chain: the chain, its new key, and warnings from clearing answers.
async fn run_order(
    account: &Account,
    request: &AcmeRequest,
    responder: &dyn Responder,
    profile: &Option<ProfileChoice>,
    replaces: Option<&Cert>,
) -> Result<(String, rcgen::KeyPair, Vec<String>), Error> {
    let identifiers: Vec<Identifier> = request.names.iter().map(identifier).collect();
    let replaced = replaces.and_then(|cert| CertificateIdentifier::try_from(cert.der()).ok());
    let new_order = || {
        let order = NewOrder::new(&identifiers);
        match &profile {
            Some(profile) => order.profile(&profile.name),
            None => order,
        }
    };
    let url = request.directory.url();
    // A CA without ARI cannot take `replaces`; the renewal is then an ordinary order.
    let mut order = match replaced {
        Some(id) => match resend_on_bad_nonce!(account.new_order(&new_order().replaces(id.clone())).await) {
            Err(instant_acme::Error::Unsupported(_)) => {
                resend_on_bad_nonce!(account.new_order(&new_order()).await)
            }
            other => other,
        },
        None => resend_on_bad_nonce!(account.new_order(&new_order()).await),
    }
    .map_err(|e| acme_error("new order", url, e))?;

    let mut presented = Vec::new();
    let answered = answer_challenges(&mut order, request, responder, &mut presented).await;
    let ready = match answered {
        Ok(()) => wait_until_ready(&mut order, request).await,
        Err(err) => Err(err),
    };
    let warnings: Vec<String> = presented
        .iter()
        .filter_map(|challenge| responder.clear(challenge).err().map(|e| e.to_string()))
        .collect();
    ready?;

    let key = request.key.generate()?;
    let mut params = empty_params(&key);
    params.subject_alt_names = request
        .names
        .iter()
        .map(SubjectName::to_san)
        .collect::<Result<_, _>>()?;
    let csr = params
        .serialize_request(&key)
        .map_err(|e| Error::crypto("making the certificate signing request", e))?;
    resend_on_bad_nonce!(order.finalize_csr(csr.der()).await).map_err(|e| acme_error("finalize", url, e))?;
    let policy = RetryPolicy::new().timeout(VALIDATION_TIMEOUT);
    let chain_pem = resend_on_bad_nonce!(order.poll_certificate(&policy).await)
        .map_err(|e| acme_error("certificate download", url, e))?;
    Ok((chain_pem, key, warnings))
}

/// Did the CA reject a nonce (RFC 8555 6.5) even after instant-acme's own retries?
fn is_bad_nonce(err: &Error) -> bool {
    matches!(err, Error::Acme { detail, .. } if detail.ends_with(&format!("({BAD_NONCE})")))
}

/// Presents every pending authorization's challenge of the requested kind and tells the CA to look.
async fn answer_challenges(
    order: &mut Order,
    request: &AcmeRequest,
    responder: &dyn Responder,
    presented: &mut Vec<PendingChallenge>,
) -> Result<(), Error> {
    let url = request.directory.url();
    let mut rejected = None;
    let mut authorizations = order.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let mut authorization = authorization.map_err(|e| acme_error("authorization", url, e))?;
        if authorization.status == AuthorizationStatus::Valid {
            continue;
        }
        let name = authorized_name(&authorization.identifier());
        let Some(mut challenge) = authorization.challenge(request.challenge.protocol_type()) else {
            return Err(Error::AcmeUsage(format!(
                "the CA offers no {} challenge for {name}; pick another --challenge",
                request.challenge
            )));
        };
        let key_authorization = challenge.key_authorization();
        let digest: [u8; 32] = Sha256::digest(key_authorization.as_str().as_bytes()).into();
        let pending = PendingChallenge {
            name,
            token: challenge.token.clone(),
            key_authorization: key_authorization.as_str().to_string(),
            digest,
            dns_value: key_authorization.dns_value(),
        };
        responder.present(&pending)?;
        presented.push(pending);
        if let Err(err) = resend_on_bad_nonce!(challenge.set_ready().await) {
            rejected = Some(err);
            break;
        }
    }
    match rejected {
        None => Ok(()),
        // A CA that validates at once (pebble) may answer "ready" with the challenge already failed: its
        // authorization then holds the validation error, which is the one to report.
        Some(err @ instant_acme::Error::Api(_)) => match failed_challenge(order, request).await {
            Some(failed) => Err(failed),
            None => Err(acme_error("challenge", url, err)),
        },
        Some(err) => Err(acme_error("challenge", url, err)),
    }
}

/// Polls until the order is ready; when the CA gave up, the error carries its problem detail for the failed name.
async fn wait_until_ready(order: &mut Order, request: &AcmeRequest) -> Result<(), Error> {
    let url = request.directory.url();
    let policy = RetryPolicy::new().timeout(VALIDATION_TIMEOUT);
    match resend_on_bad_nonce!(order.poll_ready(&policy).await) {
        Ok(OrderStatus::Ready | OrderStatus::Valid) => Ok(()),
        // An invalid order (reported as its problem, or as a status) is explained by its failed challenge.
        Err(instant_acme::Error::Api(problem)) if problem.r#type.as_deref() != Some(BAD_NONCE) => {
            Err(validation_failure(order, request).await)
        }
        Ok(_) => Err(validation_failure(order, request).await),
        Err(e) => Err(acme_error("validation", url, e)),
    }
}

/// The first failed challenge's problem, or the order's own.
async fn validation_failure(order: &mut Order, request: &AcmeRequest) -> Error {
    if let Some(failed) = failed_challenge(order, request).await {
        return failed;
    }
    let url = request.directory.url();
    let detail = order
        .state()
        .error
        .as_ref()
        .map_or_else(|| "the order became invalid".to_string(), problem_detail);
    Error::Acme {
        step: "validation",
        url: url.to_string(),
        detail,
    }
}

/// The first challenge of `order` the CA could not validate, with its problem, as the authorizations now say.
async fn failed_challenge(order: &mut Order, request: &AcmeRequest) -> Option<Error> {
    let mut authorizations = order.authorizations();
    while let Some(Ok(mut authorization)) = authorizations.next().await {
        let Ok(state) = authorization.refresh().await else {
            continue;
        };
        if let Some(problem) = state.challenges.iter().find_map(|c| c.error.as_ref()) {
            return Some(Error::AcmeChallengeFailed {
                name: authorized_name(&state.identifier()).to_string(),
                challenge: request.challenge.name(),
                detail: problem_detail(problem),
            });
        }
    }
    None
}

/// The problem's detail and type (`... (urn:ietf:params:acme:error:connection)`), one line.
fn problem_detail(problem: &instant_acme::Problem) -> String {
    let detail = problem
        .detail
        .as_deref()
        .unwrap_or("no detail")
        .replace('\n', " ");
    match &problem.r#type {
        Some(kind) => format!("{detail} ({kind})"),
        None => detail,
    }
}

fn acme_error(step: &'static str, url: &str, err: instant_acme::Error) -> Error {
    let detail = match &err {
        instant_acme::Error::Api(problem) => problem_detail(problem),
        other => error_chain(other),
    };
    Error::Acme {
        step,
        url: url.to_string(),
        detail,
    }
}

fn identifier(name: &SubjectName) -> Identifier {
    match name {
        SubjectName::Ip(ip) => Identifier::Ip(*ip),
        other => Identifier::Dns(other.to_string()),
    }
}

/// The name an authorization is for, as certgen spells names (a wildcard's keeps its `*.`).
fn authorized_name(identifier: &instant_acme::AuthorizedIdentifier<'_>) -> SubjectName {
    let text = identifier.to_string();
    SubjectName::parse(&text).unwrap_or(SubjectName::Dns(text))
}

/// The leaf files and the record, in one commit.
fn write(
    dir: &CertsDir,
    request: &AcmeRequest,
    record: &AcmeRecord,
    chain_pem: &str,
    key: &rcgen::KeyPair,
) -> Result<Issued<LeafFiles>, Error> {
    let bad_chain = |reason: String| Error::Acme {
        step: "certificate download",
        url: request.directory.url().to_string(),
        detail: reason,
    };
    let chain = pem::chain(chain_pem.as_bytes()).map_err(|problem| match problem {
        pem::Problem::BadPem(e) => bad_chain(format!(
            "the CA sent an unreadable chain ({})",
            pem::pem_error_text(&e)
        )),
        _ => bad_chain("the CA sent no certificate".into()),
    })?;
    let leaf_der = &chain[0];
    let cert =
        Cert::from_der(leaf_der.clone()).map_err(|e| bad_chain(format!("unparsable certificate ({e})")))?;
    let stem = request.stem()?;
    let files = dir.leaf_files(&stem, false);
    let record = serde_json::to_vec_pretty(record).map_err(|e| Error::Json(e.to_string()))?;
    let mut commit = Commit::default();
    commit.write(&files.cert_pem, first_pem_block(chain_pem), Secrecy::Public);
    commit.write(
        &files.fullchain_pem,
        chain_pem.as_bytes().to_vec(),
        Secrecy::Public,
    );
    commit.write(&files.cert_der, leaf_der.to_vec(), Secrecy::Public);
    commit.write(&files.key_pem, key.serialize_pem(), Secrecy::Secret);
    commit.write(&dir.acme_record_file(&stem), record, Secrecy::Public);
    commit.remove_stale(dir.leaf_files(&stem, true).all());
    commit.apply(dir.path())?;
    Ok(Issued { files, cert })
}

/// The leaf's PEM block: the chain's text up to the first END line.
fn first_pem_block(chain_pem: &str) -> String {
    const END: &str = "-----END CERTIFICATE-----";
    match chain_pem.find(END) {
        Some(at) => format!("{}\n", chain_pem[..at + END.len()].trim_start()),
        None => chain_pem.to_string(),
    }
}

//! One ACME order, start to finish: check the request (no network), account, profile, challenges, CSR with a key
//! made here, the certificate chain, and one crash-safe commit of the leaf files and the record.

use std::time::Duration;

use instant_acme::{
    Account, AuthorizationStatus, CertificateIdentifier, Identifier, NewOrder, Order, OrderStatus,
    RetryPolicy,
};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

use super::account;
use super::chain::Chain;
use super::challenge::{PendingChallenge, Responder};
use super::check::CheckedRequest;
use super::error::{Cause, Error as AcmeError};
use super::issued::AcmeIssued;
use super::nonce::resend_on_bad_nonce;
use super::problem::Problem;
use super::profile::{self, ProfileChoice};
use super::record::AcmeRecord;
use super::renew_at;
use super::request::AcmeRequest;
use crate::params::empty_params;
use crate::store::{Commit, Secrecy};
use crate::{Cert, CertsDir, Error, Issued, LeafFiles, SubjectName};

/// Whole orders tried when fetching an authorization keeps ending in a rejected nonce (that step cannot be resent).
const ORDER_ATTEMPTS: u32 = 5;
/// How long the CA may take to validate every challenge, and then to issue.
const VALIDATION_TIMEOUT: Duration = Duration::from_secs(120);

impl CertsDir {
    /// Obtains a certificate for the checked request's names, answering challenges with `responder` (whose kind
    /// must be the request's challenge), and writes `STEM.pem`, `STEM-key.pem`, `STEM-fullchain.pem`, `STEM.cer` and
    /// `STEM.acme.json` together. `replaces` names the certificate this one renews (ARI), when known. On error the
    /// folder is as it was, except for a newly created account (kept, so a retry does not create another).
    pub async fn acme_obtain(
        &self,
        checked: &CheckedRequest,
        responder: &dyn Responder,
        replaces: Option<&Cert>,
    ) -> Result<AcmeIssued, Error> {
        let request = checked.request();
        if responder.kind() != request.challenge.kind() {
            return Err(AcmeError::Usage(format!(
                "the {} responder cannot answer {} challenges",
                responder.kind(),
                request.challenge
            ))
            .into());
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
        let (chain, key, warnings) = loop {
            match run_order(&account, request, responder, &profile, replaces).await {
                Err(Error::Acme(err)) if err.is_bad_nonce() && attempt < ORDER_ATTEMPTS => attempt += 1,
                outcome => break outcome?,
            }
        };
        let record = AcmeRecord::new(request, &profile, account.id());
        let issued = write(self, checked.stem(), &record, &chain, &key)?;
        let renew_at = renew_at::renew_at(&account, &issued.cert).await;
        Ok(AcmeIssued {
            issued,
            chain: chain.certificates,
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
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
) -> Result<(Chain, rcgen::KeyPair, Vec<String>), Error> {
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
    .map_err(|e| AcmeError::request("new order", url, &e))?;

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
    resend_on_bad_nonce!(order.finalize_csr(csr.der()).await)
        .map_err(|e| AcmeError::request("finalize", url, &e))?;
    let policy = RetryPolicy::new().timeout(VALIDATION_TIMEOUT);
    let chain_pem = resend_on_bad_nonce!(order.poll_certificate(&policy).await)
        .map_err(|e| AcmeError::request("certificate download", url, &e))?;
    Ok((Chain::parse(chain_pem, url)?, key, warnings))
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
        let mut authorization = authorization.map_err(|e| AcmeError::request("authorization", url, &e))?;
        if authorization.status == AuthorizationStatus::Valid {
            continue;
        }
        let name = authorized_name(&authorization.identifier());
        let Some(mut challenge) = authorization.challenge(request.challenge.kind().protocol_type()) else {
            return Err(AcmeError::Usage(format!(
                "the CA offers no {} challenge for {name}; pick another --challenge",
                request.challenge
            ))
            .into());
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
            Some(failed) => Err(failed.into()),
            None => Err(AcmeError::request("challenge", url, &err).into()),
        },
        Some(err) => Err(AcmeError::request("challenge", url, &err).into()),
    }
}

/// Polls until the order is ready; when the CA gave up, the error carries its problem detail for the failed name.
async fn wait_until_ready(order: &mut Order, request: &AcmeRequest) -> Result<(), Error> {
    let url = request.directory.url();
    let policy = RetryPolicy::new().timeout(VALIDATION_TIMEOUT);
    match resend_on_bad_nonce!(order.poll_ready(&policy).await) {
        Ok(OrderStatus::Ready | OrderStatus::Valid) => Ok(()),
        // An invalid order (reported as its problem, or as a status) is explained by its failed challenge.
        Err(e @ instant_acme::Error::Api(_)) if !super::nonce::rejected(&e) => {
            Err(validation_failure(order, request).await.into())
        }
        Ok(_) => Err(validation_failure(order, request).await.into()),
        Err(e) => Err(AcmeError::request("validation", url, &e).into()),
    }
}

/// The first failed challenge's problem, or the order's own.
async fn validation_failure(order: &mut Order, request: &AcmeRequest) -> AcmeError {
    if let Some(failed) = failed_challenge(order, request).await {
        return failed;
    }
    let cause = order.state().error.as_ref().map_or_else(
        || Cause::Other("the order became invalid".into()),
        |problem| Cause::Problem(problem.into()),
    );
    AcmeError::Request {
        step: "validation",
        url: request.directory.url().to_string(),
        cause,
    }
}

/// The first challenge of `order` the CA could not validate, with its problem, as the authorizations now say.
async fn failed_challenge(order: &mut Order, request: &AcmeRequest) -> Option<AcmeError> {
    let mut authorizations = order.authorizations();
    while let Some(Ok(mut authorization)) = authorizations.next().await {
        let Ok(state) = authorization.refresh().await else {
            continue;
        };
        if let Some(problem) = state.challenges.iter().find_map(|c| c.error.as_ref()) {
            return Some(AcmeError::ChallengeFailed {
                name: authorized_name(&state.identifier()).to_string(),
                challenge: request.challenge.kind().name(),
                problem: Problem::from(problem),
            });
        }
    }
    None
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
    stem: &str,
    record: &AcmeRecord,
    chain: &Chain,
    key: &rcgen::KeyPair,
) -> Result<Issued<LeafFiles>, Error> {
    let files = dir.leaf_files(stem, false);
    let mut commit = Commit::default();
    commit.write(&files.cert_pem, chain.leaf_pem(), Secrecy::Public);
    commit.write(&files.fullchain_pem, chain.pem.clone(), Secrecy::Public);
    commit.write(&files.cert_der, chain.leaf.der().to_vec(), Secrecy::Public);
    commit.write(&files.key_pem, key.serialize_pem(), Secrecy::Secret);
    commit.write(&dir.acme_record_file(stem), record.to_json()?, Secrecy::Public);
    commit.remove_stale(dir.leaf_files(stem, true).all());
    commit.apply(dir.path())?;
    Ok(Issued {
        files,
        cert: chain.leaf.clone(),
    })
}

//! `wsecho serve --acme NAME...`: the certificate comes from an ACME CA, obtained after the listeners are bound by
//! answering the challenge on them (tls-alpn-01 on the wss listener, http-01 on the ws listener), kept in a certs
//! folder so a restart reuses it, renewed in the background and swapped in through [`TlsState::reload`] (the path
//! SIGHUP and file changes take), which leaves open connections alone. Until a certificate exists, wss handshakes
//! fail with a log line saying what the server waits for.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use certgen::acme::dns_hook::DnsHook;
use certgen::acme::http01::Http01Tokens;
use certgen::acme::tls_alpn01::AlpnCertificates;
use certgen::acme::{AcmeRequest, ChallengeKind, RenewAt, Responder, Stored};
use certgen::{Cert, CertsDir, LeafFiles, SubjectName};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::sync::{Notify, watch};

use super::certificate_source::CertificateSource;
use super::tls::TlsState;
use crate::{Error, pem, tls};

/// After a failed order, the first wait before trying again; it doubles up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_secs(30);
const MAX_RETRY: Duration = Duration::from_secs(3600);
/// How long start-up waits for the CA's renewal window of a certificate it already has, before using the
/// one-third rule.
const RENEWAL_INFO_TIMEOUT: Duration = Duration::from_secs(10);

/// What `--acme` asks for and where its state lives.
#[derive(Debug, Clone)]
pub struct AcmeConfig {
    /// The order: names, directory, challenge, account options, file stem.
    pub request: AcmeRequest,
    /// The certs folder holding the account, the certificate and its record (`--acme-dir`).
    pub dir: PathBuf,
}

/// The ACME side of the wss listeners: the current certificate, the validation answers, and the renewal trigger.
pub(crate) struct Acme {
    request: AcmeRequest,
    dir: CertsDir,
    files: LeafFiles,
    http01: Http01Tokens,
    alpn: AlpnCertificates,
    dns_hook: Option<DnsHook>,
    current: RwLock<Option<Arc<CertifiedKey>>>,
    source: RwLock<Option<CertificateSource>>,
    renew_at: RwLock<Option<time::OffsetDateTime>>,
    renew_now: Notify,
}

impl std::fmt::Debug for Acme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acme")
            .field("names", &self.request.names)
            .finish()
    }
}

impl Acme {
    pub(crate) fn new(config: &AcmeConfig) -> Result<Self, Error> {
        let dir = CertsDir::new(&config.dir);
        let mut request = config.request.clone();
        let stem = request.stem()?;
        request.out = Some(stem.clone());
        if request.challenge == ChallengeKind::Dns01 && request.dns_hook.is_none() {
            return Err(Error::Usage("--challenge dns-01 needs --dns-hook CMD".into()));
        }
        // Only what needs no network; existing files are this server's own, renewed in place.
        request.force = true;
        request.check(&dir)?;
        Ok(Acme {
            files: dir.leaf_files(&stem, false),
            dns_hook: request.dns_hook.clone().map(DnsHook::new),
            request,
            dir,
            http01: Http01Tokens::default(),
            alpn: AlpnCertificates::default(),
            current: RwLock::new(None),
            source: RwLock::new(None),
            renew_at: RwLock::new(None),
            renew_now: Notify::new(),
        })
    }

    /// The host to announce in URLs: the first name (`[...]` around an IPv6 address; a wildcard's `*` kept).
    pub(crate) fn host(&self) -> String {
        match self.request.names.first() {
            Some(SubjectName::Ip(std::net::IpAddr::V6(v6))) => format!("[{v6}]"),
            Some(name) => name.to_string(),
            None => String::new(),
        }
    }

    pub(crate) fn challenge(&self) -> ChallengeKind {
        self.request.challenge
    }

    /// The http-01 answers, for the `/.well-known/acme-challenge/` route.
    pub(crate) fn http01(&self) -> &Http01Tokens {
        &self.http01
    }

    /// The certificate pair as files, for the reload path.
    pub(crate) fn files(&self) -> (PathBuf, PathBuf) {
        (self.files.fullchain_pem.clone(), self.files.key_pem.clone())
    }

    pub(crate) fn source(&self) -> Option<CertificateSource> {
        self.source.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Loads the stored pair into the resolver (the reload path calls this).
    pub(crate) fn load(&self) -> Result<(), Error> {
        let (chain_path, key_path) = self.files();
        let chain = pem::read_certs("ACME certificate", &chain_path)?;
        let key = pem::read_key(&key_path)?;
        let signing_key = tls::provider()
            .key_provider
            .load_private_key(key)
            .map_err(|e| Error::BadFile {
                what: "ACME key",
                path: key_path.clone(),
                detail: e.to_string(),
            })?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) =
            Some(Arc::new(CertifiedKey::new(chain, signing_key)));
        Ok(())
    }

    /// Asks the background task to renew now, due or not.
    pub(crate) fn renew_now(&self) {
        self.renew_now.notify_one();
    }

    fn responder(&self) -> &dyn Responder {
        match (self.request.challenge, &self.dns_hook) {
            (ChallengeKind::TlsAlpn01, _) => &self.alpn,
            (ChallengeKind::Dns01, Some(hook)) => hook,
            _ => &self.http01,
        }
    }

    /// The stored certificate when it answers the request: names, expiry, and the CA and account of its record.
    fn stored(&self) -> Option<Cert> {
        match self.dir.acme_stored(&self.request) {
            Stored::Reusable { cert, .. } => Some(*cert),
            Stored::Order { .. } => None,
        }
    }

    /// The banner's certificate line.
    pub(crate) fn banner_line(&self) -> String {
        match self.source() {
            Some(source) => format!(
                "certificate: from ACME CA {}, expires {}, renews {}, issuer {}",
                source.ca.unwrap_or_default(),
                source.not_after,
                source.renews_at.unwrap_or_default(),
                source.issuer
            ),
            None => format!("certificate: none yet; {}", self.waiting_for()),
        }
    }

    /// What the server waits for before wss works.
    fn waiting_for(&self) -> String {
        let names: Vec<String> = self.request.names.iter().map(ToString::to_string).collect();
        format!(
            "waiting for the ACME CA {} to validate {} by {}",
            self.request.directory.label(),
            names.join(", "),
            self.request.challenge
        )
    }

    /// `ca` is the CA the certificate's record names, which is where it came from whatever was asked.
    fn set_source(&self, cert: &Cert, ca: &str, renew_at: &RenewAt) {
        let source = CertificateSource::acme(cert, ca, renew_at.at());
        *self.source.write().unwrap_or_else(|p| p.into_inner()) = Some(source);
        *self.renew_at.write().unwrap_or_else(|p| p.into_inner()) = Some(renew_at.at());
    }

    /// At start-up: serve the stored certificate at once when it still fits (a restart spends no rate limit).
    pub(crate) async fn use_stored(&self) {
        let (cert, record) = match self.dir.acme_stored(&self.request) {
            Stored::Reusable { cert, record } => (cert, record),
            Stored::Order { why: Some(why) } => {
                tracing::info!("ACME: {why}");
                return;
            }
            Stored::Order { why: None } => return,
        };
        if let Err(e) = self.load() {
            tracing::warn!("ACME: the stored certificate cannot be used ({e}); ordering a new one");
            return;
        }
        let renew_at =
            tokio::time::timeout(RENEWAL_INFO_TIMEOUT, self.dir.acme_renew_at(&self.request, &cert))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_else(|| RenewAt::third_of_lifetime(&cert));
        self.set_source(&cert, &record.ca_label(), &renew_at);
    }
}

impl ResolvesServerCert for Acme {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if AlpnCertificates::is_validation(&hello) {
            return self.alpn.for_hello(&hello);
        }
        let current = self.current.read().unwrap_or_else(|p| p.into_inner()).clone();
        if current.is_none() {
            tracing::warn!(
                "wss handshake refused: no certificate yet, {}",
                self.waiting_for()
            );
        }
        current
    }
}

/// Obtains the certificate when there is none, then renews it whenever it is due (or [`Acme::renew_now`] is
/// called), swapping each new one in through `tls`'s reload; retries failed orders with a growing pause.
pub(crate) async fn run(acme: Arc<Acme>, tls: Arc<TlsState>, mut shutdown: watch::Receiver<bool>) {
    let mut retry = FIRST_RETRY;
    loop {
        let stored = acme.stored().filter(|_| acme.source().is_some());
        if let Some(cert) = &stored {
            let renew_at = *acme.renew_at.read().unwrap_or_else(|p| p.into_inner());
            let wait = renew_at
                .map(|at| at - time::OffsetDateTime::now_utc())
                .and_then(|left| left.try_into().ok())
                .unwrap_or(Duration::ZERO);
            tracing::info!(
                "ACME: certificate serial {} renews in {}s",
                serial(cert),
                wait.as_secs()
            );
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = acme.renew_now.notified() => tracing::info!("ACME: renewal asked for"),
                _ = super::shutdown::stopped(&mut shutdown) => return,
            }
        } else {
            tracing::info!("ACME: {}", acme.waiting_for());
        }
        let ordered = acme
            .dir
            .acme_obtain(&acme.request, acme.responder(), stored.as_ref());
        let outcome = tokio::select! {
            outcome = ordered => outcome,
            _ = super::shutdown::stopped(&mut shutdown) => return,
        };
        match outcome {
            Ok(issued) => {
                retry = FIRST_RETRY;
                for warning in &issued.warnings {
                    tracing::warn!("ACME: {warning}");
                }
                acme.set_source(&issued.issued.cert, &issued.ca, &issued.renew_at);
                tls.reload_and_log("ACME certificate obtained");
                tracing::info!(
                    "ACME: certificate from {} for {}, expires {}, renews {} ({})",
                    issued.ca,
                    acme.request
                        .names
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    certgen::validity::rfc3339(issued.issued.cert.not_after()),
                    certgen::validity::rfc3339(issued.renew_at.at()),
                    issued.renew_at.reason()
                );
            }
            Err(e) => {
                tracing::warn!("ACME: {e}; trying again in {}s", retry.as_secs());
                tokio::select! {
                    _ = tokio::time::sleep(retry) => {}
                    _ = acme.renew_now.notified() => {}
                    _ = super::shutdown::stopped(&mut shutdown) => return,
                }
                retry = (retry * 2).min(MAX_RETRY);
            }
        }
    }
}

fn serial(cert: &Cert) -> String {
    cert.x509().raw_serial_as_string()
}

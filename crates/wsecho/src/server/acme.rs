//! `wsecho serve --acme NAME...`: the certificate comes from an ACME CA, obtained after the listeners are bound by
//! answering the challenge on them (tls-alpn-01 on the wss listener, http-01 on the ws listener), kept in a certs
//! folder so a restart reuses it, renewed in the background and handed to the TLS state's
//! [`CertificateResolver`] in memory, which leaves open connections alone. Until a certificate exists, wss
//! handshakes fail with a log line saying what the server waits for.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use certgen::acme::dns_hook::DnsHook;
use certgen::acme::http01::Http01Tokens;
use certgen::acme::tls_alpn01::AlpnCertificates;
use certgen::acme::{AcmeIssued, AcmeRequest, Challenge, CheckedRequest, RenewAt, Responder, Stored};
use certgen::{Cert, CertsDir, LeafFiles, SubjectName};
use tokio::sync::{Notify, watch};

use super::certificate_resolver::CertificateResolver;
use super::certificate_source::CertificateSource;
use super::tls::TlsFiles;
use crate::Error;

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

/// The ACME side of the wss listeners: the request, the validation answers, the resolver it feeds, and the
/// renewal trigger.
pub(crate) struct Acme {
    /// Checked once, at start-up: every order after that is for the same names into the same folder.
    checked: CheckedRequest,
    dir: CertsDir,
    files: LeafFiles,
    http01: Http01Tokens,
    alpn: AlpnCertificates,
    dns_hook: Option<DnsHook>,
    resolver: Arc<CertificateResolver>,
    renew_at: RwLock<Option<time::OffsetDateTime>>,
    renew_now: Notify,
}

impl std::fmt::Debug for Acme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acme")
            .field("names", &self.request().names)
            .finish()
    }
}

impl Acme {
    pub(crate) fn new(config: &AcmeConfig) -> Result<Self, Error> {
        let dir = CertsDir::new(&config.dir);
        let mut request = config.request.clone();
        request.out = Some(request.stem()?);
        // Only what needs no network; existing files are this server's own, renewed in place.
        request.force = true;
        let checked = request.check(&dir)?;
        let alpn = AlpnCertificates::default();
        let validations = (request.challenge == Challenge::TlsAlpn01).then(|| alpn.clone());
        let resolver = CertificateResolver::new(validations, waiting_for(&request));
        Ok(Acme {
            files: dir.leaf_files(checked.stem(), false),
            dns_hook: request.challenge.dns_hook().map(DnsHook::new),
            checked,
            dir,
            http01: Http01Tokens::default(),
            alpn,
            resolver: Arc::new(resolver),
            renew_at: RwLock::new(None),
            renew_now: Notify::new(),
        })
    }

    fn request(&self) -> &AcmeRequest {
        self.checked.request()
    }

    /// The resolver the TLS state serves from; this side feeds it.
    pub(crate) fn resolver(&self) -> Arc<CertificateResolver> {
        self.resolver.clone()
    }

    /// The host to announce in URLs: the first name (`[...]` around an IPv6 address; a wildcard's `*` kept).
    pub(crate) fn host(&self) -> String {
        match self.request().names.first() {
            Some(SubjectName::Ip(std::net::IpAddr::V6(v6))) => format!("[{v6}]"),
            Some(name) => name.to_string(),
            None => String::new(),
        }
    }

    pub(crate) fn challenge(&self) -> &Challenge {
        &self.request().challenge
    }

    /// The http-01 answers, for the `/.well-known/acme-challenge/` route.
    pub(crate) fn http01(&self) -> &Http01Tokens {
        &self.http01
    }

    /// The certificate pair as files, for an explicit reload (SIGHUP).
    pub(crate) fn files(&self) -> TlsFiles {
        TlsFiles {
            cert: self.files.fullchain_pem.clone(),
            key: self.files.key_pem.clone(),
        }
    }

    fn source(&self) -> Option<CertificateSource> {
        self.resolver.source()
    }

    /// Asks the background task to renew now, due or not.
    pub(crate) fn renew_now(&self) {
        self.renew_now.notify_one();
    }

    fn responder(&self) -> &dyn Responder {
        match (&self.request().challenge, &self.dns_hook) {
            (Challenge::TlsAlpn01, _) => &self.alpn,
            (Challenge::Dns01 { .. }, Some(hook)) => hook,
            _ => &self.http01,
        }
    }

    /// The stored certificate when it answers the request: names, expiry, and the CA and account of its record.
    fn stored(&self) -> Option<Cert> {
        match self.dir.acme_stored(self.request()) {
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
            None => format!("certificate: none yet; {}", waiting_for(self.request())),
        }
    }

    /// `ca` is the CA the certificate's record names, which is where it came from whatever was asked.
    fn set_source(&self, cert: &Cert, ca: &str, renew_at: &RenewAt) {
        self.resolver
            .set_source(CertificateSource::acme(cert, ca, renew_at.at()));
        *self.renew_at.write().unwrap_or_else(|p| p.into_inner()) = Some(renew_at.at());
    }

    /// Serves a new certificate from memory: the pair first, then its source, so `/stats` never names a
    /// certificate handshakes do not get yet.
    fn install(&self, issued: &AcmeIssued) -> Result<(), rustls::Error> {
        let source = CertificateSource::acme(&issued.issued.cert, &issued.ca, issued.renew_at.at());
        self.resolver
            .set(issued.chain.clone(), issued.key.clone_key(), Some(source))?;
        *self.renew_at.write().unwrap_or_else(|p| p.into_inner()) = Some(issued.renew_at.at());
        Ok(())
    }

    /// At start-up: serve the stored certificate at once when it still fits (a restart spends no rate limit).
    pub(crate) async fn use_stored(&self) {
        let (cert, record) = match self.dir.acme_stored(self.request()) {
            Stored::Reusable { cert, record } => (cert, record),
            Stored::Order { why: Some(why) } => {
                tracing::info!("ACME: {why}");
                return;
            }
            Stored::Order { why: None } => return,
        };
        let files = self.files();
        if let Err(e) = self.resolver.load(&files.cert, &files.key) {
            tracing::warn!("ACME: the stored certificate cannot be used ({e}); ordering a new one");
            return;
        }
        let renew_at = tokio::time::timeout(
            RENEWAL_INFO_TIMEOUT,
            self.dir.acme_renew_at(self.request(), &cert),
        )
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_else(|| RenewAt::third_of_lifetime(&cert));
        self.set_source(&cert, &record.ca_label(), &renew_at);
    }
}

/// What the server waits for before wss works.
fn waiting_for(request: &AcmeRequest) -> String {
    let names: Vec<String> = request.names.iter().map(ToString::to_string).collect();
    format!(
        "waiting for the ACME CA {} to validate {} by {}",
        request.directory.label(),
        names.join(", "),
        request.challenge
    )
}

/// Obtains the certificate when there is none, then renews it whenever it is due (or [`Acme::renew_now`] is
/// called), handing each new one to the resolver in memory; retries failed orders with a growing pause.
pub(crate) async fn run(acme: Arc<Acme>, mut shutdown: watch::Receiver<bool>) {
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
                cert.serial(),
                wait.as_secs()
            );
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = acme.renew_now.notified() => tracing::info!("ACME: renewal asked for"),
                _ = super::shutdown::stopped(&mut shutdown) => return,
            }
        } else {
            tracing::info!("ACME: {}", waiting_for(acme.request()));
        }
        let ordered = acme
            .dir
            .acme_obtain(&acme.checked, acme.responder(), stored.as_ref());
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
                match acme.install(&issued) {
                    Ok(()) => tracing::info!(
                        "TLS certificate reloaded (ACME certificate obtained): {}",
                        super::tls::describe(&issued.issued.cert)
                    ),
                    Err(e) => tracing::warn!(
                        "TLS reload (ACME certificate obtained) refused, keeping the previous certificate: {e}"
                    ),
                }
                tracing::info!(
                    "ACME: certificate from {} for {}, expires {}, renews {} ({})",
                    issued.ca,
                    acme.request()
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

impl AcmeConfig {
    /// The listener each challenge is answered on must exist: tls-alpn-01 on a wss listener, http-01 on a ws one
    /// (`ws`); and `--cert` (`cert_given`) cannot name the certificate too.
    pub(crate) fn check_listeners(&self, cert_given: bool, ws: &[SocketAddr]) -> Result<(), Error> {
        if cert_given {
            return Err(Error::Usage(
                "--acme and --cert/--key both name the certificate; give one of them".into(),
            ));
        }
        match self.request.challenge {
            Challenge::Http01 if ws.is_empty() => Err(Error::Usage(
                "--acme with http-01 answers on the ws listener: add --ws ADDR (the CA connects to port 80), or use \
                 --challenge tls-alpn-01"
                    .into(),
            )),
            _ => Ok(()),
        }
    }
}

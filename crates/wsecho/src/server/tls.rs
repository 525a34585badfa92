//! TLS for the wss listeners: the rustls `ServerConfig` (the shared provider and versions of [`crate::tls`],
//! ALPN `h2` and `http/1.1` or `http/1.1` alone, optional client certificates) and hot reload of the certificate
//! pair; with `--acme` the config keeps one [`CertificateResolver`] that ACME feeds. What a handshake established
//! is connection_facts.rs's.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use certgen::Cert;
use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::certificate_resolver::CertificateResolver;
use super::certificate_source::CertificateSource;
use crate::{Error, tls};

/// The certificate chain and key files of the wss listeners.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// PEM file with the server certificate first, then intermediates (e.g. certgen's `NAME-fullchain.pem`).
    pub cert: PathBuf,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Whether a client certificate is demanded when `--client-ca` is given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientAuth {
    /// Handshakes without a certificate signed by the client CA fail.
    #[default]
    Required,
    /// A client may send no certificate; one that is sent must verify.
    Optional,
}

/// Builds the client-certificate verifier for `--client-ca`.
pub(crate) fn client_verifier(
    client_ca: Option<&Path>,
    auth: ClientAuth,
) -> Result<Arc<dyn ClientCertVerifier>, Error> {
    let Some(path) = client_ca else {
        return Ok(WebPkiClientVerifier::no_client_auth());
    };
    let roots = tls::read_roots("client CA", path)?;
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), tls::provider());
    let builder = match auth {
        ClientAuth::Required => builder,
        ClientAuth::Optional => builder.allow_unauthenticated(),
    };
    builder.build().map_err(|e| Error::BadFile {
        what: "client CA",
        path: path.to_path_buf(),
        detail: format!("cannot verify clients with it ({e})"),
    })
}

/// The live TLS configuration; new handshakes take the current one, a reload swaps it.
pub(crate) struct TlsState {
    files: TlsFiles,
    verifier: Arc<dyn ClientCertVerifier>,
    /// Whether ALPN offers `h2` (`--http2 on`).
    http2: bool,
    current: RwLock<Arc<ServerConfig>>,
    /// With `--acme` the config stays and its certificate resolver swaps the pair instead.
    resolver: Option<Arc<CertificateResolver>>,
    /// Where the `--cert` pair came from (the resolver keeps its own).
    source: RwLock<Option<CertificateSource>>,
}

impl TlsState {
    pub(crate) fn new(
        files: TlsFiles,
        verifier: Arc<dyn ClientCertVerifier>,
        http2: bool,
    ) -> Result<Self, Error> {
        let (config, source) = build_config(&files, verifier.clone(), http2)?;
        Ok(TlsState {
            files,
            verifier,
            http2,
            current: RwLock::new(Arc::new(config)),
            resolver: None,
            source: RwLock::new(source),
        })
    }

    /// TLS whose certificate comes from `resolver` (none until ACME hands it one); `files` are where that
    /// certificate is stored, loaded again only on an explicit reload.
    pub(crate) fn with_resolver(
        resolver: Arc<CertificateResolver>,
        files: TlsFiles,
        verifier: Arc<dyn ClientCertVerifier>,
        http2: bool,
    ) -> Result<Self, Error> {
        let mut config = ServerConfig::builder_with_provider(tls::provider())
            .with_protocol_versions(tls::VERSIONS)
            .map_err(tls::setup_failed)?
            .with_client_cert_verifier(verifier.clone())
            .with_cert_resolver(resolver.clone());
        prefer_own_order(&mut config, http2);
        if resolver.answers_tls_alpn01() {
            config
                .alpn_protocols
                .push(certgen::acme::tls_alpn01::ACME_TLS_ALPN.to_vec());
        }
        Ok(TlsState {
            files,
            verifier,
            http2,
            current: RwLock::new(Arc::new(config)),
            resolver: Some(resolver),
            source: RwLock::new(None),
        })
    }

    /// Where the serving certificate came from; `None` while ACME has none yet.
    pub(crate) fn source(&self) -> Option<CertificateSource> {
        match &self.resolver {
            Some(resolver) => resolver.source(),
            None => self.source.read().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }

    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        let current = self
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        TlsAcceptor::from(current.clone())
    }

    /// Loads the files again; on success new handshakes use them, on failure the old pair stays.
    pub(crate) fn reload(&self) -> Result<(), Error> {
        if let Some(resolver) = &self.resolver {
            return resolver.load(&self.files.cert, &self.files.key);
        }
        let (config, source) = build_config(&self.files, self.verifier.clone(), self.http2)?;
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(config);
        *self.source.write().unwrap_or_else(|p| p.into_inner()) = source;
        Ok(())
    }

    /// Modification times of the two files, to notice a rewrite. The resolver's files are ACME's own output,
    /// already served from memory when written, so they are not watched (SIGHUP still loads them).
    fn stamp(&self) -> (Option<SystemTime>, Option<SystemTime>) {
        if self.resolver.is_some() {
            return (None, None);
        }
        let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
        (modified(&self.files.cert), modified(&self.files.key))
    }

    pub(crate) fn reload_and_log(&self, why: &str) {
        match self.reload() {
            Ok(()) => tracing::info!(
                "TLS certificate reloaded ({why}): {}",
                describe_leaf(&self.files.cert)
            ),
            Err(e) => tracing::warn!("TLS reload ({why}) refused, keeping the previous certificate: {e}"),
        }
    }
}

fn build_config(
    files: &TlsFiles,
    verifier: Arc<dyn ClientCertVerifier>,
    http2: bool,
) -> Result<(ServerConfig, Option<CertificateSource>), Error> {
    let chain = certgen::pem::read_chain(&files.cert).map_err(tls::file_error("certificate"))?;
    let source = chain
        .first()
        .and_then(|leaf| Cert::from_der(leaf.clone()).ok())
        .map(|leaf| CertificateSource::files(&leaf));
    let key = certgen::pem::read_key(&files.key).map_err(tls::file_error("private key"))?;
    let mut config = ServerConfig::builder_with_provider(tls::provider())
        .with_protocol_versions(tls::VERSIONS)
        .map_err(tls::setup_failed)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| Error::BadFile {
            what: "certificate",
            path: files.cert.clone(),
            detail: format!(
                "cannot be used with key {} ({e}); pass the matching --cert/--key pair",
                files.key.display()
            ),
        })?;
    prefer_own_order(&mut config, http2);
    Ok((config, source))
}

/// The server picks from its own lists, most preferred first: ALPN (see [`alpn`]) and cipher suites, where
/// [`tls::provider`] puts the faster AES-128-GCM first. Python's and Node's OpenSSL clients offer AES-256-GCM
/// first, and the client's order would otherwise win.
fn prefer_own_order(config: &mut ServerConfig, http2: bool) {
    config.alpn_protocols = alpn(http2);
    config.ignore_client_order = true;
}

/// The listeners' ALPN list, most preferred first: `h2` (when on) so that browsers load the page and open
/// WebSockets over one HTTP/2 connection, and `http/1.1` for every WebSocket client that upgrades with a GET.
fn alpn(http2: bool) -> Vec<Vec<u8>> {
    let h2 = http2.then_some(tls::ALPN_H2);
    h2.into_iter()
        .chain([tls::ALPN_HTTP1])
        .map(<[u8]>::to_vec)
        .collect()
}

/// Subject and serial of the first certificate in `path`, for log lines.
fn describe_leaf(path: &Path) -> String {
    match certgen::pem::read_chain(path)
        .ok()
        .and_then(|certs| certs.into_iter().next())
    {
        Some(leaf) => {
            Cert::from_der(leaf).map_or_else(|_| "(unparsable certificate)".into(), |c| describe(&c))
        }
        None => "(unreadable)".into(),
    }
}

/// `subject "...", serial ...` of a certificate, for log lines.
pub(crate) fn describe(cert: &Cert) -> String {
    format!("subject \"{}\", serial {}", cert.subject(), cert.serial())
}

/// Watches the certificate files (polling their modification time) and SIGHUP; reloads on either.
pub(crate) async fn watch_for_reload(
    state: Arc<TlsState>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut last = state.stamp();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut hangup = hangup_signal();
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let now = state.stamp();
                if now != last {
                    last = now;
                    state.reload_and_log("certificate files changed");
                }
            }
            Some(()) = recv_hangup(&mut hangup) => state.reload_and_log("SIGHUP"),
            _ = shutdown.changed() => return,
        }
    }
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = ();

#[cfg(unix)]
fn hangup_signal() -> Hangup {
    use tokio::signal::unix::{SignalKind, signal};
    signal(SignalKind::hangup())
        .map_err(|e| tracing::warn!("SIGHUP reload unavailable: {e}"))
        .ok()
}

#[cfg(not(unix))]
fn hangup_signal() -> Hangup {}

#[cfg(unix)]
async fn recv_hangup(hangup: &mut Hangup) -> Option<()> {
    match hangup {
        Some(signal) => signal.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn recv_hangup(_: &mut Hangup) -> Option<()> {
    std::future::pending().await
}

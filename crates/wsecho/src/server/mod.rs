//! The echo server: [`Config`] holds every setting (the `serve` flags), [`start`] binds the listeners and returns
//! a [`RunningServer`] with the bound addresses, live statistics, TLS reload and graceful shutdown.
//!
//! ```no_run
//! # async fn demo() -> Result<(), wsecho::Error> {
//! let config = wsecho::server::Config {
//!     ws: vec!["127.0.0.1:0".parse().unwrap()],
//!     ..Default::default()
//! };
//! let server = wsecho::server::start(config).await?;
//! println!("echo at {}", server.listeners()[0].url);
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod acme;
mod assets;
mod bad_certs;
mod broadcast;
mod ca_match;
mod certificate_resolver;
mod certificate_source;
mod connection_facts;
mod devices;
mod echo;
mod faults;
mod handshake;
mod http;
mod listeners;
mod port_holder;
mod read_ahead;
mod shutdown;
mod stats;
mod tls;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Bytes;
use tokio::task::JoinHandle;

pub use crate::ws::deflate::{DeflateSettings, WINDOW_BITS};
pub use acme::AcmeConfig;
pub use bad_certs::BadCerts;
pub use certificate_source::CertificateSource;
pub use devices::{lan_addresses, reachable_ipv4};
pub use listeners::ensure_ports_free;
pub use shutdown::StopSignals;
pub use stats::{Counts, ListenerStats, StatsSnapshot};
pub use tls::{ClientAuth, TlsFiles};

use crate::Error;
use echo::EchoSettings;
use http::Shared;
use listeners::{ConnectionSetup, Listener};
use tls::TlsState;

/// Size limits and timeouts. The defaults suit a developer machine and pass the Autobahn suite (16 MiB messages).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest message (after reassembly of fragments); bigger ones end the connection with close 1009.
    pub max_message_size: usize,
    /// Largest single frame payload; bigger ones end the connection with close 1009.
    pub max_frame_size: usize,
    /// WebSocket connections open at once over all listeners; further upgrade requests get HTTP 503.
    pub max_connections: usize,
    /// From TCP accept until the WebSocket upgrade is done, TLS included.
    pub handshake_timeout: Duration,
    /// A connection that receives nothing (no message, no ping) for this long is closed with 1001. `None`: never.
    pub idle_timeout: Option<Duration>,
    /// How long shutdown waits for clients to answer the 1001 close before giving up on them.
    pub shutdown_timeout: Duration,
    /// Bytes of messages a broadcast room holds for its slowest member before its senders wait.
    pub room_backlog: usize,
    /// Longest a broadcast message may wait for a member before that member is closed with 1008.
    pub room_max_lag: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 16 << 20,
            max_frame_size: 16 << 20,
            max_connections: 10_000,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Some(Duration::from_secs(300)),
            shutdown_timeout: Duration::from_secs(5),
            room_backlog: broadcast::RoomLimits::default().backlog_bytes,
            room_max_lag: broadcast::RoomLimits::default().max_lag,
        }
    }
}

/// Longest accepted timeout; deadlines are computed as `now + timeout`, which must not overflow.
const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

/// Everything `wsecho serve` can be told.
#[derive(Debug, Clone)]
pub struct Config {
    /// Plain `ws://` (and `http://`) listeners.
    pub ws: Vec<SocketAddr>,
    /// TLS `wss://` (and `https://`) listeners; need `tls`.
    pub wss: Vec<SocketAddr>,
    /// Certificate chain and key for the wss listeners; watched for changes.
    pub tls: Option<TlsFiles>,
    /// Get the wss certificate from an ACME CA instead of `tls` (`--acme`).
    pub acme: Option<AcmeConfig>,
    /// Verify client certificates against this CA (PEM); needs `tls`.
    pub client_ca: Option<PathBuf>,
    /// Whether `client_ca` makes a certificate mandatory.
    pub client_auth: ClientAuth,
    /// Whether the wss listeners offer HTTP/2 (ALPN `h2`, WebSockets by extended CONNECT, RFC 8441) besides
    /// HTTP/1.1.
    pub http2: bool,
    /// CA certificate (PEM or DER) offered at `/ca.cer` for download (and as `/ca.mobileconfig`, with `/trust`).
    pub ca_download: Option<PathBuf>,
    /// The address other devices reach this server at, for the QR codes in the banner and on the test page.
    /// `None`: a non-loopback address a listener binds, or this machine's first LAN address for a wildcard one.
    pub device_host: Option<IpAddr>,
    /// Subprotocols the server speaks, chosen in the client's order. Empty: echo the client's first offer.
    pub protocols: Vec<String>,
    /// Origins allowed to open WebSockets (e.g. `https://localhost:8443`). Empty: any origin.
    pub allowed_origins: Vec<String>,
    pub limits: Limits,
    /// How often the certificate files are checked for changes.
    pub reload_interval: Duration,
    /// Log every message (truncated) at info level.
    pub log_messages: bool,
    /// One extra wss listener per broken-certificate fixture (`--bad-certs`).
    pub bad_certs: Option<BadCerts>,
    /// permessage-deflate (RFC 7692) as the server accepts it; `None` declines every offer.
    pub deflate: Option<DeflateSettings>,
    /// Whether `/fault?...` URLs fail on demand (docs/wsecho.md "Faults on demand"); off, they are echo paths.
    pub faults: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ws: vec![SocketAddr::from((Ipv4Addr::LOCALHOST, 8080))],
            wss: Vec::new(),
            tls: None,
            acme: None,
            client_ca: None,
            client_auth: ClientAuth::Required,
            http2: true,
            ca_download: None,
            device_host: None,
            protocols: Vec::new(),
            allowed_origins: Vec::new(),
            limits: Limits::default(),
            reload_interval: Duration::from_secs(1),
            log_messages: false,
            bad_certs: None,
            deflate: Some(DeflateSettings::default()),
            faults: true,
        }
    }
}

/// One bound listener as announced in the banner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundListener {
    pub tls: bool,
    /// The actual socket address (the real port when port 0 was asked for).
    pub local_addr: SocketAddr,
    /// WebSocket URL to connect to, e.g. `ws://127.0.0.1:8080` or `wss://localhost:8443`.
    pub url: String,
    /// The test page, e.g. `http://127.0.0.1:8080/` or `https://localhost:8443/`.
    pub page_url: String,
    /// The broken-certificate fixture it serves (`--bad-certs`), e.g. `expired`.
    pub bad_cert: Option<String>,
}

/// A started server. Dropping it stops accepting and closes connections without waiting; prefer
/// [`RunningServer::shutdown`].
pub struct RunningServer {
    listeners: Vec<BoundListener>,
    shared: Arc<Shared>,
    /// The banner's client-certificate line, when `--client-ca` is set.
    client_certs: Option<String>,
    /// The banner's HTTP/2 line, when there are wss listeners.
    http2: Option<&'static str>,
    tls: Option<Arc<TlsState>>,
    acme: Option<Arc<acme::Acme>>,
    shutdown: shutdown::Shutdown,
    shutdown_timeout: Duration,
    tasks: Vec<JoinHandle<()>>,
}

/// How a graceful shutdown ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownOutcome {
    /// Every connection closed within the bound.
    Drained,
    /// The bound passed with connections still open; they are abandoned.
    TimedOut,
}

/// Binds every listener and starts serving. Fails on bad settings, unreadable files or ports in use.
pub async fn start(config: Config) -> Result<RunningServer, Error> {
    check(&config)?;
    let acme = match &config.acme {
        Some(settings) => Some(Arc::new(acme::Acme::new(settings)?)),
        None => None,
    };
    let tls = match (&config.tls, &acme) {
        (Some(files), _) => {
            let verifier = tls::client_verifier(config.client_ca.as_deref(), config.client_auth)?;
            Some(Arc::new(TlsState::new(files.clone(), verifier, config.http2)?))
        }
        (None, Some(acme)) => {
            let verifier = tls::client_verifier(config.client_ca.as_deref(), config.client_auth)?;
            acme.use_stored().await;
            Some(Arc::new(TlsState::with_resolver(
                acme.resolver(),
                acme.files(),
                verifier,
                config.http2,
            )?))
        }
        (None, None) => None,
    };
    let ca_cer = match &config.ca_download {
        Some(path) => Some(Bytes::from(
            certgen::pem::read_certificate_pem_or_der(path)
                .map_err(crate::tls::file_error("CA certificate (--ca)"))?
                .to_vec(),
        )),
        None => None,
    };
    if let (Some(files), Some(ca), Some(der)) = (&config.tls, &config.ca_download, &ca_cer) {
        ca_match::warn_if_unrelated(&files.cert, ca, der);
    }
    let limits = &config.limits;
    let (shutdown, alive) = shutdown::Shutdown::new();
    let stats = stats::Stats::new(limits.max_connections);
    let bad_certs = match &config.bad_certs {
        Some(bad) => bad_certs::listeners(bad, config.http2)?,
        None => Vec::new(),
    };
    let mut bound = Vec::new();
    let mut listeners = Vec::new();
    let plain = config.ws.iter().map(|addr| (*addr, None, None));
    let secure = config.wss.iter().map(|addr| (*addr, tls.clone(), None));
    let bad = bad_certs
        .into_iter()
        .map(|bad| (bad.addr, Some(bad.tls), Some(bad.name)));
    // `[::]` beside `0.0.0.0` on the same port (`cargo xtask up --lan`) takes IPv6 only; alone it keeps the
    // system's default, which on Linux serves IPv4 too (`--acme` listens on `[::]:443`).
    let ipv4_wildcard_ports: Vec<u16> = config
        .ws
        .iter()
        .chain(&config.wss)
        .filter(|addr| addr.ip() == IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        .map(SocketAddr::port)
        .collect();
    for (addr, tls, bad_cert) in plain.chain(secure).chain(bad) {
        let ipv6_only =
            addr.ip() == IpAddr::V6(Ipv6Addr::UNSPECIFIED) && ipv4_wildcard_ports.contains(&addr.port());
        let tcp = listeners::bind(addr, ipv6_only)?;
        let local_addr = tcp.local_addr().map_err(|source| Error::Bind {
            addr,
            source,
            holder: None,
        })?;
        let announced = BoundListener {
            bad_cert,
            ..announce(local_addr, tls.is_some(), acme.as_ref().map(|a| a.host()))
        };
        let counters = stats.add_listener(
            announced.url.clone(),
            local_addr.to_string(),
            announced.bad_cert.clone(),
        );
        listeners.push(Listener {
            tcp,
            tls,
            counters,
            url: announced.url.as_str().into(),
        });
        bound.push(announced);
    }

    let shared = Arc::new(Shared {
        stats,
        echo: EchoSettings {
            idle_timeout: limits.idle_timeout,
            log_messages: config.log_messages,
            max_message_size: limits.max_message_size,
            max_frame_size: limits.max_frame_size,
        },
        deflate: config.deflate.clone(),
        protocols: config.protocols.clone(),
        allowed_origins: config
            .allowed_origins
            .iter()
            .map(|o| handshake::normalize_origin(o))
            .collect(),
        devices: devices::Devices::new(&bound, config.device_host, ca_cer.as_deref()),
        ca_cer,
        tls: tls.clone(),
        acme_http01: acme
            .as_ref()
            .filter(|acme| *acme.challenge() == certgen::acme::Challenge::Http01)
            .map(|acme| acme.http01().clone()),
        faults: config.faults,
        rooms: broadcast::Rooms::new(broadcast::RoomLimits {
            backlog_bytes: limits.room_backlog,
            max_lag: limits.room_max_lag,
        }),
        shutdown: shutdown.watcher(),
    });

    let setup = ConnectionSetup {
        shared: shared.clone(),
        handshake_timeout: limits.handshake_timeout,
    };
    let mut tasks: Vec<JoinHandle<()>> = listeners
        .into_iter()
        .map(|listener| {
            tokio::spawn(listeners::accept_loop(
                listener,
                setup.clone(),
                alive.clone(),
                shutdown.watcher(),
            ))
        })
        .collect();
    if let Some(tls) = &tls {
        tasks.push(tokio::spawn(tls::watch_for_reload(
            tls.clone(),
            config.reload_interval,
            shutdown.watcher(),
        )));
    }
    if let Some(acme) = &acme {
        tasks.push(tokio::spawn(acme::run(acme.clone(), shutdown.watcher())));
    }
    let client_certs = config.client_ca.as_ref().map(|ca| {
        let required = match config.client_auth {
            ClientAuth::Required => "required",
            ClientAuth::Optional => "optional",
        };
        format!(
            "client certificates: {required}, verified against {}",
            ca.display()
        )
    });
    let http2 = tls.is_some().then_some(if config.http2 {
        "HTTP/2 on wss: on (ALPN h2 and http/1.1; WebSockets also by extended CONNECT)"
    } else {
        "HTTP/2 on wss: off (ALPN http/1.1 only)"
    });
    Ok(RunningServer {
        listeners: bound,
        shared,
        client_certs,
        http2,
        tls,
        acme,
        shutdown,
        shutdown_timeout: config.limits.shutdown_timeout,
        tasks,
    })
}

/// Like [`start`], but a machine without IPv6 gets the IPv4 listeners only, with a warning, instead of a failure:
/// for default listeners on both loopbacks. A port in use on IPv6 stays an error.
pub async fn start_dual_stack(config: Config) -> Result<RunningServer, Error> {
    let no_ipv6 = |err: &Error| {
        matches!(err, Error::Bind { addr, source, .. }
            if addr.is_ipv6() && source.kind() != std::io::ErrorKind::AddrInUse)
    };
    match start(config.clone()).await {
        Err(err) if no_ipv6(&err) => {
            tracing::warn!("no IPv6 here ({err}); serving IPv4 only");
            let v4 = |addrs: &[SocketAddr]| addrs.iter().copied().filter(SocketAddr::is_ipv4).collect();
            start(Config {
                ws: v4(&config.ws),
                wss: v4(&config.wss),
                ..config
            })
            .await
        }
        started => started,
    }
}

/// Rejects combinations that cannot work, naming the flag to fix.
fn check(config: &Config) -> Result<(), Error> {
    if config.ws.is_empty() && config.wss.is_empty() && config.bad_certs.is_none() {
        return Err(Error::Usage(
            "no listener: give --ws ADDR and/or --wss ADDR".into(),
        ));
    }
    if let Some(acme) = &config.acme {
        acme.check_listeners(config.tls.is_some(), &config.ws)?;
    }
    if !config.wss.is_empty() && config.tls.is_none() && config.acme.is_none() {
        return Err(Error::Usage(
            "--wss needs a certificate: add --cert FULLCHAIN.pem --key KEY.pem (make them with `certgen issue localhost`)"
                .into(),
        ));
    }
    if (config.tls.is_some() || config.acme.is_some()) && config.wss.is_empty() {
        return Err(Error::Usage(
            "--cert/--key or --acme given but no --wss ADDR to use the certificate on".into(),
        ));
    }
    if config.client_ca.is_some() && config.tls.is_none() && config.acme.is_none() {
        return Err(Error::Usage(
            "--client-ca needs TLS: add --cert and --key (client certificates only exist on wss)".into(),
        ));
    }
    let listen: Vec<SocketAddr> = config.ws.iter().chain(&config.wss).copied().collect();
    devices::check_host(config.device_host, &listen)?;
    let limits = &config.limits;
    if limits.max_connections == 0 {
        return Err(Error::Usage("--max-connections must be at least 1".into()));
    }
    if limits.max_message_size == 0 || limits.max_frame_size == 0 {
        return Err(Error::Usage(
            "--max-message-size and --max-frame-size must be at least 1".into(),
        ));
    }
    if let Some(deflate) = &config.deflate {
        for (flag, bits) in [
            ("--deflate-window-bits", deflate.server_max_window_bits),
            ("--deflate-client-window-bits", deflate.client_max_window_bits),
        ] {
            if !WINDOW_BITS.contains(&bits) {
                return Err(Error::Usage(format!(
                    "{flag} {bits} is outside {}..={} (zlib's raw deflate windows)",
                    WINDOW_BITS.start(),
                    WINDOW_BITS.end()
                )));
            }
        }
    }
    if limits.handshake_timeout.is_zero() {
        return Err(Error::Usage("--handshake-timeout must be more than 0".into()));
    }
    if limits.room_max_lag.is_zero() {
        return Err(Error::Usage("--room-max-lag must be more than 0".into()));
    }
    if config.reload_interval.is_zero() {
        return Err(Error::Usage(
            "the certificate reload interval must be more than 0".into(),
        ));
    }
    let timeouts = [
        ("--handshake-timeout", Some(limits.handshake_timeout)),
        ("--idle-timeout", limits.idle_timeout),
        ("--shutdown-timeout", Some(limits.shutdown_timeout)),
        ("--room-max-lag", Some(limits.room_max_lag)),
    ];
    for (flag, timeout) in timeouts {
        if timeout.is_some_and(|t| t > MAX_TIMEOUT) {
            return Err(Error::Usage(format!(
                "{flag} is above a year; use at most {} seconds",
                MAX_TIMEOUT.as_secs()
            )));
        }
    }
    Ok(())
}

/// The URLs to announce for a bound address. With `--acme` the host is the certificate's first name; otherwise
/// wss uses `localhost` for IPv4 loopback and wildcard addresses because certificates name `localhost`; ws and
/// everything else use the IP literal.
fn announce(local_addr: SocketAddr, tls: bool, acme_host: Option<String>) -> BoundListener {
    let ip = local_addr.ip();
    let host = match (acme_host, ip) {
        (Some(name), _) => name,
        (None, IpAddr::V4(v4)) if tls && (v4.is_loopback() || v4.is_unspecified()) => "localhost".to_string(),
        (None, IpAddr::V4(v4)) if v4.is_unspecified() => Ipv4Addr::LOCALHOST.to_string(),
        (None, IpAddr::V4(v4)) => v4.to_string(),
        (None, IpAddr::V6(v6)) if v6.is_unspecified() => format!("[{}]", Ipv6Addr::LOCALHOST),
        (None, IpAddr::V6(v6)) => format!("[{v6}]"),
    };
    let port = local_addr.port();
    let (ws, page) = if tls { ("wss", "https") } else { ("ws", "http") };
    BoundListener {
        tls,
        local_addr,
        url: format!("{ws}://{host}:{port}"),
        page_url: format!("{page}://{host}:{port}/"),
        bad_cert: None,
    }
}

/// For a wildcard socket, whose URLs name loopback, what it actually binds: ` (bound to 0.0.0.0:8080: every IPv4
/// address of this machine)`; nothing for any other socket.
fn wildcard_note(local_addr: SocketAddr) -> String {
    match local_addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            format!(" (bound to {local_addr}: every IPv4 address of this machine)")
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            format!(" (bound to {local_addr}: every IPv6 address of this machine)")
        }
        _ => String::new(),
    }
}

impl RunningServer {
    /// The bound listeners, in the order given (ws first, then wss, then the `--bad-certs` ones).
    pub fn listeners(&self) -> &[BoundListener] {
        &self.listeners
    }

    /// The first listener of the given kind, if any (never a `--bad-certs` one).
    pub fn listener(&self, tls: bool) -> Option<&BoundListener> {
        self.listeners
            .iter()
            .find(|l| l.tls == tls && l.bad_cert.is_none())
    }

    /// The start-up banner, the one place the settings are announced: one `listening <ws url> page <page url>`
    /// line per listener (scripts read these; a wildcard socket adds what it binds, as the URLs name loopback) and one `bad certificate <name> <wss url> page <page url>` line per
    /// `--bad-certs` listener, then where to download the CA, the origin, client-certificate, HTTP/2 and
    /// subprotocol policies when set, and how to stop.
    pub fn banner(&self) -> String {
        let mut lines = vec![format!("wsecho {} echo server", env!("CARGO_PKG_VERSION"))];
        for listener in &self.listeners {
            let line = match &listener.bad_cert {
                None => format!(
                    "listening {} page {}{}",
                    listener.url,
                    listener.page_url,
                    wildcard_note(listener.local_addr)
                ),
                Some(name) => format!(
                    "bad certificate {name} {} page {}",
                    listener.url, listener.page_url
                ),
            };
            lines.push(line);
        }
        if self.shared.ca_cer.is_some() {
            for listener in self.listeners.iter().filter(|l| l.bad_cert.is_none()) {
                lines.push(format!("CA download: {}ca.cer", listener.page_url));
            }
        }
        if let Some(fingerprint) = self.shared.devices.ca_fingerprint() {
            lines.push(format!("CA fingerprint (SHA-256): {fingerprint}"));
        }
        if let Some(devices) = self.shared.devices.banner() {
            lines.extend(devices.lines().map(str::to_owned));
        }
        if self.shared.allowed_origins.is_empty() {
            lines.push("origins: any (restrict with --allow-origin)".into());
        } else {
            lines.push(format!("origins: {}", self.shared.allowed_origins.join(", ")));
        }
        if let Some(acme) = &self.acme {
            lines.push(acme.banner_line());
        }
        if let Some(client_certs) = &self.client_certs {
            lines.push(client_certs.clone());
        }
        if let Some(http2) = self.http2 {
            lines.push(http2.into());
        }
        if !self.shared.protocols.is_empty() {
            lines.push(format!("subprotocols: {}", self.shared.protocols.join(", ")));
        }
        if !self.shared.faults {
            lines.push("faults: off (--no-faults); /fault is a plain echo path".into());
        }
        lines.push("stop with Ctrl-C".into());
        lines.iter().map(|line| format!("{line}\n")).collect()
    }

    /// The numbers `/stats` serves.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.snapshot()
    }

    /// With `--acme`: renews the certificate now, due or not, in the background (new handshakes get the new one
    /// once it arrives; open connections keep theirs).
    pub fn renew_acme_now(&self) -> Result<(), Error> {
        match &self.acme {
            Some(acme) => {
                acme.renew_now();
                Ok(())
            }
            None => Err(Error::Usage("no --acme configured: nothing to renew".into())),
        }
    }

    /// Loads the certificate files again now (as SIGHUP does). On error the old pair stays in use.
    pub fn reload_tls(&self) -> Result<(), Error> {
        match &self.tls {
            Some(tls) => tls.reload(),
            None => Err(Error::Usage("no TLS configured: nothing to reload".into())),
        }
    }

    /// Stops accepting, sends close 1001 to every client and waits for them, at most the shutdown timeout.
    pub async fn shutdown(mut self) -> ShutdownOutcome {
        self.shutdown.begin();
        let outcome = if self.shutdown.wait(self.shutdown_timeout).await {
            ShutdownOutcome::Drained
        } else {
            ShutdownOutcome::TimedOut
        };
        tracing::info!("shutdown {outcome:?}");
        outcome
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shutdown.begin();
        for task in &self.tasks {
            task.abort();
        }
    }
}

//! [`start`]: from a checked [`Config`] to a serving [`RunningServer`]. It reads the certificate files, binds every
//! listener, builds the state all connections share and spawns the accept loops, the certificate reload watcher
//! and, with `--acme`, the renewal task.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use hyper::body::Bytes;
use tokio::task::JoinHandle;

use super::acme::{self, Acme};
use super::bad_certs;
use super::banner::Banner;
use super::bound_listener::{BoundListener, announce};
use super::broadcast::{RoomLimits, Rooms};
use super::ca_match;
use super::config::Config;
use super::devices::Devices;
use super::echo::EchoSettings;
use super::handshake::{self, Policy};
use super::listeners::{self, ConnectionSetup, Listener};
use super::running_server::RunningServer;
use super::shared::Shared;
use super::shutdown::Shutdown;
use super::stats::Stats;
use super::tls::{self, TlsState};
use crate::Error;

/// Binds every listener and starts serving. Fails on bad settings, unreadable files or ports in use.
pub async fn start(config: Config) -> Result<RunningServer, Error> {
    config.check()?;
    let acme = match &config.acme {
        Some(settings) => Some(Arc::new(Acme::new(settings)?)),
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
    let (shutdown, alive) = Shutdown::new();
    let stats = Stats::new(limits.max_connections);
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
        handshake: Policy {
            protocols: config.protocols.clone(),
            allowed_origins: config
                .allowed_origins
                .iter()
                .map(|o| handshake::normalize_origin(o))
                .collect(),
            deflate: config.deflate.clone(),
            faults: config.faults,
        },
        devices: Devices::new(&bound, config.device_host, ca_cer.as_deref()),
        ca_cer,
        tls: tls.clone(),
        acme_http01: acme
            .as_ref()
            .filter(|acme| *acme.challenge() == certgen::acme::Challenge::Http01)
            .map(|acme| acme.http01().clone()),
        rooms: Rooms::new(RoomLimits {
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
    let banner = Banner::new(&config, tls.is_some());
    Ok(RunningServer {
        listeners: bound,
        shared,
        banner,
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

//! [`Config`]: everything `wsecho serve` can be told, its defaults, and the check that rejects combinations of
//! flags that cannot work before anything is bound.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::acme::AcmeConfig;
use super::bad_certs::BadCerts;
use super::devices;
use super::limits::Limits;
use super::tls::{ClientAuth, TlsFiles};
use crate::Error;
use crate::ws::deflate::{DeflateSettings, WINDOW_BITS};

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

impl Config {
    /// Rejects combinations that cannot work, naming the flag to fix.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.ws.is_empty() && self.wss.is_empty() && self.bad_certs.is_none() {
            return Err(Error::Usage(
                "no listener: give --ws ADDR and/or --wss ADDR".into(),
            ));
        }
        if let Some(acme) = &self.acme {
            acme.check_listeners(self.tls.is_some(), &self.ws)?;
        }
        if !self.wss.is_empty() && self.tls.is_none() && self.acme.is_none() {
            return Err(Error::Usage(
                "--wss needs a certificate: add --cert FULLCHAIN.pem --key KEY.pem (make them with `certgen issue localhost`)"
                    .into(),
            ));
        }
        if (self.tls.is_some() || self.acme.is_some()) && self.wss.is_empty() {
            return Err(Error::Usage(
                "--cert/--key or --acme given but no --wss ADDR to use the certificate on".into(),
            ));
        }
        if self.client_ca.is_some() && self.tls.is_none() && self.acme.is_none() {
            return Err(Error::Usage(
                "--client-ca needs TLS: add --cert and --key (client certificates only exist on wss)".into(),
            ));
        }
        let listen: Vec<SocketAddr> = self.ws.iter().chain(&self.wss).copied().collect();
        devices::check_host(self.device_host, &listen)?;
        let limits = &self.limits;
        if limits.max_connections == 0 {
            return Err(Error::Usage("--max-connections must be at least 1".into()));
        }
        if limits.max_message_size == 0 || limits.max_frame_size == 0 {
            return Err(Error::Usage(
                "--max-message-size and --max-frame-size must be at least 1".into(),
            ));
        }
        if let Some(deflate) = &self.deflate {
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
        if self.reload_interval.is_zero() {
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
}

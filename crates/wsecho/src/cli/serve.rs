//! `wsecho serve`: the server's flags, turned into a [`Config`], and running it until SIGINT/SIGTERM.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{ArgAction, Args, ValueEnum};
use wsecho::Error;
use wsecho::server::{self, BadCerts, ClientAuth, Config, Limits, StopSignals, TlsFiles};

use super::deflate::DeflateArgs;
use super::values::{parse_addr, parse_on_off, parse_secs, parse_size};

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// Plain ws:// + http:// listener, IP:PORT (repeatable; port 0 picks a free port)
    /// [default: 127.0.0.1:8080 and [::1]:8080]
    #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
    ws: Vec<SocketAddr>,
    /// TLS wss:// + https:// listener, IP:PORT (repeatable)
    /// [default with --cert: 127.0.0.1:8443, and [::1]:8443 when the certificate names ::1]
    #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
    wss: Vec<SocketAddr>,
    /// Server certificate chain, PEM (e.g. certs/localhost-fullchain.pem); reloaded when it changes or on SIGHUP
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// Private key of --cert, PEM (e.g. certs/localhost-key.pem)
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// CA certificate (PEM or DER) offered for download at /ca.cer (e.g. certs/ca.cer)
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Address phones and other machines reach this server at, for the QR code and /trust
    /// [default: the LAN address a listener binds; for 0.0.0.0, this machine's first LAN address]
    #[arg(long, value_name = "IP")]
    device_host: Option<IpAddr>,
    /// Require client certificates issued by this CA (PEM) on wss (mutual TLS)
    #[arg(long, value_name = "FILE")]
    client_ca: Option<PathBuf>,
    /// Whether --client-ca makes a client certificate mandatory
    #[arg(long, value_enum, default_value_t = ClientAuthArg::Required, requires = "client_ca")]
    client_auth: ClientAuthArg,
    /// Offer HTTP/2 on wss listeners (ALPN h2; WebSockets by extended CONNECT, RFC 8441); off: HTTP/1.1 only
    #[arg(long, value_name = "on|off", value_parser = parse_on_off, default_value = "on", action = ArgAction::Set)]
    http2: bool,
    /// Subprotocol this server speaks (repeatable); the first one the client offers is chosen.
    /// Without it the client's first offer is echoed back.
    #[arg(long, value_name = "NAME")]
    protocol: Vec<String>,
    /// Origin allowed to open WebSockets, e.g. https://localhost:8443 (repeatable; others get 403).
    /// Without it any origin is allowed. Requests without an Origin header (non-browser clients) are allowed.
    #[arg(long, value_name = "ORIGIN")]
    allow_origin: Vec<String>,
    /// Largest message; bigger ones are closed with 1009. Accepts KiB/MiB suffixes
    #[arg(long, value_name = "BYTES", value_parser = parse_size, default_value = "16MiB")]
    max_message_size: usize,
    /// Largest frame payload; bigger ones are closed with 1009. Accepts KiB/MiB suffixes
    #[arg(long, value_name = "BYTES", value_parser = parse_size, default_value = "16MiB")]
    max_frame_size: usize,
    /// WebSocket connections open at once; further upgrades get HTTP 503
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Seconds from TCP accept until the WebSocket upgrade is done, TLS included
    #[arg(long, value_name = "SECS", value_parser = parse_secs, default_value = "10")]
    handshake_timeout: Duration,
    /// Seconds without any frame from a client before it is closed with 1001, and that an echo may wait for a
    /// client that does not read before it is dropped; 0 never closes
    #[arg(long, value_name = "SECS", value_parser = parse_secs, default_value = "300")]
    idle_timeout: Duration,
    /// Seconds to wait on SIGINT/SIGTERM for clients to answer the 1001 close
    #[arg(long, value_name = "SECS", value_parser = parse_secs, default_value = "5")]
    shutdown_timeout: Duration,
    /// Bytes a /broadcast/ room holds for its slowest member; beyond them senders wait (a room holds at most
    /// this plus one message). Accepts KiB/MiB suffixes
    #[arg(long, value_name = "BYTES", value_parser = parse_size, default_value = "1MiB")]
    room_backlog: usize,
    /// Seconds a /broadcast/ message may wait for a member that does not read before the member is closed with
    /// 1008 (dropped when its writes have stalled)
    #[arg(long, value_name = "SECS", value_parser = parse_secs, default_value = "10")]
    room_max_lag: Duration,
    /// Also serve each broken-certificate fixture from DIR (made by `certgen broken`) on its own wss port, to test
    /// how clients refuse them: good, expired, not-yet-valid, wrong-host, self-signed, untrusted-root,
    /// no-server-auth, outside-constraints, incomplete-chain
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = "certs/broken")]
    bad_certs: Option<PathBuf>,
    /// First port of the --bad-certs listeners; the others follow it, good first [default: the wss port + 1]
    #[arg(long, value_name = "PORT", requires = "bad_certs")]
    bad_certs_port: Option<u16>,
    #[command(flatten)]
    deflate: DeflateArgs,
    /// Make /fault?... URLs (close, drop, delay, fragment, ping, refuse, subprotocol on demand) plain echo paths
    #[arg(long)]
    no_faults: bool,
    /// Log every message (truncated)
    #[arg(short, long)]
    pub(crate) verbose: bool,
    #[command(flatten)]
    acme: Box<super::acme::AcmeArgs>,
}

/// `--client-auth`: the flag's spelling of [`ClientAuth`].
#[derive(Clone, Copy, ValueEnum)]
enum ClientAuthArg {
    /// Handshakes without a certificate signed by the client CA fail.
    Required,
    /// A client may send no certificate; one that is sent must verify.
    Optional,
}

impl From<ClientAuthArg> for ClientAuth {
    fn from(arg: ClientAuthArg) -> ClientAuth {
        match arg {
            ClientAuthArg::Required => ClientAuth::Required,
            ClientAuthArg::Optional => ClientAuth::Optional,
        }
    }
}

const DEFAULT_WS_PORT: u16 = 8080;
const DEFAULT_WSS_PORT: u16 = 8443;

/// The default listeners on `port`: IPv4 loopback, and IPv6 loopback when `ipv6`.
fn loopback(port: u16, ipv6: bool) -> Vec<SocketAddr> {
    let mut addrs = vec![SocketAddr::from((Ipv4Addr::LOCALHOST, port))];
    if ipv6 {
        addrs.push(SocketAddr::from((Ipv6Addr::LOCALHOST, port)));
    }
    addrs
}

/// Whether the certificate in `cert` names `::1`, so that a default wss listener there serves a certificate that
/// fits it. An unreadable file is no: starting the server reports it.
fn names_ipv6_loopback(cert: &Path) -> bool {
    certgen::Cert::from_pem_file(cert).is_ok_and(|cert| {
        cert.names()
            .contains(&certgen::SubjectName::Ip(Ipv6Addr::LOCALHOST.into()))
    })
}

/// A port in use names the flag that moves that listener, e.g. `... choose another port with --ws
/// 127.0.0.1:PORT`.
fn name_the_port_flag(err: Error, ws: &[SocketAddr], wss: &[SocketAddr]) -> Error {
    match &err {
        Error::Bind { addr, source, .. } if source.kind() == std::io::ErrorKind::AddrInUse => {
            let ip = match addr.ip() {
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(v6) => format!("[{v6}]"),
            };
            let flag = if ws.contains(addr) {
                format!("--ws {ip}:PORT")
            } else if wss.contains(addr) {
                format!("--wss {ip}:PORT")
            } else {
                "--bad-certs-port PORT".to_string()
            };
            Error::Runtime(format!("{err} with {flag}"))
        }
        _ => err,
    }
}

/// Where the first `--bad-certs` listener goes: on the first wss listener's address (else 127.0.0.1), at `port`,
/// else the port after the wss one (else after 8443); port 0 stays 0, so that each fixture gets a free port.
fn bad_certs_start(wss: Option<&SocketAddr>, port: Option<u16>) -> SocketAddr {
    let base = wss
        .copied()
        .unwrap_or(SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_WSS_PORT)));
    let port = port.unwrap_or(match base.port() {
        0 => 0,
        wss_port => wss_port.saturating_add(1),
    });
    SocketAddr::new(base.ip(), port)
}

pub(crate) async fn serve(args: ServeArgs) -> Result<(), Error> {
    let tls = args.cert.zip(args.key).map(|(cert, key)| TlsFiles { cert, key });
    let mut ws = args.ws;
    let mut wss = args.wss;
    let acme = args.acme.config(&mut ws, &mut wss)?;
    let mut defaulted = false;
    if ws.is_empty() && wss.is_empty() {
        ws = loopback(DEFAULT_WS_PORT, true);
        defaulted = true;
    }
    if let Some(tls) = tls.as_ref().filter(|_| wss.is_empty()) {
        wss = loopback(DEFAULT_WSS_PORT, names_ipv6_loopback(&tls.cert));
        defaulted = true;
    }
    let bad_certs = args.bad_certs.map(|dir| BadCerts {
        dir,
        first: bad_certs_start(wss.first(), args.bad_certs_port),
    });
    let config = Config {
        ws: ws.clone(),
        wss: wss.clone(),
        tls,
        acme,
        client_ca: args.client_ca,
        client_auth: args.client_auth.into(),
        http2: args.http2,
        ca_download: args.ca,
        device_host: args.device_host,
        protocols: args.protocol,
        allowed_origins: args.allow_origin,
        limits: Limits {
            max_message_size: args.max_message_size,
            max_frame_size: args.max_frame_size,
            max_connections: args.max_connections,
            handshake_timeout: args.handshake_timeout,
            idle_timeout: (!args.idle_timeout.is_zero()).then_some(args.idle_timeout),
            shutdown_timeout: args.shutdown_timeout,
            room_backlog: args.room_backlog,
            room_max_lag: args.room_max_lag,
        },
        log_messages: args.verbose,
        bad_certs,
        deflate: args.deflate.settings(),
        faults: !args.no_faults,
        ..Config::default()
    };
    let mut signals =
        StopSignals::register().map_err(|e| Error::Runtime(format!("cannot handle SIGINT/SIGTERM: {e}")))?;
    // Default listeners on a machine without IPv6 fall back to IPv4 (with a warning); without defaults, every
    // asked-for address must work.
    let running = if defaulted {
        server::start_dual_stack(config).await
    } else {
        server::start(config).await
    }
    .map_err(|err| name_the_port_flag(err, &ws, &wss))?;
    let mut out = std::io::stdout().lock();
    let _ = out
        .write_all(running.banner().as_bytes())
        .and_then(|()| out.flush());
    drop(out);
    let signal = signals.recv().await;
    tracing::info!("{signal}: stopping; closing connections with 1001");
    running.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use certgen::{CaOptions, CertsDir, LeafOptions, SubjectName};

    #[test]
    fn default_wss_listens_on_ipv6_loopback_only_when_the_certificate_names_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let certs = CertsDir::new(dir.path());
        certs.create_ca(&CaOptions::default()).expect("a CA");
        let issue = |names: &[&str], out: &str| {
            let names = SubjectName::parse_all(names).expect("names");
            let options = LeafOptions {
                out: Some(out.into()),
                ..LeafOptions::default()
            };
            certs
                .issue(&names, &options)
                .expect("a certificate")
                .files
                .fullchain_pem
        };
        let both = issue(&["localhost", "127.0.0.1", "::1"], "both");
        let v4 = issue(&["localhost", "127.0.0.1"], "v4");
        assert!(names_ipv6_loopback(&both));
        assert!(!names_ipv6_loopback(&v4));
        assert!(!names_ipv6_loopback(Path::new("/nonexistent.pem")));
        assert_eq!(
            loopback(8443, true),
            [
                "127.0.0.1:8443".parse().unwrap(),
                "[::1]:8443".parse::<SocketAddr>().unwrap()
            ]
        );
        assert_eq!(
            loopback(8443, false),
            ["127.0.0.1:8443".parse::<SocketAddr>().unwrap()]
        );
    }
}

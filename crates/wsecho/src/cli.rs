//! Command-line front end: clap definitions and the glue from flags to the library.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use wsecho::Error;
use wsecho::server::{self, ClientAuth, Config, Limits, StopSignals, TlsFiles};

#[derive(Parser)]
#[command(
    name = "wsecho",
    version,
    about = "WebSocket echo server (ws + wss), test page, client"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the echo server: ws and wss listeners, the test page at /, /ca.cer, /healthz, /stats.
    Serve(ServeArgs),
    /// Connect to a ws:// or wss:// URL: check echoes with --send, or relay stdin lines interactively.
    Client(ClientArgs),
    /// Load-test a ws:// or wss:// echo server: messages/s, MB/s, latency percentiles; checks every echo.
    Bench(wsecho::bench::BenchArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// Plain ws:// + http:// listener, IP:PORT (repeatable; port 0 picks a free port) [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
    ws: Vec<SocketAddr>,
    /// TLS wss:// + https:// listener, IP:PORT (repeatable) [default with --cert: 127.0.0.1:8443]
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
    /// Require client certificates issued by this CA (PEM) on wss (mutual TLS)
    #[arg(long, value_name = "FILE")]
    client_ca: Option<PathBuf>,
    /// Whether --client-ca makes a client certificate mandatory
    #[arg(long, value_enum, default_value_t = ClientAuth::Required, requires = "client_ca")]
    client_auth: ClientAuth,
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
    /// Log every message (truncated)
    #[arg(short, long)]
    verbose: bool,
}

#[derive(Args)]
struct ClientArgs {
    /// ws://HOST:PORT/PATH or wss://HOST:PORT/PATH
    url: String,
    /// Trust only this CA (PEM) for the server certificate, e.g. certs/ca.pem
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Client certificate chain (PEM) for mutual TLS
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// Client private key (PEM)
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// Accept ANY server certificate (debugging only: anyone can impersonate the server)
    #[arg(long, conflicts_with = "ca")]
    insecure: bool,
    /// Subprotocol to offer (repeatable, in order of preference)
    #[arg(long, value_name = "NAME")]
    protocol: Vec<String>,
    /// Extra request header NAME:VALUE, e.g. "Origin: https://localhost:8443" (repeatable)
    #[arg(long, value_name = "NAME:VALUE", value_parser = parse_header)]
    header: Vec<(String, String)>,
    /// Send this text and require the identical echo (repeatable); exits 1 on a difference or timeout.
    /// Without --send, stdin lines are sent and received messages printed.
    #[arg(long, value_name = "TEXT")]
    send: Vec<String>,
    /// Seconds to wait for the connection and for each echo
    #[arg(long, value_name = "SECS", value_parser = parse_secs, default_value = "10")]
    timeout: Duration,
}

pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    let verbose = matches!(&cli.command, Command::Serve(args) if args.verbose);
    wsecho::init_logging(verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Client(args) => client(args).await,
            Command::Bench(args) => wsecho::bench::command(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), Error> {
    let tls = args.cert.zip(args.key).map(|(cert, key)| TlsFiles { cert, key });
    let mut ws = args.ws;
    let mut wss = args.wss;
    if ws.is_empty() && wss.is_empty() {
        ws.push(SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)));
    }
    if tls.is_some() && wss.is_empty() {
        wss.push(SocketAddr::from((Ipv4Addr::LOCALHOST, 8443)));
    }
    let config = Config {
        ws,
        wss,
        tls,
        client_ca: args.client_ca,
        client_auth: args.client_auth,
        ca_download: args.ca,
        protocols: args.protocol,
        allowed_origins: args.allow_origin,
        limits: Limits {
            max_message_size: args.max_message_size,
            max_frame_size: args.max_frame_size,
            max_connections: args.max_connections,
            handshake_timeout: args.handshake_timeout,
            idle_timeout: (!args.idle_timeout.is_zero()).then_some(args.idle_timeout),
            shutdown_timeout: args.shutdown_timeout,
        },
        log_messages: args.verbose,
        ..Config::default()
    };
    let mut signals =
        StopSignals::register().map_err(|e| Error::Runtime(format!("cannot handle SIGINT/SIGTERM: {e}")))?;
    let running = server::start(config).await?;
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

async fn client(args: ClientArgs) -> Result<(), Error> {
    if args.insecure {
        eprintln!(
            "WARNING: --insecure: the server certificate is NOT verified; anyone on the path can read and change this connection"
        );
    }
    let options = wsecho::client::ConnectOptions {
        tls: wsecho::client::TlsOptions {
            ca: args.ca,
            cert: args.cert,
            key: args.key,
            insecure: args.insecure,
        },
        protocols: args.protocol,
        headers: args.header,
        timeout: args.timeout,
    };
    let (mut ws, connected) = wsecho::client::connect(&args.url, &options).await?;
    eprintln!(
        "connected to {} ({}, subprotocol {})",
        args.url,
        connected.tls_version.as_deref().unwrap_or("no TLS"),
        connected.protocol.as_deref().unwrap_or("none")
    );
    if args.send.is_empty() {
        wsecho::client::interactive(ws, args.timeout).await
    } else {
        wsecho::client::send_and_check(&mut ws, &args.send, args.timeout).await
    }
}

fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|_| {
        "expected IP:PORT such as 127.0.0.1:8080, 0.0.0.0:8443 or [::1]:8080 (port 0 picks a free port)"
            .to_string()
    })
}

/// Bytes with an optional `KiB`/`MiB`/`GiB` (or `K`/`M`/`G`) suffix.
fn parse_size(text: &str) -> Result<usize, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" | "kb" => 10,
        "m" | "mib" | "mb" => 20,
        "g" | "gib" | "gb" => 30,
        _ => return Err("expected a byte count such as 65536, 64KiB or 16MiB".into()),
    };
    number
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(1usize << shift))
        .filter(|n| *n > 0)
        .ok_or_else(|| "expected a byte count above 0 such as 65536, 64KiB or 16MiB".into())
}

/// Longest accepted duration: a year (deadlines `now + duration` must not overflow).
const MAX_SECS: f64 = 365.0 * 24.0 * 3600.0;

/// Seconds, decimals allowed (`0.5`), at most a year.
fn parse_secs(text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|secs| *secs <= MAX_SECS)
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| format!("expected seconds such as 10 or 0.5, at most {MAX_SECS}"))
}

fn parse_header(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.trim().to_string()))
        }
        _ => Err("expected NAME:VALUE such as \"Origin: https://localhost:8443\"".into()),
    }
}

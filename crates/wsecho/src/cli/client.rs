//! `wsecho client`: the client's flags, then either checking scripted echoes or relaying stdin to stdout.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tokio_tungstenite::tungstenite::Message;
use wsecho::Error;
use wsecho::client::{self, ConnectOptions, Connected, Connection, Incoming, Roots, TlsOptions};

use super::values::{parse_header, parse_roots, parse_secs};

#[derive(Args)]
pub(crate) struct ClientArgs {
    /// ws://HOST:PORT/PATH or wss://HOST:PORT/PATH
    url: String,
    /// Trust only this CA (PEM) for the server certificate, e.g. certs/ca.pem; `system`: the operating system's
    /// roots, for a server with a public certificate (on Linux SSL_CERT_FILE/SSL_CERT_DIR replace them when set)
    #[arg(long, value_name = "FILE|system", value_parser = parse_roots)]
    ca: Option<Roots>,
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
    /// Offer permessage-deflate (RFC 7692) and send every message (--send or stdin lines) compressed; the
    /// server's answer is printed as `extensions ...` (`none`: it declined, and messages go uncompressed)
    #[arg(long)]
    deflate: bool,
    /// Seconds to wait for the connection and for each echo
    #[arg(long, value_name = "SECS", value_parser = parse_secs, default_value = "10")]
    timeout: Duration,
}

pub(crate) async fn client(args: ClientArgs) -> Result<(), Error> {
    if args.insecure {
        eprintln!(
            "WARNING: --insecure: the server certificate is NOT verified; anyone on the path can read and change this connection"
        );
    }
    let options = ConnectOptions {
        tls: TlsOptions {
            ca: args.ca,
            cert: args.cert,
            key: args.key,
            insecure: args.insecure,
        },
        protocols: args.protocol,
        headers: args.header,
        timeout: args.timeout,
    };
    let (mut ws, connected) = if args.deflate {
        let (ws, connected) = client::connect_deflate(&args.url, &options).await?;
        (Connection::Deflate(Box::new(ws)), connected)
    } else {
        let (ws, connected) = client::connect(&args.url, &options).await?;
        (Connection::Plain(Box::new(ws)), connected)
    };
    announce(&args.url, &connected);
    if args.send.is_empty() {
        return relay_stdin(ws, args.timeout).await;
    }
    // Each echo is printed as it arrives, so a later failure still shows the echoes that came back.
    for text in &args.send {
        client::check_echo(&mut ws, Message::text(text), args.timeout).await?;
        println!("{text}");
    }
    client::close(&mut ws, args.timeout).await;
    Ok(())
}

/// Sends stdin's lines and prints what comes back.
async fn relay_stdin(connection: Connection, timeout: Duration) -> Result<(), Error> {
    let stdin = tokio::io::BufReader::new(tokio::io::stdin());
    client::relay(connection, stdin, timeout, |incoming| match incoming {
        Incoming::Message(text) => println!("{text}"),
        Incoming::ServerClosed(why) => eprintln!("server closed: {why}"),
    })
    .await
}

fn announce(url: &str, connected: &Connected) {
    eprintln!(
        "connected to {url} ({}, subprotocol {}, extensions {})",
        connected.tls_version.as_deref().unwrap_or("no TLS"),
        connected.protocol.as_deref().unwrap_or("none"),
        connected.extensions.as_deref().unwrap_or("none")
    );
}

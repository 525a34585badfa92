//! The benchmark baseline: tokio-tungstenite's own `examples/echo-server.rs` (version 0.30), kept as written there
//! except that the `log`/`env_logger` lines are dropped, plus the few lines tokio-rustls' README adds for TLS when
//! a certificate and key are given. `cargo xtask bench` measures `wsecho serve` against it: this is the echo
//! server a user would write in 25 lines (40 with wss).
//!
//!     cargo run --release -p wsecho --example baseline_echo 127.0.0.1:12345 [CERT.pem KEY.pem]

use std::sync::Arc;
use std::{env, io::Error};

use futures_util::{StreamExt, TryStreamExt, future};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let addr = env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let tls = match (env::args().nth(2), env::args().nth(3)) {
        (Some(cert), Some(key)) => Some(tls_acceptor(&cert, &key)),
        _ => None,
    };

    // Create the event loop and TCP listener we'll accept connections on.
    let try_socket = TcpListener::bind(&addr).await;
    let listener = try_socket.expect("Failed to bind");

    while let Ok((stream, _)) = listener.accept().await {
        match tls.clone() {
            None => tokio::spawn(accept_connection(stream)),
            Some(acceptor) => tokio::spawn(async move {
                if let Ok(stream) = acceptor.accept(stream).await {
                    accept_connection(stream).await
                }
            }),
        };
    }

    Ok(())
}

fn tls_acceptor(cert: &str, key: &str) -> TlsAcceptor {
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect)
        .expect("Failed to read the certificate chain");
    let key = PrivateKeyDer::from_pem_file(key).expect("Failed to read the key");
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("Failed to use the certificate");
    TlsAcceptor::from(Arc::new(config))
}

async fn accept_connection<S: AsyncRead + AsyncWrite + Unpin>(stream: S) {
    let ws_stream = tokio_tungstenite::accept_async(stream)
        .await
        .expect("Error during the websocket handshake occurred");

    let (write, read) = ws_stream.split();
    // We should not forward messages other than text or binary.
    read.try_filter(|msg| future::ready(msg.is_text() || msg.is_binary()))
        .forward(write)
        .await
        .expect("Failed to forward messages")
}

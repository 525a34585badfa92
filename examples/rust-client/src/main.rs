//! Usage: rust-client [URL] [CA_PEM]   (defaults: wss://localhost:8443/ and certs/ca.pem)
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, connect_async_tls_with_config};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "wss://localhost:8443/".into());
    let ca_pem = args.next().unwrap_or_else(|| "certs/ca.pem".into());

    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&ca_pem)? {
        roots.add(cert?)?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();

    let connector = Connector::Rustls(Arc::new(tls));
    let (mut ws, _) = connect_async_tls_with_config(&url, None, false, Some(connector)).await?;
    ws.send(Message::text("hello")).await?;
    if let Some(reply) = ws.next().await {
        println!("{}", reply?.to_text()?);
    }
    ws.close(None).await?;
    Ok(())
}

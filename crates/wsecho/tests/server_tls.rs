//! TLS specifics: mutual TLS (required and optional), certificate hot reload without dropping open connections,
//! TLS 1.2 and ALPN.

mod support;

use std::sync::Arc;
use std::time::Duration;

use futures_util::SinkExt;
use rustls::ClientConfig;
use support::*;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use wsecho::server::ClientAuth;

/// A server demanding (or, with `Optional`, accepting) client certificates from `pki`'s CA.
async fn mtls_server(pki: &TestCerts, auth: ClientAuth) -> wsecho::server::RunningServer {
    let mut settings = config(Some(pki));
    settings.client_ca = Some(pki.ca_pem.clone());
    settings.client_auth = auth;
    start(settings).await
}

/// Whether a WebSocket echo works with this client TLS configuration. With TLS 1.3 a refused client certificate
/// surfaces after the TLS handshake, so the whole exchange is what counts.
async fn echo_works(url: &str, tls: Arc<ClientConfig>) -> bool {
    let request = url.into_client_request().expect("request");
    let Ok((mut ws, _)) = within(connect_request(request, Some(tls))).await else {
        return false;
    };
    if within(ws.send(Message::text("ping?"))).await.is_err() {
        return false;
    }
    matches!(
        within(futures_util::StreamExt::next(&mut ws)).await,
        Some(Ok(Message::Text(text))) if text.as_str() == "ping?"
    )
}

#[tokio::test]
async fn required_client_certificates_admit_our_ca_and_refuse_none_or_foreign() {
    let pki = TestCerts::new();
    let foreign = TestCerts::new();
    let server = mtls_server(&pki, ClientAuth::Required).await;
    let url = url(&server, true);

    let ours = client_tls(&pki.ca_pem, Some((&pki.client_cert, &pki.client_key)));
    assert!(echo_works(&url, ours).await, "our client certificate is accepted");
    assert!(
        !echo_works(&url, client_tls(&pki.ca_pem, None)).await,
        "no certificate is refused"
    );
    let theirs = client_tls(&pki.ca_pem, Some((&foreign.client_cert, &foreign.client_key)));
    assert!(
        !echo_works(&url, theirs).await,
        "a certificate from another CA is refused"
    );
    // The plain listener is unaffected by --client-ca.
    let mut ws = connect(&support::url(&server, false), None).await;
    within(ws.send(Message::text("plain"))).await.expect("send");
    assert_eq!(next_message(&mut ws).await, Message::text("plain"));
}

#[tokio::test]
async fn optional_client_certificates_admit_none_but_still_refuse_foreign() {
    let pki = TestCerts::new();
    let foreign = TestCerts::new();
    let server = mtls_server(&pki, ClientAuth::Optional).await;
    let url = url(&server, true);
    assert!(echo_works(&url, client_tls(&pki.ca_pem, None)).await);
    let ours = client_tls(&pki.ca_pem, Some((&pki.client_cert, &pki.client_key)));
    assert!(echo_works(&url, ours).await);
    let theirs = client_tls(&pki.ca_pem, Some((&foreign.client_cert, &foreign.client_key)));
    assert!(!echo_works(&url, theirs).await);
}

/// A bare TLS handshake (no HTTP) with a wss listener, as `localhost`.
async fn tls_handshake(
    server: &wsecho::server::RunningServer,
    config: Arc<ClientConfig>,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let addr = server.listener(true).expect("wss listener").local_addr;
    let tcp = within(tokio::net::TcpStream::connect(addr))
        .await
        .expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    within(tokio_rustls::TlsConnector::from(config).connect(name, tcp))
        .await
        .expect("TLS handshake")
}

/// The serial of the certificate a fresh TLS handshake is shown.
async fn served_serial(server: &wsecho::server::RunningServer, pki: &TestCerts) -> String {
    let tls = tls_handshake(server, client_tls(&pki.ca_pem, None)).await;
    serial_of(&tls.get_ref().1.peer_certificates().expect("server certificate")[0])
}

#[tokio::test]
async fn rewritten_certificate_files_are_used_for_new_handshakes_while_open_connections_keep_echoing() {
    let pki = TestCerts::new();
    let mut settings = config(Some(&pki));
    settings.reload_interval = Duration::from_millis(100);
    let server = start(settings).await;
    let url = url(&server, true);
    let first_serial = served_serial(&server, &pki).await;
    assert_eq!(first_serial, leaf_serial(&pki.server_chain));

    let mut open = connect(&url, Some(&pki)).await;
    within(open.send(Message::text("before"))).await.expect("send");
    assert_eq!(next_message(&mut open).await, Message::text("before"));

    let second_serial = pki.reissue_server();
    assert_ne!(first_serial, second_serial);
    within(async {
        while served_serial(&server, &pki).await != second_serial {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    within(open.send(Message::text("after reload")))
        .await
        .expect("send");
    assert_eq!(next_message(&mut open).await, Message::text("after reload"));

    // A broken pair is refused: the key of another certificate. New handshakes keep the working one.
    let foreign = TestCerts::new();
    std::fs::copy(&foreign.server_key, &pki.server_key).expect("overwrite key");
    assert!(server.reload_tls().is_err(), "a mismatched key is refused");
    tokio::time::sleep(Duration::from_millis(400)).await; // several polls of the watcher
    assert_eq!(served_serial(&server, &pki).await, second_serial);
    within(open.send(Message::text("still here")))
        .await
        .expect("send");
    assert_eq!(next_message(&mut open).await, Message::text("still here"));
}

/// TLS 1.2 with ALPN: with HTTP/2 on (the default) a client offering `h2` gets it and one offering only `http/1.1`
/// gets that and echoes; with HTTP/2 off the `h2` offer is passed over for `http/1.1`.
#[tokio::test]
async fn tls_1_2_and_alpn_work_with_http2_on_and_off() {
    let pki = TestCerts::new();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(
            std::fs::read(&pki.ca_cer).expect("ca.cer"),
        ))
        .expect("root");
    let tls12 = |alpn: &[&[u8]]| {
        let mut config =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
                .with_protocol_versions(&[&rustls::version::TLS12])
                .expect("TLS 1.2")
                .with_root_certificates(roots.clone())
                .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    };
    let both = tls12(&[b"h2", b"http/1.1"]);
    let http1 = tls12(&[b"http/1.1"]);

    let on = start(config(Some(&pki))).await;
    let tls = tls_handshake(&on, both.clone()).await;
    assert_eq!(
        tls.get_ref().1.alpn_protocol(),
        Some(&b"h2"[..]),
        "HTTP/2 is preferred"
    );
    let tls = tls_handshake(&on, http1.clone()).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert!(echo_works(&url(&on, true), http1).await);

    let off = start(wsecho::server::Config {
        http2: false,
        ..config(Some(&pki))
    })
    .await;
    let tls = tls_handshake(&off, both.clone()).await;
    let (_, connection) = tls.get_ref();
    assert_eq!(
        connection.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    assert_eq!(
        connection.alpn_protocol(),
        Some(&b"http/1.1"[..]),
        "with HTTP/2 off the server only speaks HTTP/1.1"
    );
    assert!(echo_works(&url(&off, true), both).await);
}

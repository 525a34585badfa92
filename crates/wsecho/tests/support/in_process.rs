//! The echo server started in the test process through the library, on free loopback ports.

use wsecho::server::{Config, RunningServer, TlsFiles};

use super::certs::TestCerts;
use super::within;

/// Server settings: ws and (with test certificates) wss on free loopback ports.
pub fn config(certs: Option<&TestCerts>) -> Config {
    let any_port = "127.0.0.1:0".parse().expect("address");
    Config {
        ws: vec![any_port],
        wss: certs.map(|_| vec![any_port]).unwrap_or_default(),
        tls: certs.map(|certs| TlsFiles {
            cert: certs.server_chain.clone(),
            key: certs.server_key.clone(),
        }),
        ..Config::default()
    }
}

pub async fn start(config: Config) -> RunningServer {
    within(wsecho::server::start(config))
        .await
        .expect("server starts")
}

/// The URL of the server's first ws (`tls = false`) or wss listener.
pub fn url(server: &RunningServer, tls: bool) -> String {
    server.listener(tls).expect("listener of that kind").url.clone()
}

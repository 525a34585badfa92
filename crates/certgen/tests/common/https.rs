//! A small HTTPS server on loopback for the tests: rustls with a given chain and key, answering every request with
//! a line naming the server, and git's dumb-HTTP ref listing under `/repo.git/info/refs`, so curl, git, Python and
//! Node can all be pointed at it. It runs on its own threads and stops when dropped.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use rustls::{ServerConfig, ServerConnection, StreamOwned};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// A commit id git accepts in a ref listing; the tests only list refs, never fetch objects.
pub const GIT_REF: &str = "0123456789abcdef0123456789abcdef01234567";

/// How long one connection may stall before the server drops it.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

pub struct HttpsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl HttpsServer {
    /// Serves `chain` (leaf first, PEM file) with the key in `key` on 127.0.0.1, a free port; answers `name`.
    pub fn start(chain: &Path, key: &Path, name: &str) -> HttpsServer {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(chain)
            .expect("read chain")
            .collect::<Result<_, _>>()
            .expect("PEM chain");
        HttpsServer::start_with(chain, PrivateKeyDer::from_pem_file(key).expect("PEM key"), name)
    }

    /// [`HttpsServer::start`] with the certificates and key in memory.
    pub fn start_with(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        name: &str,
    ) -> HttpsServer {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("chain and key match");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let name = name.to_owned();
        let acceptor = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (config, name) = (Arc::clone(&config), name.clone());
                std::thread::spawn(move || answer(stream, config, &name));
            }
        });
        HttpsServer {
            addr,
            stop,
            acceptor: Some(acceptor),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, IO_TIMEOUT);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// One connection: the handshake (a client that rejects the certificate ends it here), one request, one answer.
fn answer(stream: TcpStream, config: Arc<ServerConfig>, name: &str) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let Ok(connection) = ServerConnection::new(config) else {
        return;
    };
    let mut tls = BufReader::new(StreamOwned::new(connection, stream));
    let mut request_line = String::new();
    if tls.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match tls.read_line(&mut header) {
            Ok(0) | Err(_) => return,
            Ok(_) if header == "\r\n" || header == "\n" => break,
            Ok(_) => {}
        }
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
    let body = if target.starts_with("/repo.git/info/refs") {
        format!("{GIT_REF}\trefs/heads/main\n")
    } else {
        format!("hello from {name}\n")
    };
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let stream = tls.get_mut();
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
    stream.conn.send_close_notify();
    let _ = stream.flush();
}

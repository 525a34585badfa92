//! http-01: the CA fetches `http://NAME/.well-known/acme-challenge/TOKEN` (port 80 for a public CA) and expects
//! the key authorization as the body.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{Ipv6Addr, SocketAddr};
use std::sync::{Arc, RwLock};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::challenge::{ChallengeKind, PendingChallenge, Responder};
use super::error::Error as AcmeError;
use crate::Error;

/// The path every http-01 answer lives under.
pub const CHALLENGE_PATH: &str = "/.well-known/acme-challenge/";

/// The answers currently owed, by token; shared between the order and whatever serves HTTP.
#[derive(Debug, Clone, Default)]
pub struct Http01Tokens {
    answers: Arc<RwLock<HashMap<String, String>>>,
}

impl Http01Tokens {
    /// The body to serve for a request path, if it is a pending challenge's.
    pub fn answer(&self, path: &str) -> Option<String> {
        let token = path.strip_prefix(CHALLENGE_PATH)?;
        self.answers
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(token)
            .cloned()
    }
}

impl Responder for Http01Tokens {
    fn kind(&self) -> ChallengeKind {
        ChallengeKind::Http01
    }

    fn present(&self, challenge: &PendingChallenge) -> Result<(), Error> {
        self.answers
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(challenge.token.clone(), challenge.key_authorization.clone());
        Ok(())
    }

    fn clear(&self, challenge: &PendingChallenge) -> Result<(), Error> {
        self.answers
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&challenge.token);
        Ok(())
    }
}

/// A plain HTTP server answering only challenge requests, for `certgen acme`; stops when dropped.
#[derive(Debug)]
pub struct Http01Server {
    tokens: Http01Tokens,
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Http01Server {
    /// Listens on `port` on every address (IPv6 and, dual-stack, IPv4): the CA connects from outside.
    pub async fn bind(port: u16) -> Result<Self, Error> {
        let addr = SocketAddr::from((Ipv6Addr::UNSPECIFIED, port));
        let listener = TcpListener::bind(addr).await.map_err(|e| {
            AcmeError::Responder(format!(
                "cannot listen on port {port} for http-01: {e}; stop what uses it, or pick another --http-port \
                 (a public CA always connects to port 80, so forward 80 to it)"
            ))
        })?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| Error::io("listen", addr.to_string(), e))?;
        let tokens = Http01Tokens::default();
        let task = tokio::spawn(serve(listener, tokens.clone()));
        Ok(Http01Server {
            tokens,
            local_addr,
            task,
        })
    }

    pub fn tokens(&self) -> &Http01Tokens {
        &self.tokens
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Drop for Http01Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(listener: TcpListener, tokens: Http01Tokens) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let tokens = tokens.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let response = respond(&tokens, request.uri().path());
                async move { Ok::<_, Infallible>(response) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// 200 with the key authorization for a pending token, 404 for anything else.
pub fn respond(tokens: &Http01Tokens, path: &str) -> Response<Full<Bytes>> {
    let (status, body) = match tokens.answer(path) {
        Some(answer) => (StatusCode::OK, answer),
        None => (StatusCode::NOT_FOUND, "no such ACME challenge\n".to_string()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}

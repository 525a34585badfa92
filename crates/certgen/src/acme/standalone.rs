//! The responders `certgen acme` runs itself when no server of the user's answers the challenge: an HTTP or TLS
//! listener on the given port for as long as the order runs, or the dns-01 hook.

use super::challenge::{Challenge, ChallengeKind, PendingChallenge, Responder};
use super::dns_hook::DnsHook;
use super::http01::Http01Server;
use super::request::AcmeRequest;
use super::tls_alpn01::TlsAlpn01Server;
use crate::Error;

/// One of the three, started.
#[derive(Debug)]
pub enum Standalone {
    Http01(Http01Server),
    TlsAlpn01(TlsAlpn01Server),
    Dns01(DnsHook),
}

impl Standalone {
    /// Binds the port `challenge` is answered on (or takes its hook); fails before any request when it cannot.
    pub async fn start(challenge: &Challenge, http_port: u16, tls_port: u16) -> Result<Self, Error> {
        Ok(match challenge {
            Challenge::Http01 => Standalone::Http01(Http01Server::bind(http_port).await?),
            Challenge::TlsAlpn01 => Standalone::TlsAlpn01(TlsAlpn01Server::bind(tls_port).await?),
            Challenge::Dns01 { hook } => Standalone::Dns01(DnsHook::new(hook.clone())),
        })
    }

    /// The responder `request` asks for, on its ports or with its hook.
    pub async fn for_request(request: &AcmeRequest) -> Result<Self, Error> {
        Self::start(&request.challenge, request.http_port, request.tls_port).await
    }

    fn responder(&self) -> &dyn Responder {
        match self {
            Standalone::Http01(server) => server.tokens(),
            Standalone::TlsAlpn01(server) => server.certificates(),
            Standalone::Dns01(hook) => hook,
        }
    }
}

impl Responder for Standalone {
    fn kind(&self) -> ChallengeKind {
        self.responder().kind()
    }

    fn present(&self, challenge: &PendingChallenge) -> Result<(), Error> {
        self.responder().present(challenge)
    }

    fn clear(&self, challenge: &PendingChallenge) -> Result<(), Error> {
        self.responder().clear(challenge)
    }
}

//! The responders `certgen acme` runs itself when no server of the user's answers the challenge: an HTTP or TLS
//! listener on the given port for as long as the order runs, or the dns-01 hook.

use super::dns_hook::DnsHook;
use super::http01::Http01Server;
use super::tls_alpn01::TlsAlpn01Server;
use super::{AcmeRequest, ChallengeKind, PendingChallenge, Responder};
use crate::Error;

/// One of the three, started.
#[derive(Debug)]
pub enum Standalone {
    Http01(Http01Server),
    TlsAlpn01(TlsAlpn01Server),
    Dns01(DnsHook),
}

impl Standalone {
    /// Binds the port for `kind` (or checks the hook is given); fails before any request when it cannot.
    pub async fn start(
        kind: ChallengeKind,
        http_port: u16,
        tls_port: u16,
        dns_hook: Option<&str>,
    ) -> Result<Self, Error> {
        Ok(match kind {
            ChallengeKind::Http01 => Standalone::Http01(Http01Server::bind(http_port).await?),
            ChallengeKind::TlsAlpn01 => Standalone::TlsAlpn01(TlsAlpn01Server::bind(tls_port).await?),
            ChallengeKind::Dns01 => match dns_hook {
                Some(command) => Standalone::Dns01(DnsHook::new(command)),
                None => {
                    return Err(Error::AcmeUsage(
                        "dns-01 needs --dns-hook CMD: a command certgen runs as `CMD set|clear NAME VALUE` to \
                         set and clear the TXT record"
                            .into(),
                    ));
                }
            },
        })
    }

    /// The responder `request` asks for, on its ports or with its hook.
    pub async fn for_request(request: &AcmeRequest) -> Result<Self, Error> {
        Self::start(
            request.challenge,
            request.http_port,
            request.tls_port,
            request.dns_hook.as_deref(),
        )
        .await
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

//! What can go wrong obtaining a certificate by ACME, kept apart from the rest of certgen's errors so the CA's
//! problem type survives to the code that acts on it (a rejected nonce is a `match`, not a test on text).

use super::problem::Problem;

/// A failed ACME step. `Display` is the one-line message shown to users.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--directory` is neither a preset nor a URL.
    #[error(
        "--directory `{input}`: use `letsencrypt`, `letsencrypt-staging` or the ACME directory's https:// URL"
    )]
    BadDirectory { input: String },

    /// A public ACME CA was asked for a name no public CA signs (checked before any request).
    #[error(
        "`{name}` {why}, so no public CA ({ca}) will sign it; use the local CA (`certgen issue {name}`), or a \
         private ACME server with --directory URL"
    )]
    NotPublic {
        name: String,
        why: &'static str,
        ca: String,
    },

    /// A name or option that ACME cannot serve as asked; the message says why and what to use instead.
    #[error("{0}")]
    Usage(String),

    /// The ACME directory could not be fetched.
    #[error("cannot reach the ACME directory {url}: {reason}; check the URL, the network and --acme-ca")]
    Unreachable { url: String, reason: String },

    /// The CA could not validate a challenge (`challenge` is its kind's name); `problem` is the CA's problem
    /// document.
    #[error("the CA could not validate {challenge} for {name}: {problem}")]
    ChallengeFailed {
        name: String,
        challenge: &'static str,
        problem: Problem,
    },

    /// `--profile` names a profile the directory does not offer.
    #[error(
        "the ACME directory {url} offers no profile `{profile}` (it offers: {offered}); drop --profile or pick one of those"
    )]
    NoSuchProfile {
        profile: String,
        url: String,
        offered: String,
    },

    /// A challenge responder could not start or answer (port taken, no permission, hook failed).
    #[error("{0}")]
    Responder(String),

    /// Any other failure talking to the ACME server.
    #[error("ACME {step} failed at {url}: {cause}")]
    Request {
        step: &'static str,
        url: String,
        cause: Cause,
    },
}

/// Why a request to the CA failed: the CA's problem document, or what happened before one could arrive.
#[derive(Debug, thiserror::Error)]
pub enum Cause {
    #[error("{0}")]
    Problem(Problem),
    /// A transport or parsing failure, with its sources.
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// Process exit code: 2 for a request that cannot work as given, 1 for a failure on the way.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::BadDirectory { .. } | Error::NotPublic { .. } | Error::Usage(_) => 2,
            Error::Unreachable { .. }
            | Error::ChallengeFailed { .. }
            | Error::NoSuchProfile { .. }
            | Error::Responder(_)
            | Error::Request { .. } => 1,
        }
    }

    /// Did the CA reject the request's nonce (RFC 8555 6.5), even after instant-acme's own retries?
    pub fn is_bad_nonce(&self) -> bool {
        matches!(
            self,
            Error::Request {
                cause: Cause::Problem(problem),
                ..
            } if problem.is_bad_nonce()
        )
    }

    /// A failed `step` at `url`: the CA's problem when it sent one, else the error and its sources.
    pub(crate) fn request(step: &'static str, url: &str, err: &instant_acme::Error) -> Self {
        let cause = match err {
            instant_acme::Error::Api(problem) => Cause::Problem(problem.into()),
            other => Cause::Other(chain(other)),
        };
        Error::Request {
            step,
            url: url.to_string(),
            cause,
        }
    }
}

/// An error and its sources as one line (hyper's "client error (Connect)" says little without them).
pub(crate) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acme::problem::ProblemType;

    fn request(cause: Cause) -> crate::Error {
        Error::Request {
            step: "finalize",
            url: "https://ca/dir".into(),
            cause,
        }
        .into()
    }

    #[test]
    fn a_rejected_nonce_is_known_by_its_type_and_the_message_is_unchanged() {
        let bad_nonce = request(Cause::Problem(Problem {
            kind: Some(ProblemType::BadNonce),
            detail: Some("stale nonce".into()),
        }));
        assert!(matches!(&bad_nonce, crate::Error::Acme(e) if e.is_bad_nonce()));
        assert_eq!(
            bad_nonce.to_string(),
            "ACME finalize failed at https://ca/dir: stale nonce (urn:ietf:params:acme:error:badNonce)"
        );
        assert_eq!(bad_nonce.exit_code(), 1);
        // Text that merely ends like a badNonce problem is not one.
        let text = request(Cause::Other(
            "proxy said (urn:ietf:params:acme:error:badNonce)".into(),
        ));
        assert!(matches!(&text, crate::Error::Acme(e) if !e.is_bad_nonce()));
        let usage: crate::Error = Error::Usage("no".into()).into();
        assert_eq!(usage.exit_code(), 2);
    }
}

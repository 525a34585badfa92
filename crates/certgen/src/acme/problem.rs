//! The ACME problem document (RFC 8555 6.7) a CA answers a refused request with, kept typed: the problem type
//! decides what certgen does next (a rejected nonce is sent again), the detail is what the user reads.

use std::fmt;

/// The RFC 8555 problem-type URNs start with this.
const URN_PREFIX: &str = "urn:ietf:params:acme:error:";

/// The problem types certgen acts on; every other one is kept as sent, for the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemType {
    /// The request's nonce was rejected (RFC 8555 6.5): it was not processed, so sending it again is safe.
    BadNonce,
    /// Any other type, e.g. `urn:ietf:params:acme:error:connection`.
    Other(String),
}

impl ProblemType {
    pub fn parse(urn: &str) -> Self {
        match urn.strip_prefix(URN_PREFIX) {
            Some("badNonce") => ProblemType::BadNonce,
            _ => ProblemType::Other(urn.to_string()),
        }
    }
}

impl fmt::Display for ProblemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemType::BadNonce => write!(f, "{URN_PREFIX}badNonce"),
            ProblemType::Other(urn) => f.write_str(urn),
        }
    }
}

/// A problem document as one line: its detail, then its type in parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: Option<ProblemType>,
    /// The CA's explanation, on one line.
    pub detail: Option<String>,
}

impl Problem {
    pub fn is_bad_nonce(&self) -> bool {
        matches!(self.kind, Some(ProblemType::BadNonce))
    }
}

impl From<&instant_acme::Problem> for Problem {
    fn from(problem: &instant_acme::Problem) -> Self {
        Problem {
            kind: problem.r#type.as_deref().map(ProblemType::parse),
            detail: problem.detail.as_ref().map(|d| d.replace('\n', " ")),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.detail.as_deref().unwrap_or("no detail"))?;
        match &self.kind {
            Some(kind) => write!(f, " ({kind})"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejected_nonce_is_a_type_not_a_text() {
        let sent: instant_acme::Problem = serde_json::from_str(
            r#"{"type": "urn:ietf:params:acme:error:badNonce", "detail": "JWS has\nan invalid anti-replay nonce"}"#,
        )
        .unwrap();
        let problem = Problem::from(&sent);
        assert!(problem.is_bad_nonce());
        assert_eq!(
            problem.to_string(),
            "JWS has an invalid anti-replay nonce (urn:ietf:params:acme:error:badNonce)"
        );
        let other = ProblemType::parse("urn:ietf:params:acme:error:connection");
        assert_eq!(other.to_string(), "urn:ietf:params:acme:error:connection");
        assert_ne!(other, ProblemType::BadNonce);
    }
}

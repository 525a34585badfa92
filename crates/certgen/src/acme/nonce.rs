//! Rejected nonces (RFC 8555 6.5): a CA under load (or pebble, which rejects 5% on purpose) refuses a request's
//! nonce; the request was not processed, so it is sent again, a bounded number of times.

/// Times one request is sent while the CA rejects its nonce (each time after instant-acme's own three tries).
pub(crate) const REQUEST_ATTEMPTS: u32 = 6;

/// Did instant-acme's request fail on a rejected nonce?
pub(crate) fn rejected(err: &instant_acme::Error) -> bool {
    matches!(err, instant_acme::Error::Api(problem) if super::problem::Problem::from(problem).is_bad_nonce())
}

/// Evaluates `request` (an instant-acme call with its `.await`) again while the CA rejects its nonce: a request
/// rejected for its nonce was not processed, so sending it again is always safe, even for finalize.
/// A macro rather than a function taking an async closure, whose future would not be `Send` for `tokio::spawn`.
macro_rules! resend_on_bad_nonce {
    ($request:expr) => {{
        let mut attempt = 1;
        loop {
            match $request {
                Err(err)
                    if attempt < $crate::acme::nonce::REQUEST_ATTEMPTS
                        && $crate::acme::nonce::rejected(&err) =>
                {
                    attempt += 1;
                }
                outcome => break outcome,
            }
        }
    }};
}

pub(crate) use resend_on_bad_nonce;

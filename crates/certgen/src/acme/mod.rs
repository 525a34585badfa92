//! Publicly trusted certificates from any ACME CA (RFC 8555), for DNS names, wildcards and IP addresses (RFC 8738).
//!
//! A request ([`AcmeRequest`], `request.rs`) comes from the flags both front ends share (`flags.rs`) or from a
//! record at renewal (`record.rs`). It is checked once, with no network (`check.rs`: the CA's rules on names in
//! `directory.rs`, the challenge's in `challenge.rs`), and [`CertsDir::acme_obtain`](crate::CertsDir::acme_obtain)
//! (`order.rs`) runs the order: account (`account.rs`), profile (`profile.rs`), each challenge answered through a
//! [`Responder`], the chain (`chain.rs`), then the same file set as `certgen issue` plus the record, in one
//! crash-safe commit. Failures are [`Error`]s that keep the CA's problem type (`problem.rs`), so a rejected nonce
//! is sent again (`nonce.rs`). `stored.rs` decides whether the certificate already in the folder answers a
//! request (same names, same CA, same account); `renew_at.rs` decides when a certificate is due again (the CA's
//! ARI window, RFC 9773, else a third of its lifetime left) and `renewal.rs` renews what is due.
//!
//! The responders: [`http01`] serves `/.well-known/acme-challenge/TOKEN`, [`tls_alpn01`] the `acme-tls/1`
//! certificate of RFC 8737, [`dns_hook`] runs a user's command to set and clear the `_acme-challenge` TXT record.
//! Each has a standalone server for `certgen acme` (`standalone.rs`); `wsecho serve --acme` plugs the same token
//! stores into its own listeners.

pub mod account;
pub mod account_options;
pub mod chain;
pub mod challenge;
pub mod check;
pub mod directory;
pub mod dns_hook;
pub mod error;
pub mod flags;
pub mod http01;
pub mod issued;
mod nonce;
mod order;
pub mod problem;
pub mod profile;
pub mod record;
pub mod renew_at;
pub mod renewal;
pub mod request;
pub mod standalone;
pub mod stored;
pub mod tls_alpn01;

pub use account_options::{AccountOptions, Eab};
pub use chain::Chain;
pub use challenge::{Challenge, ChallengeKind, PendingChallenge, Responder};
pub use check::CheckedRequest;
pub use directory::Directory;
pub use error::Error;
pub use flags::AcmeFlags;
pub use issued::AcmeIssued;
pub use problem::{Problem, ProblemType};
pub use record::AcmeRecord;
pub use renew_at::RenewAt;
pub use renewal::Renewal;
pub use request::AcmeRequest;
pub use standalone::Standalone;
pub use stored::Stored;

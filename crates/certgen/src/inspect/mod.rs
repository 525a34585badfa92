//! Reading certificates and CSRs (PEM or DER), describing them, linting them against the rules
//! browsers and operating systems apply, and verifying chains the way a TLS client does.
//!
//! Parsing uses x509-parser; chain verification uses rustls-webpki, the verifier rustls clients run.

mod anchors;
mod constraints;
mod describe;
mod doctor;
mod lint;
mod objects;
mod path;
mod remote;
// `trust status` checks leaves with `verify` directly: this facade also leads to `doctor`, which uses `trust`.
pub(crate) mod verify;

pub use describe::{BasicConstraintsInfo, Description, KeyInfo, NameConstraintsInfo, describe_file};
pub use doctor::{Diagnosis, diagnose};
pub use lint::{LintReport, LintRule, LintStatus, lint_file};
pub use objects::{Object, ObjectKind, load_certificates, load_objects, sibling_key_path};
pub use remote::{Served, Target, fetch_chain};
pub use verify::{Usage, Verified, verify_chain, verify_files};

pub use crate::cert::SubjectAltName;

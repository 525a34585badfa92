//! Local TLS trust: a name-constrained root CA and the certificates browsers, phones and programs accept.
//!
//! ```no_run
//! let dir = certgen::CertsDir::new("certs");
//! dir.create_ca(&certgen::CaOptions::default())?;
//! let names = certgen::SubjectName::parse_all(["localhost", "127.0.0.1", "::1"])?;
//! let leaf = dir.issue(&names, &Default::default())?;
//! println!("serve {} with key {}", leaf.files.fullchain_pem.display(), leaf.files.key_pem.display());
//! println!("valid until {}, SHA-256 {}", leaf.cert.not_after(), leaf.cert.sha256_colons());
//! # Ok::<(), certgen::Error>(())
//! ```

pub mod accept_any_chain;
pub mod acme;
pub mod broken;
pub mod ca;
pub mod cert;
pub mod constraints;
pub mod csr;
pub mod error;
pub mod export;
pub mod inspect;
pub mod key;
pub mod leaf;
pub mod names;
pub mod orphan;
mod params;
pub mod pem;
pub mod renew;
pub mod secret;
pub mod shell;
pub mod store;
pub mod trust;
pub mod usage;
pub mod validity;

pub use ca::{CaOptions, CreatedCa, LoadedCa};
pub use cert::{Cert, Issued};
pub use constraints::{Constraints, Permit, Violation};
pub use error::Error;
pub use key::KeyKind;
pub use leaf::{LeafKind, LeafOptions};
pub use names::SubjectName;
pub use store::{CaFiles, CertsDir, LeafFiles};

//! TLS settings the server and the client share: the one crypto provider, the protocol versions, ALPN, and how
//! a negotiated version is named.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::{ProtocolVersion, SupportedProtocolVersion};

use crate::Error;

/// The one crypto provider of this crate, installed explicitly on every config instead of a process default.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// TLS 1.3 and 1.2, offered by both sides.
pub(crate) const VERSIONS: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The ALPN list of both sides: WebSockets upgrade from HTTP/1.1.
pub(crate) fn alpn() -> Vec<Vec<u8>> {
    vec![b"http/1.1".to_vec()]
}

/// A config builder refused the provider or versions: a bug of this crate or of the build, not of any input.
pub(crate) fn setup_failed(error: rustls::Error) -> Error {
    Error::Runtime(format!("TLS setup failed: {error}"))
}

/// `TLS1.3` / `TLS1.2`, as shown in logs and by the client.
pub(crate) fn version_name(version: ProtocolVersion) -> String {
    match version {
        ProtocolVersion::TLSv1_3 => "TLS1.3".into(),
        ProtocolVersion::TLSv1_2 => "TLS1.2".into(),
        other => format!("{other:?}"),
    }
}

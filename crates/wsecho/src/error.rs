//! One error type for the library; each variant knows its process exit code.

use std::net::SocketAddr;
use std::path::PathBuf;

/// What went wrong, phrased so that the one-line message names the bad value and the fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad command-line usage or a bad value (URL, header, option combination).
    #[error("{0}")]
    Usage(String),
    /// A file named on the command line could not be read.
    #[error("cannot read {what} {}: {source}", path.display())]
    ReadFile {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file was read but its content is not what it should be (no PEM block, bad key, mismatched pair).
    #[error("{what} {}: {detail}", path.display())]
    BadFile {
        what: &'static str,
        path: PathBuf,
        detail: String,
    },
    /// A listening socket could not be opened; `holder` names the process on the port when it can be known.
    #[error("cannot listen on {addr}: {}", bind_failure(.addr, .source, .holder.as_deref()))]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
        holder: Option<String>,
    },
    /// A connection to a server failed (client side).
    #[error("{url}: {detail}")]
    Connect { url: String, detail: String },
    /// The echo did not come back as sent (client side).
    #[error("{0}")]
    Echo(String),
    /// A call into the certgen library failed (e.g. `--acme`: the request, the ACME CA, the files it writes);
    /// certgen's own message and exit code.
    #[error(transparent)]
    Certgen(#[from] certgen::Error),
    /// The operating system or a library refused something that should always work.
    #[error("{0}")]
    Runtime(String),
}

/// Why a bind failed, with the fix: a port in use says so (and by whom) instead of repeating the OS's words.
fn bind_failure(addr: &SocketAddr, source: &std::io::Error, holder: Option<&str>) -> String {
    match (source.kind(), holder) {
        (std::io::ErrorKind::AddrInUse, Some(holder)) => format!(
            "port {} is already in use by {holder}; stop it or choose another port",
            addr.port()
        ),
        (std::io::ErrorKind::AddrInUse, None) => format!(
            "port {} is already in use by another program; stop it or choose another port",
            addr.port()
        ),
        (std::io::ErrorKind::AddrNotAvailable, _) => {
            format!("{source} (this machine has no such address; listen on 127.0.0.1 or ::1)")
        }
        _ => source.to_string(),
    }
}

impl Error {
    /// Process exit code: 2 for bad usage or bad input, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::ReadFile { .. } | Error::BadFile { .. } => 2,
            Error::Certgen(e) => e.exit_code(),
            Error::Bind { .. } | Error::Connect { .. } | Error::Echo(_) | Error::Runtime(_) => 1,
        }
    }
}

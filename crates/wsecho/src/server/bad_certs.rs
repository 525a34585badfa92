//! `--bad-certs`: one extra wss listener per broken-certificate fixture (`certgen broken` writes them to
//! `certs/broken/` as `NAME-fullchain.pem` + `NAME-key.pem`), each on its own port, so a client can be pointed at
//! exactly one failure. Each serves the same page and echo as the main listeners: a client that ignores the error
//! still gets its echo, which is the bug such a test finds.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;

use super::tls::{TlsFiles, TlsState};
use crate::Error;

/// Where the fixtures are and where their listeners go.
#[derive(Debug, Clone)]
pub struct BadCerts {
    /// The folder `certgen broken` wrote (`certs/broken`).
    pub dir: PathBuf,
    /// The first listener's address; the others take the following ports, in the order of [`fixture_names`].
    /// Port 0 gives each a free port.
    pub first: SocketAddr,
}

/// The fixture listed first: the certificate every client accepts, to compare with.
const GOOD: &str = "good";
const CHAIN_SUFFIX: &str = "-fullchain.pem";
const KEY_SUFFIX: &str = "-key.pem";

/// One fixture's listener, before it is bound.
pub(crate) struct BadCertListener {
    /// The fixture's name (`expired`, `wrong-host`, ...), shown in the banner, `/stats` and the page.
    pub(crate) name: String,
    pub(crate) addr: SocketAddr,
    pub(crate) tls: Arc<TlsState>,
}

/// The listeners for every fixture in `bad.dir`, their certificates loaded (no client certificates asked for),
/// offering HTTP/2 like the main wss listener when `http2` is set.
pub(crate) fn listeners(bad: &BadCerts, http2: bool) -> Result<Vec<BadCertListener>, Error> {
    let names = fixture_names(&bad.dir)?;
    names
        .into_iter()
        .enumerate()
        .map(|(index, name)| {
            let addr = nth_addr(bad.first, index)?;
            let files = TlsFiles {
                cert: bad.dir.join(format!("{name}{CHAIN_SUFFIX}")),
                key: bad.dir.join(format!("{name}{KEY_SUFFIX}")),
            };
            let tls = Arc::new(TlsState::new(
                files,
                WebPkiClientVerifier::no_client_auth(),
                http2,
            )?);
            Ok(BadCertListener { name, addr, tls })
        })
        .collect()
}

/// The fixtures in `dir`: every `NAME-fullchain.pem` with a `NAME-key.pem` beside it, `good` first, the others by
/// name.
pub(crate) fn fixture_names(dir: &Path) -> Result<Vec<String>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::BadFile {
        what: "--bad-certs folder",
        path: dir.to_path_buf(),
        detail: format!("cannot be read ({e}); make the fixtures with `certgen broken` first"),
    })?;
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|entry| {
            let file = entry.file_name().to_string_lossy().into_owned();
            let name = file.strip_suffix(CHAIN_SUFFIX)?.to_string();
            dir.join(format!("{name}{KEY_SUFFIX}")).is_file().then_some(name)
        })
        .collect();
    names.sort_by(|a, b| (a != GOOD, a).cmp(&(b != GOOD, b)));
    if names.is_empty() {
        return Err(Error::BadFile {
            what: "--bad-certs folder",
            path: dir.to_path_buf(),
            detail: "holds no NAME-fullchain.pem with its NAME-key.pem; make them with `certgen broken`"
                .into(),
        });
    }
    Ok(names)
}

/// The address of the `index`th fixture: `first` with its port plus `index`, or port 0 throughout.
fn nth_addr(first: SocketAddr, index: usize) -> Result<SocketAddr, Error> {
    if first.port() == 0 {
        return Ok(first);
    }
    let port = u16::try_from(index)
        .ok()
        .and_then(|offset| first.port().checked_add(offset))
        .ok_or_else(|| {
            Error::Usage(format!(
                "--bad-certs-port {}: the fixtures need {} ports from there, past 65535; pick a lower port",
                first.port(),
                index + 1
            ))
        })?;
    Ok(SocketAddr::new(first.ip(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_comes_first_then_by_name_and_unpaired_files_are_ignored() {
        let tmp = tempfile::tempdir().expect("tempdir");
        for file in [
            "wrong-host-fullchain.pem",
            "wrong-host-key.pem",
            "good-fullchain.pem",
            "good-key.pem",
            "expired-fullchain.pem",
            "expired-key.pem",
            "lonely-fullchain.pem",
            "untrusted-root-ca.pem",
        ] {
            std::fs::write(tmp.path().join(file), "").expect("write");
        }
        let names = fixture_names(tmp.path()).expect("names");
        assert_eq!(names, ["good", "expired", "wrong-host"]);
    }

    #[test]
    fn an_empty_or_missing_folder_names_certgen_broken() {
        let tmp = tempfile::tempdir().expect("tempdir");
        for dir in [tmp.path().to_path_buf(), tmp.path().join("missing")] {
            let err = fixture_names(&dir).expect_err("no fixtures");
            assert!(err.to_string().contains("certgen broken"), "{err}");
        }
    }

    #[test]
    fn ports_follow_the_first_and_stop_at_65535() {
        let first: SocketAddr = "127.0.0.1:8444".parse().expect("addr");
        assert_eq!(nth_addr(first, 2).expect("fits").port(), 8446);
        let zero: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        assert_eq!(nth_addr(zero, 5).expect("free ports").port(), 0);
        let high: SocketAddr = "127.0.0.1:65535".parse().expect("addr");
        let err = nth_addr(high, 1).expect_err("past 65535");
        assert!(err.to_string().contains("--bad-certs-port 65535"), "{err}");
    }
}

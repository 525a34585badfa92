//! Finding the trust stores of the selected kinds on this machine, and why a kind has none.

use super::error::TrustError;
use super::firefox::Uncovered;
use super::host::{Host, Os};
use super::store::{Detected, TrustStore};
use super::store_kind::StoreKind;
use super::{java, linux, macos, nss, windows};

/// The stores of the selected kinds (all kinds when `kinds` is empty), and for kinds that have none, why; then the
/// browsers of those kinds found without a store certgen can change.
pub fn discover(host: &Host, kinds: &[StoreKind]) -> Vec<Result<Box<dyn TrustStore>, (StoreKind, Skip)>> {
    let explicit = !kinds.is_empty();
    let kinds = if explicit { kinds } else { &StoreKind::ALL[..] };
    let mut found = Vec::new();
    for kind in StoreKind::ALL.into_iter().filter(|k| kinds.contains(k)) {
        let (detected, uncovered, unused) = match kind {
            StoreKind::Nss => nss::detect(host),
            StoreKind::System => (system_stores(host), Vec::new(), Vec::new()),
            StoreKind::Java => (java::detect(host), Vec::new(), Vec::new()),
        };
        match detected {
            Detected::Stores(stores) => found.extend(stores.into_iter().map(Ok)),
            Detected::NotHere(reason) if explicit => {
                found.push(Err((kind, Skip::Error(TrustError::NoStore { kind, reason }))))
            }
            Detected::NotHere(reason) => found.push(Err((kind, Skip::NotApplicable(reason)))),
            Detected::Broken(err) => found.push(Err((kind, Skip::Error(err)))),
        }
        found.extend(uncovered.into_iter().map(|u| Err((kind, Skip::NotCovered(u)))));
        found.extend(unused.into_iter().map(|u| Err((kind, Skip::Unused(u)))));
    }
    found
}

/// Why a kind of store was left out.
#[derive(Debug)]
pub enum Skip {
    /// It does not exist here and was not asked for by name.
    NotApplicable(String),
    Error(TrustError),
    /// A browser of this kind is here, but certgen cannot reach its store (say, Firefox without a profile yet).
    NotCovered(Uncovered),
    /// A profile without a store that its browser does not start: nothing to do.
    Unused(Uncovered),
}

fn system_stores(host: &Host) -> Detected {
    match host.os {
        Os::Linux => {
            let mut stores = Vec::new();
            let linux = linux::detect(host);
            if host.wsl {
                stores.push(Box::new(windows::WindowsRoot::wsl()) as Box<dyn TrustStore>);
            }
            match linux {
                Detected::Stores(found) => stores.extend(found),
                other if stores.is_empty() => return other,
                _ => {}
            }
            Detected::Stores(stores)
        }
        Os::MacOs => Detected::Stores(vec![Box::new(macos::SystemKeychain)]),
        Os::Windows => Detected::Stores(vec![Box::new(windows::WindowsRoot::native())]),
        Os::Other => Detected::NotHere(format!("no system store support for {}", std::env::consts::OS)),
    }
}

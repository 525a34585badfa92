//! `up`'s last line: which browsers trust the CA after the trust step, and for the others the step they still need.

use certgen::trust::{self, Change, StoreKind};

/// One browser's standing after the trust step: `fix` is `None` when every store of it that is in use trusts the
/// CA, else what to do first.
pub(super) struct BrowserTrust {
    pub(super) name: &'static str,
    pub(super) fix: Option<String>,
}

/// The browsers in `report`, in the order first seen, each covered or with its first missing step.
pub(super) fn browsers(report: &trust::Report) -> Vec<BrowserTrust> {
    let mut browsers: Vec<BrowserTrust> = Vec::new();
    for outcome in report.outcomes.iter().filter(|o| o.kind == StoreKind::Nss) {
        let Some(name) = outcome.browser else { continue };
        let fix = match &outcome.result {
            Ok(Change::Done(_) | Change::Unchanged(_) | Change::Unused(_) | Change::WouldRun(_)) => None,
            Ok(Change::NotCovered(why)) => Some(why.clone()),
            Ok(Change::NeedsPrivilege(_) | Change::NotApplicable(_)) => None,
            Err(err) => Some(err.to_string()),
        };
        match browsers.iter_mut().find(|b| b.name == name) {
            Some(browser) => {
                if browser.fix.is_none() {
                    browser.fix = fix;
                }
            }
            None => browsers.push(BrowserTrust { name, fix }),
        }
    }
    browsers
}

/// `up`'s last line when the trust step ran: which browsers trust the CA now, and for the others what to do.
pub(super) fn browser_verdict(browsers: &[BrowserTrust], wss_port: u16) -> String {
    let parts: Vec<String> = browsers
        .iter()
        .map(|b| match &b.fix {
            None => format!("{} yes", b.name),
            Some(fix) => format!("{} not yet: {fix}", b.name),
        })
        .collect();
    let page = format!("https://localhost:{wss_port}/");
    if browsers.iter().all(|b| b.fix.is_none()) {
        format!("verdict: {}: open {page} and it turns green", parts.join(", "))
    } else {
        format!(
            "verdict: {}; in a browser marked yes, {page} turns green",
            parts.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch::Scratch;
    use crate::up::certs::{ensure_certs, server_names};
    use crate::up::certs_dir::load_ca;
    use crate::up::testing::{certutil_present, firefox_started_once, fresh_user};
    use std::process::Command;

    #[test]
    fn the_verdict_names_each_browser_and_what_the_uncovered_one_needs() {
        let both = [
            BrowserTrust {
                name: "Chromium",
                fix: None,
            },
            BrowserTrust {
                name: "Firefox",
                fix: None,
            },
        ];
        assert_eq!(
            browser_verdict(&both, 8443),
            "verdict: Chromium yes, Firefox yes: open https://localhost:8443/ and it turns green"
        );
        let firefox_later = [
            BrowserTrust {
                name: "Chromium",
                fix: None,
            },
            BrowserTrust {
                name: "Firefox",
                fix: Some("start Firefox once, then run `cargo xtask trust`".into()),
            },
        ];
        let verdict = browser_verdict(&firefox_later, 8443);
        assert_eq!(
            verdict,
            "verdict: Chromium yes, Firefox not yet: start Firefox once, then run `cargo xtask trust`; in a browser \
             marked yes, https://localhost:8443/ turns green"
        );
    }

    /// `up`'s verdict from a real trust step: Firefox ESR installed but never started in this HOME is "not yet",
    /// with the step and this task's own command; once it has a profile, both browsers are "yes".
    #[test]
    fn the_verdict_says_firefox_not_yet_until_it_has_a_profile() {
        let test = "the_verdict_says_firefox_not_yet_until_it_has_a_profile";
        if !certutil_present(test) {
            return;
        }
        if Command::new("firefox-esr").arg("--version").output().is_err() {
            assert!(
                std::env::var_os("LOCALTLS_REQUIRE_PEERS").is_none(),
                "{test}: firefox-esr is not installed"
            );
            return;
        }
        let scratch = Scratch::new("xtask-verdict").unwrap();
        let home = scratch.0.join("home");
        let host = fresh_user(&home);
        ensure_certs(&scratch.0, &server_names(&[], &[])).unwrap();
        let ca = load_ca(&scratch.0).unwrap();
        let report = trust::install(&ca, &host, &[StoreKind::Nss], false);
        let verdict = browser_verdict(&browsers(&report), 8443);
        assert!(
            verdict.starts_with("verdict: Chromium yes, Firefox not yet: installed, but no profile")
                && verdict.contains("start Firefox once, then run `cargo xtask trust`"),
            "{verdict}"
        );

        firefox_started_once(&home);
        let report = trust::install(&ca, &host, &[StoreKind::Nss], false);
        let verdict = browser_verdict(&browsers(&report), 8443);
        assert!(
            verdict.starts_with("verdict: Chromium yes, Firefox yes: open https://localhost:8443/"),
            "{verdict}"
        );
    }
}

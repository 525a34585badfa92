//! Reading `wsecho serve`'s banner (also what `cargo xtask up` prints): one `listening URL page URL` line per
//! listener, which a wildcard socket ends with `(bound to 0.0.0.0:PORT: ...)`, and `up`'s `verdict:` line.

/// The listener URL of a banner line, e.g. `wss://localhost:8443/`.
pub fn listening_url(line: &str) -> Option<&str> {
    line.strip_prefix("listening ")?.split_whitespace().next()
}

/// The page URL of a banner line, e.g. `https://localhost:8443/`.
pub fn page_url(line: &str) -> Option<&str> {
    let (_, page) = line.strip_prefix("listening ")?.split_once(" page ")?;
    page.split_whitespace().next()
}

/// Whether `up`'s verdict line says `browser` (`Chromium`, `Firefox`) trusts the CA: `verdict: Chromium yes,
/// Firefox yes: ...` or `verdict: Chromium yes, Firefox not yet: ...`.
pub fn trusted_by(verdict: &str, browser: &str) -> bool {
    let Some(rest) = verdict.strip_prefix("verdict: ") else {
        return false;
    };
    rest.split(", ")
        .map_while(|part| part.split_once(' '))
        .any(|(name, state)| name == browser && state.starts_with("yes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_which_browsers_a_verdict_names_as_trusting() {
        let both = "verdict: Chromium yes, Firefox yes: open https://localhost:8443/ and it turns green";
        assert!(trusted_by(both, "Chromium") && trusted_by(both, "Firefox"));
        let one = "verdict: Chromium yes, Firefox not yet: start Firefox once, then run `cargo xtask trust`; in a \
                   browser marked yes, https://localhost:8443/ turns green";
        assert!(trusted_by(one, "Chromium") && !trusted_by(one, "Firefox"));
        let none =
            "verdict: NOT trusted (certutil is not installed): run `sudo apt-get install libnss3-tools`";
        assert!(!trusted_by(none, "Chromium"));
    }

    #[test]
    fn reads_both_urls_of_a_listening_line() {
        let line = "listening wss://localhost:8443/ page https://localhost:8443/";
        assert_eq!(listening_url(line), Some("wss://localhost:8443/"));
        assert_eq!(page_url(line), Some("https://localhost:8443/"));
        let wildcard = "listening ws://127.0.0.1:8080 page http://127.0.0.1:8080/ (bound to 0.0.0.0:8080: every \
                        IPv4 address of this machine)";
        assert_eq!(listening_url(wildcard), Some("ws://127.0.0.1:8080"));
        assert_eq!(page_url(wildcard), Some("http://127.0.0.1:8080/"));
    }

    #[test]
    fn other_lines_have_no_urls() {
        for line in ["CA fingerprint (SHA-256): AB:CD", "", "listening"] {
            assert_eq!(listening_url(line), None, "{line:?}");
            assert_eq!(page_url(line), None, "{line:?}");
        }
        assert_eq!(page_url("listening ws://127.0.0.1:1/"), None);
    }
}

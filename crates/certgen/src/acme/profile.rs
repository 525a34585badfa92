//! ACME profiles (the directory's `meta.profiles`): which one an order asks for. An IP certificate from Let's
//! Encrypt needs its `shortlived` profile (160-hour certificates), so when IPs are requested and the directory
//! offers `shortlived`, it is chosen without being asked for.

use super::error::Error as AcmeError;
use crate::{Error, SubjectName};

/// The profile Let's Encrypt issues IP certificates under.
pub const SHORTLIVED: &str = "shortlived";

/// The profile an order asks for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProfileChoice {
    pub name: String,
    /// Chosen by certgen (an IP and a directory offering `shortlived`), not by `--profile`.
    pub automatic: bool,
}

/// `requested` (from `--profile`) must be one the directory offers; without it, `shortlived` for IPs when offered,
/// else none (the CA's default).
pub fn choose(
    requested: Option<&str>,
    names: &[SubjectName],
    offered: &[String],
    directory_url: &str,
) -> Result<Option<ProfileChoice>, Error> {
    if let Some(profile) = requested {
        if offered.iter().any(|o| o == profile) {
            return Ok(Some(ProfileChoice {
                name: profile.to_string(),
                automatic: false,
            }));
        }
        return Err(AcmeError::NoSuchProfile {
            profile: profile.to_string(),
            url: directory_url.to_string(),
            offered: if offered.is_empty() {
                "none".into()
            } else {
                offered.join(", ")
            },
        }
        .into());
    }
    let has_ip = names.iter().any(|n| matches!(n, SubjectName::Ip(_)));
    Ok(
        (has_ip && offered.iter().any(|o| o == SHORTLIVED)).then(|| ProfileChoice {
            name: SHORTLIVED.to_string(),
            automatic: true,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of Let's Encrypt's directory as served in 2026 (abridged to the fields that matter here).
    const LETSENCRYPT_DIRECTORY: &str = r#"{
        "keyChange": "https://acme-v02.api.letsencrypt.org/acme/key-change",
        "meta": {
            "caaIdentities": ["letsencrypt.org"],
            "profiles": {
                "classic": "https://letsencrypt.org/docs/profiles#classic",
                "shortlived": "https://letsencrypt.org/docs/profiles#shortlived",
                "tlsserver": "https://letsencrypt.org/docs/profiles#tlsserver"
            },
            "termsOfService": "https://letsencrypt.org/documents/LE-SA-v1.5-February-24-2025.pdf"
        },
        "newAccount": "https://acme-v02.api.letsencrypt.org/acme/new-acct",
        "newNonce": "https://acme-v02.api.letsencrypt.org/acme/new-nonce",
        "newOrder": "https://acme-v02.api.letsencrypt.org/acme/new-order",
        "renewalInfo": "https://acme-v02.api.letsencrypt.org/draft-ietf-acme-ari-03/renewalInfo"
    }"#;

    fn offered(directory: &str) -> Vec<String> {
        let doc: serde_json::Value = serde_json::from_str(directory).unwrap();
        doc["meta"]["profiles"]
            .as_object()
            .map(|profiles| profiles.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn names(list: &[&str]) -> Vec<SubjectName> {
        SubjectName::parse_all(list).unwrap()
    }

    #[test]
    fn an_ip_gets_shortlived_automatically_when_offered() {
        let offered = offered(LETSENCRYPT_DIRECTORY);
        let choice = choose(None, &names(&["203.0.114.7", "example.com"]), &offered, "u").unwrap();
        assert_eq!(
            choice,
            Some(ProfileChoice {
                name: "shortlived".into(),
                automatic: true
            })
        );
        assert_eq!(
            choose(None, &names(&["example.com"]), &offered, "u").unwrap(),
            None
        );
        let asked = choose(Some("tlsserver"), &names(&["198.51.99.1"]), &offered, "u").unwrap();
        assert_eq!(
            asked.map(|c| (c.name, c.automatic)),
            Some(("tlsserver".into(), false))
        );
    }

    #[test]
    fn a_directory_without_profiles_gets_none_and_refuses_a_named_one() {
        let offered = offered(r#"{"meta": {}, "newOrder": "x"}"#);
        assert_eq!(
            choose(None, &names(&["203.0.114.7"]), &offered, "u").unwrap(),
            None
        );
        let err = choose(
            Some("shortlived"),
            &names(&["example.com"]),
            &offered,
            "https://ca/dir",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the ACME directory https://ca/dir offers no profile `shortlived` (it offers: none); drop --profile or \
             pick one of those"
        );
    }
}

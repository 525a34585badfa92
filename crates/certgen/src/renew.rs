//! Keeping a certs folder current without churn: reuse the CA and a leaf while they still fit, replace only what
//! no longer does. `cargo xtask up` runs this on every start, so a second run changes nothing.

use ipnet::IpNet;
use time::{Duration, OffsetDateTime};

use crate::cert::{Cert, Issued};
use crate::error::{InputError, StoreError};
use crate::inspect::{Usage, verify_files};
use crate::{CaOptions, CertsDir, Error, LeafFiles, LeafOptions, Permit, SubjectName};

/// What [`CertsDir::ensure_ca`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaState {
    Created,
    Reused,
    /// The old CA (kept as `ca-backup-*`) could not vouch for the names; the reason says which.
    Replaced {
        reason: String,
    },
}

/// What [`CertsDir::ensure_leaf`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeafState {
    Reused {
        days_left: i64,
    },
    /// Issued anew; the reason says what and why in a person's words: `created (first run)`, `renewed: expires in
    /// 12 days`, `reissued: names changed (added myhost.test)`, `reissued: not issued by the current CA`, ...
    Issued {
        reason: String,
    },
}

impl CertsDir {
    /// Reuses this folder's CA when its name constraints cover every one of `names`; otherwise creates a CA (or
    /// replaces the existing one, keeping a backup) that also permits exactly those names.
    pub fn ensure_ca(&self, names: &[SubjectName], opts: &CaOptions) -> Result<CaState, Error> {
        let mut opts = opts.clone();
        opts.permit.extend(names.iter().filter_map(permit_for));
        opts.permit.sort_by_key(ToString::to_string);
        opts.permit.dedup();

        let reason = match self.load_ca() {
            Err(Error::Store(StoreError::NoCa { .. })) => {
                self.create_ca(&opts)?;
                return Ok(CaState::Created);
            }
            Err(err) => return Err(err),
            Ok(ca) => match ca
                .constraints
                .as_ref()
                .and_then(|c| names.iter().find(|n| !c.allows(n)))
            {
                None => return Ok(CaState::Reused),
                Some(name) => format!("its name constraints do not permit {name}"),
            },
        };
        opts.force = true;
        self.create_ca(&opts)?;
        Ok(CaState::Replaced { reason })
    }

    /// Reuses the leaf named by `opts.out` (or the first name) when it chains to this folder's CA, carries exactly
    /// `names`, and is valid for more than `renew_within`; otherwise issues it anew (replacing the old files).
    pub fn ensure_leaf(
        &self,
        names: &[SubjectName],
        opts: &LeafOptions,
        renew_within: Duration,
    ) -> Result<(Issued<LeafFiles>, LeafState), Error> {
        let stem = match (&opts.out, names.first()) {
            (Some(out), _) => out.clone(),
            (None, Some(first)) => first.file_stem(),
            (None, None) => return Err(Error::Input(InputError::NoNames)),
        };
        let files = self.leaf_files(&stem, opts.p12);
        let reason = match self.keepable(&files, names, renew_within)? {
            Ok(cert) => {
                let days_left = (cert.not_after() - OffsetDateTime::now_utc()).whole_days();
                return Ok((Issued { files, cert }, LeafState::Reused { days_left }));
            }
            Err(reason) => reason,
        };
        let opts = LeafOptions {
            force: true,
            ..opts.clone()
        };
        let issued = self.issue(names, &opts)?;
        Ok((issued, LeafState::Issued { reason }))
    }

    /// The certificate in `files` when it can be kept, otherwise why not.
    fn keepable(
        &self,
        files: &LeafFiles,
        names: &[SubjectName],
        renew_within: Duration,
    ) -> Result<Result<Cert, String>, Error> {
        if !files.all().any(|p| p.exists()) {
            return Ok(Err("created (first run)".to_owned()));
        }
        if let Some(missing) = files.all().find(|p| !p.exists()) {
            return Ok(Err(format!("reissued: {} was missing", missing.display())));
        }
        let cert = match Cert::from_pem_file(&files.cert_pem) {
            Ok(cert) => cert,
            Err(err) => {
                return Ok(Err(format!(
                    "reissued: the old certificate is unreadable ({err})"
                )));
            }
        };
        let (have, wanted) = (canonical(cert.names()), canonical(names));
        if have != wanted {
            return Ok(Err(format!(
                "reissued: names changed ({})",
                name_changes(&have, &wanted)
            )));
        }
        let left = cert.not_after() - OffsetDateTime::now_utc();
        if left <= renew_within {
            return Ok(Err(match left.whole_days() {
                days @ 0.. => format!("renewed: expires in {days} days"),
                days => format!("renewed: expired {} days ago", -days),
            }));
        }
        if let Err(err) = verify_files(
            &self.ca_files().cert_pem,
            &files.fullchain_pem,
            None,
            Usage::Server,
        ) {
            return Ok(Err(format!("reissued: not valid under the current CA ({err})")));
        }
        Ok(Ok(cert))
    }
}

/// `added a, b; removed c`: what differs between the old names and the new.
fn name_changes(have: &[String], wanted: &[String]) -> String {
    let added: Vec<&str> = wanted
        .iter()
        .filter(|n| !have.contains(n))
        .map(String::as_str)
        .collect();
    let removed: Vec<&str> = have
        .iter()
        .filter(|n| !wanted.contains(n))
        .map(String::as_str)
        .collect();
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("added {}", added.join(", ")));
    }
    if !removed.is_empty() {
        parts.push(format!("removed {}", removed.join(", ")));
    }
    parts.join("; ")
}

/// The names in canonical form, sorted, so that order and spelling (`[::1]` vs `::1`) do not count as a change.
fn canonical(names: &[SubjectName]) -> Vec<String> {
    let mut out: Vec<String> = names.iter().map(ToString::to_string).collect();
    out.sort();
    out.dedup();
    out
}

fn default_constraints() -> crate::Constraints {
    crate::Constraints {
        permitted: Permit::defaults(),
        excluded: Vec::new(),
    }
}

/// The narrowest `--permit` that covers `name` when the default (loopback) constraints do not: the host itself.
fn permit_for(name: &SubjectName) -> Option<Permit> {
    if default_constraints().allows(name) {
        return None;
    }
    match name {
        SubjectName::Dns(n) => Some(Permit::Dns(n.clone())),
        SubjectName::Wildcard(n) => Some(Permit::Dns(n.trim_start_matches("*.").to_string())),
        SubjectName::Ip(ip) => Some(Permit::Ip(IpNet::from(*ip))),
        SubjectName::Email(_) | SubjectName::Uri(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<SubjectName> {
        SubjectName::parse_all(list).unwrap()
    }

    const MONTH: Duration = Duration::days(30);

    #[test]
    fn a_second_run_reuses_the_ca_and_the_leaf_byte_for_byte() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = CertsDir::new(tmp.path());
        let local = names(&["localhost", "127.0.0.1", "::1"]);
        let opts = LeafOptions {
            out: Some("server".into()),
            ..LeafOptions::default()
        };
        assert_eq!(
            dir.ensure_ca(&local, &CaOptions::default()).unwrap(),
            CaState::Created
        );
        let (files, state) = dir.ensure_leaf(&local, &opts, MONTH).unwrap();
        assert!(matches!(state, LeafState::Issued { .. }), "{state:?}");
        let key = std::fs::read(&files.files.key_pem).unwrap();

        assert_eq!(
            dir.ensure_ca(&local, &CaOptions::default()).unwrap(),
            CaState::Reused
        );
        let reordered = names(&["::1", "localhost", "127.0.0.1"]);
        let (again, state) = dir.ensure_leaf(&reordered, &opts, MONTH).unwrap();
        assert!(
            matches!(state, LeafState::Reused { days_left } if days_left > 390),
            "{state:?}"
        );
        assert_eq!(std::fs::read(&again.files.key_pem).unwrap(), key);
    }

    #[test]
    fn each_reissue_says_why_in_words() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = CertsDir::new(tmp.path());
        let local = names(&["localhost"]);
        dir.ensure_ca(&local, &CaOptions::default()).unwrap();
        let opts = LeafOptions {
            out: Some("server".into()),
            ..LeafOptions::default()
        };
        let reason = |state: LeafState| match state {
            LeafState::Issued { reason } => reason,
            other => panic!("not issued: {other:?}"),
        };
        let (_, first) = dir.ensure_leaf(&local, &opts, MONTH).unwrap();
        assert_eq!(reason(first), "created (first run)");
        let swapped = names(&["app.localhost"]);
        let (_, changed) = dir.ensure_leaf(&swapped, &opts, MONTH).unwrap();
        assert_eq!(
            reason(changed),
            "reissued: names changed (added app.localhost; removed localhost)"
        );
        let (_, renewed) = dir.ensure_leaf(&swapped, &opts, Duration::days(400)).unwrap();
        assert!(reason(renewed).starts_with("renewed: expires in 39"));
    }

    #[test]
    fn changed_names_and_near_expiry_reissue_the_leaf() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = CertsDir::new(tmp.path());
        let local = names(&["localhost"]);
        dir.ensure_ca(&local, &CaOptions::default()).unwrap();
        dir.ensure_leaf(&local, &LeafOptions::default(), MONTH).unwrap();

        let more = names(&["localhost", "app.localhost"]);
        let (_, state) = dir.ensure_leaf(&more, &LeafOptions::default(), MONTH).unwrap();
        assert!(
            matches!(&state, LeafState::Issued { reason } if reason.contains("names changed")),
            "{state:?}"
        );

        // 397 days left is "near expiry" when renewing within 400 days.
        let (_, state) = dir
            .ensure_leaf(&more, &LeafOptions::default(), Duration::days(400))
            .unwrap();
        assert!(
            matches!(&state, LeafState::Issued { reason } if reason.contains("expires")),
            "{state:?}"
        );
    }

    #[test]
    fn a_lan_name_replaces_a_ca_that_cannot_vouch_for_it_and_permits_exactly_that_host() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = CertsDir::new(tmp.path());
        dir.ensure_ca(&names(&["localhost"]), &CaOptions::default())
            .unwrap();
        let lan = names(&["localhost", "192.168.1.20", "myhost.test"]);
        let state = dir.ensure_ca(&lan, &CaOptions::default()).unwrap();
        assert!(
            matches!(&state, CaState::Replaced { reason } if reason.contains("192.168.1.20")),
            "{state:?}"
        );
        let constraints = dir.load_ca().unwrap().constraints.unwrap();
        for name in ["192.168.1.20", "myhost.test", "localhost", "::1"] {
            assert!(constraints.allows(&SubjectName::parse(name).unwrap()), "{name}");
        }
        for name in ["192.168.1.21", "other.test"] {
            assert!(!constraints.allows(&SubjectName::parse(name).unwrap()), "{name}");
        }
        assert_eq!(
            dir.ensure_ca(&lan, &CaOptions::default()).unwrap(),
            CaState::Reused
        );
        let (_, state) = dir.ensure_leaf(&lan, &LeafOptions::default(), MONTH).unwrap();
        assert!(matches!(state, LeafState::Issued { .. }), "{state:?}");
    }
}

//! `certs`: the CA and the server certificate in certs/, created, reused or renewed for the names asked.

use super::args::NameArgs;
use super::certs_dir::{SERVER_STEM, certs_dir};
use super::listen::lan_addresses;
use certgen::renew::{CaState, LeafState};
use certgen::trust::{self, Host};
use certgen::{CaOptions, Issued, LeafFiles, LeafOptions, SubjectName};
use std::net::IpAddr;
use std::path::Path;

/// A server certificate is renewed this long before it expires.
const RENEW_WITHIN_DAYS: i64 = 30;

/// Creates or reuses the CA and the server certificate; returns the server certificate's files. A CA that had to
/// be replaced is taken out of every store that trusted it; `trust_follows` says whether the caller trusts the new
/// one next (`up`) or the user must (`certs`).
pub fn certs(root: &Path, host: &Host, args: &NameArgs, trust_follows: bool) -> anyhow::Result<LeafFiles> {
    let lan = if args.lan { lan_addresses()? } else { Vec::new() };
    let (files, replaced) = ensure_certs(root, &server_names(&args.names, &lan))?;
    if replaced {
        print!("{}", trust::untrust_replaced(certs_dir(root).path(), host));
        if !trust_follows {
            println!("CA: the new one is not trusted yet: run `cargo xtask trust`");
        }
    }
    Ok(files)
}

/// The server certificate's names: loopback, then `--name`s, then the LAN addresses. The CA permits exactly
/// these (certgen derives its name constraints from them).
pub(super) fn server_names(extra: &[String], lan: &[IpAddr]) -> Vec<String> {
    let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    names.extend(extra.iter().cloned());
    names.extend(lan.iter().map(IpAddr::to_string));
    names
}

/// Creates or reuses a CA that permits `names` and a server certificate for them; true when the CA was replaced.
pub(super) fn ensure_certs(root: &Path, names: &[String]) -> anyhow::Result<(LeafFiles, bool)> {
    let dir = certs_dir(root);
    let parsed = SubjectName::parse_all(names)?;
    let ca_state = dir.ensure_ca(&parsed, &CaOptions::default())?;
    match &ca_state {
        CaState::Created => println!("CA: created {}", dir.ca_files().cert_pem.display()),
        CaState::Reused => println!("CA: reusing {}", dir.ca_files().cert_pem.display()),
        CaState::Replaced { reason } => println!(
            "CA: replaced because {reason}; the old one is kept as certs/ca-backup-* and taken out of the stores \
             that trusted it"
        ),
    }
    let opts = LeafOptions {
        out: Some(SERVER_STEM.into()),
        ..LeafOptions::default()
    };
    let renew_within = time::Duration::days(RENEW_WITHIN_DAYS);
    let (Issued { files, .. }, state) = dir.ensure_leaf(&parsed, &opts, renew_within)?;
    match state {
        LeafState::Reused { days_left } => println!(
            "server certificate: reusing {} ({days_left} days left) for {}",
            files.cert_pem.display(),
            names.join(", ")
        ),
        LeafState::Issued { reason } => println!(
            "server certificate: {reason}: {} for {}",
            files.cert_pem.display(),
            names.join(", ")
        ),
    }
    Ok((files, matches!(ca_state, CaState::Replaced { .. })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch::Scratch;
    use crate::up::args::TrustArgs;
    use crate::up::certs_dir::load_ca;
    use crate::up::status::status;
    use crate::up::testing::{certutil_present, firefox_started_once, fresh_user, ip, nicknames, no_server};
    use crate::up::trust::trust;
    use std::process::Command;

    #[test]
    fn server_names_are_loopback_then_extra_names_then_lan_addresses() {
        let names = server_names(&["myhost.test".into()], &[ip("192.168.1.20")]);
        assert_eq!(
            names,
            ["localhost", "127.0.0.1", "::1", "myhost.test", "192.168.1.20"]
        );
        assert_eq!(server_names(&[], &[]), ["localhost", "127.0.0.1", "::1"]);
    }

    #[test]
    fn lan_names_are_what_the_ca_permits_and_the_certificate_names() {
        let scratch = Scratch::new("xtask-lan-certs").unwrap();
        let names = server_names(&["myhost.test".into()], &[ip("192.168.1.20")]);
        let (leaf, _) = ensure_certs(&scratch.0, &names).unwrap();
        let text = |path: &Path| {
            let out = Command::new("openssl")
                .args(["x509", "-noout", "-text", "-in"])
                .arg(path)
                .output()
                .expect("openssl");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        // The CA permits loopback (always) and exactly the extra name and the LAN address, nothing wider.
        let ca = text(&scratch.0.join("certs/ca.pem"));
        let permitted: Vec<&str> = ca
            .lines()
            .skip_while(|line| line.trim() != "Permitted:")
            .skip(1)
            .map(str::trim)
            .take_while(|line| line.starts_with("DNS:") || line.starts_with("IP:"))
            .collect();
        assert_eq!(
            permitted,
            [
                "DNS:localhost",
                "IP:127.0.0.0/255.0.0.0",
                "IP:0:0:0:0:0:0:0:1/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF",
                "IP:192.168.1.20/255.255.255.255",
                "DNS:myhost.test",
            ],
            "{ca}"
        );
        let leaf_text = text(&leaf.cert_pem);
        for name in [
            "DNS:localhost",
            "DNS:myhost.test",
            "IP Address:127.0.0.1",
            "IP Address:192.168.1.20",
        ] {
            assert!(leaf_text.contains(name), "certificate lacks {name}:\n{leaf_text}");
        }
        // Run again with the same names: both are reused, not re-issued.
        let (again, _) = ensure_certs(&scratch.0, &names).unwrap();
        assert_eq!(
            std::fs::read(&again.cert_pem).unwrap(),
            std::fs::read(&leaf.cert_pem).unwrap()
        );
    }

    /// What `up --lan` does when the CA must be replaced (here: a new --name the old CA's constraints do not permit):
    /// the old CA leaves every NSS database it was trusted in, and `status` fails on one left behind.
    #[test]
    fn a_replaced_ca_is_taken_out_of_the_stores_that_trusted_it() {
        if !certutil_present("a_replaced_ca_is_taken_out_of_the_stores_that_trusted_it") {
            return;
        }
        let scratch = Scratch::new("xtask-replaced-ca").unwrap();
        let home = scratch.0.join("home");
        let host = fresh_user(&home);
        let firefox = firefox_started_once(&home);
        let user = TrustArgs {
            system: false,
            dry_run: false,
        };
        let names = |extra: &[&str]| NameArgs {
            names: extra.iter().map(|n| n.to_string()).collect(),
            lan: false,
        };
        certs(&scratch.0, &host, &names(&[]), true).unwrap();
        trust(&scratch.0, &host, &user).unwrap();
        let old = load_ca(&scratch.0).unwrap().name();
        let dbs = [home.join(".pki/nssdb"), firefox.clone()];
        for db in &dbs {
            assert!(nicknames(db).contains(&old), "{}", db.display());
        }

        certs(&scratch.0, &host, &names(&["myhost.test"]), true).unwrap();
        assert_ne!(
            load_ca(&scratch.0).unwrap().name(),
            old,
            "the CA was not replaced"
        );
        for db in &dbs {
            let listing = nicknames(db);
            assert!(
                !listing.contains(&old),
                "{old} left in {}:\n{listing}",
                db.display()
            );
        }
        trust(&scratch.0, &host, &user).unwrap();
        status(&scratch.0, &host, &no_server()).unwrap();

        // One left behind (as before this fix) is a failure naming the command that removes it.
        let backup = trust::replaced_cas(certs_dir(&scratch.0).path())
            .pop()
            .expect("the old CA is kept as a backup");
        let planted = Command::new("certutil")
            .args(["-A", "-t", "C,,", "-n", &old, "-i"])
            .arg(backup.path())
            .arg("-d")
            .arg(format!("sql:{}", firefox.display()))
            .status()
            .unwrap();
        assert!(planted.success());
        let stale = status(&scratch.0, &host, &no_server()).unwrap_err().to_string();
        assert!(stale.contains("1 replaced CA(s) still trusted"), "{stale}");
    }
}

//! `status`: where certs/ca.pem is trusted, and whether a browser would accept the running server's certificate.

use super::args::StatusArgs;
use super::certs_dir::{certs_dir, load_ca};
use super::trust::stores;
use anyhow::bail;
use certgen::trust::{self, Host};
use std::path::Path;

pub fn status(root: &Path, host: &Host, args: &StatusArgs) -> anyhow::Result<()> {
    let ca = load_ca(root)?;
    let report = trust::status(&ca, host, &stores(args.system), certs_dir(root).path());
    let mut problems = report.problems_fixed_by(&STATUS_FIXES);
    print!("{report}");
    if let Some(rejected) = doctor_running_server(root, host, args.wss_port)? {
        problems = Some(problems.map_or_else(|| rejected.clone(), |p| format!("{p}; {rejected}")));
    }
    match problems {
        Some(problems) => bail!("{problems}"),
        None => Ok(()),
    }
}

/// `certgen doctor` on the server listening on `wss_port`, if one is; returns the problem when a browser would
/// reject its certificate. No server running is not a problem: `status` is also for before `up`.
pub(super) fn doctor_running_server(
    root: &Path,
    host: &Host,
    wss_port: u16,
) -> anyhow::Result<Option<String>> {
    let url = format!("https://localhost:{wss_port}/");
    match certgen::inspect::diagnose(&url, certs_dir(root).path(), host) {
        Ok(diagnosis) => {
            println!("server {diagnosis}");
            Ok((!diagnosis.accepted).then(|| {
                "a browser would reject the running server's certificate (see the fixes above)".to_owned()
            }))
        }
        Err(certgen::Error::Connect { reason, .. }) => {
            println!("--   server {url}: not running ({reason}); `cargo xtask up` starts it");
            Ok(None)
        }
        Err(err) => Err(err.into()),
    }
}

/// What `status` found wrong is fixed by `cargo xtask` tasks.
pub(super) const STATUS_FIXES: trust::StatusFixes<'static> = trust::StatusFixes {
    expired_ca: "run `cargo xtask certs` to replace it, then `cargo xtask trust`",
    uncovered: "browser(s) not covered yet (do the step on its line)",
    failing: Some("run `cargo xtask certs` to reissue the server certificate"),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch::Scratch;
    use crate::up::args::TrustArgs;
    use crate::up::certs::{ensure_certs, server_names};
    use crate::up::certs_dir::SERVER_STEM;
    use crate::up::testing::{certutil_present, firefox_started_once, fresh_user, nicknames, no_server};
    use crate::up::trust::{trust, untrust};
    use certgen::CaOptions;
    use std::net::{Ipv4Addr, SocketAddr};
    use std::path::PathBuf;
    use std::process::Command;

    #[test]
    fn status_without_a_ca_fails_and_says_what_to_run() {
        let scratch = Scratch::new("xtask-status-no-ca").unwrap();
        let host = fresh_user(&scratch.0.join("home"));
        let err = status(&scratch.0, &host, &no_server()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no CA in certs/: run `cargo xtask certs` (or `cargo xtask up`) first"
        );
    }

    #[test]
    fn status_fails_until_trust_and_again_after_untrust_which_removes_only_our_ca() {
        if !certutil_present("status_fails_until_trust_and_again_after_untrust") {
            return;
        }
        let scratch = Scratch::new("xtask-status-trust").unwrap();
        let home = scratch.0.join("home");
        let host = fresh_user(&home);
        let (user, system) = (
            TrustArgs {
                system: false,
                dry_run: false,
            },
            no_server(),
        );
        ensure_certs(&scratch.0, &server_names(&[], &[])).unwrap();
        // An installed Firefox without a profile is never all well.
        firefox_started_once(&home);

        let untrusted = status(&scratch.0, &host, &system).unwrap_err().to_string();
        assert!(
            untrusted.contains("do not trust the CA (run `cargo xtask trust`)"),
            "an untrusted CA is not all well, and the fix is this task's own: {untrusted}"
        );
        trust(&scratch.0, &host, &user).unwrap();
        status(&scratch.0, &host, &system).unwrap();

        // With a server running, status asks `certgen doctor` about the certificate it serves.
        let dir = certs_dir(&scratch.0);
        let leaf = dir.leaf_files(SERVER_STEM, false);
        let broken = dir.make_broken().unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let serve = |cert: PathBuf, key: PathBuf| {
            let config = wsecho::server::Config {
                ws: Vec::new(),
                wss: vec![SocketAddr::from((Ipv4Addr::LOCALHOST, 0))],
                tls: Some(wsecho::server::TlsFiles { cert, key }),
                ..wsecho::server::Config::default()
            };
            let running = runtime.block_on(wsecho::server::start(config)).unwrap();
            let port = running.listener(true).unwrap().local_addr.port();
            (running, port)
        };
        let (good, good_port) = serve(leaf.fullchain_pem, leaf.key_pem);
        let (bad, bad_port) = serve(
            broken.dir.join("expired-fullchain.pem"),
            broken.dir.join("expired-key.pem"),
        );
        let accepted = doctor_running_server(&scratch.0, &host, good_port);
        let rejected = doctor_running_server(&scratch.0, &host, bad_port);
        let served = status(
            &scratch.0,
            &host,
            &StatusArgs {
                system: false,
                wss_port: good_port,
            },
        );
        let failed = status(
            &scratch.0,
            &host,
            &StatusArgs {
                system: false,
                wss_port: bad_port,
            },
        );
        runtime.block_on(good.shutdown());
        runtime.block_on(bad.shutdown());
        assert_eq!(accepted.unwrap(), None);
        assert!(
            rejected
                .unwrap()
                .is_some_and(|p| p.contains("would reject the running server"))
        );
        served.unwrap();
        let failed = failed.unwrap_err().to_string();
        assert!(
            failed.contains("would reject the running server's certificate"),
            "{failed}"
        );

        // Someone else's CA in the same database must survive `untrust`.
        let db = home.join(".pki/nssdb");
        let other = Scratch::new("xtask-status-other-ca").unwrap();
        let other_ca = certgen::CertsDir::new(other.0.clone())
            .create_ca(&CaOptions::default())
            .unwrap();
        let added = Command::new("certutil")
            .args(["-A", "-n", "someone else's CA", "-t", "C,,", "-i"])
            .arg(&other_ca.files.cert_pem)
            .arg("-d")
            .arg(format!("sql:{}", db.display()))
            .status()
            .unwrap();
        assert!(added.success());
        let before = nicknames(&db);

        untrust(&scratch.0, &host, &user).unwrap();
        assert!(
            status(&scratch.0, &host, &system).is_err(),
            "untrust leaves the CA untrusted"
        );
        let after = nicknames(&db);
        assert!(after.contains("someone else's CA"), "{after}");
        let removed: Vec<&str> = before.lines().filter(|line| !after.contains(*line)).collect();
        assert_eq!(removed.len(), 1, "untrust removes exactly one entry: {removed:?}");
    }
}

//! The OS store, for real: `certgen trust install --store system` (the library behind it) makes plain `curl`
//! (no `--cacert`) trust `wsecho serve`'s certificate, and `uninstall` takes that away again.
//!
//! It runs in a private copy of the system store (`support::private_store`), so the machine's own is never
//! changed; where no copy can be made it is skipped, or under `LOCALTLS_REQUIRE_PEERS=1` fails, saying why.

mod support;

use certgen::trust::{self, CaCert, Host, StoreKind};
use std::process::Command;
use std::time::Duration;
use support::{ServeProcess, TestCerts, in_private_system_store, run};

/// curl's own `--max-time 10`, with room to start.
const CURL_TIMEOUT: Duration = Duration::from_secs(30);

/// Uninstalls the CA from the system store when dropped: the test's own uninstall step.
struct Installed<'a>(&'a CaCert);

impl Drop for Installed<'_> {
    fn drop(&mut self) {
        let report = trust::uninstall(self.0, &Host::current(), &[StoreKind::System], false);
        if let Some(problems) = report.problems() {
            eprintln!("could not restore the system store: {problems}");
        }
    }
}

fn curl_healthz(port: u16) -> support::Finished {
    // Only the system store: no --cacert, and no CURL_CA_BUNDLE/SSL_CERT_FILE pointing elsewhere.
    run(
        Command::new("curl")
            .args(["--silent", "--show-error", "--max-time", "10"])
            .arg(format!("https://localhost:{port}/healthz"))
            .env_remove("CURL_CA_BUNDLE")
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR"),
        CURL_TIMEOUT,
    )
}

#[test]
fn system_store_install_makes_curl_trust_wsecho_and_uninstall_undoes_it() {
    if !in_private_system_store("system_store_install_makes_curl_trust_wsecho_and_uninstall_undoes_it") {
        return;
    }
    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss(&certs);
    let port = server.wss_port.expect("wss port");
    let ca = CaCert::load(&certs.ca_pem).expect("test CA");

    let before = curl_healthz(port);
    assert!(
        !before.status.success(),
        "curl trusted a brand-new CA before install: {}",
        before.output()
    );

    let installed = Installed(&ca);
    let report = trust::install(installed.0, &Host::current(), &[StoreKind::System], false);
    assert!(report.problems().is_none(), "install: {report}");
    let trusted = curl_healthz(port);
    assert!(
        trusted.status.success(),
        "curl after install: {}",
        trusted.output()
    );

    drop(installed);
    let after = curl_healthz(port);
    assert_eq!(
        after.status.code(),
        Some(60),
        "curl after uninstall must fail verification: {}",
        after.output()
    );
}

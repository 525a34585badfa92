//! What the tests of `up/` share: a user with a HOME of its own, certutil, a Firefox profile, a free port.

use super::args::StatusArgs;
use certgen::trust::{self, Host, Os};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

pub(super) fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// A user with an empty HOME, so the NSS stores are the test's own.
pub(super) fn fresh_user(home: &Path) -> Host {
    Host {
        os: Os::Linux,
        home: Some(home.to_path_buf()),
        xdg_config_home: None,
        java_home: None,
        wsl: false,
        sudo_in_user_home: false,
        invocation: trust::Invocation::detect().for_xtask(),
    }
}

/// Whether certutil is here; a missing one fails under LOCALTLS_REQUIRE_PEERS=1 instead of skipping.
pub(super) fn certutil_present(test: &str) -> bool {
    let present = Command::new("certutil").arg("-H").output().is_ok();
    if !present {
        assert!(
            std::env::var_os("LOCALTLS_REQUIRE_PEERS").is_none(),
            "{test}: certutil is not installed (Debian package libnss3-tools)"
        );
        eprintln!("SKIP {test}: certutil is not installed (Debian package libnss3-tools)");
    }
    present
}

/// A HOME where Firefox has been started once: its profile folder with an empty NSS database.
pub(super) fn firefox_started_once(home: &Path) -> PathBuf {
    let firefox = home.join(".config/mozilla/firefox/t1.default-release");
    std::fs::create_dir_all(&firefox).unwrap();
    let made = Command::new("certutil")
        .args(["-N", "--empty-password", "-d"])
        .arg(format!("sql:{}", firefox.display()))
        .status()
        .unwrap();
    assert!(made.success());
    firefox
}

pub(super) fn nicknames(db: &Path) -> String {
    let out = Command::new("certutil")
        .arg("-L")
        .arg("-d")
        .arg(format!("sql:{}", db.display()))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Status for a server port nothing listens on (one just freed).
pub(super) fn no_server() -> StatusArgs {
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    StatusArgs {
        system: false,
        wss_port: free,
    }
}

//! A private copy of the Debian system trust store for the tests that install a CA into it, so that they can run
//! on any machine, as root or not, without touching its store. The test runs once more, alone, in a mount
//! namespace of its own (util-linux `unshare --mount`, plus `--map-root-user` when not root, which needs
//! unprivileged user namespaces), where copies are bind-mounted over `/etc/ssl/certs` (what
//! `update-ca-certificates` writes and openssl and curl read) and `/usr/local/share/ca-certificates` (where
//! `certgen trust install --store system` writes), and an empty folder over `/etc/ca-certificates/update.d`:
//! that tool's hooks (Debian's Java keystore) go through dpkg's triggers, which are machine-wide state.
//! certgen's and wsecho's system-store tests both include this file by `#[path]`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Set for the test run inside the namespace.
const INSIDE_VAR: &str = "LOCALTLS_PRIVATE_SYSTEM_STORE";
/// Written into each copy, so that the run inside can check it has them before it changes anything.
const MARKER: &str = ".localtls-private-copy";
/// The folders the tests change, copied with their contents.
const COPIED: [&str; 2] = ["/etc/ssl/certs", "/usr/local/share/ca-certificates"];
/// `update-ca-certificates`' hooks, hidden behind an empty folder.
const HOOKS: &str = "/etc/ca-certificates/update.d";
/// Bound on the whole run inside (an install runs `update-ca-certificates`, which takes seconds).
const TIMEOUT_SECS: &str = "600";
/// Bind-mounts each `COPY TARGET` pair of the arguments up to `--`, then runs the rest.
const MOUNT_AND_RUN: &str =
    r#"while [ "$1" != -- ]; do mount --bind "$1" "$2" || exit 125; shift 2; done; shift; exec "$@""#;

/// Whether this process runs as uid 0: root, or root of the user namespace its private store made.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Why no private store can be made here, and the fix.
pub struct Unavailable {
    pub why: String,
    pub fix: &'static str,
}

/// Where the test `test` (this test binary's function of that name) stands: `Ok(true)` inside its private store,
/// where it goes on; `Ok(false)` after it ran and passed there (it panics with that run's output when it failed);
/// `Err` when no private store can be made here.
pub fn run_privately(test: &str) -> Result<bool, Unavailable> {
    if std::env::var_os(INSIDE_VAR).is_some() {
        for dir in COPIED {
            assert!(
                Path::new(dir).join(MARKER).is_file(),
                "{test}: {INSIDE_VAR} is set but {dir} is not a private copy; refusing to change the machine's store"
            );
        }
        return Ok(true);
    }
    if !Path::new(COPIED[1]).is_dir() {
        return Err(Unavailable {
            why: format!(
                "needs a Debian-family system store ({} does not exist)",
                COPIED[1]
            ),
            fix: "run it on Debian or Ubuntu",
        });
    }
    let unshare = unshare_args();
    probe(&unshare)?;
    let copies = tempfile::Builder::new()
        .prefix("private-system-store")
        .tempdir()
        .expect("temp dir");
    let mut mounts: Vec<(PathBuf, &str)> = Vec::new();
    for (i, dir) in COPIED.into_iter().enumerate() {
        let copy = copies.path().join(i.to_string());
        let out = Command::new("cp")
            .arg("-a")
            .arg(dir)
            .arg(&copy)
            .output()
            .expect("run cp");
        assert!(
            out.status.success(),
            "cannot copy {dir}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(copy.join(MARKER), "").expect("marker");
        mounts.push((copy, dir));
    }
    if Path::new(HOOKS).is_dir() {
        let empty = copies.path().join("hooks");
        std::fs::create_dir(&empty).expect("hooks dir");
        mounts.push((empty, HOOKS));
    }

    let mut run = Command::new("timeout");
    run.arg(TIMEOUT_SECS)
        .arg("unshare")
        .args(&unshare)
        .args(["--", "sh", "-c", MOUNT_AND_RUN, "sh"]);
    for (copy, target) in &mounts {
        run.arg(copy).arg(target);
    }
    let out = run
        .arg("--")
        .arg(std::env::current_exe().expect("test binary"))
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(INSIDE_VAR, "1")
        .stdin(Stdio::null())
        .output()
        .expect("run unshare");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Indented, so that its `test ... FAILED` lines are not read as this run's (xtask counts those).
    let shown: String = [stdout.as_ref(), String::from_utf8_lossy(&out.stderr).as_ref()]
        .concat()
        .lines()
        .map(|line| format!("  | {line}\n"))
        .collect();
    assert!(
        out.status.success() && stdout.contains(&format!("test {test} ... ok")),
        "{test} failed in its private system store ({}):\n{shown}",
        out.status
    );
    Ok(false)
}

/// `unshare` with a private mount namespace, and as a normal user a user namespace in which it is root.
fn unshare_args() -> Vec<&'static str> {
    let mut args = vec!["--mount", "--propagation", "private"];
    if !is_root() {
        args.push("--map-root-user");
    }
    args
}

/// Whether `unshare ARGS true` works here; why not, with the fix, when it does not.
fn probe(unshare: &[&str]) -> Result<(), Unavailable> {
    let out = Command::new("unshare")
        .args(unshare)
        .arg("true")
        .output()
        .map_err(|e| Unavailable {
            why: format!("needs `unshare` for a private copy of the system store: {e}"),
            fix: "install util-linux",
        })?;
    if out.status.success() {
        return Ok(());
    }
    Err(Unavailable {
        why: format!(
            "needs a private mount namespace for its copy of the system store, and `unshare {} true` failed: {}",
            unshare.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        fix: "run the tests as root, or allow unprivileged user namespaces (sysctl \
              kernel.unprivileged_userns_clone=1; on Ubuntu also kernel.apparmor_restrict_unprivileged_userns=0)",
    })
}

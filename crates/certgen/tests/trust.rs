//! `certgen trust` against the real tools: NSS `certutil`, the JDK's `keytool`, Debian's `update-ca-certificates`
//! and `openssl verify`. Every test runs the binary with HOME set to a temporary directory, so the user's own
//! browser databases are never touched; the tests that could change the system store run in a private copy of it
//! ([`private_store`]), so the machine's own store is never written either.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[allow(dead_code)]
mod common;
#[path = "common/private_store.rs"]
mod private_store;

use common::{can_run, path_str, starts, text};
use private_store::is_root;

/// A temporary HOME plus certs folders, each with its own CA, made by `certgen ca`.
struct World {
    tmp: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        World {
            tmp: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn home(&self) -> PathBuf {
        self.tmp.path().join("home")
    }

    /// A certs folder holding a CA with common name `cn` and a localhost certificate it issued.
    fn project(&self, cn: &str) -> PathBuf {
        let dir = self.tmp.path().join(cn.replace(' ', "-"));
        ok(&self.certgen(&["ca", "--cn", cn, "--dir", path_str(&dir)]));
        ok(&self.certgen(&["issue", "localhost", "127.0.0.1", "--dir", path_str(&dir)]));
        dir
    }

    /// Runs `certgen ARGS` as this world's user: its HOME (with the default XDG folders under it), no JAVA_HOME or
    /// CERTGEN_DIR from outside.
    fn certgen(&self, args: &[&str]) -> Output {
        self.certgen_with(args, &[])
    }

    fn certgen_with(&self, args: &[&str], env: &[(&str, &Path)]) -> Output {
        std::fs::create_dir_all(self.home()).expect("create HOME");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_certgen"));
        cmd.args(args)
            .env("HOME", self.home())
            .env_remove("JAVA_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("SUDO_UID")
            .env_remove("CERTGEN_DIR");
        for (key, value) in env {
            cmd.env(key, value);
        }
        cmd.output().expect("run certgen")
    }

    /// A Firefox profile with a fresh database under `root` (relative to HOME), listed in profiles.ini as
    /// Firefox does when `listed`, else found only by its cert9.db.
    fn firefox_profile(&self, root: &str, listed: bool) -> PathBuf {
        let root = self.home().join(root);
        let profile = root.join("x1y2z3.default-release");
        std::fs::create_dir_all(&profile).expect("profile dir");
        if listed {
            std::fs::write(
                root.join("profiles.ini"),
                "[Profile0]\nName=default-release\nIsRelative=1\nPath=x1y2z3.default-release\nDefault=1\n",
            )
            .expect("profiles.ini");
        }
        run(Command::new("certutil")
            .args(["-N", "--empty-password", "-d"])
            .arg(nss_arg(&profile)));
        profile
    }
}

fn nss_arg(db: &Path) -> String {
    format!("sql:{}", db.display())
}

fn stdout(out: &Output) -> String {
    text(&out.stdout)
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        stdout(out),
        text(&out.stderr)
    )
}

#[track_caller]
fn ok(out: &Output) -> String {
    assert!(out.status.success(), "expected success, got {}", describe(out));
    stdout(out)
}

#[track_caller]
fn fails(out: &Output, code: i32) -> String {
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit {code}, got {}",
        describe(out)
    );
    format!("{}{}", stdout(out), text(&out.stderr))
}

/// Runs a peer tool and returns its stdout, failing the test on a non-zero exit.
#[track_caller]
fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", describe(&out));
    stdout(&out)
}

/// The nickname `install` must use, computed from OpenSSL's fingerprint of the CA, not from certgen's code.
fn expected_name(certs: &Path, cn_slug: &str) -> String {
    let fp = run(Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(certs.join("ca.pem")));
    let hex: String = fp
        .split('=')
        .nth(1)
        .expect("fingerprint line")
        .trim()
        .replace(':', "")
        .to_lowercase();
    format!("certgen-{cn_slug}-{}", &hex[..16])
}

/// `certutil -L` of a database: each line nickname + trust flags.
fn nss_listing(db: &Path) -> String {
    run(Command::new("certutil").arg("-L").arg("-d").arg(nss_arg(db)))
}

fn nss_trusts(db: &Path, nickname: &str) -> bool {
    nss_listing(db)
        .lines()
        .any(|line| line.starts_with(nickname) && line.trim_end().ends_with("C,,"))
}

#[test]
fn nss_install_is_idempotent_and_uninstall_removes_exactly_ours() {
    if !starts(
        "certutil",
        "-H",
        "nss_install_is_idempotent_and_uninstall_removes_exactly_ours",
    ) || !starts(
        "openssl",
        "version",
        "nss_install_is_idempotent_and_uninstall_removes_exactly_ours",
    ) {
        return;
    }
    let world = World::new();
    let a = world.project("Project A");
    let b = world.project("Project B");
    let firefox = world.firefox_profile(".mozilla/firefox", true);
    let flatpak_firefox = world.firefox_profile(".var/app/org.mozilla.firefox/.mozilla/firefox", false);
    // snap Chromium is installed: its database goes where it would create it.
    std::fs::create_dir_all(world.home().join("snap/chromium/current")).expect("snap dir");
    let snap_chromium = world.home().join("snap/chromium/current/.pki/nssdb");
    let (name_a, name_b) = (expected_name(&a, "project-a"), expected_name(&b, "project-b"));
    let chrome = world.home().join(".pki/nssdb");
    let chrome_new = world.home().join(".local/share/pki/nssdb");
    let dbs = [&chrome, &chrome_new, &snap_chromium, &firefox, &flatpak_firefox];
    let a_dir = ["--store", "nss", "--dir", path_str(&a)];
    let b_dir = ["--store", "nss", "--dir", path_str(&b)];

    let before = fails(&world.certgen(&[&["trust", "status"], &a_dir[..]].concat()), 1);
    assert!(before.contains("not trusted"), "{before}");

    let first = ok(&world.certgen(&[&["trust", "install"], &a_dir[..]].concat()));
    assert_eq!(first.matches("trusted now").count(), dbs.len(), "{first}");
    for db in dbs {
        assert!(db.join("cert9.db").is_file(), "{} not created", db.display());
        assert!(
            nss_trusts(db, &name_a),
            "{name_a} not trusted (C,,) in {}:\n{}",
            db.display(),
            nss_listing(db)
        );
    }

    let listings: Vec<String> = dbs.iter().map(|db| nss_listing(db)).collect();
    let second = ok(&world.certgen(&[&["trust", "install"], &a_dir[..]].concat()));
    assert_eq!(
        second.matches("already trusted, nothing changed").count(),
        dbs.len(),
        "{second}"
    );
    assert_eq!(
        listings,
        dbs.iter().map(|db| nss_listing(db)).collect::<Vec<_>>(),
        "second install changed a db"
    );

    let status = ok(&world.certgen(&[&["trust", "status"], &a_dir[..]].concat()));
    assert!(
        status.contains("all good") && status.contains("localhost.pem"),
        "{status}"
    );

    ok(&world.certgen(&[&["trust", "install"], &b_dir[..]].concat()));
    let removed = ok(&world.certgen(&[&["trust", "uninstall"], &a_dir[..]].concat()));
    assert_eq!(removed.matches("removed").count(), dbs.len(), "{removed}");
    for db in dbs {
        assert!(
            !nss_listing(db).contains(&name_a),
            "{name_a} still in {}",
            db.display()
        );
        assert!(
            nss_trusts(db, &name_b),
            "the other project's CA was removed from {}",
            db.display()
        );
    }
    let after = fails(&world.certgen(&[&["trust", "status"], &a_dir[..]].concat()), 1);
    assert!(after.contains("not trusted"), "{after}");
    ok(&world.certgen(&[&["trust", "status"], &b_dir[..]].concat()));

    let again = ok(&world.certgen(&[&["trust", "uninstall"], &a_dir[..]].concat()));
    assert_eq!(
        again.matches("not there, nothing changed").count(),
        dbs.len(),
        "{again}"
    );
}

#[test]
fn a_ca_imported_by_hand_is_reported_but_left_alone() {
    if !starts(
        "certutil",
        "-H",
        "a_ca_imported_by_hand_is_reported_but_left_alone",
    ) {
        return;
    }
    let world = World::new();
    let a = world.project("Hand Made");
    let db = world.firefox_profile(".mozilla/firefox", true);
    // What Firefox's certificate manager does on import: the CA under its own nickname.
    run(Command::new("certutil")
        .args(["-A", "-t", "C,,", "-n", "My import", "-i"])
        .arg(a.join("ca.pem"))
        .arg("-d")
        .arg(nss_arg(&db)));
    let target = ["--store", "nss", "--dir", path_str(&a)];

    let install = ok(&world.certgen(&[&["trust", "install"], &target[..]].concat()));
    assert!(install.contains("already trusted as 'My import'"), "{install}");
    let uninstall = ok(&world.certgen(&[&["trust", "uninstall"], &target[..]].concat()));
    assert!(uninstall.contains("left in place"), "{uninstall}");
    assert!(
        nss_trusts(&db, "My import"),
        "certgen removed an entry it did not add:\n{}",
        nss_listing(&db)
    );
}

#[test]
fn dry_run_prints_the_commands_and_changes_nothing() {
    if !starts(
        "certutil",
        "-H",
        "dry_run_prints_the_commands_and_changes_nothing",
    ) {
        return;
    }
    let world = World::new();
    let a = world.project("Dry");
    // A Firefox that has been started once, so that an installed Firefox is covered.
    world.firefox_profile(".config/mozilla/firefox", true);
    let target = ["--store", "nss", "--dir", path_str(&a)];

    let plan = ok(&world.certgen(&[&["trust", "install", "--dry-run"], &target[..]].concat()));
    let chrome = world.home().join(".pki/nssdb");
    assert!(
        plan.contains(&format!(
            "certutil -N --empty-password -d sql:{}",
            chrome.display()
        )),
        "{plan}"
    );
    assert_eq!(
        plan.matches("certutil -A -t C,, -n certgen-dry-").count(),
        3,
        "{plan}"
    );
    assert!(
        !world.home().join(".pki").exists() && !world.home().join(".local").exists(),
        "dry run created a db"
    );

    ok(&world.certgen(&[&["trust", "install"], &target[..]].concat()));
    let plan = ok(&world.certgen(&[&["trust", "uninstall", "--dry-run"], &target[..]].concat()));
    assert_eq!(plan.matches("certutil -D -n certgen-dry-").count(), 3, "{plan}");
    ok(&world.certgen(&[&["trust", "status"], &target[..]].concat()));
}

#[test]
fn status_fails_on_a_certificate_the_ca_did_not_issue_and_speaks_json() {
    if !starts(
        "certutil",
        "-H",
        "status_fails_on_a_certificate_the_ca_did_not_issue_and_speaks_json",
    ) {
        return;
    }
    let world = World::new();
    let a = world.project("Status A");
    let b = world.project("Status B");
    // A Firefox that has been started once, so that an installed Firefox is covered.
    world.firefox_profile(".config/mozilla/firefox", true);
    let target = ["--store", "nss", "--dir", path_str(&a)];
    ok(&world.certgen(&[&["trust", "install"], &target[..]].concat()));

    let json = ok(&world.certgen(&[&["trust", "status", "--json"], &target[..]].concat()));
    let report: serde_json::Value = serde_json::from_str(&json).expect("status --json is JSON");
    assert_eq!(report["ok"], true, "{json}");
    assert_eq!(
        report["certificates"][0]["names"],
        serde_json::json!(["localhost", "127.0.0.1"]),
        "{json}"
    );
    assert!(
        report["stores"]
            .as_array()
            .is_some_and(|s| s.len() == 3 && s.iter().all(|s| s["state"] == "trusted"))
    );

    // A client certificate is checked as one; a self-signed one is not the CA's business.
    ok(&world.certgen(&["client", "alice", "--dir", path_str(&a)]));
    ok(&world.certgen(&["self-signed", "selfy.test", "--dir", path_str(&a)]));
    let text = ok(&world.certgen(&[&["trust", "status"], &target[..]].concat()));
    assert!(
        text.lines()
            .any(|l| l.starts_with("ok   cert") && l.contains("alice.pem (client)")),
        "{text}"
    );
    assert!(!text.contains("selfy.test"), "{text}");

    std::fs::copy(b.join("localhost.pem"), a.join("stranger.pem")).expect("copy");
    let text = fails(&world.certgen(&[&["trust", "status"], &target[..]].concat()), 1);
    assert!(
        text.contains("stranger.pem") && text.contains("was not issued by"),
        "{text}"
    );
    std::fs::remove_file(a.join("stranger.pem")).expect("remove");

    ok(&world.certgen(&[
        "issue",
        "--dir",
        path_str(&a),
        "--out",
        "old",
        "--not-before",
        "2020-01-01",
        "--days",
        "30",
        "localhost",
    ]));
    let text = fails(&world.certgen(&[&["trust", "status"], &target[..]].concat()), 1);
    assert!(
        text.lines()
            .any(|l| l.starts_with("FAIL cert") && l.contains("old.pem") && l.contains("expired")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("ok   cert") && l.contains("localhost.pem")),
        "{text}"
    );
}

#[test]
fn without_certutil_the_error_names_the_package() {
    let world = World::new();
    let a = world.project("No Certutil");
    let empty = world.tmp.path().join("empty-bin");
    std::fs::create_dir_all(&empty).expect("dir");
    let out = world.certgen_with(
        &["trust", "install", "--store", "nss", "--dir", path_str(&a)],
        &[("PATH", &empty)],
    );
    let text = fails(&out, 1);
    assert!(
        text.contains("certutil not found") && text.contains("apt install libnss3-tools"),
        "{text}"
    );
    assert!(
        !world.home().join(".pki").exists(),
        "created a database without certutil"
    );
}

#[test]
fn bad_ca_file_is_a_usage_error_naming_the_file() {
    let world = World::new();
    let missing = world.tmp.path().join("nope/ca.pem");
    let err = fails(
        &world.certgen(&["trust", "status", "--ca", path_str(&missing)]),
        2,
    );
    assert!(
        err.contains(path_str(&missing)) && err.contains("certgen ca"),
        "{err}"
    );
    let a = world.project("Leafy");
    let err = fails(
        &world.certgen(&["trust", "install", "--ca", path_str(&a.join("localhost.pem"))]),
        2,
    );
    assert!(err.contains("not a CA certificate"), "{err}");
}

/// A JDK home whose `bin/keytool` is the real one and whose `lib/security/cacerts` is a fresh keystore holding
/// `other`'s CA, so the test never writes the system's cacerts.
fn fake_java_home(world: &World, other: &Path) -> Option<PathBuf> {
    let keytool = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("keytool"))
            .find(|k| k.is_file())
    })?;
    let keytool = std::fs::canonicalize(keytool).ok()?;
    let java_home = world.tmp.path().join("jdk");
    std::fs::create_dir_all(java_home.join("bin")).ok()?;
    std::fs::create_dir_all(java_home.join("lib/security")).ok()?;
    std::os::unix::fs::symlink(&keytool, java_home.join("bin/keytool")).ok()?;
    let cacerts = java_home.join("lib/security/cacerts");
    run(Command::new(&keytool)
        .args([
            "-importcert",
            "-noprompt",
            "-storetype",
            "pkcs12",
            "-storepass",
            "changeit",
            "-alias",
            "other",
        ])
        .arg("-file")
        .arg(other.join("ca.pem"))
        .arg("-keystore")
        .arg(&cacerts));
    Some(java_home)
}

#[test]
fn java_keystore_install_and_uninstall_touch_only_our_alias() {
    if !starts(
        "keytool",
        "-help",
        "java_keystore_install_and_uninstall_touch_only_our_alias",
    ) {
        return;
    }
    let world = World::new();
    let a = world.project("Java A");
    let other = world.project("Java Other");
    let Some(java_home) = fake_java_home(&world, &other) else {
        panic!("cannot build a JDK home around keytool");
    };
    let env = [("JAVA_HOME", java_home.as_path())];
    let target = ["--store", "java", "--dir", path_str(&a)];
    let name = expected_name(&a, "java-a");
    let list = || {
        run(Command::new(java_home.join("bin/keytool"))
            .args(["-list", "-storepass", "changeit", "-keystore"])
            .arg(java_home.join("lib/security/cacerts")))
    };

    fails(
        &world.certgen_with(&[&["trust", "status"], &target[..]].concat(), &env),
        1,
    );
    ok(&world.certgen_with(&[&["trust", "install"], &target[..]].concat(), &env));
    assert!(list().contains(&format!("{name},")), "{}", list());
    let second = ok(&world.certgen_with(&[&["trust", "install"], &target[..]].concat(), &env));
    assert!(second.contains("nothing changed"), "{second}");
    ok(&world.certgen_with(&[&["trust", "status"], &target[..]].concat(), &env));
    ok(&world.certgen_with(&[&["trust", "uninstall"], &target[..]].concat(), &env));
    let after = list();
    assert!(!after.contains(&name) && after.contains("other,"), "{after}");

    // Asked for by name without JAVA_HOME: an error that says so.
    let err = fails(&world.certgen(&[&["trust", "install"], &target[..]].concat()), 1);
    assert!(err.contains("JAVA_HOME is not set"), "{err}");
}

#[test]
fn without_privileges_the_system_store_prints_the_sudo_commands() {
    let anchors = Path::new("/usr/local/share/ca-certificates");
    if !can_run(
        anchors.is_dir(),
        "without_privileges_the_system_store_prints_the_sudo_commands",
        "not a Debian-family system store",
        "run it on Debian or Ubuntu",
    ) {
        return;
    }
    let world = World::new();
    let a = world.project("No Root");
    let name = expected_name(&a, "no-root");
    // As root, run as `nobody` (who cannot write the anchors) certgen linked (or copied) into the temp dir, which
    // nobody can reach wherever the checkout is; as a normal user, run as is.
    let out = if is_root() {
        let tmp = world.tmp.path();
        let certgen = tmp.join("certgen");
        std::fs::hard_link(env!("CARGO_BIN_EXE_certgen"), &certgen)
            .or_else(|_| std::fs::copy(env!("CARGO_BIN_EXE_certgen"), &certgen).map(drop))
            .expect("copy certgen");
        run(Command::new("chmod").arg("-R").arg("a+rX").arg(tmp));
        Command::new("runuser")
            .args(["-u", "nobody", "--"])
            .arg(&certgen)
            .args(["trust", "install", "--store", "system"])
            .arg("--dir")
            .arg(&a)
            .env("HOME", world.home())
            .output()
            .expect("runuser")
    } else {
        world.certgen(&["trust", "install", "--store", "system", "--dir", path_str(&a)])
    };
    let text = fails(&out, 1);
    let target = anchors.join(format!("{name}.crt"));
    assert!(
        text.contains(&format!(
            "sudo install -m 0644 {} {}",
            a.join("ca.pem").display(),
            target.display()
        )),
        "{text}"
    );
    assert!(text.contains("sudo /usr/sbin/update-ca-certificates"), "{text}");
    assert!(!target.exists(), "an unprivileged run wrote {}", target.display());
}

#[test]
fn under_sudo_the_users_browser_databases_are_left_to_the_user() {
    use std::os::unix::fs::MetadataExt;
    let world = World::new();
    let a = world.project("Sudo");
    std::fs::create_dir_all(world.home()).expect("HOME");
    // As `sudo` leaves it: HOME belongs to the invoking user, whose uid is in SUDO_UID. As root, that user is
    // nobody; otherwise it is this user, since certgen tells from HOME's owner alone.
    if is_root() {
        run(Command::new("chown").arg("65534").arg(world.home()));
    }
    let owner = std::fs::metadata(world.home()).expect("HOME").uid().to_string();
    let out = world.certgen_with(
        &["trust", "install", "--store", "nss", "--dir", path_str(&a)],
        &[("SUDO_UID", Path::new(&owner))],
    );
    let text = fails(&out, 1);
    assert!(text.contains("without sudo"), "{text}");
    assert!(
        !world.home().join(".pki").exists(),
        "made root-owned databases in the user's home"
    );
}

/// Whether to go on with `test`, which could change the system store: true inside its private copy
/// ([`private_store`]); false once it passed there, or after a skip line saying why there is none (a failure
/// under LOCALTLS_REQUIRE_PEERS=1).
fn in_private_system_store(test: &str) -> bool {
    match private_store::run_privately(test) {
        Ok(inside) => inside,
        Err(no) => can_run(false, test, &no.why, no.fix),
    }
}

#[test]
fn system_store_install_makes_openssl_trust_the_leaf_and_uninstall_undoes_it() {
    if !in_private_system_store("system_store_install_makes_openssl_trust_the_leaf_and_uninstall_undoes_it") {
        return;
    }
    let world = World::new();
    let a = world.project("System Test");
    let name = expected_name(&a, "system-test");
    let anchor = Path::new("/usr/local/share/ca-certificates").join(format!("{name}.crt"));
    let linked = Path::new("/etc/ssl/certs").join(format!("{name}.pem"));
    let leaf = a.join("localhost.pem");
    let verify = || {
        Command::new("openssl")
            .args(["verify", "-CApath", "/etc/ssl/certs"])
            .arg(&leaf)
            .output()
            .expect("openssl verify")
            .status
            .success()
    };
    let target = ["--store", "system", "--dir", path_str(&a)];
    assert!(
        !verify(),
        "the leaf verifies before install: the test cannot tell anything"
    );

    ok(&world.certgen(&[&["trust", "install"], &target[..]].concat()));
    assert!(anchor.is_file(), "{} not written", anchor.display());
    assert!(
        verify(),
        "openssl verify -CApath /etc/ssl/certs fails after install"
    );
    let second = ok(&world.certgen(&[&["trust", "install"], &target[..]].concat()));
    assert!(second.contains("nothing changed"), "{second}");
    ok(&world.certgen(&[&["trust", "status"], &target[..]].concat()));

    ok(&world.certgen(&[&["trust", "uninstall"], &target[..]].concat()));
    assert!(
        !anchor.exists() && std::fs::symlink_metadata(&linked).is_err(),
        "uninstall left {name} behind"
    );
    assert!(!verify(), "openssl still trusts the leaf after uninstall");
    fails(&world.certgen(&[&["trust", "status"], &target[..]].concat()), 1);
}

/// What decides the OS store on Debian: the bundle `update-ca-certificates` writes, and the local anchors.
fn system_store_snapshot() -> (Option<Vec<u8>>, Vec<PathBuf>) {
    let bundle = std::fs::read("/etc/ssl/certs/ca-certificates.crt").ok();
    let mut anchors: Vec<PathBuf> = std::fs::read_dir("/usr/local/share/ca-certificates")
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    anchors.sort();
    (bundle, anchors)
}

#[test]
fn install_without_store_changes_only_this_users_browsers_even_as_root() {
    let test = "install_without_store_changes_only_this_users_browsers_even_as_root";
    if !can_run(
        Path::new("/etc/ssl/certs/ca-certificates.crt").is_file(),
        test,
        "needs a Debian-family system bundle",
        "run the tests on Debian or Ubuntu",
    ) || !starts("certutil", "-H", test)
        || !in_private_system_store(test)
    {
        return;
    }
    // Root in its private store (or in a user namespace of its own), where the OS store could be changed.
    assert!(is_root(), "{test} runs as root in its private store");
    let world = World::new();
    let a = world.project("Default Store");
    let name = expected_name(&a, "default-store");
    let firefox = world.firefox_profile(".config/mozilla/firefox", true);
    let before = system_store_snapshot();

    let installed = ok(&world.certgen(&["trust", "install", "--dir", path_str(&a)]));
    assert!(!installed.contains("system"), "{installed}");
    for db in [world.home().join(".pki/nssdb"), firefox] {
        assert!(nss_trusts(&db, &name), "{name} not in {}", db.display());
    }
    assert!(
        system_store_snapshot() == before,
        "`certgen trust install` without --store changed /etc/ssl/certs/ca-certificates.crt or \
         /usr/local/share/ca-certificates"
    );
    let status = ok(&world.certgen(&["trust", "status", "--dir", path_str(&a)]));
    assert!(!status.contains("system"), "{status}");
    ok(&world.certgen(&["trust", "uninstall", "--dir", path_str(&a)]));
    assert!(
        system_store_snapshot() == before,
        "uninstall changed the OS store"
    );
}

#[test]
fn help_names_nss_as_the_default_store() {
    for action in ["install", "uninstall", "status"] {
        let help = ok(&World::new().certgen(&["trust", action, "--help"]));
        assert!(help.contains("[default: nss]"), "{action} --help:\n{help}");
    }
}

/// Firefox 147+ (ESR 153) keeps a new HOME's profiles in `$XDG_CONFIG_HOME/mozilla/firefox`, flatpak Firefox in
/// `~/.var/app/org.mozilla.firefox/config/mozilla/firefox`, snap Firefox in `~/snap/firefox/common/.mozilla/firefox`:
/// `install` covers each and `uninstall` takes exactly that back. A profile Firefox never opened (no cert9.db) and
/// one with only the old cert8.db cannot be covered: every command names them with the fix, and `status` fails.
#[test]
fn every_firefox_profile_folder_is_covered_and_the_others_are_named() {
    let test = "every_firefox_profile_folder_is_covered_and_the_others_are_named";
    if !starts("certutil", "-H", test) {
        return;
    }
    let world = World::new();
    let a = world.project("Fox");
    let xdg_config = world.home().join("xdg-config");
    let env = [("XDG_CONFIG_HOME", xdg_config.as_path())];
    let usable = [
        world.firefox_profile("xdg-config/mozilla/firefox", true),
        world.firefox_profile(".var/app/org.mozilla.firefox/config/mozilla/firefox", true),
        world.firefox_profile("snap/firefox/common/.mozilla/firefox", false),
    ];
    // What `firefox -CreateProfile` leaves before the first start: listed, but no database yet.
    let legacy_root = world.home().join(".mozilla/firefox");
    std::fs::create_dir_all(legacy_root.join("n1.never")).expect("profile dir");
    std::fs::write(
        legacy_root.join("profiles.ini"),
        "[Profile0]\nName=never\nIsRelative=1\nPath=n1.never\n\n[General]\nStartWithLastProfile=1\nVersion=2\n",
    )
    .expect("profiles.ini");
    std::fs::create_dir_all(legacy_root.join("o1.old")).expect("profile dir");
    std::fs::write(legacy_root.join("o1.old/cert8.db"), b"").expect("cert8.db");
    let name = expected_name(&a, "fox");
    let target = ["--dir", path_str(&a)];
    let reported = |text: &str| {
        text.lines()
            // `-P` takes the profile's name (`never`), not its folder: `-P n1.never` opens the profile manager.
            .any(|l| l.contains("~/.mozilla/firefox/n1.never") && l.contains(" -P never`"))
            && text
                .lines()
                .any(|l| l.contains("~/.mozilla/firefox/o1.old") && l.contains("cert8.db"))
    };

    let status = fails(
        &world.certgen_with(&[&["trust", "status"], &target[..]].concat(), &env),
        1,
    );
    for profile in &usable {
        let shown = format!(
            "~/{}",
            profile.strip_prefix(world.home()).expect("in HOME").display()
        );
        assert!(
            status
                .lines()
                .any(|l| l.contains(&shown) && l.contains("not trusted")),
            "{shown} not listed:\n{status}"
        );
    }
    assert!(reported(&status), "{status}");
    assert!(status.contains("cannot cover"), "{status}");

    let installed = ok(&world.certgen_with(&[&["trust", "install"], &target[..]].concat(), &env));
    assert_eq!(
        installed.matches("trusted now").count(),
        2 + usable.len(),
        "{installed}"
    );
    assert_eq!(installed.matches("not covered").count(), 2, "{installed}");
    assert!(reported(&installed), "{installed}");
    for profile in &usable {
        assert!(nss_trusts(profile, &name), "{name} not in {}", profile.display());
    }
    assert!(
        !legacy_root.join("n1.never/cert9.db").exists() && !legacy_root.join("o1.old/cert9.db").exists(),
        "install made a database Firefox did not"
    );
    let status = fails(
        &world.certgen_with(&[&["trust", "status"], &target[..]].concat(), &env),
        1,
    );
    assert_eq!(
        status.matches(": trusted until").count(),
        2 + usable.len(),
        "{status}"
    );

    let removed = ok(&world.certgen_with(&[&["trust", "uninstall"], &target[..]].concat(), &env));
    assert_eq!(removed.matches("removed").count(), 2 + usable.len(), "{removed}");
    for profile in &usable {
        assert!(
            !nss_listing(profile).contains(&name),
            "{name} left in {}",
            profile.display()
        );
    }
}

/// Firefox installed (on PATH) but never started in this HOME: nothing to change yet, but `status` must not say
/// "all good", since the profile Firefox will make would not trust the CA.
#[test]
fn an_installed_firefox_without_a_profile_is_reported() {
    let test = "an_installed_firefox_without_a_profile_is_reported";
    if !starts("certutil", "-H", test) || !starts("firefox-esr", "--version", test) {
        return;
    }
    let world = World::new();
    let a = world.project("No Profile");
    let target = ["--dir", path_str(&a)];

    let installed = ok(&world.certgen(&[&["trust", "install"], &target[..]].concat()));
    let line = |text: &str| {
        text.lines().any(|l| {
            l.contains("~/.config/mozilla/firefox (Firefox, /usr/bin/firefox")
                && l.contains("start Firefox once")
        })
    };
    assert!(line(&installed), "{installed}");
    assert!(
        !world.home().join(".config/mozilla").exists(),
        "install made a Firefox folder"
    );
    let status = fails(&world.certgen(&[&["trust", "status"], &target[..]].concat()), 1);
    assert!(line(&status) && !status.contains("all good"), "{status}");
}

/// Bound on one headless Firefox run that ends by itself (`--screenshot`).
const FIREFOX_RUN: std::time::Duration = std::time::Duration::from_secs(90);

/// Starts Firefox ESR once, headless, in `home` as a user's first start does (it makes `installs.ini`,
/// `profiles.ini`, the profile it uses and an unused `X.default`), and returns its profile folder. A first start
/// on a loaded machine was seen to end without cert9.db, so it gets three tries, each bounded and killed at the
/// bound.
fn firefox_first_start(home: &Path) -> PathBuf {
    let root = home.join(".config/mozilla/firefox");
    for attempt in 1..=3 {
        let mut child = Command::new("firefox-esr")
            .args(["--headless", "--screenshot"])
            .arg(home.join("first-start.png"))
            .arg("about:blank")
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start firefox-esr");
        let deadline = std::time::Instant::now() + FIREFOX_RUN;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for firefox-esr") {
                break Some(status);
            }
            if std::time::Instant::now() > deadline {
                child.kill().ok();
                child.wait().ok();
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        let used = std::fs::read_to_string(root.join("installs.ini"))
            .ok()
            .and_then(|ini| {
                ini.lines()
                    .find_map(|l| l.strip_prefix("Default=").map(|p| root.join(p.trim())))
            });
        if let Some(used) = used.filter(|p| p.join("cert9.db").is_file()) {
            return used;
        }
        eprintln!("firefox-esr first start {attempt}/3 ({status:?}) left no used profile with cert9.db");
    }
    panic!(
        "firefox-esr made no profile with cert9.db in {} in 3 starts",
        root.display()
    );
}

/// What a real first start of Firefox ESR leaves: only the profile `installs.ini` names counts; the `X.default`
/// that `profiles.ini` marks `Default=1` (for Firefox before 67) is reported as unused, with a command that opens
/// it by its name, and is never a failure. `certutil` reads the CA back from the used profile.
#[test]
fn a_real_firefox_first_start_counts_only_the_profile_it_uses() {
    let test = "a_real_firefox_first_start_counts_only_the_profile_it_uses";
    if !starts("certutil", "-H", test) || !starts("firefox-esr", "--version", test) {
        return;
    }
    let world = World::new();
    let a = world.project("Real Fox");
    std::fs::create_dir_all(world.home()).expect("HOME");
    let used = firefox_first_start(&world.home());
    let root = used.parent().expect("profile root").to_owned();
    let profiles = std::fs::read_to_string(root.join("profiles.ini")).expect("profiles.ini");
    // Each [Profile] section as (Name, Path); every one but the used profile is unused.
    let listed: Vec<(String, String)> = profiles
        .split("\n[")
        .filter(|section| section.trim_start_matches('[').starts_with("Profile"))
        .map(|section| {
            let value = |key: &str| {
                section
                    .lines()
                    .find_map(|l| l.strip_prefix(key))
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            };
            (value("Name="), value("Path="))
        })
        .collect();
    let unused: Vec<&(String, String)> = listed
        .iter()
        .filter(|(_, path)| root.join(path) != used)
        .collect();
    let shown = |dir: &Path| format!("~/{}", dir.strip_prefix(world.home()).expect("in HOME").display());
    let target = ["--dir", path_str(&a)];

    let installed = ok(&world.certgen(&[&["trust", "install"], &target[..]].concat()));
    assert!(
        installed
            .lines()
            .any(|l| l.contains(&shown(&used)) && l.contains("trusted now")),
        "{installed}"
    );
    let status = ok(&world.certgen(&[&["trust", "status"], &target[..]].concat()));
    assert!(status.contains("all good"), "{status}");
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("ok ") && l.contains(&shown(&used)) && l.contains("trusted until")),
        "{status}"
    );
    for (name, path) in &unused {
        let dir = root.join(path);
        if dir.join("cert9.db").is_file() {
            continue; // Firefox opened it after all: then install covered it like any other.
        }
        let line = status
            .lines()
            .find(|l| l.contains(&shown(&dir)))
            .unwrap_or_else(|| panic!("{} not listed:\n{status}", shown(&dir)));
        assert!(
            line.starts_with("-- ") && line.contains(": unused") && line.contains(&format!(" -P {name}`")),
            "{line}"
        );
    }

    // certutil reads our CA back from the used profile, trusted for TLS servers, byte for byte.
    let nickname = expected_name(&a, "real-fox");
    assert!(nss_trusts(&used, &nickname), "{}", nss_listing(&used));
    let read_back = run(Command::new("certutil")
        .args(["-L", "-a", "-n", &nickname, "-d"])
        .arg(nss_arg(&used)));
    let pem = std::fs::read_to_string(a.join("ca.pem")).expect("ca.pem");
    let body = |text: &str| -> String { text.lines().filter(|l| !l.starts_with("-----")).collect() };
    assert_eq!(body(&read_back), body(&pem));
}

/// `certgen ca --force` takes the CA it replaced out of every database `install` put it in; a replaced CA still
/// trusted (what an older certgen left) makes `status` fail with the command that removes it, while another
/// project's certgen CA is only listed.
#[test]
fn a_replaced_ca_leaves_the_stores_and_status_reports_one_left_behind() {
    let test = "a_replaced_ca_leaves_the_stores_and_status_reports_one_left_behind";
    if !starts("certutil", "-H", test) {
        return;
    }
    let world = World::new();
    let a = world.project("Old Fox");
    let b = world.project("Other Project");
    let firefox = world.firefox_profile(".config/mozilla/firefox", true);
    let chrome = world.home().join(".pki/nssdb");
    let target = ["--dir", path_str(&a)];
    let old_name = expected_name(&a, "old-fox");
    ok(&world.certgen(&[&["trust", "install"], &target[..]].concat()));
    assert!(nss_trusts(&firefox, &old_name) && nss_trusts(&chrome, &old_name));

    let replaced = ok(&world.certgen(&["ca", "--force", "--cn", "New Fox", "--dir", path_str(&a)]));
    for db in [&chrome, &firefox] {
        assert!(
            !nss_listing(db).contains(&old_name),
            "{old_name} still in {} after ca --force:\n{replaced}",
            db.display()
        );
    }
    assert!(
        replaced.contains("old CA: ") && replaced.contains("removed"),
        "{replaced}"
    );
    ok(&world.certgen(&[
        "issue",
        "localhost",
        "127.0.0.1",
        "--force",
        "--dir",
        path_str(&a),
    ]));
    ok(&world.certgen(&[&["trust", "install"], &target[..]].concat()));
    ok(&world.certgen(&["trust", "install", "--dir", path_str(&b)]));
    let status = ok(&world.certgen(&[&["trust", "status"], &target[..]].concat()));
    assert!(
        status.contains(&format!(
            "another certgen CA {}",
            expected_name(&b, "other-project")
        )),
        "{status}"
    );

    // Plant the old CA back in Firefox's database under certgen's name, as an older certgen left it.
    let backup = std::fs::read_dir(&a)
        .expect("certs folder")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.starts_with("ca-backup-") && name.ends_with(".pem")
        })
        .expect("ca --force kept a backup");
    run(Command::new("certutil")
        .args(["-A", "-t", "C,,", "-n", &old_name, "-i"])
        .arg(&backup)
        .arg("-d")
        .arg(nss_arg(&firefox)));
    let status = fails(&world.certgen(&[&["trust", "status"], &target[..]].concat()), 1);
    let stale = status
        .lines()
        .find(|l| l.contains(&format!("stale CA {old_name}")))
        .unwrap_or_else(|| panic!("no stale line:\n{status}"));
    assert!(
        stale.starts_with("FAIL") && stale.contains(&format!("trust uninstall --ca {}", backup.display())),
        "{stale}"
    );
    assert!(status.contains("replaced CA(s) still trusted"), "{status}");

    // The command it names (certgen's part of it) removes exactly that entry.
    ok(&world.certgen(&["trust", "uninstall", "--ca", path_str(&backup)]));
    assert!(!nss_listing(&firefox).contains(&old_name));
    ok(&world.certgen(&[&["trust", "status"], &target[..]].concat()));
}

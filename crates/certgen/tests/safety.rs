//! certgen never loses or leaks a key:
//! - a kill at any point of `certgen ca --force` or `certgen issue --force` leaves, once the next certgen command has
//!   run, exactly the old files or the complete new set (the key matching the certificate, per openssl), and no
//!   temporary files: every step is hit with the debug-build fault hook (`CERTGEN_FAULT_AFTER=N` aborts at step N),
//!   then random SIGKILLs check the same from outside;
//! - a group- or world-readable key is refused with the `chmod 600` to run;
//! - `certgen ca --encrypt` writes a PKCS#8 encrypted key openssl reads, keys encrypted by openssl load, and a wrong
//!   or missing passphrase is a one-line error.
//!
//! openssl (and `script`, for the terminal prompt) are required peers in CI (`LOCALTLS_REQUIRE_PEERS=1`); elsewhere
//! a missing one skips the test that needs it.

use std::collections::BTreeMap;
use std::fs;
use std::hash::{BuildHasher, RandomState};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

#[allow(dead_code)]
mod common;

use common::{
    CERTGEN, PASS_ENV, assert_success, can_run, certgen, command, have, mode, openssl_bytes, openssl_csr,
    openssl_ok, path_str, run, snapshot, text,
};

/// `certgen ARGS --dir DIR`, which must succeed; returns stdout + stderr.
fn certgen_ok(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = certgen(dir, args, env);
    assert_success("certgen", args, &out);
    text(&out.stdout) + &text(&out.stderr)
}

fn copy_folder(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create folder");
    for entry in fs::read_dir(from).expect("read folder").filter_map(Result::ok) {
        // fs::copy keeps the mode, so keys stay 0600.
        fs::copy(entry.path(), to.join(entry.file_name())).expect("copy file");
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// The public key (PEM) of a certificate and of a private key, per openssl: equal when they belong together.
fn cert_and_key_match(cert: &Path, key: &Path, passphrase: Option<&str>) -> bool {
    let cert_pub = openssl_ok(&["x509", "-in", path_str(cert), "-noout", "-pubkey"]);
    let pass = passphrase.map(|p| format!("pass:{p}"));
    let mut args = vec!["pkey", "-in", path_str(key), "-pubout"];
    if let Some(pass) = &pass {
        args.extend(["-passin", pass.as_str()]);
    }
    cert_pub == openssl_ok(&args)
}

/// What a folder holds after an interrupted command and the recovery of the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Old,
    New,
}

/// One command to interrupt, in a folder prepared by `prepare`, and how to check its complete result.
struct Scenario {
    name: &'static str,
    args: &'static [&'static str],
    template: tempfile::TempDir,
    /// Checks a folder that differs from the template: it must hold the command's complete, consistent result.
    check_new: fn(old: &BTreeMap<String, Vec<u8>>, dir: &Path),
}

impl Scenario {
    /// `issue --force` over a leaf first issued with `--p12`: replaces four files and removes the stale `.p12`.
    fn issue() -> Self {
        let template = tempfile::tempdir().expect("tempdir");
        certgen_ok(template.path(), &["ca"], &[]);
        certgen_ok(template.path(), &["issue", "localhost", "--p12"], &[]);
        Scenario {
            name: "issue --force",
            args: &["issue", "localhost", "--force"],
            template,
            check_new: |old, dir| {
                let new = snapshot(dir);
                let mut expected: Vec<&String> = old.keys().filter(|n| *n != "localhost.p12").collect();
                expected.sort();
                assert_eq!(
                    new.keys().collect::<Vec<_>>(),
                    expected,
                    "file set after issue --force"
                );
                for name in [
                    "localhost.pem",
                    "localhost-key.pem",
                    "localhost-fullchain.pem",
                    "localhost.cer",
                ] {
                    assert_ne!(
                        new[name], old[name],
                        "{name} was not replaced although others were"
                    );
                }
                for name in ["ca.pem", "ca-key.pem", "ca.cer"] {
                    assert_eq!(new[name], old[name], "{name} must not change");
                }
                assert!(cert_and_key_match(
                    &dir.join("localhost.pem"),
                    &dir.join("localhost-key.pem"),
                    None
                ));
                assert_eq!(mode(&dir.join("localhost-key.pem")), 0o600);
                let fullchain = text(&new["localhost-fullchain.pem"]);
                assert!(
                    fullchain.starts_with(text(&new["localhost.pem"]).trim_end()),
                    "fullchain leaf"
                );
                let der = openssl_bytes(&[
                    "x509",
                    "-in",
                    path_str(&dir.join("localhost.pem")),
                    "-outform",
                    "DER",
                ]);
                assert_eq!(new["localhost.cer"], der, "localhost.cer is the same certificate");
                openssl_ok(&[
                    "verify",
                    "-CAfile",
                    path_str(&dir.join("ca.pem")),
                    path_str(&dir.join("localhost.pem")),
                ]);
            },
        }
    }

    /// `ca --force` over an existing CA: three new files plus three backups of the old ones.
    fn ca() -> Self {
        let template = tempfile::tempdir().expect("tempdir");
        certgen_ok(template.path(), &["ca"], &[]);
        Scenario {
            name: "ca --force",
            args: &["ca", "--force"],
            template,
            check_new: |old, dir| {
                let new = snapshot(dir);
                assert_eq!(new.len(), 6, "three CA files and three backups: {:?}", new.keys());
                for name in ["ca.pem", "ca-key.pem", "ca.cer"] {
                    assert_ne!(
                        new[name], old[name],
                        "{name} was not replaced although others were"
                    );
                    let (stem, ext) = name.split_once('.').expect("extension");
                    let backup = new
                        .iter()
                        .find(|(n, _)| n.starts_with(&format!("{stem}-backup-")) && n.ends_with(ext))
                        .unwrap_or_else(|| panic!("no backup of {name}: {:?}", new.keys()));
                    assert_eq!(backup.1, &old[name], "the backup of {name} holds the old content");
                }
                assert!(cert_and_key_match(
                    &dir.join("ca.pem"),
                    &dir.join("ca-key.pem"),
                    None
                ));
                assert_eq!(mode(&dir.join("ca-key.pem")), 0o600);
                let der = openssl_bytes(&["x509", "-in", path_str(&dir.join("ca.pem")), "-outform", "DER"]);
                assert_eq!(new["ca.cer"], der, "ca.cer is the same certificate");
            },
        }
    }

    /// A fresh copy of the template.
    fn fresh(&self) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_folder(self.template.path(), dir.path());
        dir
    }

    /// Lets the next certgen command recover `dir` (`inspect` reads a file in it), then checks that the folder
    /// holds exactly the old files or the complete new set, and nothing temporary. Returns the outcome and
    /// whether the recovering command reported that it found something to finish or clean.
    fn recover_and_classify(&self, dir: &Path) -> (Outcome, bool) {
        let old = snapshot(self.template.path());
        let cert = dir.join(if self.name.starts_with("ca") {
            "ca.pem"
        } else {
            "localhost.pem"
        });
        let out = run(CERTGEN, &["inspect", path_str(&cert)], &[]);
        assert!(
            out.status.success(),
            "inspect after a kill: {}",
            text(&out.stderr)
        );
        let noted = text(&out.stderr).contains("certgen: note:");
        let now = snapshot(dir);
        let leftovers: Vec<&String> = now
            .keys()
            .filter(|n| n.ends_with(".certgen-tmp") || n.contains("certgen-journal"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "{}: leftovers after recovery: {leftovers:?}",
            self.name
        );
        if now == old {
            return (Outcome::Old, noted);
        }
        (self.check_new)(&old, dir);
        (Outcome::New, noted)
    }
}

/// Runs the scenario aborted at step 1, 2, ... until a run completes; returns (steps, outcomes, recoveries noted).
#[cfg(unix)]
fn every_fault_point(scenario: &Scenario) -> (usize, Vec<Outcome>, usize) {
    use std::os::unix::process::ExitStatusExt;
    let mut outcomes = Vec::new();
    let mut noted = 0;
    for step in 1..=100 {
        let dir = scenario.fresh();
        let out = certgen(
            dir.path(),
            scenario.args,
            &[("CERTGEN_FAULT_AFTER", &step.to_string())],
        );
        if out.status.success() {
            assert!(step > 1, "{}: the fault hook never fired", scenario.name);
            return (step - 1, outcomes, noted);
        }
        assert_eq!(
            out.status.signal(),
            Some(6),
            "{} step {step}: expected the hook's abort (SIGABRT), got {:?}: {}",
            scenario.name,
            out.status,
            text(&out.stderr)
        );
        let (outcome, note) = scenario.recover_and_classify(dir.path());
        outcomes.push(outcome);
        noted += usize::from(note);
    }
    panic!("{}: more than 100 steps", scenario.name);
}

#[cfg(unix)]
#[test]
fn an_abort_at_every_step_leaves_the_old_files_or_the_complete_new_set() {
    if !have(
        "openssl",
        "version",
        "an_abort_at_every_step_leaves_the_old_files_or_the_complete_new_set",
    ) {
        return;
    }
    if !can_run(
        cfg!(debug_assertions),
        "an_abort_at_every_step_leaves_the_old_files_or_the_complete_new_set",
        "the fault hook exists only in debug builds",
        "run the tests without --release",
    ) {
        return;
    }
    for scenario in [Scenario::issue(), Scenario::ca()] {
        let (steps, outcomes, noted) = every_fault_point(&scenario);
        let first_new = outcomes.iter().position(|o| *o == Outcome::New);
        eprintln!(
            "{}: {steps} fault points; aborts at steps 1..={} left the old files, the rest the complete new set; \
             the next command reported a recovery {noted} times",
            scenario.name,
            first_new.unwrap_or(steps)
        );
        // Once the journal is written the change is decided: old files up to there, the new set from there on.
        let first_new =
            first_new.unwrap_or_else(|| panic!("{}: no abort ended with the new set", scenario.name));
        assert!(
            first_new > 0,
            "{}: the first step already committed",
            scenario.name
        );
        assert!(
            outcomes[first_new..].iter().all(|o| *o == Outcome::New),
            "{}: an abort after the commit point left old files: {outcomes:?}",
            scenario.name
        );
        // Every abort but the last (after the journal's deletion) leaves something to finish or clean.
        assert_eq!(noted, steps - 1, "{}: recovery notes", scenario.name);
    }
}

#[cfg(unix)]
#[test]
fn sigkill_at_random_times_leaves_the_old_files_or_the_complete_new_set() {
    if !have(
        "openssl",
        "version",
        "sigkill_at_random_times_leaves_the_old_files_or_the_complete_new_set",
    ) {
        return;
    }
    let random = RandomState::new();
    for scenario in [Scenario::issue(), Scenario::ca()] {
        // How long an uninterrupted run takes, to spread the kills over it.
        let started = Instant::now();
        let dir = scenario.fresh();
        assert!(certgen(dir.path(), scenario.args, &[]).status.success());
        let full_run = started.elapsed();
        let mut counts = BTreeMap::new();
        for round in 0..15u64 {
            let dir = scenario.fresh();
            let mut args = scenario.args.to_vec();
            args.extend(["--dir", path_str(dir.path())]);
            let mut child = command(CERTGEN, &args, &[])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn certgen");
            // Mostly late in the run, where the files are written; a few kills land after it ended.
            let delay = full_run.mul_f64(0.3 + (random.hash_one(round) % 1000) as f64 / 1000.0 * 0.9);
            std::thread::sleep(delay);
            let _ = child.kill();
            let status = child.wait().expect("wait");
            let (outcome, _) = scenario.recover_and_classify(dir.path());
            *counts
                .entry(format!("{outcome:?} (exited: {})", status.success()))
                .or_insert(0) += 1;
        }
        eprintln!(
            "{}: 15 SIGKILLs spread over {full_run:?}: {counts:?}",
            scenario.name
        );
    }
}

#[cfg(unix)]
#[test]
fn a_key_others_can_read_is_refused_with_the_chmod_to_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    certgen_ok(dir, &["ca"], &[]);
    certgen_ok(dir, &["issue", "localhost", "--p12"], &[]);
    for key in ["ca-key.pem", "localhost-key.pem", "localhost.p12"] {
        assert_eq!(mode(&dir.join(key)), 0o600, "{key} is written 0600");
    }
    let key = dir.join("ca-key.pem");
    for (shared, shown) in [(0o640, "0640"), (0o604, "0604")] {
        set_mode(&key, shared);
        let before = snapshot(dir);
        for args in [&["issue", "app.localhost"][..], &["client", "alice"]] {
            let out = certgen(dir, args, &[]);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?} with mode {shown}: {err}");
            assert_eq!(err.lines().count(), 1, "one line: {err}");
            assert!(
                err.contains(&format!("(mode {shown})"))
                    && err.contains(&format!("run `chmod 600 {}`", key.display())),
                "{err}"
            );
        }
        assert_eq!(snapshot(dir), before, "a refused key writes nothing");
    }
    // Running the printed command is the whole fix.
    let out = run("chmod", &["600", path_str(&key)], &[]);
    assert!(out.status.success());
    certgen_ok(dir, &["issue", "app.localhost"], &[]);
}

#[test]
fn an_encrypted_ca_key_is_pkcs8_that_openssl_reads_and_issue_asks_for_it() {
    if !have(
        "openssl",
        "version",
        "an_encrypted_ca_key_is_pkcs8_that_openssl_reads_and_issue_asks_for_it",
    ) {
        return;
    }
    let passphrase = "correct horse battery staple";
    for key_kind in ["ecdsa-p256", "ed25519", "rsa-2048"] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let key = dir.join("ca-key.pem");
        let shown = certgen_ok(
            dir,
            &["ca", "--encrypt", "--key", key_kind, "--json"],
            &[(PASS_ENV, passphrase)],
        );
        assert!(
            !shown.contains(passphrase),
            "the passphrase is never printed: {shown}"
        );
        assert!(shown.contains("\"key_encrypted\": true"), "{shown}");
        let pem = fs::read_to_string(&key).expect("key");
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"), "{pem}");
        #[cfg(unix)]
        assert_eq!(mode(&key), 0o600);
        // The format: PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, as openssl sees it.
        let asn1 = openssl_ok(&["asn1parse", "-in", path_str(&key)]);
        for part in ["PBES2", "PBKDF2", "hmacWithSHA256", "aes-256-cbc"] {
            assert!(asn1.contains(part), "{key_kind}: no {part} in {asn1}");
        }
        assert!(
            cert_and_key_match(&dir.join("ca.pem"), &key, Some(passphrase)),
            "{key_kind}"
        );
        let wrong = run(
            "openssl",
            &["pkey", "-in", path_str(&key), "-passin", "pass:wrong"],
            &[],
        );
        assert!(!wrong.status.success(), "openssl must need the passphrase");

        let shown = certgen_ok(dir, &["issue", "localhost"], &[(PASS_ENV, passphrase)]);
        assert!(!shown.contains(passphrase), "{shown}");
        openssl_ok(&[
            "verify",
            "-CAfile",
            path_str(&dir.join("ca.pem")),
            path_str(&dir.join("localhost.pem")),
        ]);

        // `sign` uses the CA key too: a CSR made by openssl, signed with the passphrase.
        let csr_dir = tempfile::tempdir().expect("tempdir");
        let csr = csr_dir.path().join("req.csr");
        openssl_csr(
            "ec",
            path_str(&csr_dir.path().join("req-key.pem")),
            path_str(&csr),
            "/CN=signed.localhost",
            &[],
        );
        certgen_ok(dir, &["sign", "--csr", path_str(&csr)], &[(PASS_ENV, passphrase)]);
        openssl_ok(&[
            "verify",
            "-CAfile",
            path_str(&dir.join("ca.pem")),
            path_str(&dir.join("signed.localhost.pem")),
        ]);

        let before = snapshot(dir);
        let out = certgen(dir, &["issue", "app.localhost"], &[(PASS_ENV, "not it")]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("wrong passphrase for") && !err.contains("not it"),
            "{err}"
        );
        // stdin is not a terminal here, so without the variable there is no one to ask.
        let out = certgen(dir, &["client", "alice"], &[]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("set CERTGEN_CA_PASSPHRASE"), "{err}");
        assert_eq!(snapshot(dir), before, "refused runs write nothing");
    }
}

#[test]
fn keys_openssl_encrypted_load_with_their_passphrase() {
    if !have(
        "openssl",
        "version",
        "keys_openssl_encrypted_load_with_their_passphrase",
    ) {
        return;
    }
    // OpenSSL 3's default (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC) and its scrypt variant.
    for extra in [&[][..], &["-scrypt"]] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        certgen_ok(dir, &["ca"], &[]);
        let key = dir.join("ca-key.pem");
        let encrypted = dir.join("encrypted.pem");
        let mut args = vec![
            "pkcs8",
            "-topk8",
            "-in",
            path_str(&key),
            "-out",
            path_str(&encrypted),
        ];
        args.extend(extra);
        args.extend(["-passout", "pass:from openssl"]);
        openssl_ok(&args);
        fs::rename(&encrypted, &key).expect("replace the key");
        #[cfg(unix)]
        set_mode(&key, 0o600);
        certgen_ok(dir, &["issue", "localhost"], &[(PASS_ENV, "from openssl")]);
        openssl_ok(&[
            "verify",
            "-CAfile",
            path_str(&dir.join("ca.pem")),
            path_str(&dir.join("localhost.pem")),
        ]);
        let out = certgen(dir, &["issue", "app.localhost"], &[(PASS_ENV, "other")]);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", text(&out.stderr));
    }
}

/// Runs `certgen ARGS --dir DIR` with a terminal (`script` provides one), typing each line of `typed` once the
/// prompt is up, as a person would.
#[cfg(unix)]
fn in_terminal(dir: &Path, certgen_args: &str, typed: &str) -> Output {
    use std::io::Write;
    let line = format!("{CERTGEN} {certgen_args} --dir {}", path_str(dir));
    let mut child = command("script", &["-qec", &line, "/dev/null"], &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn script");
    let mut stdin = child.stdin.take().expect("stdin");
    for line in typed.lines() {
        std::thread::sleep(Duration::from_millis(300));
        let _ = writeln!(stdin, "{line}");
    }
    drop(stdin);
    child.wait_with_output().expect("script output")
}

/// The prompt path: with a terminal and no variable, the passphrase typed twice encrypts the key, `issue` asks for
/// it once, and two different entries write nothing.
#[cfg(unix)]
#[test]
fn without_the_variable_a_terminal_prompt_asks_for_the_passphrase() {
    let test = "without_the_variable_a_terminal_prompt_asks_for_the_passphrase";
    if !have("openssl", "version", test) || !have("script", "--version", test) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let out = in_terminal(dir, "ca --encrypt", "typed secret\ntyped secret");
    let shown = text(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("Passphrase for") && shown.contains("Repeat the passphrase"),
        "{shown}"
    );
    assert!(cert_and_key_match(
        &dir.join("ca.pem"),
        &dir.join("ca-key.pem"),
        Some("typed secret")
    ));

    let out = in_terminal(dir, "issue localhost", "typed secret");
    assert!(out.status.success(), "{}", text(&out.stdout));
    openssl_ok(&[
        "verify",
        "-CAfile",
        path_str(&dir.join("ca.pem")),
        path_str(&dir.join("localhost.pem")),
    ]);

    let other = tempfile::tempdir().expect("tempdir");
    let out = in_terminal(other.path(), "ca --encrypt", "one\ntwo");
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(shown.contains("the two passphrases differ"), "{shown}");
    assert!(
        snapshot(other.path()).is_empty(),
        "nothing written after a mismatch"
    );
}

//! Helpers shared by the certgen integration tests: running certgen and its peer tools hermetically, and skipping
//! (or, under `LOCALTLS_REQUIRE_PEERS=1`, failing) a test whose peer tool is missing.

pub mod https;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub const CERTGEN: &str = env!("CARGO_BIN_EXE_certgen");
pub const PASS_ENV: &str = "CERTGEN_CA_PASSPHRASE";

/// `program ARGS` with stdin closed and no certgen settings inherited from the caller's environment, then `env`.
pub fn command(program: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_remove("CERTGEN_DIR")
        .env_remove("CERTGEN_P12_PASSWORD")
        .env_remove(PASS_ENV)
        .env_remove("CERTGEN_FAULT_AFTER")
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    cmd
}

pub fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    command(program, args, env)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Fails the test with `program`'s stderr unless it exited 0.
#[track_caller]
pub fn assert_success(program: &str, args: &[&str], out: &Output) {
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        text(&out.stderr)
    );
}

/// `certgen ARGS --dir DIR`.
pub fn certgen(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut all = args.to_vec();
    all.extend(["--dir", path_str(dir)]);
    run(CERTGEN, &all, env)
}

/// True when `tool VERSION_ARG` exits 0; otherwise skips (or fails under LOCALTLS_REQUIRE_PEERS=1).
pub fn have(tool: &str, version_arg: &str, test: &str) -> bool {
    have_or_skip(tool, version_arg, test, "")
}

/// [`have`] for openssl, whose skip line tells how to install it.
pub fn have_openssl(test: &str) -> bool {
    have_or_skip(
        "openssl",
        "version",
        test,
        " (install it, e.g. `apt-get install openssl`)",
    )
}

/// True when `tool ARG` starts at all, whatever its exit code (`certutil -H` exits 1); otherwise skips (or fails
/// under LOCALTLS_REQUIRE_PEERS=1).
pub fn starts(tool: &str, arg: &str, test: &str) -> bool {
    let started = Command::new(tool).arg(arg).output().is_ok();
    can_run(
        started,
        test,
        &format!("{tool} not found"),
        &format!("install {tool}"),
    )
}

fn have_or_skip(tool: &str, version_arg: &str, test: &str, install_hint: &str) -> bool {
    let runs = Command::new(tool)
        .arg(version_arg)
        .output()
        .is_ok_and(|o| o.status.success());
    can_run(
        runs,
        test,
        &format!("{tool} not found{install_hint}"),
        &format!("{tool} must run"),
    )
}

/// Whether a test whose precondition is `available` runs. When it is not, the test is skipped with `missing` as the
/// reason, except under `LOCALTLS_REQUIRE_PEERS=1` (CI), where every skip is a failure that says `fix`.
pub fn can_run(available: bool, test: &str, missing: &str, fix: &str) -> bool {
    if available {
        return true;
    }
    assert!(
        std::env::var("LOCALTLS_REQUIRE_PEERS").as_deref() != Ok("1"),
        "{test}: {missing}; LOCALTLS_REQUIRE_PEERS=1 forbids skipping: {fix}"
    );
    eprintln!("skipping {test}: {missing}");
    false
}

/// Makes a certificate signing request as another host would: `openssl req -new -nodes` with a fresh key (`key` is
/// `-newkey`'s argument; `ec` means P-256), the key written to `key_out` and the request to `out`. `extra` adds
/// flags such as `-addext subjectAltName=DNS:host` or `-outform DER`.
pub fn openssl_csr(key: &str, key_out: &str, out: &str, subject: &str, extra: &[&str]) {
    let mut args = vec!["req", "-new", "-nodes", "-newkey", key];
    if key == "ec" {
        args.extend(["-pkeyopt", "ec_paramgen_curve:P-256"]);
    }
    args.extend(["-keyout", key_out, "-out", out, "-subj", subject]);
    args.extend(extra);
    openssl_ok(&args);
}

/// Signs the request `csr` with the CA in `dir` (`ca.pem`, `ca-key.pem`) the way openssl does, bypassing certgen's
/// checks: 30 days, the extensions of the extfile `ext`, written to `out`. `extra` picks the serial and digest.
pub fn openssl_sign(dir: &Path, csr: &str, ext: &Path, out: &str, extra: &[&str]) {
    let (ca, ca_key) = (dir.join("ca.pem"), dir.join("ca-key.pem"));
    let mut args = vec![
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        path_str(&ca),
        "-CAkey",
        path_str(&ca_key),
        "-days",
        "30",
        "-extfile",
        path_str(ext),
        "-out",
        out,
    ];
    args.extend(extra);
    openssl_ok(&args);
}

/// `openssl ARGS`, which must succeed; returns stdout.
pub fn openssl_bytes(args: &[&str]) -> Vec<u8> {
    let out = run("openssl", args, &[]);
    assert_success("openssl", args, &out);
    out.stdout
}

pub fn openssl_ok(args: &[&str]) -> String {
    text(&openssl_bytes(args))
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// Every file of a folder with its content, to prove a command changed nothing.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .expect("read folder")
        .filter_map(Result::ok)
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap_or_default(),
            )
        })
        .collect()
}

#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

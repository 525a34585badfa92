//! Helpers shared by the certgen integration tests: running certgen and its peer tools hermetically, and skipping
//! (or, under `LOCALTLS_REQUIRE_PEERS=1`, failing) a test whose peer tool is missing.

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

/// True when `tool` runs; otherwise skips (or fails under LOCALTLS_REQUIRE_PEERS=1).
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

fn have_or_skip(tool: &str, version_arg: &str, test: &str, install_hint: &str) -> bool {
    if Command::new(tool)
        .arg(version_arg)
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return true;
    }
    assert!(
        std::env::var("LOCALTLS_REQUIRE_PEERS").as_deref() != Ok("1"),
        "{test}: {tool} is required (LOCALTLS_REQUIRE_PEERS=1) but cannot run"
    );
    eprintln!("skipping {test}: {tool} not found{install_hint}");
    false
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

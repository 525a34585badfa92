//! The xtask binary as a user runs it: help, usage errors (exit 2) and a bad knob (exit 1, one line). None of
//! these build, start or change anything, so they run with a throw-away HOME in a temp dir.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

fn xtask(args: &[&str]) -> Output {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    let home = std::env::temp_dir().join(format!("xtask-cli-home-{}-{run}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(std::env::temp_dir())
        .env("HOME", &home)
        .output()
        .expect("run xtask");
    let _ = std::fs::remove_dir_all(&home);
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn help_lists_the_tasks() {
    let out = xtask(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for task in [
        "up", "certs", "trust", "untrust", "status", "serve", "test", "e2e", "soak", "bench",
    ] {
        assert!(help.contains(&format!("  {task} ")), "no {task} in:\n{help}");
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["frobnicate"][..],
        &["bench", "--quick", "--smoke"],
        &["status", "--dry-run"],
    ] {
        let out = xtask(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).starts_with("xtask: error: "),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_bad_soak_knob_fails_with_one_line_naming_it_and_the_fix() {
    let out = xtask(&["soak", "--minutes", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "xtask: error: --minutes 0: give a positive number of minutes, e.g. --minutes 10\n"
    );
}

#[test]
fn a_bad_flag_value_is_one_line_naming_it_and_the_help_to_read() {
    let out = xtask(&["soak", "--minutes", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "xtask: error: invalid value 'x' for '--minutes <MINUTES>': invalid float literal (see 'cargo xtask soak --help')\n"
    );
    let version = xtask(&["--version"]);
    assert_eq!(version.status.code(), Some(0), "{}", stderr(&version));
}

//! docs/outside.md, the walk-through from a home server to a public page talking wss to it, checked as far as a
//! machine without a public name can: its `sh runs-in-ci` block runs line by line on loopback in a fresh folder
//! (as the README tour does), every `certgen` and `wsecho` command anywhere in the page parses with the built
//! binaries, and the systemd unit it installs (docs/deploy/wsecho.service) passes `systemd-analyze verify` and runs a
//! command line `wsecho serve` accepts. The steps that need a router, a public name or Let's Encrypt stay unrun.

mod doc_shell;

use std::path::Path;
use std::process::Command;

use doc_shell::{FreshFolder, Line, built, run_bounded};

/// The fence that marks a block CI runs.
const RUNNABLE: &str = "```sh runs-in-ci\n";

fn workspace_file(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The bodies of the page's code blocks whose fence starts with `fence` (e.g. "```sh").
fn blocks<'a>(page: &'a str, fence: &str) -> Vec<&'a str> {
    page.split(fence)
        .skip(1)
        .filter_map(|rest| rest.split_once("```").map(|(body, _)| body))
        .collect()
}

/// The hosts a line connects to: every URL except an origin it only names (`--allow-origin URL`,
/// `--header "Origin: URL"`).
fn network_targets(command: &str) -> Vec<String> {
    let words: Vec<&str> = command
        .split_whitespace()
        .map(|w| w.trim_matches(['"', '\'']))
        .collect();
    words
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || !matches!(words[i - 1], "--allow-origin" | "Origin:"))
        .filter_map(|(_, word)| word.split_once("://").map(|(_, rest)| rest))
        .map(|rest| {
            let authority = rest.split('/').next().unwrap_or_default();
            match authority.strip_prefix('[') {
                Some(v6) => v6.split(']').next().unwrap_or_default().to_string(),
                None => authority.split(':').next().unwrap_or_default().to_string(),
            }
        })
        .collect()
}

/// Does `wsecho client` have `--ca system` yet? (It is being added alongside this page.)
fn client_trusts_the_system_store() -> bool {
    let help = Command::new(built("wsecho"))
        .args(["client", "--help"])
        .output()
        .expect("wsecho client --help");
    String::from_utf8_lossy(&help.stdout).contains("system")
}

#[test]
fn the_rehearsal_runs_on_loopback_in_a_fresh_folder() {
    let page = workspace_file("docs/outside.md");
    let lines: Vec<Line> = blocks(&page, RUNNABLE)
        .into_iter()
        .flat_map(doc_shell::commands)
        .collect();
    assert!(
        lines.len() >= 8,
        "docs/outside.md has its rehearsal block: {lines:?}"
    );
    let system_store = client_trusts_the_system_store();
    let mut folder = FreshFolder::new("outside.md");
    let mut ran = 0;
    for line in &lines {
        for host in network_targets(&line.command) {
            assert!(
                matches!(host.as_str(), "localhost" | "127.0.0.1" | "::1"),
                "a runs-in-ci line connects to {host}, not loopback: `{}`",
                line.command
            );
        }
        if line.command.contains("--ca system") && !system_store {
            eprintln!(
                "outside.md: skipped `{}` (this wsecho client has no --ca system yet)",
                line.command
            );
            continue;
        }
        folder.run(line);
        ran += 1;
    }
    assert!(ran >= 7, "the rehearsal ran its lines: {lines:?}");
}

/// The `certgen ...` or `wsecho ...` command in one shell line, without `sudo`, `!`, a trailing `&` or what follows
/// `&&`.
fn tool_command(line: &str) -> Option<String> {
    let first = line
        .split("&&")
        .next()
        .unwrap_or_default()
        .trim()
        .trim_end_matches('&')
        .trim();
    let command = first.trim_start_matches("! ").trim_start_matches("sudo ").trim();
    (command.starts_with("certgen ") || command.starts_with("wsecho ")).then(|| command.to_string())
}

/// Every `certgen` and `wsecho` command in the sh blocks of the two pages about serving beyond this machine, run
/// with `--help` after its arguments: clap then parses every one of them and stops before running anything.
#[test]
fn every_certgen_and_wsecho_command_in_the_pages_parses() {
    let folder = FreshFolder::new("outside.md flags");
    for (name, at_least) in [("docs/outside.md", 25), ("docs/deploy.md", 2)] {
        let page = workspace_file(name);
        let mut checked = 0;
        for block in blocks(&page, "```sh") {
            for line in doc_shell::commands(block) {
                let Some(command) = tool_command(&line.command) else {
                    continue;
                };
                let (code, output) = run_bounded(&mut folder.sh(&format!("{command} --help")));
                assert_eq!(code, Some(0), "{name}: `{command}` does not parse:\n{output}");
                checked += 1;
            }
        }
        assert!(checked >= at_least, "{name}: its commands were found ({checked})");
        eprintln!("{name}: {checked} certgen and wsecho commands parse");
    }
}

/// The unit's `ExecStart=` words (the unit uses no quoting, which the test checks).
fn exec_start(unit: &str) -> Vec<String> {
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("the unit has ExecStart=");
    assert!(
        !line.contains(['"', '\'', '\\', '$', '%']),
        "ExecStart= uses no quoting, variables or specifiers, so this test reads it as systemd does: {line}"
    );
    line.split_whitespace().map(String::from).collect()
}

/// `words` run `/usr/local/bin/wsecho serve` with arguments it accepts (`--help` after them: clap parses them all
/// and stops).
#[track_caller]
fn assert_parses_as_serve(words: &[String]) {
    assert_eq!(words[..2], ["/usr/local/bin/wsecho", "serve"], "{words:?}");
    let out = Command::new(built("wsecho"))
        .args(&words[1..])
        .arg("--help")
        .output()
        .expect("run wsecho");
    assert!(
        out.status.success(),
        "the unit's command line does not parse as wsecho serve: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The value of the unit's `KEY=` line.
fn setting<'a>(unit: &'a str, key: &str) -> Option<&'a str> {
    unit.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
}

#[test]
fn the_service_unit_runs_wsecho_serve_unprivileged_with_its_state_kept() {
    let unit = workspace_file("docs/deploy/wsecho.service");
    let words = exec_start(&unit);
    assert_parses_as_serve(&words);
    let after = |flag: &str| {
        words
            .iter()
            .position(|w| w == flag)
            .and_then(|i| words.get(i + 1))
            .map(String::as_str)
    };
    assert!(after("--acme").is_some(), "it gets its certificate by ACME");
    let state = setting(&unit, "StateDirectory").expect("StateDirectory=");
    assert_eq!(
        after("--acme-dir"),
        Some(format!("/var/lib/{state}").as_str()),
        "the ACME folder is the state directory systemd keeps and hands to the service's user"
    );
    assert_eq!(setting(&unit, "DynamicUser"), Some("yes"), "not root");
    assert_eq!(setting(&unit, "User"), None, "DynamicUser makes the user");
    for key in ["AmbientCapabilities", "CapabilityBoundingSet"] {
        assert_eq!(
            setting(&unit, key),
            Some("CAP_NET_BIND_SERVICE"),
            "{key}: binding 443 is its one privilege"
        );
    }
}

/// Step 8's `sed ... | sudo tee /etc/systemd/system/wsecho.service` line, run into a file instead: the unit it
/// installs names the reader's server and page everywhere and still parses.
#[test]
fn the_pages_sed_line_puts_the_readers_names_into_the_unit() {
    let page = workspace_file("docs/outside.md");
    let install = " | sudo tee /etc/systemd/system/wsecho.service >/dev/null";
    let sed = blocks(&page, "```sh")
        .into_iter()
        .flat_map(doc_shell::commands)
        .find_map(|line| line.command.strip_suffix(install).map(String::from))
        .expect("outside.md installs the unit with sed");
    let out = doc_shell::temp_path("installed.service");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let (code, output) = run_bounded(
        Command::new("sh")
            .arg("-c")
            .arg(format!("{sed} > '{}'", out.display()))
            .current_dir(root),
    );
    let unit = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    assert_eq!(code, Some(0), "`{sed}`: {output}");
    assert_parses_as_serve(&exec_start(&unit));
    let words = exec_start(&unit).join(" ");
    for wanted in [
        "--acme myhome.duckdns.org ",
        "--allow-origin https://me.github.io ",
        "--allow-origin https://myhome.duckdns.org ",
    ] {
        assert!(words.contains(wanted), "no `{wanted}` in: {words}");
    }
    assert!(!words.contains("example.com"), "a placeholder is left: {words}");
}

#[test]
fn the_service_unit_passes_systemd_analyze_verify() {
    let available = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        assert_ne!(
            std::env::var("LOCALTLS_REQUIRE_PEERS").as_deref(),
            Ok("1"),
            "systemd-analyze is missing: apt-get install systemd"
        );
        eprintln!(
            "SKIP the_service_unit_passes_systemd_analyze_verify: no systemd-analyze (apt-get install systemd)"
        );
        return;
    }
    let unit = workspace_file("docs/deploy/wsecho.service");
    // verify also checks that ExecStart's program exists: point it at the binary this workspace built.
    let wsecho = built("wsecho");
    let here = unit.replace("/usr/local/bin/wsecho", wsecho.to_str().expect("UTF-8 path"));
    let dir = doc_shell::temp_path("unit");
    std::fs::create_dir_all(&dir).expect("unit folder");
    let path = dir.join("wsecho.service");
    std::fs::write(&path, here).expect("write the unit");
    let (code, output) = run_bounded(Command::new("systemd-analyze").arg("verify").arg(&path));
    let _ = std::fs::remove_dir_all(&dir);
    // verify exits 0 for unknown keys and bad values (it only warns), so any output is a failure.
    assert!(
        code == Some(0) && output.trim().is_empty(),
        "systemd-analyze verify docs/deploy/wsecho.service (exit {code:?}):\n{output}"
    );
}

#[test]
fn only_urls_that_are_connected_to_count_as_targets() {
    let line = r#"wsecho client wss://localhost:9443/ --header "Origin: https://evil.example" --allow-origin https://www.example.com"#;
    assert_eq!(network_targets(line), ["localhost"]);
    assert_eq!(
        network_targets("curl -k https://ws.example.com/healthz"),
        ["ws.example.com"]
    );
    assert_eq!(network_targets("curl http://[::1]:8080/"), ["::1"]);
}

#[test]
fn tool_commands_lose_sudo_negation_background_and_what_follows() {
    assert_eq!(
        tool_command("sudo wsecho serve --acme a.example &").as_deref(),
        Some("wsecho serve --acme a.example")
    );
    assert_eq!(
        tool_command("certgen acme renew --dir d && nginx -s reload").as_deref(),
        Some("certgen acme renew --dir d")
    );
    assert_eq!(
        tool_command("! wsecho client ws://127.0.0.1:1/").as_deref(),
        Some("wsecho client ws://127.0.0.1:1/")
    );
    assert_eq!(tool_command("sudo install -m 0755 a b"), None);
}

//! README.md's "A one-minute tour", run line by line as a new user would, in a fresh folder with a throw-away HOME,
//! so the README cannot drift from what the tools do. The `cargo install` line is replaced by the binaries this
//! workspace built (`cargo xtask test` builds every target first); a line ending in `&` is the server, started in
//! the background and stopped at the end. Needs certutil for the trust lines (a CI peer).

mod doc_shell;

use std::path::Path;
use std::process::Command;

use doc_shell::{FreshFolder, bin_dir, run_bounded};

/// The commands of the tour's code block, comments and blank lines dropped.
fn tour_commands(readme: &str) -> Vec<doc_shell::Line> {
    let after = readme
        .split_once("## A one-minute tour")
        .expect("README has the tour")
        .1;
    let block = after
        .split_once("```sh\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("the tour has a sh block")
        .0;
    doc_shell::commands(block)
}

#[test]
fn the_readme_tour_runs_top_to_bottom_in_a_fresh_folder() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let commands = tour_commands(&readme);
    let mut folder = FreshFolder::new("tour");
    firefox_started_once(&folder.home);
    let mut ran = 0;
    for line in &commands {
        if line.command.starts_with("cargo install") {
            eprintln!(
                "tour: skipped `{}` (using the binaries in {})",
                line.command,
                bin_dir().display()
            );
            continue;
        }
        folder.run(line);
        ran += 1;
    }
    assert!(ran >= 12, "the tour has its commands: {commands:?}");
}

/// The tour's reader has used the browsers on the machine: where Firefox is installed, it has a profile with a
/// certificate database (as its first start leaves), or `trust status` rightly reports a Firefox it cannot cover.
fn firefox_started_once(home: &Path) {
    let profile = home.join(".config/mozilla/firefox/tour.default-release");
    std::fs::create_dir_all(&profile).expect("Firefox profile folder");
    let mut certutil = Command::new("certutil");
    certutil
        .args(["-N", "--empty-password", "-d"])
        .arg(format!("sql:{}", profile.display()));
    let (code, output) = run_bounded(&mut certutil);
    assert_eq!(code, Some(0), "{certutil:?}: {output}");
}

#[test]
fn tour_lines_lose_their_comments_and_blank_lines() {
    let readme = "## A one-minute tour\n\n```sh\ncertgen ca   # a CA\n       # more words\n\nwsecho serve --x &   # bg\n```\n";
    let commands: Vec<String> = tour_commands(readme)
        .into_iter()
        .map(|line| line.command)
        .collect();
    assert_eq!(commands, ["certgen ca", "wsecho serve --x &"]);
}

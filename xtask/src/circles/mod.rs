//! `cargo xtask circles`: no module reaches, through its imports, back to itself.
//!
//! Every crate root (`lib.rs`, `main.rs`) under `crates/*/src`, `xtask/src` and `xtask/*/src` is walked through its
//! `mod` declarations, one module per file. A module depends on another when it names an item through it:
//! `crate::a::b`, `super::b`, `self::b`, or `b::…` for a child declared with `mod b;`. A path counts for the longest
//! prefix that is a module file, so a child that imports `super::Thing` from its facade depends on the facade:
//! a facade `mod.rs` that uses its children and also holds the types they import is a circle here, and shared types
//! belong in files named after them. A re-export (`pub use a::Thing`) is followed to where `Thing` lives and is not a
//! dependency of the module that re-exports it, so `crate::Error` from anywhere points at `error.rs`. `mod`
//! declarations alone are structure, not dependencies; items under `#[cfg(test)]` are left out, because a unit-test
//! module reaching back up is how unit tests work.

mod graph;
mod parse;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use graph::ModuleGraph;

/// Prints every import circle in the workspace; fails when there is one.
pub fn run(root: &Path) -> anyhow::Result<()> {
    let report = check_workspace(root)?;
    print!("{}", report.text);
    if report.circles > 0 {
        bail!(
            "{} import circle(s): move the types both sides need into a file named after them",
            report.circles
        );
    }
    Ok(())
}

/// What [`run`] prints, and how many circles it found.
pub struct Report {
    pub text: String,
    pub circles: usize,
}

pub fn check_workspace(root: &Path) -> anyhow::Result<Report> {
    let mut text = String::new();
    let mut circles = 0;
    let mut modules = 0;
    for src in source_dirs(root)? {
        for crate_root in ["lib.rs", "main.rs"].map(|name| src.join(name)) {
            if !crate_root.is_file() {
                continue;
            }
            let graph = ModuleGraph::read(&crate_root)?;
            modules += graph.files.len();
            for circle in graph.circles() {
                circles += 1;
                text += &graph.describe(root, &circle);
            }
        }
    }
    if circles == 0 {
        text += &format!("no import circles among {modules} modules\n");
    }
    Ok(Report { text, circles })
}

/// `crates/*/src`, `xtask/src` and `xtask/*/src`, sorted.
fn source_dirs(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut dirs = vec![root.join("xtask/src")];
    for parent in [root.join("crates"), root.join("xtask")] {
        let entries =
            std::fs::read_dir(&parent).with_context(|| format!("cannot list {}", parent.display()))?;
        for entry in entries {
            let src = entry?.path().join("src");
            if src.is_dir() {
                dirs.push(src);
            }
        }
    }
    dirs.sort();
    dirs.dedup();
    Ok(dirs)
}

#[cfg(test)]
mod tests {
    use super::graph::ModuleGraph;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        dir
    }

    fn circles_in(files: &[(&str, &str)]) -> Vec<Vec<String>> {
        let dir = tree(files);
        let graph = ModuleGraph::read(&dir.path().join("lib.rs")).expect("reads");
        graph
            .circles()
            .into_iter()
            .map(|circle| circle.into_iter().map(|m| m.join("/")).collect())
            .collect()
    }

    #[test]
    fn two_siblings_that_import_each_other_are_a_circle() {
        let circles = circles_in(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::b::B;\npub struct A;\n"),
            ("b.rs", "pub struct B(super::a::A);\n"),
        ]);
        assert_eq!(circles, vec![vec!["a", "b"]]);
    }

    #[test]
    fn a_facade_holding_a_type_its_child_imports_is_a_circle_and_a_named_file_is_not() {
        let facade = circles_in(&[
            ("lib.rs", "mod server;\n"),
            (
                "server/mod.rs",
                "mod echo;\npub struct Config;\npub fn start() { echo::run(Config) }\n",
            ),
            ("server/echo.rs", "use super::Config;\npub fn run(_: Config) {}\n"),
        ]);
        assert_eq!(facade, vec![vec!["server", "server/echo"]]);
        let named = circles_in(&[
            ("lib.rs", "mod server;\n"),
            (
                "server/mod.rs",
                "mod config;\nmod echo;\npub use config::Config;\npub fn start() { echo::run(Config) }\n",
            ),
            ("server/config.rs", "pub struct Config;\n"),
            (
                "server/echo.rs",
                "use super::config::Config;\npub fn run(_: Config) {}\n",
            ),
        ]);
        assert!(named.is_empty(), "{named:?}");
    }

    #[test]
    fn use_groups_nested_paths_and_self_are_followed() {
        let circles = circles_in(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::{x::Y, b::{self, inner::{Deep}}};\n"),
            ("b/mod.rs", "mod inner;\nfn g() { crate::a::h() }\n"),
            ("b/inner.rs", "pub struct Deep(crate::a::Z);\n"),
        ]);
        assert_eq!(circles, vec![vec!["a", "b", "b/inner"]]);
    }

    #[test]
    fn comments_strings_and_test_items_do_not_count() {
        let circles = circles_in(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::b::B;\n"),
            (
                "b.rs",
                "// crate::a::A\n/* crate::a::A /* nested */ */\nconst S: &str = \"crate::a::A\";\n\
                 const R: &str = r#\"crate::a::A \"quoted\"\"#;\nfn f<'a>(_: &'a str) -> char { '\\'' }\n\
                 #[cfg(test)]\nmod tests { use crate::a::A; }\n#[cfg(test)]\nuse crate::a::A;\n",
            ),
        ]);
        assert!(circles.is_empty(), "{circles:?}");
    }

    #[test]
    fn a_reexport_points_at_the_file_that_defines_the_item() {
        let circles = circles_in(&[
            (
                "lib.rs",
                "mod error;\nmod server;\npub use error::Error;\npub use server::{start as run, Config};\n",
            ),
            ("error.rs", "pub struct Error;\n"),
            (
                "server/mod.rs",
                "mod config;\nmod start;\npub use config::Config;\npub use self::start::start;\n",
            ),
            ("server/config.rs", "pub struct Config(crate::Error);\n"),
            (
                "server/start.rs",
                "use super::Config;\nuse crate::Error;\npub fn start(_: Config) -> Error { todo!() }\n",
            ),
        ]);
        assert!(circles.is_empty(), "{circles:?}");
        let through_the_facade = circles_in(&[
            ("lib.rs", "mod server;\npub use server::run;\n"),
            (
                "server/mod.rs",
                "mod start;\npub struct Config;\npub fn run() { start::start() }\n",
            ),
            (
                "server/start.rs",
                "pub fn start() { let _ = crate::server::Config; }\n",
            ),
        ]);
        assert_eq!(through_the_facade, vec![vec!["server", "server/start"]]);
    }

    #[test]
    fn a_child_named_without_crate_or_super_counts() {
        let circles = circles_in(&[
            ("lib.rs", "mod a;\nmod b;\npub fn root() { a::f(); }\n"),
            ("a.rs", "pub fn f() { crate::b::g() }\n"),
            ("b.rs", "pub fn g() { crate::root() }\n"),
        ]);
        assert_eq!(circles, vec![vec!["", "a", "b"]]);
    }

    #[test]
    fn the_workspace_has_no_import_circles() {
        let root = crate::workspace_root();
        let report = super::check_workspace(&root).expect("the workspace's sources are readable");
        assert_eq!(report.circles, 0, "\n{}", report.text);
    }
}

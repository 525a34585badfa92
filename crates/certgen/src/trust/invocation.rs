//! The one rule for every command certgen, wsecho and xtask print as a fix: it must run from where the user is.
//! `certgen ARGS` when `certgen` is on PATH; inside this repository without it, `cargo run -q -p certgen -- ARGS`;
//! elsewhere the path of the certgen binary that is running. Under `cargo xtask` the trust tasks are named by
//! their xtask form (`cargo xtask trust`), which also knows the repository's certs folder.

use std::fmt;
use std::path::{Path, PathBuf};

use super::ca_cert::CaCert;
use super::command::find_program;
use super::store_kind::StoreKind;

/// How the user runs certgen from here; see the module documentation for the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// What comes before certgen's arguments: `certgen`, `cargo run -q -p certgen --`, or a path.
    certgen: String,
    /// The certs folder a bare `certgen` reads (`./certs`), so fixes name `--ca` only when it differs.
    default_dir: PathBuf,
    /// Running under `cargo xtask`: trust fixes name its tasks.
    xtask: bool,
}

impl Invocation {
    /// The rule applied to this process: PATH, the current directory and the running binary.
    pub fn detect() -> Invocation {
        let cwd = std::env::current_dir().unwrap_or_default();
        let running = std::env::current_exe().ok();
        Invocation::decide(find_program("certgen", &[]).is_some(), &cwd, running.as_deref())
    }

    /// The rule itself: `on_path` (certgen is on PATH), `cwd`, and the binary running now.
    pub fn decide(on_path: bool, cwd: &Path, running: Option<&Path>) -> Invocation {
        let in_repository = cwd
            .ancestors()
            .any(|dir| dir.join("crates/certgen/Cargo.toml").is_file() && dir.join("Cargo.toml").is_file());
        let running_certgen = running.filter(|exe| exe.file_stem().is_some_and(|stem| stem == "certgen"));
        let certgen = match (on_path, in_repository, running_certgen) {
            (true, _, _) => "certgen".to_owned(),
            (false, true, _) => "cargo run -q -p certgen --".to_owned(),
            (false, false, Some(exe)) => crate::shell::quote(exe),
            // Neither installed nor in the repository (say, wsecho installed alone): certgen must be installed first.
            (false, false, None) => "certgen".to_owned(),
        };
        Invocation {
            certgen,
            default_dir: cwd.join("certs"),
            xtask: false,
        }
    }

    /// The same rule, for `cargo xtask`, whose own tasks are the fixes for the repository's CA.
    pub fn for_xtask(self) -> Invocation {
        Invocation { xtask: true, ..self }
    }

    /// `certgen ARGS` as the user runs it here.
    pub fn certgen(&self, args: impl fmt::Display) -> String {
        format!("{} {args}", self.certgen)
    }

    /// The command that trusts `ca` in the stores of `kinds` (empty: this user's browsers).
    pub fn trust_install(&self, ca: &CaCert, kinds: &[StoreKind]) -> String {
        let system = kinds.contains(&StoreKind::System);
        if self.xtask && !kinds.contains(&StoreKind::Java) {
            return if system {
                "cargo xtask trust --system".to_owned()
            } else {
                "cargo xtask trust".to_owned()
            };
        }
        self.certgen(format!("trust install{}{}", self.ca_arg(ca), store_arg(kinds)))
    }

    /// The command that removes certgen's entries for `ca` (such as a CA that was replaced) from the stores of
    /// `kinds` (empty: this user's browsers).
    pub fn trust_uninstall(&self, ca: &CaCert, kinds: &[StoreKind]) -> String {
        self.certgen(format!("trust uninstall{}{}", self.ca_arg(ca), store_arg(kinds)))
    }

    /// ` --ca PATH`, or nothing when `ca` is the file a bare command reads.
    fn ca_arg(&self, ca: &CaCert) -> String {
        if ca.path() == self.default_dir.join("ca.pem") {
            String::new()
        } else {
            format!(" --ca {}", crate::shell::quote(ca.path()))
        }
    }
}

/// ` --store ...` for `kinds` beyond the default `nss` (which it keeps), or nothing.
fn store_arg(kinds: &[StoreKind]) -> String {
    let others: Vec<String> = kinds
        .iter()
        .filter(|k| **k != StoreKind::Nss)
        .map(ToString::to_string)
        .collect();
    if others.is_empty() {
        String::new()
    } else if kinds.contains(&StoreKind::Nss) {
        format!(" --store nss,{}", others.join(","))
    } else {
        format!(" --store {}", others.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::super::ca_cert::test_ca;
    use super::*;

    #[test]
    fn on_path_then_repository_then_the_running_binary() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let elsewhere = std::env::temp_dir();
        let exe = Path::new("/opt/tools/certgen");
        assert_eq!(
            Invocation::decide(true, &elsewhere, Some(exe)).certgen("x"),
            "certgen x"
        );
        assert_eq!(
            Invocation::decide(false, &repo.join("crates"), Some(exe)).certgen("x"),
            "cargo run -q -p certgen -- x"
        );
        assert_eq!(
            Invocation::decide(false, &elsewhere, Some(exe)).certgen("x"),
            "/opt/tools/certgen x"
        );
        assert_eq!(
            Invocation::decide(false, &elsewhere, Some(Path::new("/usr/bin/wsecho"))).certgen("x"),
            "certgen x"
        );
    }

    /// The one rule for printed fixes: `--ca` only when the CA is not `./certs/ca.pem`, `--store` beyond nss, and
    /// cargo xtask's own task under xtask.
    #[test]
    fn fix_commands_name_what_differs_from_the_defaults() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("certs")).expect("certs");
        let ca = test_ca(&dir.path().join("certs"));
        let here = Invocation::decide(true, dir.path(), None);
        assert_eq!(here.trust_install(&ca, &[]), "certgen trust install");
        assert_eq!(
            here.trust_install(&ca, &[StoreKind::Nss, StoreKind::System]),
            "certgen trust install --store nss,system"
        );
        assert_eq!(
            here.trust_uninstall(&ca, &[StoreKind::System]),
            "certgen trust uninstall --store system"
        );
        let elsewhere = Invocation::decide(true, &std::env::temp_dir(), None);
        assert_eq!(
            elsewhere.trust_install(&ca, &[StoreKind::Nss]),
            format!("certgen trust install --ca {}", ca.path().display())
        );
        let xtask = here.for_xtask();
        assert_eq!(xtask.trust_install(&ca, &[StoreKind::Nss]), "cargo xtask trust");
        assert_eq!(
            xtask.trust_install(&ca, &[StoreKind::Nss, StoreKind::System]),
            "cargo xtask trust --system"
        );
        assert_eq!(xtask.certgen("trust env"), "certgen trust env");
    }
}

//! `certgen trust install|uninstall|status|env`: the CA in this machine's trust stores, and in programs' variables.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use certgen::Error;
use certgen::trust::CaCert;

use super::output::print_json;
use super::values::{DirArg, folder_of};

#[derive(Debug, Args)]
pub struct TrustArgs {
    #[command(subcommand)]
    action: TrustAction,
}

#[derive(Debug, Subcommand)]
enum TrustAction {
    /// Add the CA to this user's browsers (NSS), or to the --store given; a second run changes nothing.
    Install {
        #[command(flatten)]
        target: TrustTarget,
        /// Print every command instead of running it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Remove exactly the entries `install` added for this CA (entries made by hand stay).
    Uninstall {
        #[command(flatten)]
        target: TrustTarget,
        /// Print every command instead of running it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Where the CA is trusted and until when, and whether the certificates beside it pass; exit 0 only if all do.
    Status {
        #[command(flatten)]
        target: TrustTarget,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the variables that make programs trust the CA and keep the public roots; use it as
    /// `eval "$(certgen trust env)"`. Writes DIR/ca-bundle.pem: the system bundle ($CERTGEN_SYSTEM_CA_BUNDLE, or
    /// the distribution's) plus the CA.
    Env {
        #[command(flatten)]
        ca: CaFileArgs,
        /// The shell to write for.
        #[arg(long, value_enum, default_value = "sh")]
        shell: ShellArg,
        /// Print the bundle and each variable (its value, what reads it, whether it adds or replaces roots) as JSON.
        #[arg(long, conflicts_with = "shell")]
        json: bool,
        /// Print Dockerfile lines instead, which do the same inside a Debian, Ubuntu or Alpine image.
        #[arg(long, conflicts_with_all = ["shell", "json"])]
        docker: bool,
    },
}

impl TrustArgs {
    /// The folder of the CA file.
    pub(crate) fn folder(&self) -> PathBuf {
        let ca = self.action.ca();
        ca.ca.as_deref().map_or_else(|| ca.dir.dir.clone(), folder_of)
    }
}

impl TrustAction {
    fn ca(&self) -> &CaFileArgs {
        match self {
            TrustAction::Install { target, .. }
            | TrustAction::Uninstall { target, .. }
            | TrustAction::Status { target, .. } => &target.ca,
            TrustAction::Env { ca, .. } => ca,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ShellArg {
    /// sh, bash, zsh: `export NAME='VALUE'`.
    Sh,
    /// `set -gx NAME 'VALUE'`.
    Fish,
    /// `$env:NAME = 'VALUE'`.
    Powershell,
}

/// The CA a trust command works on.
#[derive(Debug, Args)]
struct CaFileArgs {
    #[command(flatten)]
    dir: DirArg,
    /// The CA certificate (PEM) [default: DIR/ca.pem].
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
}

impl CaFileArgs {
    fn load(&self) -> Result<CaCert, Error> {
        CaCert::load(&self.ca.clone().unwrap_or_else(|| self.dir.dir.join("ca.pem")))
    }
}

#[derive(Debug, Args)]
struct TrustTarget {
    #[command(flatten)]
    ca: CaFileArgs,
    /// Stores to use, repeatable or comma-separated. Only this user's browser databases unless asked: `system`
    /// and `java` change what the whole machine trusts.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        value_name = "STORE",
        default_value = "nss"
    )]
    store: Vec<StoreArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum StoreArg {
    /// This user's NSS databases: Chrome/Chromium on Linux and every Firefox profile (deb, snap, flatpak).
    Nss,
    /// The OS store: Debian/Ubuntu, Fedora/RHEL, Arch, openSUSE, macOS, Windows (current user); WSL: both sides.
    System,
    /// The cacerts keystore of the JDK in JAVA_HOME.
    Java,
    /// Every store found on this machine.
    All,
}

impl TrustTarget {
    /// The selected kinds (`nss` unless `--store` says otherwise); empty means all.
    fn kinds(&self) -> Vec<certgen::trust::StoreKind> {
        if self.store.contains(&StoreArg::All) {
            return Vec::new();
        }
        self.store
            .iter()
            .filter_map(|store| match store {
                StoreArg::Nss => Some(certgen::trust::StoreKind::Nss),
                StoreArg::System => Some(certgen::trust::StoreKind::System),
                StoreArg::Java => Some(certgen::trust::StoreKind::Java),
                StoreArg::All => None,
            })
            .collect()
    }
}

pub(crate) fn trust(args: TrustArgs) -> Result<(), Error> {
    let ca = args.action.ca().load()?;
    let host = certgen::trust::Host::current();
    let problems = match args.action {
        TrustAction::Env {
            shell, json, docker, ..
        } => return trust_env(&ca, shell, json, docker),
        TrustAction::Install { dry_run, target } => {
            let report = certgen::trust::install(&ca, &host, &target.kinds(), dry_run);
            print!("{report}");
            report.problems()
        }
        TrustAction::Uninstall { dry_run, target } => {
            let report = certgen::trust::uninstall(&ca, &host, &target.kinds(), dry_run);
            print!("{report}");
            report.problems()
        }
        TrustAction::Status { json, target } => {
            // The certificates checked are the ones beside the CA.
            let certs_dir = ca.path().parent().unwrap_or(Path::new("."));
            let report = certgen::trust::status(&ca, &host, &target.kinds(), certs_dir);
            if json {
                print_json(&report)?;
            } else {
                print!("{report}");
            }
            report.problems()
        }
    };
    problems.map_or(Ok(()), |problems| Err(Error::CheckFailed(problems)))
}

fn trust_env(ca: &CaCert, shell: ShellArg, json: bool, docker: bool) -> Result<(), Error> {
    let env = certgen::trust::env(ca)?;
    if json {
        return print_json(&env);
    }
    if docker {
        print!("{}", env.dockerfile(&ca.name()));
        return Ok(());
    }
    let shell = match shell {
        ShellArg::Sh => certgen::trust::Shell::Sh,
        ShellArg::Fish => certgen::trust::Shell::Fish,
        ShellArg::Powershell => certgen::trust::Shell::PowerShell,
    };
    print!("{}", env.script(shell));
    Ok(())
}

//! The clap front end of `certgen`: one file per command group, flag values typed while clap parses them
//! (`values.rs` and the library's parsers), everything printed in `output.rs`. Handlers call the library and print;
//! the library decides. Declared by `main.rs`, never by `lib.rs`: the library knows nothing of clap or printing.
//! Adding a subcommand takes one `Command` variant, one arm in [`run`] and in `folders`, and one handler.

mod acme;
mod broken;
mod ca;
mod inspect;
mod leaf;
mod output;
mod trust;
mod values;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use certgen::Error;

/// Local TLS certificates that browsers, phones and programs accept: a name-constrained local CA and what it signs.
#[derive(Debug, Parser)]
#[command(name = "certgen", version, propagate_version = true, max_term_width = 110)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the local root CA: ca.pem (programs), ca.cer (browsers, phones, OS import) and ca-key.pem (0600).
    Ca(ca::CaArgs),
    /// Issue a server certificate for NAMEs (DNS names, *.wildcards, IPv4, IPv6, emails, URIs) signed by the CA.
    Issue(leaf::IssueArgs),
    /// Issue a client certificate (clientAuth only) for mutual TLS.
    Client(leaf::ClientArgs),
    /// Make one self-signed certificate (CA:FALSE) to trust directly, without a CA.
    SelfSigned(leaf::IssueArgs),
    /// Sign another host's certificate signing request, so its key never leaves that host.
    Sign(leaf::SignArgs),
    /// Show what certificates and CSRs say (files, or the chain an https:// or wss:// server sends): names,
    /// validity, key, usages, fingerprints.
    Inspect(inspect::InspectArgs),
    /// Check a certificate's chain and name the way a TLS client does (rustls-webpki); exit 1 if it fails.
    Verify(inspect::VerifyArgs),
    /// Check a server certificate against browser and OS rules, each with its fix; exit 1 if one fails.
    Lint(inspect::LintArgs),
    /// Make this user's browsers (NSS) trust the CA, undo it, or check it: install|uninstall|status (--store for
    /// OS/Java); `env` prints the variables that make Node, Python, curl, git, Deno, Go and Rust programs trust it.
    Trust(trust::TrustArgs),
    /// Say why a browser here would reject an https:// or wss:// server's certificate, in the order browsers check,
    /// with the command that fixes each problem; exit 0 only if a browser on this machine would accept it.
    Doctor(inspect::DoctorArgs),
    /// Make broken server certificates to test clients against (expired, wrong host, untrusted root, ...) and a
    /// good one, in DIR/broken; `wsecho serve --bad-certs` serves each on its own port.
    Broken(broken::BrokenArgs),
    /// Get a publicly trusted certificate from an ACME CA (Let's Encrypt, ...) for public names and IPs; `acme renew`.
    Acme(acme::AcmeArgs),
}

/// Runs one parsed command line, after finishing or undoing whatever a killed certgen run left in the folders it
/// is about to use (see certgen::store).
pub fn run(cli: Cli) -> Result<(), Error> {
    for folder in cli.command.folders() {
        let recovered = certgen::store::recover(&folder)?;
        if !recovered.is_empty() {
            output::note(format_args!("{}: {recovered}", folder.display()));
        }
    }
    match cli.command {
        Command::Ca(args) => ca::ca(args),
        Command::Issue(args) => leaf::issue(args),
        Command::Client(args) => leaf::client(args),
        Command::SelfSigned(args) => leaf::self_signed(args),
        Command::Sign(args) => leaf::sign(args),
        Command::Inspect(args) => inspect::inspect(args),
        Command::Verify(args) => inspect::verify(args),
        Command::Lint(args) => inspect::lint(args),
        Command::Trust(args) => trust::trust(args),
        Command::Doctor(args) => inspect::doctor(args),
        Command::Broken(args) => broken::broken(args),
        Command::Acme(args) => acme::acme(args),
    }
}

impl Command {
    /// The folders this command reads or writes: the certs folder, or the folders of the files it reads.
    fn folders(&self) -> Vec<PathBuf> {
        let mut folders = match self {
            Command::Ca(args) => vec![args.dir.dir.clone()],
            Command::Broken(args) => vec![args.dir.dir.clone(), args.dir.certs().broken_dir()],
            Command::Issue(leaf::IssueArgs { leaf, .. })
            | Command::Client(leaf::ClientArgs { leaf, .. })
            | Command::SelfSigned(leaf::IssueArgs { leaf, .. }) => vec![leaf.dir.dir.clone()],
            Command::Sign(args) => vec![args.leaf.dir.dir.clone(), values::folder_of(&args.csr)],
            Command::Inspect(args) => args.folders(),
            Command::Verify(args) => vec![values::folder_of(&args.ca), values::folder_of(&args.cert)],
            Command::Lint(args) => args.folders(),
            Command::Acme(args) => vec![args.folder()],
            Command::Trust(args) => vec![args.folder()],
            Command::Doctor(args) => vec![args.dir.dir.clone()],
        };
        folders.sort();
        folders.dedup();
        folders
    }
}

//! `certgen issue`, `client`, `self-signed` and `sign`: the certificates the CA signs (or one that signs itself).

use std::path::PathBuf;

use clap::Args;
use time::OffsetDateTime;

use certgen::error::InputError;
use certgen::export::P12_PASSWORD_ENV;
use certgen::{Error, Issued, KeyKind, LeafFiles, LeafKind, LeafOptions, SubjectName};

use super::output::{print_leaf, warn_about_key};
use super::values::DirArg;

/// Options every leaf command shares.
#[derive(Debug, Args)]
pub struct LeafArgs {
    #[command(flatten)]
    pub(crate) dir: DirArg,
    /// File stem: writes STEM.pem, STEM-key.pem, STEM-fullchain.pem, STEM.cer [default: the first name].
    #[arg(long, value_name = "STEM")]
    out: Option<String>,
    /// Subject common name [default: the first DNS name; none for IP-only certificates]. Browsers ignore it.
    #[arg(long)]
    cn: Option<String>,
    /// Validity in days (Apple devices reject server certificates valid for more than 825).
    #[arg(long, default_value_t = certgen::validity::DEFAULT_LEAF_DAYS)]
    days: u32,
    /// Allow --days over 825.
    #[arg(long)]
    allow_long: bool,
    /// Start of validity: 2024-01-31 or 2024-01-31T12:00:00Z; a past date makes backdated or expired test certs.
    #[arg(long, value_name = "DATE", value_parser = certgen::validity::parse_not_before)]
    not_before: Option<OffsetDateTime>,
    /// Key type: ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096 or ed25519 [default: ecdsa-p256].
    #[arg(long)]
    key: Option<KeyKind>,
    /// Also write STEM.p12 (key + chain, AES-256) for Windows, macOS, Java.
    #[arg(long)]
    p12: bool,
    /// Password of the .p12 [default: changeit].
    #[arg(long, env = P12_PASSWORD_ENV, value_name = "PASSWORD", hide_env_values = true)]
    p12_password: Option<String>,
    /// Replace existing files with the same stem.
    #[arg(long)]
    force: bool,
    /// Print what was written as JSON.
    #[arg(long)]
    json: bool,
}

impl LeafArgs {
    /// The library's options, after a warning when browsers refuse the chosen key kind.
    fn options(&self, kind: LeafKind) -> LeafOptions {
        let key = self.key.unwrap_or_default();
        warn_about_key(key);
        LeafOptions {
            out: self.out.clone(),
            cn: self.cn.clone(),
            days: self.days,
            allow_long: self.allow_long,
            not_before: self.not_before,
            key,
            kind,
            p12: self.p12,
            p12_password: self.p12_password.clone(),
            force: self.force,
        }
    }

    /// Prints what was written, titled `what`.
    fn print(&self, what: &str, issued: &Issued<LeafFiles>) -> Result<(), Error> {
        print_leaf(what, issued, self.p12_password.is_some(), self.json)
    }
}

#[derive(Debug, Args)]
pub struct IssueArgs {
    /// Names: localhost, app.test, *.app.test, 127.0.0.1, ::1, [::1], bücher.test, me@example.test, spiffe://x/y.
    #[arg(required = true, value_name = "NAME", value_parser = SubjectName::parse)]
    names: Vec<SubjectName>,
    /// Also allow the certificate for client authentication (mTLS).
    #[arg(long)]
    client: bool,
    #[command(flatten)]
    pub(crate) leaf: LeafArgs,
}

#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Who the certificate identifies: a plain name (`alice`, the CN only), an email, or DNS/IP names.
    #[arg(required = true, value_name = "NAME", value_parser = SubjectName::parse)]
    names: Vec<SubjectName>,
    #[command(flatten)]
    pub(crate) leaf: LeafArgs,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The certificate signing request, PEM or DER.
    #[arg(long, value_name = "FILE")]
    pub(crate) csr: PathBuf,
    /// Also allow the certificate for client authentication (mTLS).
    #[arg(long)]
    client: bool,
    #[command(flatten)]
    pub(crate) leaf: LeafArgs,
}

fn server_kind(client: bool) -> LeafKind {
    if client {
        LeafKind::ServerAndClient
    } else {
        LeafKind::Server
    }
}

pub(crate) fn issue(args: IssueArgs) -> Result<(), Error> {
    let opts = args.leaf.options(server_kind(args.client));
    let issued = args.leaf.dir.certs().issue(&args.names, &opts)?;
    args.leaf.print("Issued", &issued)
}

pub(crate) fn client(args: ClientArgs) -> Result<(), Error> {
    let opts = args.leaf.options(LeafKind::Client);
    let issued = args.leaf.dir.certs().issue(&args.names, &opts)?;
    args.leaf.print("Issued client certificate", &issued)
}

pub(crate) fn self_signed(args: IssueArgs) -> Result<(), Error> {
    let opts = args.leaf.options(server_kind(args.client));
    let issued = args.leaf.dir.certs().self_signed(&args.names, &opts)?;
    args.leaf.print("Created self-signed", &issued)
}

pub(crate) fn sign(args: SignArgs) -> Result<(), Error> {
    if args.leaf.key.is_some() {
        return Err(Error::Input(InputError::ConflictingOptions(
            "--key does not apply to `sign`: the certificate gets the CSR's key, made on the requesting host",
        )));
    }
    let opts = args.leaf.options(server_kind(args.client));
    let issued = args.leaf.dir.certs().sign_csr_file(&args.csr, &opts)?;
    args.leaf.print("Signed", &issued)
}

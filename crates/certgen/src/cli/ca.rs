//! `certgen ca`: create the local CA, or replace it with `--force`.

use clap::Args;

use certgen::{CaOptions, Error, KeyKind, Permit};

use super::output::{print_ca, warn_about_key};
use super::values::DirArg;

#[derive(Debug, Args)]
pub struct CaArgs {
    #[command(flatten)]
    pub(crate) dir: DirArg,
    /// Subject common name [default: "certgen CA USER@HOST"].
    #[arg(long, value_name = "NAME")]
    cn: Option<String>,
    #[arg(long, default_value = "ecdsa-p256", help = KEY_HELP)]
    key: KeyKind,
    /// Validity in days.
    #[arg(long, default_value_t = 3650)]
    days: u32,
    /// Also allow this name or network (repeatable): `NAME` (it and its subdomains), `.NAME` (subdomains only),
    /// `IP` or `IP/PREFIX`. Always allowed: localhost (and every name under it), 127.0.0.0/8, ::1/128.
    #[arg(long, value_name = "NAME|CIDR", value_parser = Permit::parse, conflicts_with = "unconstrained")]
    permit: Vec<Permit>,
    /// No name constraints: the CA could vouch for any website. Only if you know why you need it.
    #[arg(long)]
    unconstrained: bool,
    /// Replace an existing CA; the old files are kept as ca-backup-TIMESTAMP.*.
    #[arg(long)]
    force: bool,
    /// Encrypt ca-key.pem with a passphrase (PKCS#8, PBKDF2-SHA256 + AES-256-CBC) taken from
    /// $CERTGEN_CA_PASSPHRASE or asked on the terminal; issue, client and sign then ask for it.
    #[arg(long)]
    encrypt: bool,
    /// Print what was written as JSON.
    #[arg(long)]
    json: bool,
}

const KEY_HELP: &str = "Key type: ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096 or ed25519";

pub(crate) fn ca(args: CaArgs) -> Result<(), Error> {
    let dir = args.dir.certs();
    warn_about_key(args.key);
    let opts = CaOptions {
        cn: args.cn,
        key: args.key,
        days: args.days,
        permit: args.permit,
        unconstrained: args.unconstrained,
        force: args.force,
        encrypt: args.encrypt,
    };
    let created = dir.create_ca(&opts)?;
    // A replaced CA stops being trusted wherever certgen had made it so (stores needing root print their commands).
    let retired = if created.backups.is_empty() {
        String::new()
    } else {
        certgen::trust::untrust_replaced(dir.path(), &certgen::trust::Host::current()).to_string()
    };
    print_ca(dir.path(), &created, &retired, args.encrypt, args.json)
}

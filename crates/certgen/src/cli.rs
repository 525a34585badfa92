//! The clap front end: parse, call the library, print. Adding a subcommand takes one `Command` variant, one arm in
//! [`run`] and one handler function.

use certgen::error::{InputError, StoreError};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use time::OffsetDateTime;

use certgen::export::P12_PASSWORD_ENV;
use certgen::inspect::Usage;
use certgen::validity::{format_date, rfc3339};
use certgen::{
    CaOptions, Cert, CertsDir, Error, Issued, KeyKind, LeafFiles, LeafKind, LeafOptions, SubjectName,
};

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
    Ca(CaArgs),
    /// Issue a server certificate for NAMEs (DNS names, *.wildcards, IPv4, IPv6, emails, URIs) signed by the CA.
    Issue(IssueArgs),
    /// Issue a client certificate (clientAuth only) for mutual TLS.
    Client(ClientArgs),
    /// Make one self-signed certificate (CA:FALSE) to trust directly, without a CA.
    SelfSigned(IssueArgs),
    /// Sign another host's certificate signing request, so its key never leaves that host.
    Sign(SignArgs),
    /// Show what certificates and CSRs say (files, or the chain an https:// or wss:// server sends): names,
    /// validity, key, usages, fingerprints.
    Inspect(InspectArgs),
    /// Check a certificate's chain and name the way a TLS client does (rustls-webpki); exit 1 if it fails.
    Verify(VerifyArgs),
    /// Check a server certificate against browser and OS rules, each with its fix; exit 1 if one fails.
    Lint(LintArgs),
    /// Make this user's browsers (NSS) trust the CA, undo it, or check it: install|uninstall|status (--store for
    /// OS/Java); `env` prints the variables that make Node, Python, curl, git, Deno, Go and Rust programs trust it.
    Trust(TrustArgs),
    /// Say why a browser here would reject an https:// or wss:// server's certificate, in the order browsers check,
    /// with the command that fixes each problem; exit 0 only if a browser on this machine would accept it.
    Doctor(DoctorArgs),
    /// Make broken server certificates to test clients against (expired, wrong host, untrusted root, ...) and a
    /// good one, in DIR/broken; `wsecho serve --bad-certs` serves each on its own port.
    Broken(BrokenArgs),
    /// Get a publicly trusted certificate from an ACME CA (Let's Encrypt, ...) for public names and IPs; `acme renew`.
    Acme(crate::acme_cli::AcmeArgs),
}

/// Runs one parsed command line, after finishing or undoing whatever a killed certgen run left in the folders it
/// is about to use (see certgen::store).
pub fn run(cli: Cli) -> Result<(), Error> {
    for folder in cli.command.folders() {
        let recovered = certgen::store::recover(&folder)?;
        if !recovered.is_empty() {
            eprintln!("certgen: note: {}: {recovered}", folder.display());
        }
    }
    match cli.command {
        Command::Ca(args) => ca(args),
        Command::Issue(args) => issue(args),
        Command::Client(args) => client(args),
        Command::SelfSigned(args) => self_signed(args),
        Command::Sign(args) => sign(args),
        Command::Inspect(args) => inspect(args),
        Command::Verify(args) => verify(args),
        Command::Lint(args) => lint(args),
        Command::Trust(args) => trust(args),
        Command::Doctor(args) => doctor(args),
        Command::Broken(args) => broken(args),
        Command::Acme(args) => crate::acme_cli::acme(args),
    }
}

impl Command {
    /// The folders this command reads or writes: the certs folder, or the folders of the files it reads.
    fn folders(&self) -> Vec<PathBuf> {
        let folder_of = |file: &Path| match file.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut folders = match self {
            Command::Ca(args) => vec![args.dir.dir.clone()],
            Command::Broken(args) => vec![args.dir.dir.clone(), CertsDir::new(&args.dir.dir).broken_dir()],
            Command::Issue(IssueArgs { leaf, .. })
            | Command::Client(ClientArgs { leaf, .. })
            | Command::SelfSigned(IssueArgs { leaf, .. }) => vec![leaf.dir.dir.clone()],
            Command::Sign(args) => vec![args.leaf.dir.dir.clone(), folder_of(&args.csr)],
            Command::Inspect(args) => args
                .files
                .iter()
                .filter(|f| !is_url(f))
                .map(|f| folder_of(f))
                .collect(),
            Command::Verify(args) => vec![folder_of(&args.ca), folder_of(&args.cert)],
            Command::Lint(args) => [Some(&args.cert), args.ca.as_ref(), args.key.as_ref()]
                .into_iter()
                .flatten()
                .map(|f| folder_of(f))
                .collect(),
            Command::Acme(args) => vec![args.folder()],
            Command::Trust(args) => {
                let ca = args.action.ca();
                vec![ca.ca.as_deref().map_or_else(|| ca.dir.dir.clone(), folder_of)]
            }
            Command::Doctor(args) => vec![args.dir.dir.clone()],
        };
        folders.sort();
        folders.dedup();
        folders
    }
}

/// The certificates folder, shared by every command.
#[derive(Debug, Args)]
pub struct DirArg {
    /// Folder holding the CA and the certificates.
    #[arg(long, env = "CERTGEN_DIR", default_value = "certs", value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct CaArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Subject common name [default: "certgen CA USER@HOST"].
    #[arg(long, value_name = "NAME")]
    cn: Option<String>,
    #[arg(long, default_value = "ecdsa-p256", help = KEY_HELP)]
    key: String,
    /// Validity in days.
    #[arg(long, default_value_t = 3650)]
    days: u32,
    /// Also allow this name or network (repeatable): `NAME` (it and its subdomains), `.NAME` (subdomains only),
    /// `IP` or `IP/PREFIX`. Always allowed: localhost (and every name under it), 127.0.0.0/8, ::1/128.
    #[arg(long, value_name = "NAME|CIDR", conflicts_with = "unconstrained")]
    permit: Vec<String>,
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

/// Options every leaf command shares.
#[derive(Debug, Args)]
pub struct LeafArgs {
    #[command(flatten)]
    dir: DirArg,
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
    #[arg(long, value_name = "DATE")]
    not_before: Option<String>,
    /// Key type: ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096 or ed25519 [default: ecdsa-p256].
    #[arg(long)]
    key: Option<String>,
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
    fn options(&self, kind: LeafKind) -> Result<LeafOptions, Error> {
        Ok(LeafOptions {
            out: self.out.clone(),
            cn: self.cn.clone(),
            days: self.days,
            allow_long: self.allow_long,
            not_before: self
                .not_before
                .as_deref()
                .map(certgen::validity::parse_not_before)
                .transpose()?,
            key: self.key.as_deref().map_or(Ok(KeyKind::default()), str::parse)?,
            kind,
            p12: self.p12,
            p12_password: self.p12_password.clone(),
            force: self.force,
        })
    }
}

#[derive(Debug, Args)]
pub struct IssueArgs {
    /// Names: localhost, app.test, *.app.test, 127.0.0.1, ::1, [::1], bücher.test, me@example.test, spiffe://x/y.
    #[arg(required = true, value_name = "NAME")]
    names: Vec<String>,
    /// Also allow the certificate for client authentication (mTLS).
    #[arg(long)]
    client: bool,
    #[command(flatten)]
    leaf: LeafArgs,
}

#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Who the certificate identifies: a plain name (`alice`, the CN only), an email, or DNS/IP names.
    #[arg(required = true, value_name = "NAME")]
    names: Vec<String>,
    #[command(flatten)]
    leaf: LeafArgs,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The certificate signing request, PEM or DER.
    #[arg(long, value_name = "FILE")]
    csr: PathBuf,
    /// Also allow the certificate for client authentication (mTLS).
    #[arg(long)]
    client: bool,
    #[command(flatten)]
    leaf: LeafArgs,
}

/// The CA backups (`ca*-backup-*`) in `dir`.
fn backups(dir: &Path) -> std::collections::BTreeSet<PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("ca") && name.contains("-backup-")
        })
        .collect()
}

/// The `certgen` command that issues the certificate in `path` again, from the new CA, under the same file name.
fn reissue_command(path: &Path, usage: Usage, dir: &Path) -> String {
    let (names, stem) = match Cert::from_pem_file(path) {
        Ok(cert) if cert.names().is_empty() => (cert.subject_cn().to_owned(), cert.subject_cn().to_owned()),
        Ok(cert) => (
            cert.names()
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            cert.names()[0].file_stem(),
        ),
        Err(_) => ("NAMES".to_owned(), String::new()),
    };
    let own_stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let out = if own_stem == stem {
        String::new()
    } else {
        format!(" --out {own_stem}")
    };
    let task = match usage {
        Usage::Client => "client",
        Usage::Server => "issue",
    };
    format!("certgen {task} {names}{out} --force --dir {}", dir.display())
}

fn server_kind(client: bool) -> LeafKind {
    if client {
        LeafKind::ServerAndClient
    } else {
        LeafKind::Server
    }
}

fn ca(args: CaArgs) -> Result<(), Error> {
    let dir = CertsDir::new(&args.dir.dir);
    let key: KeyKind = args.key.parse()?;
    warn_about_key(key);
    let opts = CaOptions {
        cn: args.cn,
        key,
        days: args.days,
        permit: args.permit,
        unconstrained: args.unconstrained,
        force: args.force,
        encrypt: args.encrypt,
    };
    // Only a replaced CA orphans certificates; a backup is what appeared in the folder while replacing it.
    let orphaned = if args.force {
        dir.issued_by_ca()
    } else {
        Vec::new()
    };
    let backups_before = backups(dir.path());
    let Issued { files, cert } = dir.create_ca(&opts)?;
    let kept: Vec<PathBuf> = backups(dir.path()).difference(&backups_before).cloned().collect();
    // A replaced CA stops being trusted wherever certgen had made it so (stores needing root print their commands).
    let retired = if kept.is_empty() {
        certgen::trust::Retired(Vec::new())
    } else {
        certgen::trust::untrust_replaced(dir.path(), &certgen::trust::Host::current())
    };
    let permitted = permitted(&cert, &files.cert_pem)?;
    if args.json {
        let json = serde_json::json!({
            "cert_pem": files.cert_pem,
            "key_pem": files.key_pem,
            "key_encrypted": args.encrypt,
            "cert_der": files.cert_der,
            "summary": summary_json(&cert, &permitted),
            "backups": kept,
            "orphaned": orphaned.iter().map(|(path, _)| path).collect::<Vec<_>>(),
            "untrusted_old_ca": retired.to_string().lines().collect::<Vec<_>>(),
        });
        println!("{json:#}");
        return Ok(());
    }
    println!("Created a local CA in {}", dir.path().display());
    for backup in &kept {
        println!("  kept the old CA's {}", backup.display());
    }
    for line in retired.to_string().lines() {
        println!("  {line}");
    }
    for (path, usage) in &orphaned {
        println!(
            "  orphaned {}: issued by the old CA, no longer trusted; reissue it: `{}`",
            path.display(),
            reissue_command(path, *usage, dir.path())
        );
    }
    print_summary(&cert);
    let permits = permitted
        .as_ref()
        .map_or("any name (unconstrained)".into(), |p| p.join(", "));
    println!("  may sign   {permits}");
    print_file(&files.cert_pem, "CA certificate (PEM): give it to programs");
    print_file(
        &files.cert_der,
        "CA certificate (DER): import it in browsers, phones and the OS",
    );
    let key_note = if args.encrypt {
        "CA private key (mode 0600, encrypted): keep it here"
    } else {
        "CA private key (mode 0600): keep it here"
    };
    print_file(&files.key_pem, key_note);
    println!(
        "Next: `certgen issue localhost 127.0.0.1 ::1 --dir {}`",
        dir.path().display()
    );
    Ok(())
}

fn issue(args: IssueArgs) -> Result<(), Error> {
    let opts = args.leaf.options(server_kind(args.client))?;
    warn_about_key(opts.key);
    let names = SubjectName::parse_all(&args.names)?;
    let issued = CertsDir::new(&args.leaf.dir.dir).issue(&names, &opts)?;
    report_leaf("Issued", &issued, &args.leaf)
}

fn client(args: ClientArgs) -> Result<(), Error> {
    let opts = args.leaf.options(LeafKind::Client)?;
    warn_about_key(opts.key);
    let names = SubjectName::parse_all(&args.names)?;
    let issued = CertsDir::new(&args.leaf.dir.dir).issue(&names, &opts)?;
    report_leaf("Issued client certificate", &issued, &args.leaf)
}

fn self_signed(args: IssueArgs) -> Result<(), Error> {
    let opts = args.leaf.options(server_kind(args.client))?;
    warn_about_key(opts.key);
    let names = SubjectName::parse_all(&args.names)?;
    let issued = CertsDir::new(&args.leaf.dir.dir).self_signed(&names, &opts)?;
    report_leaf("Created self-signed", &issued, &args.leaf)
}

fn sign(args: SignArgs) -> Result<(), Error> {
    if args.leaf.key.is_some() {
        return Err(Error::Input(InputError::ConflictingOptions(
            "--key does not apply to `sign`: the certificate gets the CSR's key, made on the requesting host",
        )));
    }
    let opts = args.leaf.options(server_kind(args.client))?;
    let issued = CertsDir::new(&args.leaf.dir.dir).sign_csr_file(&args.csr, &opts)?;
    report_leaf("Signed", &issued, &args.leaf)
}

/// One warning line on stderr when the chosen key kind is refused by browsers.
fn warn_about_key(key: KeyKind) {
    if let Some(warning) = key.browser_warning() {
        eprintln!("certgen: warning: {warning}");
    }
}

fn report_leaf(what: &str, issued: &Issued<LeafFiles>, args: &LeafArgs) -> Result<(), Error> {
    let Issued { files, cert } = issued;
    let permitted = permitted(cert, &files.cert_pem)?;
    let written = |p: &Path| (!p.as_os_str().is_empty()).then(|| p.to_path_buf());
    if args.json {
        let json = serde_json::json!({
            "cert_pem": files.cert_pem,
            "key_pem": written(&files.key_pem),
            "fullchain_pem": files.fullchain_pem,
            "cert_der": files.cert_der,
            "p12": files.p12,
            "summary": summary_json(cert, &permitted),
        });
        println!("{json:#}");
        return Ok(());
    }
    let title = cert
        .names()
        .first()
        .map_or_else(|| cert.subject_cn().to_string(), ToString::to_string);
    println!("{what} {title}");
    print_summary(cert);
    print_file(&files.cert_pem, "certificate (PEM)");
    if let Some(key) = written(&files.key_pem) {
        print_file(&key, "private key (mode 0600)");
    }
    print_file(
        &files.fullchain_pem,
        "full chain (PEM): what a server or mTLS client presents",
    );
    print_file(&files.cert_der, "certificate (DER)");
    if let Some(p12) = &files.p12 {
        // A chosen password stays unprinted (it may come from the environment); the default one is no secret, and
        // the importing dialog asks for it.
        let password = match &args.p12_password {
            Some(_) => "your --p12-password".to_string(),
            None => format!(
                "the password {} (the default; choose one with --p12-password)",
                certgen::export::DEFAULT_P12_PASSWORD
            ),
        };
        print_file(p12, &format!("key + chain (PKCS#12), protected by {password}"));
    }
    Ok(())
}

/// The certificate's names in canonical form, as the CLI prints them.
fn name_texts(cert: &Cert) -> Vec<String> {
    cert.names().iter().map(ToString::to_string).collect()
}

/// The permitted name-constraint subtrees of a certificate just written to `path`; `None` without constraints.
fn permitted(cert: &Cert, path: &Path) -> Result<Option<Vec<String>>, Error> {
    let constraints = cert.name_constraints().map_err(|reason| {
        Error::Store(StoreError::BadFile {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        })
    })?;
    Ok(constraints.map(|c| c.permitted.iter().map(ToString::to_string).collect()))
}

pub(crate) fn print_summary(cert: &Cert) {
    if !cert.names().is_empty() {
        println!("  names      {}", name_texts(cert).join(", "));
    }
    let days_left = (cert.not_after() - OffsetDateTime::now_utc()).whole_days();
    println!(
        "  valid      {} to {} ({days_left} days left)",
        format_date(cert.not_before()),
        format_date(cert.not_after())
    );
    println!("  sha256     {}", cert.sha256_colons());
}

pub(crate) fn print_file(path: &Path, what: &str) {
    println!("  {:<34} {what}", path.display());
}

pub(crate) fn summary_json(cert: &Cert, permitted: &Option<Vec<String>>) -> serde_json::Value {
    serde_json::json!({
        "subject_cn": cert.subject_cn(),
        "names": name_texts(cert),
        "not_before": rfc3339(cert.not_before()),
        "not_after": rfc3339(cert.not_after()),
        "sha256": cert.sha256_colons(),
        "permitted": permitted,
    })
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Certificate or CSR files, PEM (a chain or several blocks) or DER (.cer, .der); or https://HOST[:PORT] and
    /// wss://HOST[:PORT] URLs, whose servers' chains are fetched (whether valid or not) and shown.
    #[arg(required = true, value_name = "FILE|URL")]
    files: Vec<PathBuf>,
    /// Print a JSON array with one object per certificate or CSR.
    #[arg(long)]
    json: bool,
}

/// An `https://` or `wss://` argument, where a file name could be.
fn is_url(arg: &Path) -> bool {
    arg.to_str()
        .is_some_and(|a| a.starts_with("https://") || a.starts_with("wss://"))
}

fn inspect(args: InspectArgs) -> Result<(), Error> {
    let mut described = Vec::new();
    let mut connections = Vec::new();
    for file in &args.files {
        match file.to_str().filter(|_| is_url(file)) {
            Some(url) => {
                let served = certgen::inspect::fetch_chain(&certgen::inspect::Target::parse(url)?)?;
                connections.push(served.to_string());
                described.extend(served.describe()?);
            }
            None => described.extend(certgen::inspect::describe_file(file)?),
        }
    }
    if args.json {
        return print_json(&described);
    }
    for connection in &connections {
        println!("{connection}");
    }
    let texts: Vec<String> = described.iter().map(ToString::to_string).collect();
    print!("{}", texts.join("\n"));
    Ok(())
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The server: https://HOST[:PORT] or wss://HOST[:PORT][/PATH].
    #[arg(value_name = "URL")]
    url: String,
    /// Folder of the local CA (whose trust is checked) and of intermediates the server may have left out.
    #[command(flatten)]
    dir: DirArg,
    /// Print the checks and the verdict as JSON.
    #[arg(long)]
    json: bool,
}

fn doctor(args: DoctorArgs) -> Result<(), Error> {
    let diagnosis = certgen::inspect::diagnose(&args.url, &args.dir.dir, &certgen::trust::Host::current())?;
    if args.json {
        print_json(&diagnosis)?;
    } else {
        println!("{diagnosis}");
    }
    if diagnosis.accepted {
        return Ok(());
    }
    let failed: Vec<&str> = diagnosis.failures().map(|c| c.rule).collect();
    Err(Error::CheckFailed(format!(
        "a browser would reject {}: {}",
        args.url,
        failed.join(", ")
    )))
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The CA certificate(s) to trust, PEM or DER (certs/ca.pem or certs/ca.cer).
    #[arg(long, value_name = "CA")]
    ca: PathBuf,
    /// The certificate, optionally followed by intermediates (STEM-fullchain.pem works).
    #[arg(value_name = "CERT")]
    cert: PathBuf,
    /// The DNS name or IP address a client connects to.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Check it as a client certificate (mTLS) instead of a server certificate.
    #[arg(long)]
    client: bool,
}

fn verify(args: VerifyArgs) -> Result<(), Error> {
    let usage = if args.client { Usage::Client } else { Usage::Server };
    let verified = certgen::inspect::verify_files(&args.ca, &args.cert, args.name.as_deref(), usage)?;
    println!("{verified}");
    Ok(())
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// The server certificate, PEM or DER; a full chain also checks the issuers' name constraints.
    #[arg(value_name = "CERT")]
    cert: PathBuf,
    /// The issuing CA, for the name-constraint rule.
    #[arg(long, value_name = "CA")]
    ca: Option<PathBuf>,
    /// The private key, for the key-match rule [default: STEM-key.pem next to CERT, if present].
    #[arg(long, value_name = "KEY")]
    key: Option<PathBuf>,
    /// Print the rules and their results as JSON.
    #[arg(long)]
    json: bool,
}

fn lint(args: LintArgs) -> Result<(), Error> {
    let report = certgen::inspect::lint_file(&args.cert, args.ca.as_deref(), args.key.as_deref())?;
    if args.json {
        print_json(&report)?;
    } else {
        println!("{report}");
    }
    let failed = report.failed();
    if failed == 0 {
        Ok(())
    } else {
        Err(Error::CheckFailed(format!(
            "{} fails {failed} lint rule(s)",
            args.cert.display()
        )))
    }
}

fn print_json(value: &impl serde::Serialize) -> Result<(), Error> {
    let json = serde_json::to_string_pretty(value).map_err(|e| Error::Json(e.to_string()))?;
    println!("{json}");
    Ok(())
}

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
    fn load(&self) -> Result<certgen::trust::CaCert, Error> {
        certgen::trust::CaCert::load(&self.ca.clone().unwrap_or_else(|| self.dir.dir.join("ca.pem")))
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

fn trust(args: TrustArgs) -> Result<(), Error> {
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

fn trust_env(ca: &certgen::trust::CaCert, shell: ShellArg, json: bool, docker: bool) -> Result<(), Error> {
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

#[derive(Debug, Args)]
#[command(after_help = BROKEN_HELP)]
pub struct BrokenArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Print what was written as JSON.
    #[arg(long)]
    json: bool,
}

const BROKEN_HELP: &str = "Each certificate is NAME.pem, NAME-key.pem and NAME-fullchain.pem in DIR/broken (the \
    chain a server presents, incomplete on purpose where that is the failure). A client that trusts only DIR/ca.pem \
    and connects to localhost accepts `good` and refuses every other one; docs/troubleshooting.md lists what \
    Chromium, Firefox, Python, Node and curl say for each. A second run replaces the set.";

fn broken(args: BrokenArgs) -> Result<(), Error> {
    let dir = CertsDir::new(&args.dir.dir);
    let set = dir.make_broken()?;
    if args.json {
        let fixtures: Vec<serde_json::Value> = set
            .fixtures
            .iter()
            .map(|fixture| {
                let Issued { files, cert } = &fixture.issued;
                serde_json::json!({
                    "name": fixture.case.name(),
                    "problem": fixture.case.problem(),
                    "cert_pem": files.cert_pem,
                    "key_pem": files.key_pem,
                    "fullchain_pem": files.fullchain_pem,
                    "summary": summary_json(cert, &None),
                })
            })
            .collect();
        let skipped: Vec<serde_json::Value> = set
            .skipped
            .iter()
            .map(|(case, reason)| serde_json::json!({ "name": case.name(), "reason": reason }))
            .collect();
        let json = serde_json::json!({
            "dir": set.dir,
            "trust": dir.ca_files().cert_pem,
            "fixtures": fixtures,
            "skipped": skipped,
            "untrusted_root_pem": set.untrusted_root_pem,
            "intermediate_pem": set.intermediate_pem,
        });
        println!("{json:#}");
        return Ok(());
    }
    println!(
        "Made {} test certificates in {} (trust {} and connect to localhost):",
        set.fixtures.len(),
        set.dir.display(),
        dir.ca_files().cert_pem.display()
    );
    for fixture in &set.fixtures {
        println!("  {:<20} {}", fixture.case.name(), fixture.case.problem());
    }
    for (case, reason) in &set.skipped {
        println!("  {:<20} skipped: {reason}", case.name());
    }
    println!("  each as NAME.pem, NAME-key.pem (mode 0600) and NAME-fullchain.pem (what a server presents)");
    println!(
        "Next: `wsecho serve --bad-certs {}` serves each on its own port",
        set.dir.display()
    );
    Ok(())
}

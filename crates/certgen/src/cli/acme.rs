//! `certgen acme NAME...` and `certgen acme renew`: the clap flags (turned into a request by
//! `certgen::acme::AcmeFlags`, as wsecho's are) and printing for certgen::acme.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use certgen::acme::{AcmeFlags, AcmeIssued, AcmeRequest, Renewal, Standalone};
use certgen::validity::rfc3339;
use certgen::{CertsDir, Error};

use super::output::{print_file, print_summary, summary_json};
use super::values::DirArg;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct AcmeArgs {
    #[command(subcommand)]
    pub action: Option<AcmeAction>,
    /// Public DNS names, *.wildcards (dns-01 only) and public IPv4/IPv6 addresses.
    #[arg(required = true, value_name = "NAME")]
    names: Vec<String>,
    #[command(flatten)]
    pub dir: DirArg,
    /// ACME directory: letsencrypt, letsencrypt-staging (try this first: no rate-limit worries) or a URL.
    #[arg(long, default_value = "letsencrypt", value_name = "PRESET|URL")]
    directory: String,
    /// How to prove control: http-01 (port 80), tls-alpn-01 (port 443) or dns-01 (--dns-hook; wildcards).
    #[arg(long, default_value = "http-01", value_name = "KIND")]
    challenge: String,
    /// Port the http-01 responder listens on (the CA connects to 80: forward 80 here if you pick another).
    #[arg(long, default_value_t = 80, value_name = "P")]
    http_port: u16,
    /// Port the tls-alpn-01 responder listens on (the CA connects to 443).
    #[arg(long, default_value_t = 443, value_name = "P")]
    tls_port: u16,
    /// dns-01: command run as `CMD set NAME VALUE` and `CMD clear NAME VALUE` for the _acme-challenge TXT record.
    #[arg(long, value_name = "CMD")]
    dns_hook: Option<String>,
    /// ACME profile to ask for [default: `shortlived` for IP addresses when offered, else the CA's default].
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Contact e-mail for the new account (expiry and policy notices); optional.
    #[arg(long, value_name = "ADDRESS")]
    email: Option<String>,
    /// Accept the CA's terms of service (needed once, to create the account).
    #[arg(long)]
    agree_tos: bool,
    /// External account binding key id, for CAs that require one (ZeroSSL, Google, company CAs).
    #[arg(long, value_name = "KID", requires = "eab_hmac_key")]
    eab_kid: Option<String>,
    /// External account binding HMAC key, base64url as the CA shows it.
    #[arg(
        long,
        value_name = "KEY",
        requires = "eab_kid",
        hide_env_values = true,
        env = "CERTGEN_EAB_HMAC_KEY"
    )]
    eab_hmac_key: Option<String>,
    /// Trust this PEM root for the ACME server's own TLS certificate (step-ca, a company CA, a test server).
    #[arg(long, value_name = "FILE")]
    acme_ca: Option<PathBuf>,
    /// File stem: writes STEM.pem, STEM-key.pem, STEM-fullchain.pem, STEM.cer, STEM.acme.json [default: the
    /// first name].
    #[arg(long, value_name = "STEM")]
    out: Option<String>,
    /// Key type: ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072 or rsa-4096 [default: ecdsa-p256].
    #[arg(long)]
    key: Option<String>,
    /// Replace existing files with the same stem.
    #[arg(long)]
    force: bool,
    /// Print what was written as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AcmeAction {
    /// Renew the ACME certificates in --dir that are due (the CA's ARI window, else a third of the lifetime left).
    Renew(RenewArgs),
}

#[derive(Debug, Args)]
pub struct RenewArgs {
    #[command(flatten)]
    pub dir: DirArg,
    /// Renew every one now, due or not.
    #[arg(long)]
    force: bool,
    /// Print what was done as JSON.
    #[arg(long)]
    json: bool,
}

impl AcmeArgs {
    /// The certs folder this command writes.
    pub fn folder(&self) -> PathBuf {
        match &self.action {
            Some(AcmeAction::Renew(args)) => args.dir.dir.clone(),
            None => self.dir.dir.clone(),
        }
    }

    fn request(&self) -> Result<AcmeRequest, Error> {
        AcmeFlags {
            names: self.names.clone(),
            directory: self.directory.clone(),
            challenge: self.challenge.clone(),
            dns_hook: self.dns_hook.clone(),
            profile: self.profile.clone(),
            email: self.email.clone(),
            agree_tos: self.agree_tos,
            eab_kid: self.eab_kid.clone(),
            eab_hmac_key: self.eab_hmac_key.clone(),
            acme_ca: self.acme_ca.clone(),
            out: self.out.clone(),
            key: self.key.clone(),
            force: self.force,
            http_port: self.http_port,
            tls_port: self.tls_port,
        }
        .request()
    }
}

/// Runs `certgen acme ...` on its own single-threaded runtime (the responders and the order share it).
pub fn acme(args: AcmeArgs) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Io {
            action: "start",
            path: "the async runtime".into(),
            source,
        })?;
    match args.action {
        Some(AcmeAction::Renew(renew)) => runtime.block_on(renew_due(renew)),
        None => runtime.block_on(obtain(args)),
    }
}

async fn obtain(args: AcmeArgs) -> Result<(), Error> {
    let request = args.request()?;
    let dir = CertsDir::new(&args.dir.dir);
    let checked = request.check(&dir)?;
    let responder = Standalone::for_request(&request).await?;
    let issued = dir.acme_obtain(&checked, &responder, None).await?;
    if args.json {
        println!("{:#}", issued_json(&issued));
        return Ok(());
    }
    report("Obtained", &issued);
    println!(
        "Renew with `certgen acme renew --dir {}` (daily from cron or a systemd timer; it renews only what is due)",
        dir.path().display()
    );
    Ok(())
}

async fn renew_due(args: RenewArgs) -> Result<(), Error> {
    let dir = CertsDir::new(&args.dir.dir);
    let done = dir.acme_renew(args.force).await?;
    if args.json {
        let json: Vec<serde_json::Value> = done
            .iter()
            .map(|renewal| match renewal {
                Renewal::Kept { stem, renew_at } => serde_json::json!({
                    "stem": stem, "renewed": false, "renew_at": rfc3339(renew_at.at()),
                }),
                Renewal::Renewed { stem, issued } => {
                    let mut json = issued_json(issued);
                    json["stem"] = stem.as_str().into();
                    json["renewed"] = true.into();
                    json
                }
            })
            .collect();
        println!("{:#}", serde_json::Value::Array(json));
        return Ok(());
    }
    if done.is_empty() {
        println!(
            "No ACME certificates in {}; get one with `certgen acme NAME --dir {}`",
            dir.path().display(),
            dir.path().display()
        );
    }
    for renewal in &done {
        match renewal {
            Renewal::Kept { stem, renew_at } => println!(
                "Kept {stem}: not due until {} ({})",
                rfc3339(renew_at.at()),
                renew_at.reason()
            ),
            Renewal::Renewed { issued, .. } => report("Renewed", issued),
        }
    }
    Ok(())
}

fn report(what: &str, acme: &AcmeIssued) {
    let cert = &acme.issued.cert;
    let files = &acme.issued.files;
    let title = cert.names().first().map(ToString::to_string).unwrap_or_default();
    println!("{what} {title} from {}", acme.ca);
    if let Some(profile) = &acme.profile {
        let why = if profile.automatic {
            " (chosen automatically: the CA issues IP certificates under it)"
        } else {
            ""
        };
        println!("  profile    {}{why}", profile.name);
    }
    print_summary(cert);
    println!(
        "  renews     {} ({})",
        rfc3339(acme.renew_at.at()),
        acme.renew_at.reason()
    );
    print_file(&files.cert_pem, "certificate (PEM)");
    print_file(&files.key_pem, "private key (mode 0600)");
    print_file(&files.fullchain_pem, "full chain (PEM): what a server presents");
    print_file(&files.cert_der, "certificate (DER)");
    for warning in &acme.warnings {
        eprintln!("certgen: warning: {warning}");
    }
}

fn issued_json(acme: &AcmeIssued) -> serde_json::Value {
    let files = &acme.issued.files;
    serde_json::json!({
        "ca": acme.ca,
        "profile": acme.profile,
        "renew_at": rfc3339(acme.renew_at.at()),
        "renew_reason": acme.renew_at.reason(),
        "cert_pem": files.cert_pem,
        "key_pem": files.key_pem,
        "fullchain_pem": files.fullchain_pem,
        "cert_der": files.cert_der,
        "summary": summary_json(&acme.issued.cert, &None),
        "warnings": acme.warnings,
    })
}

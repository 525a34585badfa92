//! `certgen inspect`, `verify`, `lint` and `doctor`: reading certificates and checking them the way clients do.

use std::path::PathBuf;

use clap::Args;
use clap::builder::{PathBufValueParser, TypedValueParser};

use certgen::Error;
use certgen::inspect::Usage;

use super::output::print_json;
use super::values::{DirArg, Source, folder_of};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Certificate or CSR files, PEM (a chain or several blocks) or DER (.cer, .der); or https://HOST[:PORT] and
    /// wss://HOST[:PORT] URLs, whose servers' chains are fetched (whether valid or not) and shown.
    #[arg(
        required = true,
        value_name = "FILE|URL",
        value_parser = PathBufValueParser::new().try_map(Source::from_arg)
    )]
    files: Vec<Source>,
    /// Print a JSON array with one object per certificate or CSR.
    #[arg(long)]
    json: bool,
}

impl InspectArgs {
    /// The folders of the files read.
    pub(crate) fn folders(&self) -> Vec<PathBuf> {
        self.files
            .iter()
            .filter_map(|source| match source {
                Source::File(file) => Some(folder_of(file)),
                Source::Url(_) => None,
            })
            .collect()
    }
}

pub(crate) fn inspect(args: InspectArgs) -> Result<(), Error> {
    let mut described = Vec::new();
    let mut connections = Vec::new();
    for source in &args.files {
        match source {
            Source::Url(target) => {
                let served = certgen::inspect::fetch_chain(target)?;
                connections.push(served.to_string());
                described.extend(served.describe()?);
            }
            Source::File(file) => described.extend(certgen::inspect::describe_file(file)?),
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
    pub(crate) dir: DirArg,
    /// Print the checks and the verdict as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn doctor(args: DoctorArgs) -> Result<(), Error> {
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
    pub(crate) ca: PathBuf,
    /// The certificate, optionally followed by intermediates (STEM-fullchain.pem works).
    #[arg(value_name = "CERT")]
    pub(crate) cert: PathBuf,
    /// The DNS name or IP address a client connects to.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Check it as a client certificate (mTLS) instead of a server certificate.
    #[arg(long)]
    client: bool,
}

pub(crate) fn verify(args: VerifyArgs) -> Result<(), Error> {
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

impl LintArgs {
    /// The folders of the files read.
    pub(crate) fn folders(&self) -> Vec<PathBuf> {
        [Some(&self.cert), self.ca.as_ref(), self.key.as_ref()]
            .into_iter()
            .flatten()
            .map(|file| folder_of(file))
            .collect()
    }
}

pub(crate) fn lint(args: LintArgs) -> Result<(), Error> {
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

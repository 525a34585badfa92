//! Everything `certgen` prints: the human summaries, the `--json` documents (serde structs, so a renamed field is a
//! compile error rather than a silently different key) and the `certgen: warning:`/`note:` lines on stderr.
//! JSON fields are declared in alphabetical order, the key order scripts already read.

use std::path::{Path, PathBuf};

use serde::Serialize;
use time::OffsetDateTime;

use certgen::broken::Fixtures;
use certgen::error::StoreError;
use certgen::validity::{format_date, rfc3339};
use certgen::{Cert, CreatedCa, Error, Issued, KeyKind, LeafFiles};

/// Prints `value` as pretty JSON on stdout.
pub(crate) fn print_json(value: &impl Serialize) -> Result<(), Error> {
    let json = serde_json::to_string_pretty(value).map_err(Error::Json)?;
    println!("{json}");
    Ok(())
}

/// One `certgen: note:` line on stderr: something certgen did on its own that the user should know of.
pub(crate) fn note(text: impl std::fmt::Display) {
    eprintln!("certgen: note: {text}");
}

/// One `certgen: warning:` line on stderr.
pub(crate) fn warning(text: impl std::fmt::Display) {
    eprintln!("certgen: warning: {text}");
}

/// One warning line on stderr when the chosen key kind is refused by browsers.
pub(crate) fn warn_about_key(key: KeyKind) {
    if let Some(warning_text) = key.browser_warning() {
        warning(warning_text);
    }
}

/// A certificate as `--json` shows it.
#[derive(Serialize)]
pub(crate) struct Summary<'a> {
    names: Vec<String>,
    not_after: String,
    not_before: String,
    /// The name-constraint subtrees of a CA; `null` without constraints and for leaves.
    permitted: &'a Option<Vec<String>>,
    sha256: String,
    subject_cn: &'a str,
}

impl<'a> Summary<'a> {
    pub(crate) fn new(cert: &'a Cert, permitted: &'a Option<Vec<String>>) -> Self {
        Summary {
            names: name_texts(cert),
            not_after: rfc3339(cert.not_after()),
            not_before: rfc3339(cert.not_before()),
            permitted,
            sha256: cert.sha256_colons(),
            subject_cn: cert.subject_cn(),
        }
    }
}

/// [`Summary`] as a JSON value, for documents built with `serde_json::json!`.
pub(crate) fn summary_json(cert: &Cert, permitted: &Option<Vec<String>>) -> serde_json::Value {
    serde_json::json!(Summary::new(cert, permitted))
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

/// `certgen ca --json`.
#[derive(Serialize)]
struct CaJson<'a> {
    backups: &'a [PathBuf],
    cert_der: &'a Path,
    cert_pem: &'a Path,
    key_encrypted: bool,
    key_pem: &'a Path,
    orphaned: Vec<&'a Path>,
    summary: Summary<'a>,
    untrusted_old_ca: Vec<&'a str>,
}

/// What `certgen ca` did in `dir`; `retired` says where the replaced CA stopped being trusted, one line each.
pub(crate) fn print_ca(
    dir: &Path,
    created: &CreatedCa,
    retired: &str,
    encrypted: bool,
    json: bool,
) -> Result<(), Error> {
    let CreatedCa {
        files,
        cert,
        backups,
        orphaned,
    } = created;
    let permitted = permitted(cert, &files.cert_pem)?;
    if json {
        return print_json(&CaJson {
            backups,
            cert_der: &files.cert_der,
            cert_pem: &files.cert_pem,
            key_encrypted: encrypted,
            key_pem: &files.key_pem,
            orphaned: orphaned.iter().map(|orphan| orphan.path.as_path()).collect(),
            summary: Summary::new(cert, &permitted),
            untrusted_old_ca: retired.lines().collect(),
        });
    }
    println!("Created a local CA in {}", dir.display());
    for backup in backups {
        println!("  kept the old CA's {}", backup.display());
    }
    for line in retired.lines() {
        println!("  {line}");
    }
    for orphan in orphaned {
        println!(
            "  orphaned {}: issued by the old CA, no longer trusted; reissue it: `{}`",
            orphan.path.display(),
            orphan.reissue
        );
    }
    print_summary(cert);
    let permits = permitted
        .as_ref()
        .map_or("any name (unconstrained)".into(), |p| p.join(", "));
    println!("  may sign   {permits}");
    print_file(&files.cert_pem, "CA certificate (PEM): give it to programs");
    print_file(
        &files.cert_der,
        "CA certificate (DER): import it in browsers, phones and the OS",
    );
    let key_note = if encrypted {
        "CA private key (mode 0600, encrypted): keep it here"
    } else {
        "CA private key (mode 0600): keep it here"
    };
    print_file(&files.key_pem, key_note);
    println!(
        "Next: `certgen issue localhost 127.0.0.1 ::1 --dir {}`",
        dir.display()
    );
    Ok(())
}

/// `certgen issue|client|self-signed|sign --json`.
#[derive(Serialize)]
struct LeafJson<'a> {
    cert_der: &'a Path,
    cert_pem: &'a Path,
    fullchain_pem: &'a Path,
    /// `null` for `sign`, whose key stays on the requesting host.
    key_pem: Option<&'a Path>,
    p12: &'a Option<PathBuf>,
    summary: Summary<'a>,
}

/// What a leaf command wrote, titled `what` (`Issued`, `Signed`, ...). `chosen_p12_password` keeps a password
/// given by the user unprinted (it may come from the environment); the default one is no secret.
pub(crate) fn print_leaf(
    what: &str,
    issued: &Issued<LeafFiles>,
    chosen_p12_password: bool,
    json: bool,
) -> Result<(), Error> {
    let Issued { files, cert } = issued;
    let permitted = permitted(cert, &files.cert_pem)?;
    // `sign` writes no key: its path is left empty.
    let key_pem = Some(files.key_pem.as_path()).filter(|p| !p.as_os_str().is_empty());
    if json {
        return print_json(&LeafJson {
            cert_der: &files.cert_der,
            cert_pem: &files.cert_pem,
            fullchain_pem: &files.fullchain_pem,
            key_pem,
            p12: &files.p12,
            summary: Summary::new(cert, &permitted),
        });
    }
    let title = cert
        .names()
        .first()
        .map_or_else(|| cert.subject_cn().to_string(), ToString::to_string);
    println!("{what} {title}");
    print_summary(cert);
    print_file(&files.cert_pem, "certificate (PEM)");
    if let Some(key) = key_pem {
        print_file(key, "private key (mode 0600)");
    }
    print_file(
        &files.fullchain_pem,
        "full chain (PEM): what a server or mTLS client presents",
    );
    print_file(&files.cert_der, "certificate (DER)");
    if let Some(p12) = &files.p12 {
        // The importing dialog asks for the password, so the default one is shown.
        let password = if chosen_p12_password {
            "your --p12-password".to_string()
        } else {
            format!(
                "the password {} (the default; choose one with --p12-password)",
                certgen::export::DEFAULT_P12_PASSWORD
            )
        };
        print_file(p12, &format!("key + chain (PKCS#12), protected by {password}"));
    }
    Ok(())
}

/// `certgen broken --json`.
#[derive(Serialize)]
struct BrokenJson<'a> {
    dir: &'a Path,
    fixtures: Vec<FixtureJson<'a>>,
    intermediate_pem: &'a Path,
    skipped: Vec<SkippedJson<'a>>,
    trust: &'a Path,
    untrusted_root_pem: &'a Path,
}

#[derive(Serialize)]
struct FixtureJson<'a> {
    cert_pem: &'a Path,
    fullchain_pem: &'a Path,
    key_pem: &'a Path,
    name: &'static str,
    problem: &'static str,
    summary: Summary<'a>,
}

#[derive(Serialize)]
struct SkippedJson<'a> {
    name: &'static str,
    reason: &'a str,
}

/// What `certgen broken` made; `trust` is the CA a client should trust to see each failure.
pub(crate) fn print_broken(set: &Fixtures, trust: &Path, json: bool) -> Result<(), Error> {
    if json {
        return print_json(&BrokenJson {
            dir: &set.dir,
            fixtures: set
                .fixtures
                .iter()
                .map(|fixture| FixtureJson {
                    cert_pem: &fixture.issued.files.cert_pem,
                    fullchain_pem: &fixture.issued.files.fullchain_pem,
                    key_pem: &fixture.issued.files.key_pem,
                    name: fixture.case.name(),
                    problem: fixture.case.problem(),
                    summary: Summary::new(&fixture.issued.cert, &None),
                })
                .collect(),
            intermediate_pem: &set.intermediate_pem,
            skipped: set
                .skipped
                .iter()
                .map(|(case, reason)| SkippedJson {
                    name: case.name(),
                    reason,
                })
                .collect(),
            trust,
            untrusted_root_pem: &set.untrusted_root_pem,
        });
    }
    println!(
        "Made {} test certificates in {} (trust {} and connect to localhost):",
        set.fixtures.len(),
        set.dir.display(),
        trust.display()
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

//! `certgen trust env`: the environment variables that make programs (Node, Python, curl, git, Deno, Go, Rust with
//! rustls-native-certs) trust the CA without dropping the public roots.
//!
//! Some tools *add* a file's CAs to the roots they already have (Node's `NODE_EXTRA_CA_CERTS`, `DENO_CERT`): those
//! get `ca.pem`. The others *replace* their roots with the file (`SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE` which
//! also overrides certifi, `CURL_CA_BUNDLE`, `GIT_SSL_CAINFO`): those get `ca-bundle.pem`, the system's bundle with
//! the CA appended, so public sites keep working. Node by default trusts only the roots compiled into it, never
//! the system's; `--use-openssl-ca` (added to `NODE_OPTIONS`, keeping what it holds) makes it read the same bundle
//! through `SSL_CERT_FILE`, so it trusts what the system trusts, as the other tools do.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::ca_cert::CaCert;
use crate::Error;
use crate::error::StoreError;
use crate::store::{Commit, Secrecy};

/// Points certgen at the system's CA bundle instead of the distribution's (tests use a throw-away one).
pub const SYSTEM_BUNDLE_ENV: &str = "CERTGEN_SYSTEM_CA_BUNDLE";

/// The combined bundle certgen writes into the certs folder.
pub const BUNDLE_FILE: &str = "ca-bundle.pem";

/// Where distributions keep the PEM bundle of their trusted roots, in the order tried.
const SYSTEM_BUNDLES: [&str; 5] = [
    "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Arch, Gentoo
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // Fedora, RHEL
    "/etc/pki/tls/certs/ca-bundle.crt",   // older RHEL
    "/etc/ssl/ca-bundle.pem",             // openSUSE
    "/etc/ssl/cert.pem",                  // Alpine, macOS, BSDs
];

/// Whether a tool's variable adds to the roots it has or replaces them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    Adds,
    Replaces,
}

/// Node's flag that makes it use OpenSSL's roots (`SSL_CERT_FILE`) instead of the ones compiled into it.
pub const NODE_SYSTEM_ROOTS_FLAG: &str = "--use-openssl-ca";

/// One variable to set.
#[derive(Debug, Clone, Serialize)]
pub struct Variable {
    pub name: &'static str,
    /// A file's path, or (when `appended`) a word added to what the variable already holds.
    pub value: String,
    pub appended: bool,
    pub effect: Effect,
    /// Who reads it.
    pub read_by: &'static str,
}

/// What `trust env` prints: the variables and where their files came from.
#[derive(Debug, Clone, Serialize)]
pub struct TrustEnv {
    /// The system bundle the combined bundle starts from.
    pub system_bundle: PathBuf,
    /// The combined bundle: the system's roots plus the CA.
    pub bundle: PathBuf,
    pub variables: Vec<Variable>,
}

/// The shells `trust env` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Sh,
    Fish,
    PowerShell,
}

/// The system bundle: `$CERTGEN_SYSTEM_CA_BUNDLE` when set, else the first distribution bundle that exists.
pub fn system_bundle() -> Result<PathBuf, Error> {
    if let Some(path) = std::env::var_os(SYSTEM_BUNDLE_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    SYSTEM_BUNDLES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Error::CheckFailed(format!(
                "no system CA bundle found (looked for {}); install the ca-certificates package or set \
                 {SYSTEM_BUNDLE_ENV}=FILE to your system's PEM bundle",
                SYSTEM_BUNDLES.join(", ")
            ))
        })
}

/// Writes `DIR/ca-bundle.pem` (the system bundle plus `ca`, crash-safely, only when it changed) into the folder
/// of `ca` and returns the variables that point at it.
pub fn env(ca: &CaCert) -> Result<TrustEnv, Error> {
    let system_bundle = system_bundle()?;
    let system = std::fs::read_to_string(&system_bundle).map_err(|e| {
        Error::Store(StoreError::BadFile {
            path: system_bundle.clone(),
            reason: format!(
                "cannot read the system CA bundle: {e} (set {SYSTEM_BUNDLE_ENV}=FILE to another)"
            ),
        })
    })?;
    let ca_pem = std::fs::read_to_string(ca.path()).map_err(|e| Error::io("read", ca.path(), e))?;
    let dir = ca.path().parent().unwrap_or(Path::new("."));
    let bundle = dir.join(BUNDLE_FILE);
    let combined = combined_bundle(&system, ca, &ca_pem);
    if std::fs::read_to_string(&bundle).ok().as_deref() != Some(combined.as_str()) {
        let mut commit = Commit::default();
        commit.write(&bundle, combined, Secrecy::Public);
        commit.apply(dir)?;
    }
    let ca_file = ca.path().to_path_buf();
    let variable = |name, file: &PathBuf, effect, read_by| Variable {
        name,
        value: file.display().to_string(),
        appended: false,
        effect,
        read_by,
    };
    let variables = vec![
        variable(
            "NODE_EXTRA_CA_CERTS",
            &ca_file,
            Effect::Adds,
            "Node.js (https, tls, fetch)",
        ),
        Variable {
            name: "NODE_OPTIONS",
            value: NODE_SYSTEM_ROOTS_FLAG.to_owned(),
            appended: true,
            effect: Effect::Replaces,
            read_by: "Node.js: the system's roots (SSL_CERT_FILE) instead of its compiled-in ones",
        },
        variable("DENO_CERT", &ca_file, Effect::Adds, "Deno"),
        variable(
            "SSL_CERT_FILE",
            &bundle,
            Effect::Replaces,
            "OpenSSL: Python ssl/httpx/urllib, Ruby; Go; Rust rustls-native-certs",
        ),
        variable(
            "REQUESTS_CA_BUNDLE",
            &bundle,
            Effect::Replaces,
            "Python requests (instead of certifi)",
        ),
        variable("CURL_CA_BUNDLE", &bundle, Effect::Replaces, "curl"),
        variable("GIT_SSL_CAINFO", &bundle, Effect::Replaces, "git"),
    ];
    Ok(TrustEnv {
        system_bundle,
        bundle,
        variables,
    })
}

/// The system bundle followed by the CA, unless the system bundle holds it already.
fn combined_bundle(system: &str, ca: &CaCert, ca_pem: &str) -> String {
    let mut combined = system.to_owned();
    if !ca.is_in_pem(system) {
        if !combined.is_empty() && !combined.ends_with('\n') {
            combined.push('\n');
        }
        combined.push_str(&format!("# {} ({})\n", ca.cert().subject_cn(), ca.name()));
        combined.push_str(ca_pem);
    }
    combined
}

impl TrustEnv {
    /// The lines that set every variable in `shell`. An appended word is added only when missing, so evaluating
    /// the lines twice changes nothing.
    pub fn script(&self, shell: Shell) -> String {
        self.variables
            .iter()
            .map(|v| {
                let (name, value) = (v.name, v.value.as_str());
                match (shell, v.appended) {
                    (Shell::Sh, false) => format!("export {name}={}\n", crate::shell::single_quote(value)),
                    (Shell::Sh, true) => format!(
                        "case \" ${name} \" in *\" {value} \"*) ;; *) export {name}=\"${{{name}:+${name} }}{value}\" ;; esac\n"
                    ),
                    (Shell::Fish, false) => format!("set -gx {name} {}\n", crate::shell::single_quote(value)),
                    (Shell::Fish, true) => format!(
                        "contains -- {value} (string split ' ' -- \"${name}\"); or set -gx {name} (string trim -- \"${name} {value}\")\n"
                    ),
                    (Shell::PowerShell, false) => format!("$env:{name} = '{}'\n", value.replace('\'', "''")),
                    (Shell::PowerShell, true) => format!(
                        "if (\" $env:{name} \" -notlike '* {value} *') {{ $env:{name} = \"$env:{name} {value}\".Trim() }}\n"
                    ),
                }
            })
            .collect()
    }
}

/// Where a Debian, Ubuntu or Alpine image keeps local CAs for `update-ca-certificates`, and the bundle it writes.
const IMAGE_ANCHORS: &str = "/usr/local/share/ca-certificates";
const IMAGE_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

impl TrustEnv {
    /// Dockerfile lines that do inside an image what these variables do here: the CA joins the image's system
    /// store (its bundle keeps the image's roots), and every variable points at the image's files. `ca_name` is
    /// the entry name (`CaCert::name`); the build context must hold `ca.pem`.
    pub fn dockerfile(&self, ca_name: &str) -> String {
        let anchor = format!("{IMAGE_ANCHORS}/{ca_name}.crt");
        let mut lines = format!(
            "# Debian, Ubuntu or Alpine image with the ca-certificates package; copy ca.pem into the build context\n\
             COPY ca.pem {anchor}\n\
             RUN update-ca-certificates\n"
        );
        let settings: Vec<String> = self
            .variables
            .iter()
            .map(|v| {
                let value = match (v.appended, v.effect) {
                    (true, _) => v.value.as_str(),
                    (false, Effect::Adds) => anchor.as_str(),
                    (false, Effect::Replaces) => IMAGE_BUNDLE,
                };
                format!("{}={value}", v.name)
            })
            .collect();
        lines.push_str(&format!("ENV {}\n", settings.join(" \\\n    ")));
        lines
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::Adds => "adds to its roots",
            Effect::Replaces => "replaces its roots",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_quotes_the_paths_it_sets() {
        let env = TrustEnv {
            system_bundle: PathBuf::from("/etc/ssl/certs/ca-certificates.crt"),
            bundle: PathBuf::from("/home/o'neil/certs/ca-bundle.pem"),
            variables: vec![Variable {
                name: "SSL_CERT_FILE",
                value: "/home/o'neil/certs/ca-bundle.pem".into(),
                appended: false,
                effect: Effect::Replaces,
                read_by: "OpenSSL",
            }],
        };
        assert_eq!(
            env.script(Shell::Sh),
            "export SSL_CERT_FILE='/home/o'\\''neil/certs/ca-bundle.pem'\n"
        );
        assert_eq!(
            env.script(Shell::Fish),
            "set -gx SSL_CERT_FILE '/home/o'\\''neil/certs/ca-bundle.pem'\n"
        );
        assert_eq!(
            env.script(Shell::PowerShell),
            "$env:SSL_CERT_FILE = '/home/o''neil/certs/ca-bundle.pem'\n"
        );
    }

    #[test]
    fn an_appended_flag_keeps_what_the_variable_holds_and_is_added_once() {
        let env = TrustEnv {
            system_bundle: PathBuf::new(),
            bundle: PathBuf::new(),
            variables: vec![Variable {
                name: "NODE_OPTIONS",
                value: NODE_SYSTEM_ROOTS_FLAG.into(),
                appended: true,
                effect: Effect::Replaces,
                read_by: "Node.js",
            }],
        };
        let script = env.script(Shell::Sh);
        for (before, after) in [
            ("", "--use-openssl-ca"),
            (
                "--max-old-space-size=4096",
                "--max-old-space-size=4096 --use-openssl-ca",
            ),
            ("--use-openssl-ca", "--use-openssl-ca"),
        ] {
            let twice = format!("{script}{script}printf %s \"$NODE_OPTIONS\"");
            let out = std::process::Command::new("sh")
                .args(["-c", &twice])
                .env("NODE_OPTIONS", before)
                .output()
                .expect("run sh");
            assert_eq!(String::from_utf8_lossy(&out.stdout), after, "from {before:?}");
        }
        assert_eq!(
            env.script(Shell::PowerShell),
            "if (\" $env:NODE_OPTIONS \" -notlike '* --use-openssl-ca *') { $env:NODE_OPTIONS = \"$env:NODE_OPTIONS --use-openssl-ca\".Trim() }\n"
        );
    }

    #[test]
    fn the_dockerfile_points_adding_tools_at_the_ca_and_replacing_ones_at_the_image_bundle() {
        let variable = |name, value: &str, appended, effect| Variable {
            name,
            value: value.into(),
            appended,
            effect,
            read_by: "",
        };
        let env = TrustEnv {
            system_bundle: PathBuf::new(),
            bundle: PathBuf::new(),
            variables: vec![
                variable("NODE_EXTRA_CA_CERTS", "/here/ca.pem", false, Effect::Adds),
                variable("NODE_OPTIONS", NODE_SYSTEM_ROOTS_FLAG, true, Effect::Replaces),
                variable("SSL_CERT_FILE", "/here/ca-bundle.pem", false, Effect::Replaces),
            ],
        };
        let lines = env.dockerfile("certgen-ca-x-0123456789abcdef");
        assert!(
            lines.contains(
                "\nCOPY ca.pem /usr/local/share/ca-certificates/certgen-ca-x-0123456789abcdef.crt\n"
            )
        );
        assert!(lines.contains("\nRUN update-ca-certificates\n"));
        assert!(lines.ends_with(
            "ENV NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/certgen-ca-x-0123456789abcdef.crt \\\n    \
             NODE_OPTIONS=--use-openssl-ca \\\n    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt\n"
        ));
    }
}

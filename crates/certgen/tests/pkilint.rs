//! Every kind of certificate certgen makes, with every key type, judged by an independent linter written by a CA:
//! DigiCert's pkilint (`lint_pkix_cert` for RFC 5280, `lint_cabf_serverauth_cert` for the CA/Browser Forum's TLS
//! profile). Any finding outside `tests/pkilint/allow.txt` fails the test, and so does an allow-list entry that no
//! longer matches anything, so the list stays short and true.
//!
//! pkilint comes from tests/peers/requirements.txt, installed next to `$LOCALTLS_PYTHON` (or `.ci-cache/venv`) by
//! `cargo xtask test`; without it the test is skipped, or fails under `LOCALTLS_REQUIRE_PEERS=1`.

#[allow(dead_code)]
mod common;

use std::path::{Path, PathBuf};

use common::{assert_success, certgen, have_openssl, openssl_csr, path_str, run, text};

const TEST: &str = "pkilint";
const ALLOW_LIST: &str = include_str!("pkilint/allow.txt");

/// The folder holding pkilint's commands: the test peers' venv.
fn pkilint_bin() -> Option<PathBuf> {
    let python = std::env::var_os("LOCALTLS_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci-cache/venv/bin/python"),
        PathBuf::from,
    );
    let bin = python.parent()?.to_path_buf();
    let runs = std::process::Command::new(bin.join("lint_pkix_cert"))
        .arg("--help")
        .output()
        .is_ok_and(|o| o.status.success());
    common::can_run(
        runs,
        TEST,
        &format!("no lint_pkix_cert in {}", bin.display()),
        "install tests/peers/requirements.txt (`cargo xtask test` does) or set LOCALTLS_PYTHON",
    )
    .then_some(bin)
}

/// One certificate certgen wrote, and what it is: `kind` (ca, issue, issue-client, client, self-signed, sign) and
/// `key` (a `--key` value, or the CSR's key for `sign`).
struct Made {
    kind: &'static str,
    key: String,
    file: PathBuf,
}

impl Made {
    /// The `lint_cabf_serverauth_cert` type option, or `None` for a certificate the TLS server profile does not
    /// cover (a clientAuth-only certificate). A self-signed leaf is typed explicitly: `-d` would call it a root CA
    /// because it is self-issued, and then judge a CA:FALSE server certificate by the rules for roots.
    fn cabf_type(&self) -> Option<&'static [&'static str]> {
        match self.kind {
            "ca" => Some(&["-t", "ROOT-CA"]),
            "self-signed" => Some(&["-t", "DV-FINAL-CERTIFICATE"]),
            "client" => None,
            _ => Some(&["-d"]),
        }
    }
}

/// Makes every kind with every key type in `dir`, and a certificate signed from an openssl CSR of each common key.
fn make_everything(dir: &Path) -> Vec<Made> {
    let mut made = Vec::new();
    let ok = |args: &[&str], sub: &Path| {
        let out = certgen(sub, args, &[]);
        assert_success("certgen", args, &out);
    };
    for key in certgen::KeyKind::ALL.map(certgen::KeyKind::name) {
        let sub = dir.join(key);
        ok(&["ca", "--key", key, "--permit", "example.test"], &sub);
        ok(
            &[
                "issue",
                "localhost",
                "127.0.0.1",
                "::1",
                "app.localhost",
                "--key",
                key,
            ],
            &sub,
        );
        ok(&["issue", "api.localhost", "--client", "--key", key], &sub);
        ok(&["client", "alice", "--key", key], &sub);
        ok(
            &[
                "self-signed",
                "localhost",
                "127.0.0.1",
                "--key",
                key,
                "--out",
                "self",
            ],
            &sub,
        );
        for (kind, stem) in [
            ("ca", "ca"),
            ("issue", "localhost"),
            ("issue-client", "api.localhost"),
            ("client", "alice"),
            ("self-signed", "self"),
        ] {
            made.push(Made {
                kind,
                key: key.to_string(),
                file: sub.join(format!("{stem}.pem")),
            });
        }
    }
    // A subdomains-only permit, the one form that keeps a leading dot.
    let dotted = dir.join("permit-dot");
    ok(&["ca", "--permit", ".test"], &dotted);
    made.push(Made {
        kind: "ca",
        key: "permit-dot".into(),
        file: dotted.join("ca.pem"),
    });
    let signer = dir.join("ecdsa-p256");
    for (openssl_key, key) in [("ec", "ecdsa-p256"), ("rsa:2048", "rsa-2048")] {
        let csr = dir.join(format!("{key}.csr"));
        let key_out = dir.join(format!("{key}-csr-key.pem"));
        openssl_csr(
            openssl_key,
            path_str(&key_out),
            path_str(&csr),
            "/CN=csr.localhost",
            &["-addext", "subjectAltName=DNS:csr.localhost"],
        );
        let stem = format!("signed-{key}");
        ok(&["sign", "--csr", path_str(&csr), "--out", &stem], &signer);
        made.push(Made {
            kind: "sign",
            key: key.to_string(),
            file: signer.join(format!("{stem}.pem")),
        });
    }
    made
}

/// One pkilint finding on one certificate.
#[derive(Debug)]
struct Finding {
    linter: &'static str,
    code: String,
    message: String,
    kind: &'static str,
    key: String,
    file: String,
}

/// `LINTER lint ARGS FILE` as JSON findings (NOTICE and worse).
fn lint(bin: &Path, linter: &'static str, args: &[&str], made: &Made) -> Vec<Finding> {
    let program = bin.join(linter);
    let mut all = vec!["lint"];
    all.extend(args);
    all.extend(["-s", "NOTICE", "-f", "JSON", path_str(&made.file)]);
    let out = run(path_str(&program), &all, &[]);
    // pkilint exits non-zero when it reports findings; only unreadable output is an error.
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{linter} {all:?}: {e}\nstdout: {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        )
    });
    let results = json["results"].as_array().cloned().unwrap_or_default();
    results
        .iter()
        .flat_map(|result| {
            result["finding_descriptions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|finding| Finding {
            linter,
            code: finding["code"].as_str().unwrap_or_default().to_string(),
            message: finding["message"].as_str().unwrap_or_default().to_string(),
            kind: made.kind,
            key: made.key.clone(),
            file: made.file.display().to_string(),
        })
        .collect()
}

/// One line of the allow-list: `CODE | SCOPE | MESSAGE | WHY`. SCOPE is `*` or comma-separated kinds and keys
/// (a finding matches when its kind or key is listed); MESSAGE is `*` or text the finding's message contains.
struct Allowed {
    code: String,
    scope: Vec<String>,
    message: String,
    line: usize,
}

impl Allowed {
    fn parse(list: &str) -> Vec<Allowed> {
        list.lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
            .map(|(index, line)| {
                let fields: Vec<&str> = line.split(" | ").map(str::trim).collect();
                let [code, scope, message, why] = fields.as_slice() else {
                    panic!(
                        "allow.txt line {}: want `CODE | SCOPE | MESSAGE | WHY`: {line}",
                        index + 1
                    );
                };
                assert!(
                    why.len() > 20,
                    "allow.txt line {}: say why it does not apply",
                    index + 1
                );
                Allowed {
                    code: code.to_string(),
                    scope: scope.split(',').map(|s| s.trim().to_string()).collect(),
                    message: message.to_string(),
                    line: index + 1,
                }
            })
            .collect()
    }

    fn matches(&self, finding: &Finding) -> bool {
        self.code == finding.code
            && (self.scope == ["*"] || self.scope.iter().any(|s| s == finding.kind || *s == finding.key))
            && (self.message == "*" || finding.message.contains(&self.message))
    }
}

#[test]
fn every_certificate_certgen_makes_passes_pkilint_outside_the_allow_list() {
    let Some(bin) = pkilint_bin() else { return };
    if !have_openssl(TEST) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let made = make_everything(dir.path());
    let mut findings = Vec::new();
    for cert in &made {
        findings.extend(lint(&bin, "lint_pkix_cert", &[], cert));
        if let Some(args) = cert.cabf_type() {
            findings.extend(lint(&bin, "lint_cabf_serverauth_cert", args, cert));
        }
    }
    let allowed = Allowed::parse(ALLOW_LIST);
    let unexplained: Vec<String> = findings
        .iter()
        .filter(|f| !allowed.iter().any(|a| a.matches(f)))
        .map(|f| {
            format!(
                "{} {}: {} {:?} ({} {})",
                f.file, f.linter, f.code, f.message, f.kind, f.key
            )
        })
        .collect();
    assert!(
        unexplained.is_empty(),
        "pkilint findings outside tests/pkilint/allow.txt: fix them, or add each with why it does not apply:\n{}",
        unexplained.join("\n")
    );
    let unused: Vec<String> = allowed
        .iter()
        .filter(|a| !findings.iter().any(|f| a.matches(f)))
        .map(|a| format!("line {}: {}", a.line, a.code))
        .collect();
    assert!(
        unused.is_empty(),
        "allow.txt entries no certificate needs any more; remove them:\n{}",
        unused.join("\n")
    );
    eprintln!(
        "pkilint: {} certificates, {} findings, all in the allow-list",
        made.len(),
        findings.len()
    );
}

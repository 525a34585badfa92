//! Certificate set-up time: the tools compared (certgen, mkcert, openssl), their commands, and one timed run.

use super::programs::Programs;
use crate::cmd::output_within;
use anyhow::bail;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The certificate tools compared: each makes a new local CA and a certificate for localhost, 127.0.0.1, ::1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertTool {
    Certgen,
    CertgenRsa,
    Mkcert,
    MkcertEcdsa,
    Openssl,
}

impl CertTool {
    pub const ALL: [CertTool; 5] = [
        CertTool::Certgen,
        CertTool::CertgenRsa,
        CertTool::Mkcert,
        CertTool::MkcertEcdsa,
        CertTool::Openssl,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CertTool::Certgen => "certgen ca + issue",
            CertTool::CertgenRsa => "certgen ca + issue, RSA keys as mkcert",
            CertTool::Mkcert => "mkcert",
            CertTool::MkcertEcdsa => "mkcert -ecdsa",
            CertTool::Openssl => "openssl req (2 commands)",
        }
    }

    pub fn keys(self) -> &'static str {
        match self {
            CertTool::Certgen | CertTool::MkcertEcdsa | CertTool::Openssl => {
                "CA ECDSA P-256, leaf ECDSA P-256"
            }
            CertTool::CertgenRsa | CertTool::Mkcert => "CA RSA-3072, leaf RSA-2048",
        }
    }

    /// The commands, as run in an empty folder (`CAROOT=.` for mkcert: its CA stays there, nothing is installed).
    pub fn commands(self) -> Vec<Vec<&'static str>> {
        let names = ["localhost", "127.0.0.1", "::1"];
        let with_names = |head: &[&'static str]| [head, &names].concat();
        match self {
            CertTool::Certgen => vec![
                vec!["certgen", "ca", "--dir", "."],
                with_names(&["certgen", "issue", "--dir", "."]),
            ],
            CertTool::CertgenRsa => vec![
                vec!["certgen", "ca", "--dir", ".", "--key", "rsa-3072"],
                with_names(&["certgen", "issue", "--dir", ".", "--key", "rsa-2048"]),
            ],
            CertTool::Mkcert => vec![with_names(&["mkcert"])],
            CertTool::MkcertEcdsa => vec![with_names(&["mkcert", "-ecdsa"])],
            CertTool::Openssl => vec![
                [
                    &openssl_p256_req("ca-key.pem", "ca.pem")[..],
                    &[
                        "-days",
                        "3650",
                        "-subj",
                        "/CN=local CA",
                        "-addext",
                        "basicConstraints=critical,CA:TRUE",
                        "-addext",
                        "keyUsage=critical,keyCertSign,cRLSign",
                    ],
                ]
                .concat(),
                [
                    &openssl_p256_req("localhost-key.pem", "localhost.pem")[..],
                    &[
                        "-CA",
                        "ca.pem",
                        "-CAkey",
                        "ca-key.pem",
                        "-days",
                        "825",
                        "-subj",
                        "/CN=localhost",
                        "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
                        "-addext",
                        "basicConstraints=critical,CA:FALSE",
                        "-addext",
                        "extendedKeyUsage=serverAuth",
                    ],
                ]
                .concat(),
            ],
        }
    }
}

/// `openssl req -x509` with a new P-256 key, unencrypted, written to `key` and the certificate to `out`; the caller
/// adds the subject, validity and extensions.
fn openssl_p256_req(key: &'static str, out: &'static str) -> [&'static str; 12] {
    [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        key,
        "-out",
        out,
    ]
}

/// Runs one tool's commands in a fresh folder and returns the wall time in milliseconds, processes included.
pub fn run(programs: &Programs, tool: CertTool, scratch: &Path, run: usize) -> anyhow::Result<f64> {
    let dir = scratch.join(format!("certs-{run}-{tool:?}"));
    std::fs::create_dir_all(&dir)?;
    let started = Instant::now();
    for argv in tool.commands() {
        let program = if argv[0] == "certgen" {
            programs.certgen.as_os_str()
        } else {
            argv[0].as_ref()
        };
        let mut cmd = Command::new(program);
        cmd.args(&argv[1..]).current_dir(&dir).env("CAROOT", &dir);
        let output = output_within(&mut cmd, Duration::from_secs(60))?;
        if !output.status.success() {
            bail!(
                "{} failed in {}: {}",
                argv.join(" "),
                dir.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
    }
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    std::fs::remove_dir_all(&dir)?;
    Ok(millis)
}

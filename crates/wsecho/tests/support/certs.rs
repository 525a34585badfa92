//! The one certificate fixture of wsecho's tests: a fresh CA, a `localhost 127.0.0.1 ::1` server certificate and a
//! client certificate, made by certgen in a temporary directory, and on demand the broken-certificate set. Every
//! certgen issuing call of these tests is here.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{WAIT, run};

use rustls::pki_types::CertificateDer;

pub struct TestCerts {
    pub dir: tempfile::TempDir,
    pub certs: certgen::CertsDir,
    pub ca_pem: PathBuf,
    pub ca_cer: PathBuf,
    /// The server certificate alone (no chain).
    pub server_leaf: PathBuf,
    pub server_chain: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl TestCerts {
    pub fn new() -> TestCerts {
        let dir = tempfile::tempdir().expect("temp dir");
        let certs = certgen::CertsDir::new(dir.path());
        let ca = certs
            .create_ca(&certgen::CaOptions::default())
            .expect("create CA")
            .files;
        let server = issue_server(&certs, false);
        let client_options = certgen::LeafOptions {
            kind: certgen::LeafKind::Client,
            ..Default::default()
        };
        let client = certs
            .issue(
                &certgen::SubjectName::parse_all(["alice"]).expect("name"),
                &client_options,
            )
            .expect("issue client cert")
            .files;
        TestCerts {
            certs,
            ca_pem: ca.cert_pem,
            ca_cer: ca.cert_der,
            server_leaf: server.cert_pem,
            server_chain: server.fullchain_pem,
            server_key: server.key_pem,
            client_cert: client.fullchain_pem,
            client_key: client.key_pem,
            dir,
        }
    }

    /// A server certificate for `name` from this CA, issued by certgen (which refuses names outside the CA's
    /// constraints); returns the full chain and the key.
    pub fn server_for(&self, name: &str) -> (PathBuf, PathBuf) {
        let names = certgen::SubjectName::parse_all([name]).expect("name");
        let files = self
            .certs
            .issue(&names, &certgen::LeafOptions::default())
            .expect("issue server cert")
            .files;
        (files.fullchain_pem, files.key_pem)
    }

    /// A server certificate for `name` signed with this CA's key by openssl, which (unlike certgen) signs names
    /// outside the CA's constraints: what a leaked CA key could make. Returns the full chain and the key.
    pub fn forged_by_openssl(&self, name: &str) -> (PathBuf, PathBuf) {
        let stem = self.dir.path().join(format!("forged-{name}"));
        let (key, cert, chain) = (
            stem.with_extension("key.pem"),
            stem.with_extension("pem"),
            stem.with_extension("chain.pem"),
        );
        let ca_key = self.certs.ca_files().key_pem;
        let mut openssl = Command::new("openssl");
        openssl
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .arg("-CA")
            .arg(&self.ca_pem)
            .arg("-CAkey")
            .arg(&ca_key)
            .args(["-days", "30", "-subj", &format!("/CN={name}")])
            .args(["-addext", &format!("subjectAltName=DNS:{name}")])
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .args(["-addext", "extendedKeyUsage=serverAuth"]);
        let finished = run(&mut openssl, WAIT);
        assert!(finished.status.success(), "{openssl:?}: {}", finished.output());
        let pem = [
            std::fs::read(&cert).expect("forged leaf"),
            std::fs::read(&self.ca_pem).expect("CA"),
        ]
        .concat();
        std::fs::write(&chain, pem).expect("forged chain");
        (chain, key)
    }

    /// The broken-certificate fixtures (`certgen broken`) from this CA; returns their folder.
    pub fn broken(&self) -> PathBuf {
        self.certs
            .make_broken()
            .expect("make the broken-certificate fixtures")
            .dir
    }

    /// Issues a new server certificate over the old files (as a renewal would) and returns its serial.
    pub fn reissue_server(&self) -> String {
        issue_server(&self.certs, true);
        leaf_serial(&self.server_chain)
    }
}

fn issue_server(certs: &certgen::CertsDir, force: bool) -> certgen::LeafFiles {
    let names = certgen::SubjectName::parse_all(["localhost", "127.0.0.1", "::1"]).expect("names");
    let options = certgen::LeafOptions {
        force,
        ..Default::default()
    };
    certs.issue(&names, &options).expect("issue server cert").files
}

/// Serial number (hex, as x509-parser prints it) of the first certificate in a PEM file.
pub fn leaf_serial(pem: &Path) -> String {
    certgen::Cert::from_pem_file(pem)
        .expect("read PEM certificate")
        .serial()
}

pub fn serial_of(der: &CertificateDer<'_>) -> String {
    certgen::Cert::from_der(der.clone().into_owned())
        .expect("parse certificate")
        .serial()
}

/// A CA's subject CN and SHA-256 fingerprint as openssl prints them.
pub fn openssl_name_and_fingerprint(ca_cer: &Path) -> (String, String) {
    let finished = run(
        Command::new("openssl")
            .args([
                "x509",
                "-inform",
                "der",
                "-noout",
                "-fingerprint",
                "-sha256",
                "-subject",
            ])
            .args(["-nameopt", "RFC2253", "-in"])
            .arg(ca_cer),
        WAIT,
    );
    assert!(finished.status.success(), "openssl: {}", finished.output());
    let field = |prefix: &str| {
        finished
            .stdout
            .lines()
            .find_map(|line| line.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in {}", finished.stdout))
            .to_owned()
    };
    let subject = field("subject=");
    let cn = subject
        .split(',')
        .find_map(|rdn| rdn.strip_prefix("CN="))
        .expect("the CA has a CN")
        .to_owned();
    (cn, field("sha256 Fingerprint="))
}

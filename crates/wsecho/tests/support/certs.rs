//! The one certificate fixture of wsecho's tests: a fresh CA, a `localhost 127.0.0.1 ::1` server certificate and a
//! client certificate, made by certgen in a temporary directory. Every certgen issuing call of these tests is
//! here.

use std::path::{Path, PathBuf};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

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
    let der = CertificateDer::from_pem_file(pem).expect("read PEM certificate");
    serial_of(&der)
}

pub fn serial_of(der: &CertificateDer<'_>) -> String {
    let (_, cert) = x509_parser::parse_x509_certificate(der).expect("parse certificate");
    cert.raw_serial_as_string()
}

//! The CA certificate being trusted: read from its PEM file (exactly one CA certificate), and the identities the
//! stores know it by (the entry name every store uses, its DER).

use std::path::{Path, PathBuf};

use crate::Error;
use crate::cert::Cert;
use crate::error::StoreError;

/// A CA certificate loaded from a PEM file, with the identities the stores know it by.
#[derive(Debug, Clone)]
pub struct CaCert {
    path: PathBuf,
    cert: Cert,
}

impl CaCert {
    /// Reads a PEM file holding exactly one CA certificate (`ca.pem`).
    pub fn load(path: &Path) -> Result<CaCert, Error> {
        let bad = |reason: String| {
            Error::Store(StoreError::BadCa {
                path: path.to_owned(),
                reason,
            })
        };
        let bytes = std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => bad("no such file (create a CA with `certgen ca`)".into()),
            _ => bad(e.to_string()),
        })?;
        let certs = crate::pem::certificates(&bytes)
            .map_err(|e| bad(format!("invalid PEM: {}", crate::pem::pem_error_text(&e))))?;
        let der = match certs.as_slice() {
            [one] => one.clone().into_owned(),
            [] if bytes.first() == Some(&0x30) => {
                return Err(bad("this is DER (.cer); pass the PEM file, e.g. ca.pem".into()));
            }
            [] => return Err(bad("no PEM certificate in it; pass the CA's ca.pem".into())),
            many => {
                return Err(bad(format!(
                    "it holds {} certificates; pass a file with only the CA",
                    many.len()
                )));
            }
        };
        let cert = Cert::from_der(der).map_err(|e| bad(format!("not a valid certificate: {e}")))?;
        if !cert.is_ca() {
            return Err(bad(
                "it is not a CA certificate (CA:FALSE); pass the CA's ca.pem".into()
            ));
        }
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        Ok(CaCert { path, cert })
    }

    /// The absolute path of the PEM file (commands refer to it).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The certificate: its DER, CN, validity and fingerprints.
    pub fn cert(&self) -> &Cert {
        &self.cert
    }

    /// The name of every entry certgen adds (NSS nickname, file name, Java alias):
    /// `certgen-<common name, sanitised>-<first 16 hex digits of the SHA-256 fingerprint>`, e.g.
    /// `certgen-ca-dev-laptop-dab363f5c52aba5e` for the CN "certgen CA dev@laptop".
    pub fn name(&self) -> String {
        entry_name(&self.cert)
    }

    /// Whether `der` is this very certificate.
    pub fn is(&self, der: &[u8]) -> bool {
        self.cert.der().as_ref() == der
    }

    /// Whether any certificate in `pem` text is this one.
    pub fn is_in_pem(&self, pem: &str) -> bool {
        crate::pem::certificates_skipping_broken(pem.as_bytes()).any(|c| self.is(c.as_ref()))
    }
}

/// How every entry certgen adds begins.
pub(super) const ENTRY_PREFIX: &str = "certgen-";

/// The name certgen gives the entry of `cert` (see [`CaCert::name`]).
pub(super) fn entry_name(cert: &Cert) -> String {
    format!(
        "{ENTRY_PREFIX}{}-{}",
        slug(cert.subject_cn()),
        &cert.sha256_hex()[..16]
    )
}

/// A common name as lowercase ASCII words joined by `-`, at most 32 characters, without the "certgen" word that
/// certgen's default CN starts with (the entry names already begin with it); "ca" when nothing is left.
fn slug(common_name: &str) -> String {
    let mut slug = String::new();
    for c in common_name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.strip_prefix("certgen-").unwrap_or(&slug);
    let slug: String = slug.chars().take(32).collect();
    match slug.trim_end_matches('-') {
        "" => "ca".to_owned(),
        trimmed => trimmed.to_owned(),
    }
}

/// A self-signed CA written to `dir/ca.pem` and loaded, for the stores' unit tests.
#[cfg(test)]
pub(super) fn test_ca(dir: &Path) -> CaCert {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Unit Test CA");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).expect("self-signed CA");
    std::fs::write(dir.join("ca.pem"), cert.pem()).expect("write ca.pem");
    CaCert::load(&dir.join("ca.pem")).expect("load ca.pem")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_file_must_hold_exactly_one_ca_certificate() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = test_ca(dir.path());
        let pem = std::fs::read_to_string(ca.path()).expect("read");
        let cases = [
            ("ca.cer", ca.cert().der().to_vec(), "this is DER"),
            (
                "two.pem",
                format!("{pem}{pem}").into_bytes(),
                "holds 2 certificates",
            ),
            (
                "key.pem",
                b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".to_vec(),
                "no PEM certificate",
            ),
        ];
        for (file, bytes, expected) in cases {
            let path = dir.path().join(file);
            std::fs::write(&path, bytes).expect("write");
            let err = CaCert::load(&path).expect_err(file).to_string();
            assert!(err.contains(expected) && err.contains(file), "{file}: {err}");
        }
    }

    #[test]
    fn entry_names_are_short_lowercase_words() {
        assert_eq!(slug("certgen CA dev@laptop"), "ca-dev-laptop");
        assert_eq!(slug("  --Foo__Bar--  "), "foo-bar");
        assert_eq!(slug("Bücher GmbH Root"), "b-cher-gmbh-root");
        assert_eq!(slug(""), "ca");
        assert_eq!(slug("©®"), "ca");
        assert_eq!(slug(&"x".repeat(100)).len(), 32);
        assert_eq!(
            slug("abcdefghij abcdefghij abcdefghij z"),
            "abcdefghij-abcdefghij-abcdefghij"
        );
    }
}

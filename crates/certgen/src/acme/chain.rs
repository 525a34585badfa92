//! The certificate chain a CA sends at the end of an order (PEM, leaf first), parsed once: the leaf as a
//! [`Cert`], every certificate as DER, and the PEM text as the CA sent it for the full-chain file.

use rustls_pki_types::CertificateDer;

use super::error::{Cause, Error as AcmeError};
use crate::Cert;
use crate::pem;

/// A downloaded chain.
#[derive(Debug, Clone)]
pub struct Chain {
    /// As the CA sent it: what a server presents.
    pub pem: String,
    /// Leaf first.
    pub certificates: Vec<CertificateDer<'static>>,
    pub leaf: Cert,
}

impl Chain {
    /// Parses the CA's PEM; `url` names the CA in the error.
    pub(crate) fn parse(pem: String, url: &str) -> Result<Self, AcmeError> {
        let bad_chain = |reason: String| AcmeError::Request {
            step: "certificate download",
            url: url.to_string(),
            cause: Cause::Other(reason),
        };
        let certificates = pem::chain(pem.as_bytes()).map_err(|problem| match problem {
            pem::Problem::BadPem(e) => bad_chain(format!(
                "the CA sent an unreadable chain ({})",
                pem::pem_error_text(&e)
            )),
            _ => bad_chain("the CA sent no certificate".into()),
        })?;
        let leaf_der = &certificates[0];
        let leaf = Cert::from_der(leaf_der.clone())
            .map_err(|e| bad_chain(format!("unparsable certificate ({e})")))?;
        Ok(Chain {
            pem,
            certificates,
            leaf,
        })
    }

    /// The leaf alone as PEM (`STEM.pem`), encoded from its DER.
    pub fn leaf_pem(&self) -> String {
        let base64 = data_encoding::BASE64.encode(self.leaf.der());
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in base64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leaf_is_the_first_certificate_and_its_pem_reads_back() {
        let names = crate::SubjectName::parse_all(["a.test"]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let certs = crate::CertsDir::new(dir.path());
        let leaf = certs
            .self_signed(&names, &crate::LeafOptions::default())
            .unwrap()
            .cert;
        let other = certs
            .self_signed(
                &crate::SubjectName::parse_all(["b.test"]).unwrap(),
                &crate::LeafOptions::default(),
            )
            .unwrap()
            .cert;
        let pem = |der: &[u8]| {
            let chain = Chain {
                pem: String::new(),
                certificates: Vec::new(),
                leaf: Cert::from_der(der.to_vec()).unwrap(),
            };
            chain.leaf_pem()
        };
        let sent = format!("{}{}", pem(leaf.der()), pem(other.der()));
        let chain = Chain::parse(sent.clone(), "u").unwrap();
        assert_eq!(chain.leaf.der(), leaf.der());
        assert_eq!(chain.certificates.len(), 2);
        assert_eq!(chain.pem, sent);
        let alone = Cert::from_pem(chain.leaf_pem().as_bytes(), std::path::Path::new("x")).unwrap();
        assert_eq!(alone.der(), leaf.der());
        assert!(Chain::parse("no pem here".into(), "u").is_err());
    }
}

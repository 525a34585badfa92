//! Signing another host's certificate signing request (`certgen sign`), so its key never leaves that host.

use rustls_pki_types::CertificateSigningRequestDer;
use rustls_pki_types::pem::PemObject;
use x509_parser::prelude::{FromDer, ParsedExtension, X509CertificationRequest};

use crate::Error;
use crate::cert::{Issued, common_name};
use crate::error::{InputError, StoreError};
use crate::leaf::{LeafOptions, LeafPlan, write_leaf};
use crate::names::SubjectName;
use crate::store::{CertsDir, LeafFiles};

impl CertsDir {
    /// (subjectAltNames, or the CN when it has none); everything else follows `opts`, exactly as for [`Self::issue`].
    /// No key file is written (`LeafFiles::key_pem` is empty): the key stays on the requesting host.
    pub fn sign_csr(&self, csr: &[u8], opts: &LeafOptions) -> Result<Issued<LeafFiles>, Error> {
        self.sign_parsed_csr(
            ParsedCsr::parse(csr).map_err(|reason| Error::Input(InputError::BadCsr { reason }))?,
            opts,
        )
    }

    /// [`Self::sign_csr`] for a request in a file; errors about the request name the file.
    pub fn sign_csr_file(
        &self,
        csr: &std::path::Path,
        opts: &LeafOptions,
    ) -> Result<Issued<LeafFiles>, Error> {
        let bad = |reason: String| {
            Error::Store(StoreError::BadFile {
                path: csr.to_path_buf(),
                reason,
            })
        };
        let bytes = std::fs::read(csr).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => bad("no such file".into()),
            _ => Error::io("read", csr, e),
        })?;
        self.sign_parsed_csr(
            ParsedCsr::parse(&bytes).map_err(|reason| bad(format!("the request {reason}")))?,
            opts,
        )
    }

    fn sign_parsed_csr(&self, request: ParsedCsr, opts: &LeafOptions) -> Result<Issued<LeafFiles>, Error> {
        if opts.p12 {
            return Err(Error::Input(InputError::ConflictingOptions(
                "--p12 needs the private key, which stays on the host that made the CSR; build the .p12 there",
            )));
        }
        let plan = LeafPlan::new(&request.names()?, opts)?;
        let ca = self.load_ca()?;
        plan.check_against_ca(&ca)?;
        let mut files = self.leaf_files(&plan.stem, false);
        files.key_pem = std::path::PathBuf::new();
        plan.refuse_existing(self)?;
        let issuer = ca.issuer()?;
        let cert = plan
            .params(&request.public_key, request.is_rsa)?
            .signed_by(&request.public_key, &issuer)
            .map_err(|e| Error::crypto("signing the certificate", e))?;
        write_leaf(self, files, &cert, Some(&ca), None, opts)
    }
}

/// What the pre-issue checks need from a certificate signing request.
struct ParsedCsr {
    /// The subjectAltNames, already validated.
    sans: Vec<SubjectName>,
    /// The subject CN, which names the certificate when there are no subjectAltNames.
    common_name: Option<String>,
    public_key: rcgen::SubjectPublicKeyInfo,
    is_rsa: bool,
}

impl ParsedCsr {
    fn parse(input: &[u8]) -> Result<Self, String> {
        let bad = |reason: &str| reason.to_string();
        let der = if input.trim_ascii_start().starts_with(b"-----BEGIN") {
            CertificateSigningRequestDer::from_pem_slice(input)
                .map_err(|_| bad("is not a PEM `CERTIFICATE REQUEST`"))?
        } else {
            CertificateSigningRequestDer::from(input.to_vec())
        };
        let (_, csr) = X509CertificationRequest::from_der(der.as_ref())
            .map_err(|_| bad("is neither a PEM nor a DER PKCS#10 certificate request"))?;
        csr.verify_signature()
            .map_err(|_| bad("signature does not verify (the request was altered or is broken)"))?;
        let info = &csr.certification_request_info;
        let mut sans = Vec::new();
        for ext in csr.requested_extensions().into_iter().flatten() {
            if let ParsedExtension::SubjectAlternativeName(san) = ext {
                for general in &san.general_names {
                    sans.push(
                        SubjectName::from_general_name(general)
                            .map_err(|e| format!("has a bad name: {e}"))?,
                    );
                }
            }
        }
        let common_name = common_name(&info.subject).map(str::to_string);
        if sans.is_empty() && common_name.is_none() {
            return Err(bad(
                "has neither subjectAltNames nor a CN; put the host names in it (`-addext subjectAltName=DNS:host`)",
            ));
        }
        let public_key = rcgen::SubjectPublicKeyInfo::from_der(info.subject_pki.raw)
            .map_err(|e| bad(&format!("has an unsupported public key: {e}")))?;
        let is_rsa =
            info.subject_pki.algorithm.algorithm == x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION;
        Ok(ParsedCsr {
            sans,
            common_name,
            public_key,
            is_rsa,
        })
    }

    /// The names to issue for: the subjectAltNames, or else the CN, which must then be a valid name itself.
    fn names(&self) -> Result<Vec<SubjectName>, Error> {
        match (&self.sans[..], &self.common_name) {
            ([], Some(cn)) => Ok(vec![SubjectName::parse(cn)?]),
            (sans, _) => Ok(sans.to_vec()),
        }
    }
}

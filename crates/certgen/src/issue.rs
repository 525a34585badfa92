//! Making certificates with rcgen: the local CA, server and client leaves, self-signed certificates and CSR signing.
//! Every check (names, name constraints, validity, existing files) runs before anything is written.

use std::fmt;
use std::str::FromStr;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, NameConstraints, PublicKeyData, SerialNumber,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateSigningRequestDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer, ParsedExtension, X509Certificate, X509CertificationRequest};

use zeroize::Zeroizing;

use crate::Error;
use crate::export;
use crate::names::{Constraints, Permit, SubjectName};
use crate::secret;
use crate::store::{self, CaFiles, CertsDir, Commit, LeafFiles, Secrecy};

/// The key algorithm of a new certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyKind {
    #[default]
    EcdsaP256,
    EcdsaP384,
    Rsa2048,
    Rsa3072,
    Rsa4096,
    Ed25519,
}

impl KeyKind {
    pub const ALL: [KeyKind; 6] = [
        KeyKind::EcdsaP256,
        KeyKind::EcdsaP384,
        KeyKind::Rsa2048,
        KeyKind::Rsa3072,
        KeyKind::Rsa4096,
        KeyKind::Ed25519,
    ];

    pub fn name(self) -> &'static str {
        match self {
            KeyKind::EcdsaP256 => "ecdsa-p256",
            KeyKind::EcdsaP384 => "ecdsa-p384",
            KeyKind::Rsa2048 => "rsa-2048",
            KeyKind::Rsa3072 => "rsa-3072",
            KeyKind::Rsa4096 => "rsa-4096",
            KeyKind::Ed25519 => "ed25519",
        }
    }

    /// A fresh key pair. ring cannot generate RSA keys, so RSA keys come from the `rsa` crate as PKCS#8 and are
    /// then loaded into ring, which does all signing.
    fn generate(self) -> Result<KeyPair, Error> {
        let from_ring = |alg| KeyPair::generate_for(alg).map_err(|e| Error::crypto("generating a key", e));
        match self {
            KeyKind::EcdsaP256 => from_ring(&rcgen::PKCS_ECDSA_P256_SHA256),
            KeyKind::EcdsaP384 => from_ring(&rcgen::PKCS_ECDSA_P384_SHA384),
            KeyKind::Ed25519 => ed25519_v1(from_ring(&rcgen::PKCS_ED25519)?),
            KeyKind::Rsa2048 => rsa_key(2048),
            KeyKind::Rsa3072 => rsa_key(3072),
            KeyKind::Rsa4096 => rsa_key(4096),
        }
    }
}

/// ring writes Ed25519 keys as PKCS#8 v2 (seed + public key), which OpenSSL 3 refuses to read; rewrite them as
/// PKCS#8 v1 (RFC 8410: the seed only), which every tool, ring included, reads.
fn ed25519_v1(key: KeyPair) -> Result<KeyPair, Error> {
    const V2_PREFIX: [u8; 16] = [
        0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ];
    const V1_PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ];
    let v2 = key.serialize_der();
    let seed = v2
        .strip_prefix(&V2_PREFIX)
        .and_then(|rest| rest.get(..32))
        .ok_or_else(|| Error::crypto("generating an Ed25519 key", "unexpected PKCS#8 layout from ring"))?;
    let v1: Vec<u8> = V1_PREFIX.iter().chain(seed).copied().collect();
    KeyPair::from_pkcs8_der_and_sign_algo(&PrivatePkcs8KeyDer::from(v1), &rcgen::PKCS_ED25519)
        .map_err(|e| Error::crypto("generating an Ed25519 key", e))
}

fn rsa_key(bits: usize) -> Result<KeyPair, Error> {
    use rsa::pkcs8::EncodePrivateKey;
    let rsa_err = |e: &dyn fmt::Display| Error::crypto("generating an RSA key", e);
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits).map_err(|e| rsa_err(&e))?;
    let pkcs8 = key.to_pkcs8_der().map_err(|e| rsa_err(&e))?;
    KeyPair::from_pkcs8_der_and_sign_algo(
        &PrivatePkcs8KeyDer::from(pkcs8.as_bytes()),
        &rcgen::PKCS_RSA_SHA256,
    )
    .map_err(|e| rsa_err(&e))
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        KeyKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let all = KeyKind::ALL.map(KeyKind::name).join(", ");
                Error::BadInput(format!("unknown key kind `{s}`; use one of {all}"))
            })
    }
}

/// Options of `certgen ca`.
#[derive(Debug, Clone)]
pub struct CaOptions {
    /// Subject CN; default names the tool, the user and the host.
    pub cn: Option<String>,
    pub key: KeyKind,
    pub days: u32,
    /// Extra permitted subtrees (`NAME`, `.NAME`, `IP`, `IP/PREFIX`) on top of the loopback defaults.
    pub permit: Vec<String>,
    /// No name constraints at all: the CA can vouch for any name, including real websites.
    pub unconstrained: bool,
    /// Replace an existing CA (the old files are kept as `*-backup-TIMESTAMP.*`).
    pub force: bool,
    /// Encrypt the key with a passphrase from `$CERTGEN_CA_PASSPHRASE` or the terminal (see [`crate::secret`]).
    pub encrypt: bool,
}

impl Default for CaOptions {
    fn default() -> Self {
        CaOptions {
            cn: None,
            key: KeyKind::default(),
            days: 3650,
            permit: Vec::new(),
            unconstrained: false,
            force: false,
            encrypt: false,
        }
    }
}

/// What a leaf certificate is for (its extended key usage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeafKind {
    /// serverAuth.
    #[default]
    Server,
    /// serverAuth + clientAuth (`certgen issue --client`).
    ServerAndClient,
    /// clientAuth only (`certgen client`), for mTLS.
    Client,
}

/// Options shared by `issue`, `client`, `self-signed` and `sign`.
#[derive(Debug, Clone)]
pub struct LeafOptions {
    /// File stem; default: the first name made file-name safe (`*.app.test` -> `_wildcard.app.test`).
    pub out: Option<String>,
    /// Subject CN; default: the plain client name, else the first DNS name, else the first email or URI (IP-only
    /// certificates get none).
    pub cn: Option<String>,
    pub days: u32,
    /// Permit more than [`MAX_APPLE_DAYS`] days.
    pub allow_long: bool,
    /// Start of validity; default now. A date in the past makes backdated or already expired test certificates.
    pub not_before: Option<OffsetDateTime>,
    pub key: KeyKind,
    pub kind: LeafKind,
    pub p12: bool,
    /// Default [`export::DEFAULT_P12_PASSWORD`].
    pub p12_password: Option<String>,
    pub force: bool,
}

impl Default for LeafOptions {
    fn default() -> Self {
        LeafOptions {
            out: None,
            cn: None,
            days: DEFAULT_LEAF_DAYS,
            allow_long: false,
            not_before: None,
            key: KeyKind::default(),
            kind: LeafKind::default(),
            p12: false,
            p12_password: None,
            force: false,
        }
    }
}

/// Default leaf validity: the public-CA limit (398 days) minus a day of margin.
pub const DEFAULT_LEAF_DAYS: u32 = 397;
/// Apple platforms reject TLS server certificates valid for longer, even from a locally trusted CA.
pub const MAX_APPLE_DAYS: u32 = 825;

/// Parses `--not-before`: an RFC 3339 date-time (`2024-01-31T12:00:00Z`) or a date (`2024-01-31`, midnight UTC).
pub fn parse_not_before(input: &str) -> Result<OffsetDateTime, Error> {
    let date_only = time::macros::format_description!("[year]-[month]-[day]");
    OffsetDateTime::parse(input, &time::format_description::well_known::Rfc3339)
        .or_else(|_| time::Date::parse(input, &date_only).map(|d| d.midnight().assume_utc()))
        .map_err(|_| {
            Error::BadInput(format!(
                "--not-before `{input}`: expected a date like 2024-01-31 or a date-time like 2024-01-31T12:00:00Z"
            ))
        })
}

/// A CA loaded from a certs folder, its key checked against its certificate.
pub struct LoadedCa {
    pub files: CaFiles,
    pub cert_pem: String,
    pub cert_der: CertificateDer<'static>,
    /// `None` for an unconstrained CA.
    pub constraints: Option<Constraints>,
    /// End of the CA's validity; no certificate it signs may outlive it.
    pub not_after: OffsetDateTime,
    key: KeyPair,
}

impl fmt::Debug for LoadedCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedCa")
            .field("files", &self.files)
            .field("constraints", &self.constraints)
            .finish()
    }
}

impl CertsDir {
    /// Creates `ca.pem`, `ca-key.pem` and `ca.cer`; refuses an existing CA unless `opts.force`.
    pub fn create_ca(&self, opts: &CaOptions) -> Result<CaFiles, Error> {
        if opts.unconstrained && !opts.permit.is_empty() {
            return Err(Error::BadInput(
                "--permit and --unconstrained contradict each other; an unconstrained CA permits every name"
                    .into(),
            ));
        }
        let permits = opts
            .permit
            .iter()
            .map(|p| Permit::parse(p))
            .collect::<Result<Vec<_>, _>>()?;
        if opts.days == 0 {
            return Err(Error::BadInput(
                "--days 0: a CA must be valid for at least one day".into(),
            ));
        }
        self.recover()?;
        let files = self.ca_files();
        store::refuse_existing(
            files.all(),
            opts.force,
            "use --force to replace the CA (the old files are kept as ca-backup-*; certificates it issued stop \
             being trusted once you install the new CA)",
        )?;
        let not_before = now();
        let not_after = add_days(not_before, opts.days)?;

        let mut params = empty_params();
        let cn = match &opts.cn {
            Some(cn) => checked_cn(cn)?,
            None => default_ca_name().chars().take(MAX_CN_LEN).collect(),
        };
        params.distinguished_name.push(DnType::CommonName, cn);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "certgen local development CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        if !opts.unconstrained {
            let mut all = Permit::defaults();
            all.extend(permits.into_iter().filter(|p| !Permit::defaults().contains(p)));
            params.name_constraints = Some(NameConstraints {
                permitted_subtrees: all.iter().map(Permit::to_subtree).collect(),
                excluded_subtrees: Vec::new(),
            });
        }
        params.serial_number = Some(random_serial());
        params.not_before = not_before;
        params.not_after = not_after;

        // Asked before the (possibly slow) key generation, so a refused passphrase costs nothing.
        let passphrase = opts
            .encrypt
            .then(|| secret::passphrase(&files.key_pem, true))
            .transpose()?;
        let key = opts.key.generate()?;
        let cert = params
            .self_signed(&key)
            .map_err(|e| Error::crypto("signing the CA certificate", e))?;
        let key_pem = match &passphrase {
            Some(passphrase) => secret::encrypt(&key.serialize_der(), passphrase)?,
            None => Zeroizing::new(key.serialize_pem()),
        };

        let mut commit = Commit::default();
        if opts.force {
            let stamp = backup_stamp();
            for path in files.all() {
                commit.backup(path, backup_path(path, &stamp));
            }
        }
        commit.write(&files.cert_pem, cert.pem(), Secrecy::Public);
        commit.write(&files.key_pem, key_pem.as_bytes(), Secrecy::Secret);
        commit.write(&files.cert_der, cert.der().to_vec(), Secrecy::Public);
        commit.apply(self.path())?;
        Ok(files)
    }

    /// Loads the CA of this folder and checks that its key belongs to its certificate. Refuses a key file others
    /// can read; an encrypted key asks for its passphrase (`$CERTGEN_CA_PASSPHRASE` or the terminal).
    pub fn load_ca(&self) -> Result<LoadedCa, Error> {
        self.recover()?;
        let files = self.ca_files();
        match (files.cert_pem.exists(), files.key_pem.exists()) {
            (false, false) => {
                return Err(Error::NoCa {
                    dir: self.path().to_path_buf(),
                });
            }
            (true, true) => {}
            (cert_exists, _) => {
                let (missing, present) = if cert_exists {
                    (&files.key_pem, &files.cert_pem)
                } else {
                    (&files.cert_pem, &files.key_pem)
                };
                return Err(Error::BadFile {
                    path: missing.clone(),
                    reason: format!(
                        "missing, but {} exists; restore it from a backup or recreate the CA with `certgen ca --force`",
                        present.display()
                    ),
                });
            }
        }
        let bad_file = |path: &std::path::Path, reason: &str| Error::BadFile {
            path: path.into(),
            reason: reason.into(),
        };
        let pem_bytes = store::read(&files.cert_pem)?;
        let cert_der = CertificateDer::from_pem_slice(&pem_bytes)
            .map_err(|_| bad_file(&files.cert_pem, "not a PEM certificate"))?;
        let (_, x509) = X509Certificate::from_der(&cert_der)
            .map_err(|_| bad_file(&files.cert_pem, "not a valid X.509 certificate"))?;
        if !x509.is_ca() {
            return Err(bad_file(
                &files.cert_pem,
                "not a CA certificate (basic constraints CA:FALSE or missing)",
            ));
        }
        let constraints = Constraints::from_certificate(&x509).map_err(|r| bad_file(&files.cert_pem, &r))?;
        let key_bytes = secret::read_private_key(&files.key_pem)?;
        let unsupported = || {
            bad_file(
                &files.key_pem,
                "not a PKCS#8 PEM private key (ECDSA, Ed25519 or RSA)",
            )
        };
        let key = if secret::is_encrypted(&key_bytes) {
            let passphrase = secret::passphrase(&files.key_pem, false)?;
            let der = secret::decrypt(&files.key_pem, &key_bytes, &passphrase)?;
            KeyPair::try_from(der.as_slice()).map_err(|_| unsupported())?
        } else {
            std::str::from_utf8(&key_bytes)
                .ok()
                .and_then(|pem| KeyPair::from_pem(pem).ok())
                .ok_or_else(unsupported)?
        };
        if key.subject_public_key_info() != x509.tbs_certificate.subject_pki.raw {
            return Err(Error::KeyMismatch {
                cert: files.cert_pem,
                key: files.key_pem,
            });
        }
        let cert_pem = String::from_utf8_lossy(&pem_bytes).into_owned();
        let not_after = x509.validity().not_after.to_datetime();
        Ok(LoadedCa {
            files,
            cert_pem,
            cert_der: cert_der.into_owned(),
            constraints,
            not_after,
            key,
        })
    }

    /// A leaf certificate for `names`, signed by this folder's CA.
    pub fn issue(&self, names: &[String], opts: &LeafOptions) -> Result<LeafFiles, Error> {
        let plan = LeafPlan::new(names, opts)?;
        let ca = self.load_ca()?;
        plan.check_against_ca(&ca)?;
        let files = self.leaf_files(&plan.stem, opts.p12);
        plan.refuse_existing(self)?;
        let key = opts.key.generate()?;
        let issuer = ca_issuer(&ca)?;
        let cert = plan
            .params(is_rsa(&key), true)?
            .signed_by(&key, &issuer)
            .map_err(|e| Error::crypto("signing the certificate", e))?;
        write_leaf(self, &files, &cert, Some(&ca), Some(&key), opts)?;
        Ok(files)
    }

    /// A self-signed CA:FALSE certificate (trusted directly, no CA involved).
    pub fn self_signed(&self, names: &[String], opts: &LeafOptions) -> Result<LeafFiles, Error> {
        let plan = LeafPlan::new(names, opts)?;
        self.recover()?;
        let files = self.leaf_files(&plan.stem, opts.p12);
        plan.refuse_existing(self)?;
        let key = opts.key.generate()?;
        let cert = plan
            .params(is_rsa(&key), false)?
            .self_signed(&key)
            .map_err(|e| Error::crypto("signing the certificate", e))?;
        write_leaf(self, &files, &cert, None, Some(&key), opts)?;
        Ok(files)
    }

    /// Signs a PKCS#10 request (PEM or DER) with this folder's CA. Only the request's public key and names are used
    /// (subjectAltNames, or the CN when it has none); everything else follows `opts`, exactly as for [`Self::issue`].
    /// No key file is written (`LeafFiles::key_pem` is empty): the key stays on the requesting host.
    pub fn sign_csr(&self, csr: &[u8], opts: &LeafOptions) -> Result<LeafFiles, Error> {
        self.sign_parsed_csr(
            ParsedCsr::parse(csr).map_err(|reason| Error::BadInput(format!("the CSR {reason}")))?,
            opts,
        )
    }

    /// [`Self::sign_csr`] for a request in a file; errors about the request name the file.
    pub fn sign_csr_file(&self, csr: &std::path::Path, opts: &LeafOptions) -> Result<LeafFiles, Error> {
        let bad = |reason: String| Error::BadFile {
            path: csr.to_path_buf(),
            reason,
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

    fn sign_parsed_csr(&self, request: ParsedCsr, opts: &LeafOptions) -> Result<LeafFiles, Error> {
        if opts.p12 {
            return Err(Error::BadInput(
                "--p12 needs the private key, which stays on the host that made the CSR; build the .p12 there".into(),
            ));
        }
        let plan = LeafPlan::new(&request.names, opts)?;
        let ca = self.load_ca()?;
        plan.check_against_ca(&ca)?;
        let mut files = self.leaf_files(&plan.stem, false);
        files.key_pem = std::path::PathBuf::new();
        plan.refuse_existing(self)?;
        let issuer = ca_issuer(&ca)?;
        let cert = plan
            .params(request.is_rsa, true)?
            .signed_by(&request.public_key, &issuer)
            .map_err(|e| Error::crypto("signing the certificate", e))?;
        write_leaf(self, &files, &cert, Some(&ca), None, opts)?;
        Ok(files)
    }
}

fn ca_issuer(ca: &LoadedCa) -> Result<Issuer<'static, &KeyPair>, Error> {
    Issuer::from_ca_cert_der(&ca.cert_der, &ca.key)
        .map_err(|e| Error::crypto("reading the CA certificate", e))
}

fn is_rsa(key: &KeyPair) -> bool {
    [
        &rcgen::PKCS_RSA_SHA256,
        &rcgen::PKCS_RSA_SHA384,
        &rcgen::PKCS_RSA_SHA512,
    ]
    .contains(&key.algorithm())
}

/// Everything about a leaf decided before any key is made or file written.
struct LeafPlan {
    /// subjectAltName entries.
    sans: Vec<SubjectName>,
    /// `None` leaves the subject empty (the subjectAltName extension is then marked critical).
    cn: Option<String>,
    stem: String,
    kind: LeafKind,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    force: bool,
}

impl LeafPlan {
    fn new(names: &[String], opts: &LeafOptions) -> Result<Self, Error> {
        let mut parsed: Vec<SubjectName> = Vec::new();
        for name in names {
            let name = SubjectName::parse(name)?;
            if !parsed.contains(&name) {
                parsed.push(name);
            }
        }
        let first = parsed.first().cloned().ok_or_else(|| {
            Error::BadInput("give at least one name, e.g. `certgen issue localhost 127.0.0.1 ::1`".into())
        })?;
        // A client certificate named by a bare word (`alice`) carries it as CN only: it identifies a person or
        // device, not a host, so it gets no DNS subjectAltName and name constraints do not apply to it.
        let (cn_only, sans): (Vec<SubjectName>, Vec<SubjectName>) = parsed.into_iter().partition(|n| {
            opts.kind == LeafKind::Client && matches!(n, SubjectName::Dns(d) if !d.contains('.'))
        });
        if cn_only.len() > 1 {
            return Err(Error::BadInput(format!(
                "a client certificate has one plain name (its CN), got {}; add the others as email or DNS names",
                cn_only
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let cn = match &opts.cn {
            Some(cn) => Some(checked_cn(cn)?),
            None => default_cn(&cn_only, &sans),
        };
        let stem = match &opts.out {
            Some(out) => valid_stem(out)?,
            None => first.file_stem(),
        };
        let (not_before, not_after) = leaf_validity(opts)?;
        Ok(LeafPlan {
            sans,
            cn,
            stem,
            kind: opts.kind,
            not_before,
            not_after,
            force: opts.force,
        })
    }

    /// Can `ca` sign this: every name inside its constraints, and the validity inside the CA's?
    fn check_against_ca(&self, ca: &LoadedCa) -> Result<(), Error> {
        if let Some(constraints) = &ca.constraints {
            self.sans.iter().try_for_each(|name| constraints.check(name))?;
        }
        let ca_end = format_date(ca.not_after);
        if ca.not_after <= now() {
            return Err(Error::BadInput(format!(
                "the CA in {} expired on {ca_end}; make a new one with `certgen ca --force`",
                ca.files.cert_pem.display()
            )));
        }
        if self.not_after > ca.not_after {
            return Err(Error::BadInput(format!(
                "the certificate would end on {}, after its CA ({ca_end}), and clients stop trusting it then; use \
                 fewer --days or make a new CA",
                format_date(self.not_after)
            )));
        }
        Ok(())
    }

    /// Refuses when any file of this stem exists (including a `.p12` or key this run would not write) unless
    /// `--force`; with `--force` such stale siblings are removed by [`write_leaf`].
    fn refuse_existing(&self, dir: &CertsDir) -> Result<(), Error> {
        store::refuse_existing(
            dir.leaf_files(&self.stem, true).all(),
            self.force,
            "use --force to replace it, or --out to pick another file name",
        )
    }

    fn params(&self, rsa_key: bool, signed_by_ca: bool) -> Result<CertificateParams, Error> {
        let mut params = empty_params();
        if let Some(cn) = &self.cn {
            params.distinguished_name.push(DnType::CommonName, cn.as_str());
        }
        params.subject_alt_names = self
            .sans
            .iter()
            .map(SubjectName::to_san)
            .collect::<Result<_, _>>()?;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if rsa_key {
            params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
        }
        params.extended_key_usages = match self.kind {
            LeafKind::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
            LeafKind::ServerAndClient => vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
            LeafKind::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
        };
        params.use_authority_key_identifier_extension = signed_by_ca;
        params.serial_number = Some(random_serial());
        params.not_before = self.not_before;
        params.not_after = self.not_after;
        Ok(params)
    }
}

/// rcgen's defaults without its placeholder subject (`CN=rcgen self signed cert`).
fn empty_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
}

/// The CN when `--cn` is not given: the plain client name, else the first DNS name, else the first email or URI,
/// skipping names longer than X.520's 64-character limit. An IP-only certificate gets no CN: OpenSSL checks a CN that
/// looks like a host name (`127.0.0.1` does) against the CA's DNS name constraints when the certificate has no DNS
/// name, and would reject it.
fn default_cn(cn_only: &[SubjectName], sans: &[SubjectName]) -> Option<String> {
    let dns = |n: &&SubjectName| matches!(n, SubjectName::Dns(_) | SubjectName::Wildcard(_));
    let other = |n: &&SubjectName| matches!(n, SubjectName::Email(_) | SubjectName::Uri(_));
    cn_only
        .iter()
        .chain(sans.iter().filter(dns))
        .chain(sans.iter().filter(other))
        .map(ToString::to_string)
        .find(|cn| cn.len() <= MAX_CN_LEN)
}

fn checked_cn(cn: &str) -> Result<String, Error> {
    if cn.is_empty() || cn.len() > MAX_CN_LEN || cn.chars().any(char::is_control) {
        return Err(Error::BadInput(format!(
            "--cn `{cn}`: the CN must be printable text of 1 to {MAX_CN_LEN} characters"
        )));
    }
    Ok(cn.to_string())
}

/// X.520 upper bound of a common name (RFC 5280 `ub-common-name`).
const MAX_CN_LEN: usize = 64;

fn valid_stem(out: &str) -> Result<String, Error> {
    let ok = !out.is_empty()
        && !out.starts_with('.')
        && out
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(out.to_string())
    } else {
        Err(Error::BadInput(format!(
            "--out `{out}`: use a plain file stem (letters, digits, `.`, `-`, `_`, not starting with `.`); files go \
             into --dir"
        )))
    }
}

fn leaf_validity(opts: &LeafOptions) -> Result<(OffsetDateTime, OffsetDateTime), Error> {
    if opts.days == 0 {
        return Err(Error::BadInput(
            "--days 0: a certificate must be valid for at least one day".into(),
        ));
    }
    if opts.days > MAX_APPLE_DAYS && !opts.allow_long {
        return Err(Error::BadInput(format!(
            "--days {}: macOS and iOS reject TLS server certificates valid for more than {MAX_APPLE_DAYS} days, even \
             from a CA you trust yourself; use --days {MAX_APPLE_DAYS} or less, or add --allow-long if no Apple \
             device will see this certificate",
            opts.days
        )));
    }
    let not_before = opts.not_before.unwrap_or_else(now);
    Ok((not_before, add_days(not_before, opts.days)?))
}

fn write_leaf(
    dir: &CertsDir,
    files: &LeafFiles,
    cert: &rcgen::Certificate,
    ca: Option<&LoadedCa>,
    key: Option<&KeyPair>,
    opts: &LeafOptions,
) -> Result<(), Error> {
    let leaf_pem = cert.pem();
    let mut commit = Commit::default();
    let stem = files
        .cert_pem
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    commit.write(&files.cert_pem, leaf_pem.as_str(), Secrecy::Public);
    commit.write(
        &files.fullchain_pem,
        export::full_chain(&leaf_pem, ca.map(|c| c.cert_pem.as_str())),
        Secrecy::Public,
    );
    commit.write(&files.cert_der, cert.der().to_vec(), Secrecy::Public);
    if let Some(key) = key {
        commit.write(&files.key_pem, key.serialize_pem(), Secrecy::Secret);
        if let Some(p12_path) = &files.p12 {
            let mut chain: Vec<&[u8]> = vec![cert.der()];
            chain.extend(ca.map(|c| c.cert_der.as_ref()));
            let password = opts
                .p12_password
                .as_deref()
                .unwrap_or(export::DEFAULT_P12_PASSWORD);
            let alias = p12_path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let p12 = export::pkcs12(&alias, &key.serialize_der(), &chain, password)?;
            commit.write(p12_path, p12, Secrecy::Secret);
        }
    }
    commit.remove_stale(dir.leaf_files(&stem, true).all());
    commit.apply(dir.path())
}

/// What the pre-issue checks need from a certificate signing request.
struct ParsedCsr {
    names: Vec<String>,
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
        let mut names = Vec::new();
        for ext in csr.requested_extensions().into_iter().flatten() {
            if let ParsedExtension::SubjectAlternativeName(san) = ext {
                for general in &san.general_names {
                    names.push(
                        SubjectName::from_general_name(general)
                            .map_err(|e| format!("has a bad name: {e}"))?
                            .to_string(),
                    );
                }
            }
        }
        if names.is_empty() {
            let cn = info
                .subject
                .iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok());
            names.extend(cn.map(str::to_string));
        }
        if names.is_empty() {
            return Err(bad(
                "has neither subjectAltNames nor a CN; put the host names in it (`-addext subjectAltName=DNS:host`)",
            ));
        }
        let public_key = rcgen::SubjectPublicKeyInfo::from_der(info.subject_pki.raw)
            .map_err(|e| bad(&format!("has an unsupported public key: {e}")))?;
        let is_rsa =
            info.subject_pki.algorithm.algorithm == x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION;
        Ok(ParsedCsr {
            names,
            public_key,
            is_rsa,
        })
    }
}

/// A short description of a written certificate, for printing what a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    pub subject_cn: String,
    pub names: Vec<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// SHA-256 of the DER certificate, uppercase hex pairs joined by `:`.
    pub sha256: String,
    /// Permitted name-constraint subtrees, `None` when the certificate has no constraints.
    pub permitted: Option<Vec<String>>,
}

impl CertSummary {
    /// Reads the first certificate of a PEM file.
    pub fn read(path: &std::path::Path) -> Result<Self, Error> {
        let bad = |reason: &str| Error::BadFile {
            path: path.into(),
            reason: reason.into(),
        };
        let pem = store::read(path)?;
        let der = CertificateDer::from_pem_slice(&pem).map_err(|_| bad("not a PEM certificate"))?;
        let (_, x509) = X509Certificate::from_der(&der).map_err(|_| bad("not a valid X.509 certificate"))?;
        let subject_cn = x509
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .unwrap_or_default();
        let names = match x509.subject_alternative_name() {
            Ok(Some(san)) => san.value.general_names.iter().map(general_name_text).collect(),
            _ => Vec::new(),
        };
        let permitted = Constraints::from_certificate(&x509)
            .map_err(|r| bad(&r))?
            .map(|c| c.permitted.iter().map(ToString::to_string).collect());
        Ok(CertSummary {
            subject_cn: subject_cn.to_string(),
            names,
            not_before: x509.validity().not_before.to_datetime(),
            not_after: x509.validity().not_after.to_datetime(),
            sha256: Sha256::digest(der.as_ref())
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(":"),
            permitted,
        })
    }
}

fn general_name_text(name: &x509_parser::extensions::GeneralName<'_>) -> String {
    SubjectName::from_general_name(name)
        .map(|n| n.to_string())
        .unwrap_or_else(|_| name.to_string())
}

/// `YYYY-MM-DD` (UTC), as the CLI prints validity dates.
pub fn format_date(t: OffsetDateTime) -> String {
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc())
}

fn add_days(start: OffsetDateTime, days: u32) -> Result<OffsetDateTime, Error> {
    start
        .checked_add(Duration::days(i64::from(days)))
        .filter(|end| end.year() <= 9999)
        .ok_or_else(|| {
            Error::BadInput(format!(
                "--days {days}: the certificate would end after the year 9999"
            ))
        })
}

/// 128 random bits, positive and always 16 bytes long in DER.
fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

fn default_ca_name() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "user".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("certgen CA {user}@{host}")
}

fn backup_stamp() -> String {
    let t = OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `ca-key.pem` -> `ca-key-backup-20260101T120000Z.pem`.
fn backup_path(path: &std::path::Path, stamp: &str) -> std::path::PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    path.with_file_name(format!("{stem}-backup-{stamp}{ext}"))
}

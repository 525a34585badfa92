//! The local CA: creating it (`certgen ca`) and loading it, its key checked against its certificate, to sign with.

use std::fmt;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, NameConstraints,
    PublicKeyData,
};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::Error;
use crate::cert::Cert;
use crate::constraints::{Constraints, Permit};
use crate::error::{InputError, StoreError};
use crate::key::KeyKind;
use crate::orphan::Orphan;
use crate::params::{MAX_CN_LEN, checked_cn, empty_params, random_serial};
use crate::secret;
use crate::store::{self, CaFiles, CertsDir, Commit, Secrecy, backup_path, backup_stamp};
use crate::validity::{add_days, format_date, now};

/// Options of `certgen ca`.
#[derive(Debug, Clone)]
pub struct CaOptions {
    /// Subject CN; default names the tool, the user and the host.
    pub cn: Option<String>,
    pub key: KeyKind,
    pub days: u32,
    /// Extra permitted subtrees (`NAME`, `.NAME`, `IP`, `IP/PREFIX`) on top of the loopback defaults.
    pub permit: Vec<Permit>,
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

/// What [`CertsDir::create_ca`] did: the new CA's files and certificate, and what replacing an old one left.
#[derive(Debug)]
pub struct CreatedCa {
    pub files: CaFiles,
    pub cert: Cert,
    /// The old CA's files, kept as `ca*-backup-TIMESTAMP.*`; sorted, empty unless a CA was replaced.
    pub backups: Vec<PathBuf>,
    /// The certificates the old CA had issued, which stop being trusted with it.
    pub orphaned: Vec<Orphan>,
}

/// A CA loaded from a certs folder, its key checked against its certificate.
pub struct LoadedCa {
    pub files: CaFiles,
    pub cert: Cert,
    /// `ca.pem` as read, for the full chains of the leaves it signs.
    pub cert_pem: String,
    /// `None` for an unconstrained CA.
    pub constraints: Option<Constraints>,
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
    /// Creates `ca.pem`, `ca-key.pem` and `ca.cer`; refuses an existing CA unless `opts.force`, which keeps the
    /// old files as backups and reports the certificates the old CA had issued.
    pub fn create_ca(&self, opts: &CaOptions) -> Result<CreatedCa, Error> {
        if opts.unconstrained && !opts.permit.is_empty() {
            return Err(Error::Input(InputError::ConflictingOptions(
                "--permit and --unconstrained contradict each other; an unconstrained CA permits every name",
            )));
        }
        if opts.days == 0 {
            return Err(Error::Input(InputError::ZeroDays { what: "CA" }));
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

        let cn = match &opts.cn {
            Some(cn) => checked_cn(cn)?,
            None => default_ca_name().chars().take(MAX_CN_LEN).collect(),
        };
        // Asked before the (possibly slow) key generation, so a refused passphrase costs nothing.
        let passphrase = opts
            .encrypt
            .then(|| secret::passphrase(&files.key_pem, true))
            .transpose()?;
        let key = opts.key.generate()?;
        let mut params = ca_params(&key, "certgen local development CA", &cn, not_before, not_after);
        if !opts.unconstrained {
            params.name_constraints = Some(NameConstraints {
                permitted_subtrees: Permit::with_defaults(opts.permit.clone())
                    .iter()
                    .map(Permit::to_subtree)
                    .collect(),
                excluded_subtrees: Vec::new(),
            });
        }

        let cert = params
            .self_signed(&key)
            .map_err(|e| Error::crypto("signing the CA certificate", e))?;
        let key_pem = match &passphrase {
            Some(passphrase) => secret::encrypt(&key.serialize_der(), passphrase)?,
            None => Zeroizing::new(key.serialize_pem()),
        };

        let issued = Cert::from_rcgen(&cert)?;
        let mut commit = Commit::default();
        // Only a replaced CA orphans certificates: found before the new CA takes its place.
        let orphaned = if opts.force {
            self.issued_by_ca()
        } else {
            Vec::new()
        };
        if opts.force {
            let stamp = backup_stamp();
            for path in files.all() {
                commit.backup(path, backup_path(path, &stamp));
            }
        }
        let mut backups: Vec<PathBuf> = commit.backups().map(Path::to_path_buf).collect();
        backups.sort();
        commit.write(&files.cert_pem, cert.pem(), Secrecy::Public);
        commit.write(&files.key_pem, key_pem.as_bytes(), Secrecy::Secret);
        commit.write(&files.cert_der, cert.der().to_vec(), Secrecy::Public);
        commit.apply(self.path())?;
        Ok(CreatedCa {
            files,
            cert: issued,
            backups,
            orphaned,
        })
    }

    /// Loads the CA of this folder and checks that its key belongs to its certificate. Refuses a key file others
    /// can read; an encrypted key asks for its passphrase (`$CERTGEN_CA_PASSPHRASE` or the terminal).
    pub fn load_ca(&self) -> Result<LoadedCa, Error> {
        self.recover()?;
        let files = self.ca_files();
        match (files.cert_pem.exists(), files.key_pem.exists()) {
            (false, false) => {
                return Err(Error::Store(StoreError::NoCa {
                    dir: self.path().to_path_buf(),
                }));
            }
            (true, true) => {}
            (cert_exists, _) => {
                let (missing, present) = if cert_exists {
                    (&files.key_pem, &files.cert_pem)
                } else {
                    (&files.cert_pem, &files.key_pem)
                };
                return Err(Error::Store(StoreError::BadFile {
                    path: missing.clone(),
                    reason: format!(
                        "missing, but {} exists; restore it from a backup or recreate the CA with `certgen ca --force`",
                        present.display()
                    ),
                }));
            }
        }
        let bad_file = |path: &std::path::Path, reason: &str| {
            Error::Store(StoreError::BadFile {
                path: path.into(),
                reason: reason.into(),
            })
        };
        let pem_bytes = store::read(&files.cert_pem)?;
        let cert = Cert::from_pem(&pem_bytes, &files.cert_pem)?;
        if !cert.is_ca() {
            return Err(bad_file(
                &files.cert_pem,
                "not a CA certificate (basic constraints CA:FALSE or missing)",
            ));
        }
        let constraints = cert
            .name_constraints()
            .map_err(|r| bad_file(&files.cert_pem, r))?
            .cloned();
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
        if key.subject_public_key_info() != cert.x509().tbs_certificate.subject_pki.raw {
            return Err(Error::Store(StoreError::KeyMismatch {
                cert: files.cert_pem,
                key: files.key_pem,
            }));
        }
        Ok(LoadedCa {
            files,
            cert,
            cert_pem: String::from_utf8_lossy(&pem_bytes).into_owned(),
            constraints,
            key,
        })
    }
}

/// A CA certificate of `organization` / `cn` for `key` that may sign leaves only (path length 0): the local CA,
/// and the extra CAs of the broken-certificate fixtures.
pub(crate) fn ca_params(
    key: &impl PublicKeyData,
    organization: &str,
    cn: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> CertificateParams {
    let mut params = empty_params(key);
    // O before CN: the order of X.520's hierarchy, which the CA/B Forum's profile requires.
    params
        .distinguished_name
        .push(DnType::OrganizationName, organization);
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    // RFC 5280 lets a root omit it; the CA/B profile recommends it, equal to the subject key identifier.
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(random_serial());
    params.not_before = not_before;
    params.not_after = not_after;
    params
}

impl LoadedCa {
    /// Refuses an expired CA: nothing it signs would be trusted.
    pub(crate) fn refuse_expired(&self) -> Result<(), Error> {
        if self.cert.not_after() <= now() {
            return Err(Error::Store(StoreError::CaExpired {
                path: self.files.cert_pem.clone(),
                end: format_date(self.cert.not_after()),
            }));
        }
        Ok(())
    }

    /// The CA as rcgen's signer of new certificates.
    pub(crate) fn issuer(&self) -> Result<Issuer<'static, &KeyPair>, Error> {
        Issuer::from_ca_cert_der(self.cert.der(), &self.key)
            .map_err(|e| Error::crypto("reading the CA certificate", e))
    }
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

//! Leaf certificates: server and client certificates signed by the CA, and self-signed ones. Every check (names,
//! name constraints, validity, existing files) runs before a key is made or a file written.

use rcgen::{
    CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, PublicKeyData,
};
use time::OffsetDateTime;

use crate::Error;
use crate::ca::LoadedCa;
use crate::cert::{Cert, Issued};
use crate::error::InputError;
use crate::export;
use crate::key::{KeyKind, is_rsa};
use crate::names::SubjectName;
use crate::params::{MAX_CN_LEN, checked_cn, empty_params, random_serial};
use crate::store::{self, CertsDir, Commit, LeafFiles, Secrecy};
use crate::validity::{DEFAULT_LEAF_DAYS, MAX_APPLE_DAYS, add_days, format_date, now};

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

impl CertsDir {
    /// A leaf certificate for `names`, signed by this folder's CA.
    pub fn issue(&self, names: &[SubjectName], opts: &LeafOptions) -> Result<Issued<LeafFiles>, Error> {
        let plan = LeafPlan::new(names, opts)?;
        let ca = self.load_ca()?;
        plan.check_against_ca(&ca)?;
        let files = self.leaf_files(&plan.stem, opts.p12);
        plan.refuse_existing(self)?;
        let key = opts.key.generate()?;
        let issuer = ca.issuer()?;
        let cert = plan
            .params(&key, is_rsa(&key))?
            .signed_by(&key, &issuer)
            .map_err(|e| Error::crypto("signing the certificate", e))?;
        write_leaf(self, files, &cert, Some(&ca), Some(&key), opts)
    }

    /// A self-signed CA:FALSE certificate (trusted directly, no CA involved).
    pub fn self_signed(&self, names: &[SubjectName], opts: &LeafOptions) -> Result<Issued<LeafFiles>, Error> {
        let plan = LeafPlan::new(names, opts)?;
        self.recover()?;
        let files = self.leaf_files(&plan.stem, opts.p12);
        plan.refuse_existing(self)?;
        let key = opts.key.generate()?;
        let cert = plan
            .params(&key, is_rsa(&key))?
            .self_signed(&key)
            .map_err(|e| Error::crypto("signing the certificate", e))?;
        write_leaf(self, files, &cert, None, Some(&key), opts)
    }
}

/// Everything about a leaf decided before any key is made or file written.
pub(crate) struct LeafPlan {
    /// subjectAltName entries.
    sans: Vec<SubjectName>,
    /// `None` leaves the subject empty (the subjectAltName extension is then marked critical).
    cn: Option<String>,
    pub(crate) stem: String,
    kind: LeafKind,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    force: bool,
}

impl LeafPlan {
    pub(crate) fn new(names: &[SubjectName], opts: &LeafOptions) -> Result<Self, Error> {
        let mut parsed: Vec<SubjectName> = Vec::new();
        for name in names {
            if !parsed.contains(name) {
                parsed.push(name.clone());
            }
        }
        let first = parsed.first().cloned().ok_or(Error::Input(InputError::NoNames))?;
        // A client certificate named by a bare word (`alice`) carries it as CN only: it identifies a person or
        // device, not a host, so it gets no DNS subjectAltName and name constraints do not apply to it.
        let (cn_only, sans): (Vec<SubjectName>, Vec<SubjectName>) = parsed.into_iter().partition(|n| {
            opts.kind == LeafKind::Client && matches!(n, SubjectName::Dns(d) if !d.contains('.'))
        });
        if cn_only.len() > 1 {
            let names: Vec<String> = cn_only.iter().map(ToString::to_string).collect();
            return Err(Error::Input(InputError::SeveralPlainNames {
                names: names.join(", "),
            }));
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
    pub(crate) fn check_against_ca(&self, ca: &LoadedCa) -> Result<(), Error> {
        if let Some(constraints) = &ca.constraints
            && let Some(violation) = self.sans.iter().find_map(|name| constraints.check(name))
        {
            return Err(violation.into());
        }
        ca.refuse_expired()?;
        if self.not_after > ca.cert.not_after() {
            return Err(Error::Input(InputError::OutlivesCa {
                end: format_date(self.not_after),
                ca_end: format_date(ca.cert.not_after()),
            }));
        }
        Ok(())
    }

    /// Refuses when any file of this stem exists (including a `.p12` or key this run would not write) unless
    /// `--force`; with `--force` such stale siblings are removed by [`write_leaf`].
    pub(crate) fn refuse_existing(&self, dir: &CertsDir) -> Result<(), Error> {
        store::refuse_existing(
            dir.leaf_files(&self.stem, true).all(),
            self.force,
            "use --force to replace it, or --out to pick another file name",
        )
    }

    /// The certificate for `key`; `rsa_key` adds the keyEncipherment usage.
    pub(crate) fn params(&self, key: &impl PublicKeyData, rsa_key: bool) -> Result<CertificateParams, Error> {
        let mut params = empty_params(key);
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
        // Self-signed ones too: RFC 5280 (4.2.1.1) requires it in every certificate that is not a root CA's.
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(random_serial());
        params.not_before = self.not_before;
        params.not_after = self.not_after;
        Ok(params)
    }
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

pub(crate) fn valid_stem(out: &str) -> Result<String, Error> {
    let ok = !out.is_empty()
        && !out.starts_with('.')
        && out
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(out.to_string())
    } else {
        Err(Error::Input(InputError::BadStem { out: out.to_string() }))
    }
}

fn leaf_validity(opts: &LeafOptions) -> Result<(OffsetDateTime, OffsetDateTime), Error> {
    if opts.days == 0 {
        return Err(Error::Input(InputError::ZeroDays { what: "certificate" }));
    }
    if opts.days > MAX_APPLE_DAYS && !opts.allow_long {
        return Err(Error::Input(InputError::LongerThanApple {
            days: opts.days,
            max: MAX_APPLE_DAYS,
        }));
    }
    let not_before = opts.not_before.unwrap_or_else(now);
    Ok((not_before, add_days(not_before, opts.days)?))
}

pub(crate) fn write_leaf(
    dir: &CertsDir,
    files: LeafFiles,
    cert: &rcgen::Certificate,
    ca: Option<&LoadedCa>,
    key: Option<&KeyPair>,
    opts: &LeafOptions,
) -> Result<Issued<LeafFiles>, Error> {
    let issued = Cert::from_rcgen(cert)?;
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
            chain.extend(ca.map(|c| c.cert.der().as_ref()));
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
    commit.apply(dir.path())?;
    Ok(Issued { files, cert: issued })
}

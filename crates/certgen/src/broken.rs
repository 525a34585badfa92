//! Broken certificates to test clients against (`certgen broken`): one server certificate per way a TLS client
//! must refuse one, plus a good one to compare with, written to `DIR/broken/` as `NAME.pem`, `NAME-key.pem` and
//! `NAME-fullchain.pem` (the chain a server presents, broken on purpose where that is the failure).
//!
//! A client that trusts only this folder's CA (`DIR/ca.pem`) and connects to `localhost` accepts `good` and refuses
//! every other [`Case`] for exactly one reason: each broken certificate names `localhost`, `127.0.0.1` and `::1`
//! (except `wrong-host`) and is otherwise what `certgen issue` makes. `wsecho serve --bad-certs` serves each on its
//! own port.
//!
//! The extra CAs are made here and their keys thrown away: `untrusted-root-ca.pem`, a second root nobody trusts,
//! and `incomplete-chain-intermediate.pem`, an intermediate the local CA signed. The local CA has path length 0,
//! so even a server sending that intermediate would be refused; the fixture shows what clients say when the
//! issuer is missing, not a chain to repair.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use rcgen::{ExtendedKeyUsagePurpose, Issuer, KeyPair};
use time::Duration;

use crate::ca::{LoadedCa, ca_params};
use crate::cert::Cert;
use crate::export;
use crate::key::KeyKind;
use crate::leaf::{LeafKind, LeafOptions, LeafPlan};
use crate::names::SubjectName;
use crate::store::{CertsDir, Commit, Secrecy};
use crate::validity::{DEFAULT_LEAF_DAYS, add_days, now};
use crate::{Error, Issued};

/// One certificate of the set: the good one or one way of being broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Case {
    /// Signed by the local CA for `localhost 127.0.0.1 ::1`: every client that trusts the CA accepts it.
    Good,
    /// Its validity ended 30 days ago.
    Expired,
    /// Its validity begins in 30 days.
    NotYetValid,
    /// Made for `wrong-host.localhost` only, so `localhost` and the loopback addresses do not match.
    WrongHost,
    /// Self-signed (CA:FALSE), served alone.
    SelfSigned,
    /// Signed by a second root CA that nobody trusts, served with that root.
    UntrustedRoot,
    /// Extended key usage clientAuth only: not for TLS servers.
    NoServerAuth,
    /// Also names `bank.example`, outside the local CA's name constraints, signed with the local CA's key (as a
    /// leaked key could sign it; `certgen issue` refuses such names).
    OutsideConstraints,
    /// Signed by an intermediate CA that the server does not send.
    IncompleteChain,
}

impl Case {
    /// Every case, the good one first; `wsecho serve --bad-certs` gives them consecutive ports in this order.
    pub const ALL: [Case; 9] = [
        Case::Good,
        Case::Expired,
        Case::NotYetValid,
        Case::WrongHost,
        Case::SelfSigned,
        Case::UntrustedRoot,
        Case::NoServerAuth,
        Case::OutsideConstraints,
        Case::IncompleteChain,
    ];

    /// The file stem and the name shown by `certgen broken` and `wsecho serve --bad-certs`.
    pub fn name(self) -> &'static str {
        match self {
            Case::Good => "good",
            Case::Expired => "expired",
            Case::NotYetValid => "not-yet-valid",
            Case::WrongHost => "wrong-host",
            Case::SelfSigned => "self-signed",
            Case::UntrustedRoot => "untrusted-root",
            Case::NoServerAuth => "no-server-auth",
            Case::OutsideConstraints => "outside-constraints",
            Case::IncompleteChain => "incomplete-chain",
        }
    }

    /// What is wrong with it, in a few words.
    pub fn problem(self) -> &'static str {
        match self {
            Case::Good => "nothing: signed by the local CA for localhost, 127.0.0.1 and ::1",
            Case::Expired => "expired 30 days ago",
            Case::NotYetValid => "valid only from 30 days from now",
            Case::WrongHost => "made for wrong-host.localhost only, not localhost",
            Case::SelfSigned => "self-signed, not issued by any CA",
            Case::UntrustedRoot => "issued by a second root CA that nobody trusts",
            Case::NoServerAuth => "extended key usage clientAuth only, no serverAuth",
            Case::OutsideConstraints => "also names bank.example, outside the local CA's name constraints",
            Case::IncompleteChain => "issued by an intermediate CA the server does not send",
        }
    }

    /// The names in its subjectAltName.
    fn names(self) -> Vec<SubjectName> {
        let names: &[&str] = match self {
            Case::WrongHost => &[WRONG_HOST],
            Case::OutsideConstraints => &["localhost", "127.0.0.1", "::1", OUTSIDE_NAME],
            _ => &["localhost", "127.0.0.1", "::1"],
        };
        names
            .iter()
            .map(|name| SubjectName::parse(name).expect("the fixtures' names are valid"))
            .collect()
    }

    /// Its start of validity and length in days.
    fn validity(self) -> (time::OffsetDateTime, u32) {
        match self {
            Case::Expired => (now() - Duration::days(60), 30),
            Case::NotYetValid => (now() + Duration::days(30), DEFAULT_LEAF_DAYS),
            _ => (now(), DEFAULT_LEAF_DAYS),
        }
    }

    /// Who signs it.
    fn signer(self) -> Signer {
        match self {
            Case::SelfSigned => Signer::Itself,
            Case::UntrustedRoot => Signer::UntrustedRoot,
            Case::IncompleteChain => Signer::Intermediate,
            _ => Signer::LocalCa,
        }
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Case {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Case::ALL
            .into_iter()
            .find(|case| case.name() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Case::ALL.iter().map(|case| case.name()).collect();
                format!("unknown case `{s}`; use one of {}", known.join(", "))
            })
    }
}

/// The only name of the [`Case::WrongHost`] certificate.
pub const WRONG_HOST: &str = "wrong-host.localhost";
/// The name outside the local CA's constraints in the [`Case::OutsideConstraints`] certificate.
pub const OUTSIDE_NAME: &str = "bank.example";

enum Signer {
    LocalCa,
    Itself,
    UntrustedRoot,
    Intermediate,
}

/// Where one fixture's files live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureFiles {
    /// The certificate alone.
    pub cert_pem: PathBuf,
    /// PKCS#8 PEM, mode 0600.
    pub key_pem: PathBuf,
    /// What the server presents: the leaf and the CA for `good`, the leaf alone for `self-signed` and
    /// `incomplete-chain`, the leaf and the untrusted root for `untrusted-root`.
    pub fullchain_pem: PathBuf,
}

/// One fixture as written.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub case: Case,
    pub issued: Issued<FixtureFiles>,
}

/// The whole set as written by [`CertsDir::make_broken`].
#[derive(Debug, Clone)]
pub struct Fixtures {
    /// `DIR/broken`.
    pub dir: PathBuf,
    /// The fixtures, in [`Case::ALL`] order.
    pub fixtures: Vec<Fixture>,
    /// Cases not made, each with the reason (an unconstrained CA has no name constraints to be outside of).
    pub skipped: Vec<(Case, String)>,
    /// The root nobody trusts, which signed `untrusted-root` (its key was thrown away).
    pub untrusted_root_pem: PathBuf,
    /// The intermediate CA, signed by the local CA, which signed `incomplete-chain` (its key was thrown away).
    pub intermediate_pem: PathBuf,
}

impl Fixtures {
    /// The fixture of `case`, unless it was skipped.
    pub fn get(&self, case: Case) -> Option<&Fixture> {
        self.fixtures.iter().find(|fixture| fixture.case == case)
    }
}

/// The folder of the set, inside the certs folder.
const BROKEN_DIR: &str = "broken";
const UNTRUSTED_ROOT_FILE: &str = "untrusted-root-ca.pem";
const INTERMEDIATE_FILE: &str = "incomplete-chain-intermediate.pem";

/// The extra CAs of a run: made once, used by one fixture each.
struct ExtraCas {
    untrusted_root: (KeyPair, rcgen::Certificate, rcgen::CertificateParams),
    intermediate: (KeyPair, rcgen::Certificate, rcgen::CertificateParams),
}

impl CertsDir {
    /// `DIR/broken`, where [`CertsDir::make_broken`] writes.
    pub fn broken_dir(&self) -> PathBuf {
        self.path().join(BROKEN_DIR)
    }

    /// Where the fixture of `case` lives (whether or not it was made).
    pub fn fixture_files(&self, case: Case) -> FixtureFiles {
        let file = |suffix: &str| self.broken_dir().join(format!("{}{suffix}", case.name()));
        FixtureFiles {
            cert_pem: file(".pem"),
            key_pem: file("-key.pem"),
            fullchain_pem: file("-fullchain.pem"),
        }
    }

    /// Makes the whole set (see the module docs) from this folder's CA, replacing an earlier set in one
    /// crash-safe commit: the certificates are test material and are meant to be made again at will.
    pub fn make_broken(&self) -> Result<Fixtures, Error> {
        let ca = self.load_ca()?;
        ca.refuse_expired()?;
        let dir = self.broken_dir();
        crate::store::recover(&dir)?;
        let extra = ExtraCas::new(&ca)?;
        let mut commit = Commit::default();
        let mut fixtures = Vec::new();
        let mut skipped = Vec::new();
        for case in Case::ALL {
            let files = self.fixture_files(case);
            if let Some(reason) = unbreakable(case, &ca) {
                commit.remove_stale([&files.cert_pem, &files.key_pem, &files.fullchain_pem].map(|p| &**p));
                skipped.push((case, reason));
                continue;
            }
            let issued = make_fixture(case, &ca, &extra, files, &mut commit)?;
            fixtures.push(Fixture { case, issued });
        }
        let untrusted_root_pem = dir.join(UNTRUSTED_ROOT_FILE);
        let intermediate_pem = dir.join(INTERMEDIATE_FILE);
        commit.write(&untrusted_root_pem, extra.untrusted_root.1.pem(), Secrecy::Public);
        commit.write(&intermediate_pem, extra.intermediate.1.pem(), Secrecy::Public);
        commit.apply(&dir)?;
        Ok(Fixtures {
            dir,
            fixtures,
            skipped,
            untrusted_root_pem,
            intermediate_pem,
        })
    }
}

/// Why `case` cannot be broken with this CA, if it cannot.
fn unbreakable(case: Case, ca: &LoadedCa) -> Option<String> {
    if case != Case::OutsideConstraints {
        return None;
    }
    let outside = SubjectName::parse(OUTSIDE_NAME).expect("a valid name");
    match &ca.constraints {
        None => Some("the CA has no name constraints, so no name is outside them".into()),
        Some(constraints) if constraints.allows(&outside) => {
            Some(format!("the CA's name constraints permit {OUTSIDE_NAME}"))
        }
        Some(_) => None,
    }
}

impl ExtraCas {
    fn new(ca: &LoadedCa) -> Result<Self, Error> {
        let start = now();
        let end = add_days(start, DEFAULT_LEAF_DAYS)?;
        let org = "certgen broken-certificate fixtures";
        let sign = |e| Error::crypto("signing a fixture CA", e);

        let root_key = KeyKind::EcdsaP256.generate()?;
        let root_params = ca_params(&root_key, org, "untrusted root CA (nobody trusts it)", start, end);
        let root = root_params.self_signed(&root_key).map_err(sign)?;

        let mid_key = KeyKind::EcdsaP256.generate()?;
        let mid_params = ca_params(
            &mid_key,
            org,
            "intermediate CA (not sent by the server)",
            start,
            end,
        );
        let mid = mid_params.signed_by(&mid_key, &ca.issuer()?).map_err(sign)?;
        Ok(ExtraCas {
            untrusted_root: (root_key, root, root_params),
            intermediate: (mid_key, mid, mid_params),
        })
    }
}

/// Makes the certificate of `case` and stages its three files in `commit`.
fn make_fixture(
    case: Case,
    ca: &LoadedCa,
    extra: &ExtraCas,
    files: FixtureFiles,
    commit: &mut Commit,
) -> Result<Issued<FixtureFiles>, Error> {
    let (not_before, days) = case.validity();
    let opts = LeafOptions {
        out: Some(case.name().to_string()),
        days,
        not_before: Some(not_before),
        kind: LeafKind::Server,
        ..LeafOptions::default()
    };
    let plan = LeafPlan::new(&case.names(), &opts)?;
    let key = opts.key.generate()?;
    let mut params = plan.params(&key, false)?;
    if case == Case::NoServerAuth {
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    }
    let sign = |e| Error::crypto("signing a fixture", e);
    let (cert, chain_tail) = match case.signer() {
        Signer::LocalCa => (
            params.signed_by(&key, &ca.issuer()?).map_err(sign)?,
            Some(ca.cert_pem.clone()),
        ),
        Signer::Itself => (params.self_signed(&key).map_err(sign)?, None),
        Signer::UntrustedRoot => {
            let (root_key, root, root_params) = &extra.untrusted_root;
            let issuer = Issuer::from_params(root_params, root_key);
            (params.signed_by(&key, &issuer).map_err(sign)?, Some(root.pem()))
        }
        Signer::Intermediate => {
            let (mid_key, _, mid_params) = &extra.intermediate;
            let issuer = Issuer::from_params(mid_params, mid_key);
            (params.signed_by(&key, &issuer).map_err(sign)?, None)
        }
    };
    let leaf_pem = cert.pem();
    commit.write(&files.cert_pem, leaf_pem.as_str(), Secrecy::Public);
    commit.write(&files.key_pem, key.serialize_pem(), Secrecy::Secret);
    commit.write(
        &files.fullchain_pem,
        export::full_chain(&leaf_pem, chain_tail.as_deref()),
        Secrecy::Public,
    );
    Ok(Issued {
        files,
        cert: Cert::from_rcgen(&cert)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CaOptions;
    use crate::inspect::{Usage, verify_files};

    /// Our own verifier (rustls-webpki, as `certgen verify`) refuses each broken case and accepts the good one;
    /// the real clients' verdicts are measured by wsecho's `peers_bad_certs` test.
    #[test]
    fn webpki_accepts_good_and_refuses_every_broken_case() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = CertsDir::new(tmp.path());
        dir.create_ca(&CaOptions::default()).expect("CA");
        let set = dir.make_broken().expect("fixtures");
        assert!(set.skipped.is_empty(), "{:?}", set.skipped);
        let names: Vec<Case> = set.fixtures.iter().map(|fixture| fixture.case).collect();
        assert_eq!(names, Case::ALL);
        let ca = dir.ca_files().cert_pem;
        for fixture in &set.fixtures {
            let chain = &fixture.issued.files.fullchain_pem;
            let verdict = verify_files(&ca, chain, Some("localhost"), Usage::Server);
            assert_eq!(
                verdict.is_ok(),
                fixture.case == Case::Good,
                "{}: {verdict:?}",
                fixture.case
            );
        }
        // A second run replaces the set.
        let again = dir.make_broken().expect("fixtures again");
        assert_ne!(
            again.fixtures[0].issued.cert.sha256_hex(),
            set.fixtures[0].issued.cert.sha256_hex()
        );
    }

    #[test]
    fn an_unconstrained_ca_skips_only_the_constraint_case() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = CertsDir::new(tmp.path());
        let opts = CaOptions {
            unconstrained: true,
            ..CaOptions::default()
        };
        dir.create_ca(&opts).expect("CA");
        let set = dir.make_broken().expect("fixtures");
        let skipped: Vec<Case> = set.skipped.iter().map(|(case, _)| *case).collect();
        assert_eq!(skipped, [Case::OutsideConstraints]);
        assert_eq!(set.fixtures.len(), Case::ALL.len() - 1);
    }

    #[test]
    fn case_names_round_trip() {
        for case in Case::ALL {
            assert_eq!(case.name().parse::<Case>(), Ok(case));
        }
        assert!("nope".parse::<Case>().unwrap_err().contains("expired"));
    }
}

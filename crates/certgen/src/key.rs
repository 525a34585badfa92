//! The key algorithms certgen offers and how a fresh key pair of each is made.

use std::fmt;
use std::str::FromStr;

use rcgen::KeyPair;
use rustls_pki_types::PrivatePkcs8KeyDer;

use crate::Error;

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

    /// The warning `ca`, `issue`, `client` and `self-signed` print when this key kind is chosen: `None` for the
    /// kinds every browser accepts.
    pub fn browser_warning(self) -> Option<&'static str> {
        (self == KeyKind::Ed25519).then_some(ED25519_IN_BROWSERS)
    }

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
    pub(crate) fn generate(self) -> Result<KeyPair, Error> {
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

/// Which clients accept Ed25519 certificates and which refuse them, as `ca`, `issue`, `lint` and `trust install`
/// explain it.
pub const ED25519_IN_BROWSERS: &str = "Ed25519 works with programs on rustls, OpenSSL and Go, but not in browsers: \
    Chromium fails the handshake with ERR_SSL_PROTOCOL_ERROR, and NSS (Firefox, Chromium on Linux) cannot import an \
    Ed25519 CA (certutil: SEC_ERROR_ADDING_CERT); use --key ecdsa-p256 (the default) for browsers";

/// Is this public key (or, by the same OID, signature algorithm) Ed25519?
pub(crate) fn is_ed25519(algorithm: &x509_parser::x509::AlgorithmIdentifier<'_>) -> bool {
    algorithm.algorithm == x509_parser::oid_registry::OID_SIG_ED25519
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

/// Does `key` sign with RSA (whose leaves also get the keyEncipherment usage)?
pub(crate) fn is_rsa(key: &KeyPair) -> bool {
    [
        &rcgen::PKCS_RSA_SHA256,
        &rcgen::PKCS_RSA_SHA384,
        &rcgen::PKCS_RSA_SHA512,
    ]
    .contains(&key.algorithm())
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
            .ok_or_else(|| Error::UnknownKeyKind {
                input: s.to_string(),
                known: KeyKind::ALL.map(KeyKind::name).join(", "),
            })
    }
}

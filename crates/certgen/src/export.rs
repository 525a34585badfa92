//! Encodings a certificate is handed out in: PEM (programs), DER `.cer` (browser, OS and phone import), the full
//! chain (servers) and PKCS#12 (Windows, macOS, Java and anything that wants key + chain in one file).

use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};

use crate::Error;

/// Environment variable holding the PKCS#12 password when `--p12-password` is not given.
pub const P12_PASSWORD_ENV: &str = "CERTGEN_P12_PASSWORD";

/// Password used when none is given: the one mkcert and Java's keytool use, so import dialogs "just work".
pub const DEFAULT_P12_PASSWORD: &str = "changeit";

/// The leaf followed by its issuer (PEM): the file servers load as their certificate.
pub fn full_chain(leaf_pem: &str, ca_pem: Option<&str>) -> String {
    let mut chain = leaf_pem.trim_end().to_string();
    chain.push('\n');
    if let Some(ca) = ca_pem {
        chain.push_str(ca.trim_end());
        chain.push('\n');
    }
    chain
}

/// A PKCS#12 file with the private key and the chain (leaf first), encrypted with PBES2 (PBKDF2-HMAC-SHA256,
/// AES-256-CBC) and MACed with HMAC-SHA256: OpenSSL 3's default, readable without its legacy provider, and imported
/// by Windows 10+ and current macOS.
pub fn pkcs12(
    alias: &str,
    key_pkcs8_der: &[u8],
    chain_der: &[&[u8]],
    password: &str,
) -> Result<Vec<u8>, Error> {
    let p12 = |e: p12_keystore::error::Error| Error::crypto("building the PKCS#12 file", e);
    let key = PrivateKey::from_der(key_pkcs8_der).map_err(p12)?;
    let certs = chain_der
        .iter()
        .map(|der| Certificate::from_der(der))
        .collect::<Result<Vec<_>, _>>()
        .map_err(p12)?;
    let local_key_id: Vec<u8> = rand::random::<[u8; 20]>().to_vec();
    let mut store = KeyStore::new();
    store.add_entry(
        alias,
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(local_key_id, key, certs)),
    );
    store.writer(password).write().map_err(p12)
}

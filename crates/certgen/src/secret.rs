//! The CA key at rest: refusing key files other users can read, encrypting the key with a passphrase
//! (`certgen ca --encrypt`), and getting that passphrase from the environment or the terminal.
//!
//! An encrypted key is a PKCS#8 `ENCRYPTED PRIVATE KEY` (PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC), the format
//! `openssl pkcs8 -topk8` writes by default, so `openssl pkey -in ca-key.pem` reads it and keys encrypted by OpenSSL
//! load here.

use std::io::IsTerminal;
use std::path::Path;

use pkcs8::der::pem::LineEnding;
use pkcs8::pkcs5::pbes2;
use pkcs8::{EncryptedPrivateKeyInfoRef, PrivateKeyInfoRef, SecretDocument};
use zeroize::Zeroizing;

use crate::Error;
use crate::error::{InputError, StoreError};

/// Environment variable holding the CA key's passphrase; without it certgen asks on the terminal.
pub const CA_PASSPHRASE_ENV: &str = "CERTGEN_CA_PASSPHRASE";

/// PBKDF2 rounds: OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256.
const PBKDF2_ITERATIONS: u32 = 600_000;

const ENCRYPTED_LABEL: &str = "ENCRYPTED PRIVATE KEY";

/// Reads a private key file after checking that only its owner can read it.
pub(crate) fn read_private_key(path: &Path) -> Result<Zeroizing<Vec<u8>>, Error> {
    refuse_shared_key(path)?;
    crate::store::read(path).map(Zeroizing::new)
}

/// A key file readable by the group or by everyone is refused: anyone who can read a CA key can impersonate every
/// site that trusts the CA.
#[cfg(unix)]
fn refuse_shared_key(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = std::fs::metadata(path).map_err(|e| Error::io("read", path, e))?;
    if metadata.is_dir() {
        return Err(Error::io("read", path, std::io::ErrorKind::IsADirectory.into()));
    }
    let mode = metadata.permissions().mode();
    if mode & 0o077 == 0 {
        return Ok(());
    }
    Err(Error::Store(StoreError::KeyPermissions {
        path: path.to_path_buf(),
        mode: mode & 0o777,
    }))
}

#[cfg(not(unix))]
fn refuse_shared_key(_path: &Path) -> Result<(), Error> {
    Ok(())
}

/// Does this PEM hold an encrypted PKCS#8 key?
pub(crate) fn is_encrypted(pem: &[u8]) -> bool {
    let begin = format!("-----BEGIN {ENCRYPTED_LABEL}-----");
    pem.windows(begin.len()).any(|w| w == begin.as_bytes())
}

/// Encrypts a PKCS#8 DER key with `passphrase` into `ENCRYPTED PRIVATE KEY` PEM (fresh salt and IV each time).
pub(crate) fn encrypt(pkcs8_der: &[u8], passphrase: &str) -> Result<Zeroizing<String>, Error> {
    let fail = |e: &dyn std::fmt::Display| Error::crypto("encrypting the CA key", e);
    let info = PrivateKeyInfoRef::try_from(pkcs8_der).map_err(|e| fail(&e))?;
    let salt: [u8; 16] = rand::random();
    let params =
        pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(PBKDF2_ITERATIONS, &salt, rand::random())
            .map_err(|e| fail(&e))?;
    info.encrypt_with_params(params, passphrase.as_bytes())
        .map_err(|e| fail(&e))?
        .to_pem(ENCRYPTED_LABEL, LineEnding::LF)
        .map_err(|e| fail(&e))
}

/// Decrypts an `ENCRYPTED PRIVATE KEY` PEM read from `path` into PKCS#8 DER.
pub(crate) fn decrypt(path: &Path, pem: &[u8], passphrase: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    let bad_file = |reason: &str| {
        Error::Store(StoreError::BadFile {
            path: path.to_path_buf(),
            reason: reason.into(),
        })
    };
    let text = std::str::from_utf8(pem).map_err(|_| bad_file("not a PEM private key"))?;
    let (label, doc) = SecretDocument::from_pem(text).map_err(|_| bad_file("not a PEM private key"))?;
    let info = EncryptedPrivateKeyInfoRef::try_from(doc.as_bytes())
        .ok()
        .filter(|_| label == ENCRYPTED_LABEL)
        .ok_or_else(|| bad_file("not a PKCS#8 encrypted private key"))?;
    // A wrong passphrase shows as bad padding or, rarely, as plaintext that is not a key: both mean the same here.
    let key = info.decrypt(passphrase.as_bytes()).map_err(|_| {
        Error::Input(InputError::WrongPassphrase {
            path: path.to_path_buf(),
            env: CA_PASSPHRASE_ENV,
        })
    })?;
    Ok(Zeroizing::new(key.as_bytes().to_vec()))
}

/// The passphrase for `key`: `$CERTGEN_CA_PASSPHRASE`, else asked on the terminal without echo (twice when
/// `confirm`, for a new key). Never printed.
pub(crate) fn passphrase(key: &Path, confirm: bool) -> Result<Zeroizing<String>, Error> {
    let empty = || {
        Error::Input(InputError::EmptyPassphrase {
            key: key.to_path_buf(),
        })
    };
    if let Some(value) = std::env::var_os(CA_PASSPHRASE_ENV) {
        let value = Zeroizing::new(value.into_string().map_err(|_| {
            Error::Input(InputError::PassphraseNotUtf8 {
                env: CA_PASSPHRASE_ENV,
            })
        })?);
        return if value.is_empty() { Err(empty()) } else { Ok(value) };
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::Input(InputError::NoPassphrase {
            key: key.to_path_buf(),
            env: CA_PASSPHRASE_ENV,
        }));
    }
    let ask = |prompt: String| {
        rpassword::prompt_password(prompt)
            .map(Zeroizing::new)
            .map_err(|e| Error::io("read the passphrase for", key, e))
    };
    let first = ask(format!("Passphrase for {}: ", key.display()))?;
    if first.is_empty() {
        return Err(empty());
    }
    if confirm && *ask("Repeat the passphrase: ".into())? != *first {
        return Err(Error::Input(InputError::PassphrasesDiffer));
    }
    Ok(first)
}

//! certgen's error, nested by what went wrong (as rustls nests its errors): the input given ([`InputError`]), the
//! files of a certs folder ([`StoreError`]), or the machine, the network or a check (the other [`Error`] arms).
//! Every message is a single line naming the bad value and, where one exists, the fix; the group decides the
//! exit code.

use std::path::PathBuf;

/// Everything that can go wrong in certgen. `Display` is the one-line message shown to users.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value given on the command line (or read from a CSR) is unusable: exit code 2.
    #[error(transparent)]
    Input(#[from] InputError),

    /// A certs folder's files are missing, unexpected or unusable: exit code 2.
    #[error(transparent)]
    Store(#[from] StoreError),

    /// Reading or writing a file failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    /// Key generation, signing or encoding failed inside a crypto library.
    #[error("{context}: {reason}")]
    Crypto { context: &'static str, reason: String },

    /// A check the user asked for failed (`verify`, `lint`, `doctor`, `trust status`, a missing system bundle for
    /// `trust env`); the message is the check's own sentence: why, and what to do.
    #[error("{0}")]
    CheckFailed(String),

    /// A server could not be reached, or its TLS handshake did not complete.
    #[error("{target}: {reason}")]
    Connect { target: String, reason: String },

    /// Obtaining a certificate by ACME failed; the message and exit code are the ACME error's.
    #[error(transparent)]
    Acme(#[from] crate::acme::Error),

    /// Encoding JSON failed (`--json` output, the files ACME keeps).
    #[error("cannot encode JSON: {0}")]
    Json(serde_json::Error),
}

/// A value the user gave (a name, an option, a CSR, a URL, a passphrase) cannot be used as asked.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A name given on the command line (or found in a CSR) is malformed.
    #[error("invalid name `{input}`: {reason}")]
    InvalidName { input: String, reason: String },

    /// A `--permit` value is neither a DNS name nor a CIDR block.
    #[error("invalid --permit `{input}`: {reason}")]
    InvalidPermit { input: String, reason: String },

    /// The CA's name constraints do not cover a requested name.
    #[error(
        "`{name}` is outside the CA's name constraints ({permitted}); recreate the CA with \
         `certgen ca --force {hint}` (keeping your other --permit values) or issue a different name"
    )]
    OutsideConstraints {
        name: String,
        permitted: String,
        hint: String,
    },

    /// A certificate was asked for without any name.
    #[error("give at least one name, e.g. `certgen issue localhost 127.0.0.1 ::1`")]
    NoNames,

    /// `certgen client` got more than one plain (CN-only) name.
    #[error(
        "a client certificate has one plain name (its CN), got {names}; add the others as email or DNS names"
    )]
    SeveralPlainNames { names: String },

    /// An IP subjectAltName entry (read from a CSR or certificate) that is neither IPv4 nor IPv6.
    #[error("an IP address entry has {bytes} bytes; expected 4 or 16")]
    BadIpEntry { bytes: usize },

    /// A subjectAltName entry (read from a CSR or certificate) of a kind certgen cannot issue for.
    #[error("unsupported subjectAltName entry {entry}; only DNS, IP, email and URI names are supported")]
    UnsupportedName { entry: String },

    /// `--key` names no key kind certgen knows.
    #[error("unknown key kind `{input}`; use one of {known}")]
    UnknownKeyKind { input: String, known: String },

    /// `--cn` is empty, too long or not printable.
    #[error("--cn `{cn}`: the CN must be printable text of 1 to {max} characters")]
    BadCn { cn: String, max: usize },

    /// `--out` is not a plain file stem.
    #[error(
        "--out `{out}`: use a plain file stem (letters, digits, `.`, `-`, `_`, not starting with `.`); files go \
         into --dir"
    )]
    BadStem { out: String },

    /// `--not-before` is neither a date nor an RFC 3339 date-time.
    #[error(
        "--not-before `{input}`: expected a date like 2024-01-31 or a date-time like 2024-01-31T12:00:00Z"
    )]
    BadNotBefore { input: String },

    /// `--days 0`; `what` is "CA" or "certificate".
    #[error("--days 0: a {what} must be valid for at least one day")]
    ZeroDays { what: &'static str },

    /// `--days` would end the certificate after 9999, which X.509 time cannot express.
    #[error("--days {days}: the certificate would end after the year 9999")]
    DaysPastYear9999 { days: u32 },

    /// `--days` over Apple's limit without `--allow-long`.
    #[error(
        "--days {days}: macOS and iOS reject TLS server certificates valid for more than {max} days, even \
         from a CA you trust yourself; use --days {max} or less, or add --allow-long if no Apple \
         device will see this certificate"
    )]
    LongerThanApple { days: u32, max: u32 },

    /// Options that cannot go together; the message says why.
    #[error("{0}")]
    ConflictingOptions(&'static str),

    /// The certificate would outlive its CA.
    #[error(
        "the certificate would end on {end}, after its CA ({ca_end}), and clients stop trusting it then; use \
         fewer --days or make a new CA"
    )]
    OutlivesCa { end: String, ca_end: String },

    /// A CSR given as bytes (not a file) is unusable; `reason` says why (`the CSR {reason}`).
    #[error("the CSR {reason}")]
    BadCsr { reason: String },

    /// A URL given to `inspect` or `doctor` is not `https://HOST[:PORT]` or `wss://HOST[:PORT]`.
    #[error("invalid URL `{input}`: {reason}")]
    BadUrl { input: String, reason: String },

    /// The passphrase does not decrypt the key.
    #[error(
        "wrong passphrase for {} (from {env} or the prompt), or the file is damaged",
        path.display()
    )]
    WrongPassphrase { path: PathBuf, env: &'static str },

    /// An empty passphrase for `key`, from the environment or the prompt.
    #[error("the passphrase for {} is empty; choose a non-empty one", key.display())]
    EmptyPassphrase { key: PathBuf },

    /// The passphrase variable holds bytes that are not UTF-8.
    #[error("{env} is not valid UTF-8; use a UTF-8 passphrase")]
    PassphraseNotUtf8 { env: &'static str },

    /// An encrypted `key`, no passphrase variable, and no terminal to ask on.
    #[error(
        "{} is encrypted and there is no terminal to ask for its passphrase; set {env}",
        key.display()
    )]
    NoPassphrase { key: PathBuf, env: &'static str },

    /// The passphrase and its confirmation differ.
    #[error("the two passphrases differ; run the command again")]
    PassphrasesDiffer,
}

/// A file of a certs folder (or the CA file a command was pointed at) is missing, in the way, or unusable.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The certs folder has no CA yet.
    #[error("no CA in {}: run `certgen ca --dir {}` first", dir.display(), dir.display())]
    NoCa { dir: PathBuf },

    /// A file we would write exists and `--force` was not given.
    #[error("{} already exists; {hint}", path.display())]
    AlreadyExists { path: PathBuf, hint: &'static str },

    /// A file exists but does not hold what it should (not a certificate, not a key, not a CSR, ...).
    #[error("{}: {reason}", path.display())]
    BadFile { path: PathBuf, reason: String },

    /// The CA key does not belong to the CA certificate.
    #[error(
        "the key in {} does not match the certificate in {}; restore the matching pair or recreate the CA with `certgen ca --force`",
        key.display(),
        cert.display()
    )]
    KeyMismatch { cert: PathBuf, key: PathBuf },

    /// A private key file other users can read; certgen refuses to use it.
    #[error(
        "{} is readable by other users (mode {mode:04o}); a private key must be readable by you alone: run `chmod 600 {}`",
        path.display(),
        crate::shell::quote(path)
    )]
    KeyPermissions { path: PathBuf, mode: u32 },

    /// The CA has expired, so nothing it signs would be trusted.
    #[error("the CA in {} expired on {end}; make a new one with `certgen ca --force`", path.display())]
    CaExpired { path: PathBuf, end: String },

    /// The `--ca` file of `certgen trust` is not one CA certificate in PEM.
    #[error("cannot use {} as the CA certificate: {reason}", path.display())]
    BadCa { path: PathBuf, reason: String },
}

impl Error {
    /// Process exit code for this error: 2 for bad usage or bad input, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) | Error::Store(_) => 2,
            Error::Acme(e) => e.exit_code(),
            Error::Connect { .. }
            | Error::Io { .. }
            | Error::Crypto { .. }
            | Error::CheckFailed(_)
            | Error::Json(_) => 1,
        }
    }

    /// A failed read or write; a directory where a file belongs is bad input, named as such.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::IsADirectory {
            return Error::Store(StoreError::BadFile {
                path: path.into(),
                reason: "is a directory, not a file".into(),
            });
        }
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn crypto(context: &'static str, reason: impl std::fmt::Display) -> Self {
        Error::Crypto {
            context,
            reason: reason.to_string(),
        }
    }
}

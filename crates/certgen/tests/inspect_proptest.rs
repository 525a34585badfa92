//! Property tests for the inspect entry points (`load_objects`, `describe_file`, `lint_file`, `verify_files`):
//! arbitrary bytes, PEM armour around junk, and real certificates and CSRs with bytes flipped, cut or inserted
//! never make them panic, whether the bad file is the certificate under test or the CA it is checked against.
//! The real objects come from certgen itself (a name-constrained CA, a leaf) and from rcgen (a CSR); their
//! unmutated forms must also be read back, so the generators cannot silently produce only junk.
//! The fuzz targets in `fuzz/` run the same entry points for longer.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use certgen::inspect::{self, ObjectKind, Usage};
use proptest::prelude::*;

/// Real objects to mutate, all in one folder that lives for the whole test binary.
struct Seeds {
    _dir: tempfile::TempDir,
    ca_pem: PathBuf,
    leaf_pem: PathBuf,
    /// DER bytes of each real object: CA, leaf, CSR.
    ders: Vec<Vec<u8>>,
}

fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary folder");
        let certs = certgen::CertsDir::new(dir.path());
        let ca = certs
            .create_ca(&certgen::CaOptions::default())
            .expect("certgen CA");
        let names = certgen::SubjectName::parse_all(["localhost", "127.0.0.1", "::1", "*.app.localhost"])
            .expect("names");
        let leaf = certs
            .issue(&names, &certgen::LeafOptions::default())
            .expect("certgen leaf");
        let key = rcgen::KeyPair::generate().expect("CSR key");
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("CSR params");
        let csr = params.serialize_request(&key).expect("CSR");
        let ders = vec![
            std::fs::read(&ca.files.cert_der).expect("ca.cer"),
            std::fs::read(&leaf.files.cert_der).expect("leaf .cer"),
            csr.der().to_vec(),
        ];
        Seeds {
            ca_pem: ca.files.cert_pem,
            leaf_pem: leaf.files.cert_pem,
            ders,
            _dir: dir,
        }
    })
}

/// Runs every entry point with `file` in each role; results are ignored, only panics fail the property.
fn exercise(file: &Path) {
    let seeds = seeds();
    let _ = inspect::load_objects(file);
    let _ = inspect::describe_file(file);
    let _ = inspect::lint_file(file, None, None);
    let _ = inspect::lint_file(file, Some(&seeds.ca_pem), None);
    let _ = inspect::lint_file(&seeds.leaf_pem, Some(file), None);
    let _ = inspect::verify_files(&seeds.ca_pem, file, Some("localhost"), Usage::Server);
    let _ = inspect::verify_files(file, &seeds.leaf_pem, Some("localhost"), Usage::Client);
}

/// Writes `bytes` to a fresh file and exercises it.
fn exercise_bytes(bytes: &[u8]) {
    let file = tempfile::NamedTempFile::new().expect("temporary file");
    std::fs::write(file.path(), bytes).expect("write temporary file");
    exercise(file.path());
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `bytes` as a PEM block with `label`, 64 base64 characters per line.
fn pem(label: &str, bytes: &[u8]) -> Vec<u8> {
    let mut text = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| n << 8 | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            text.push(if i <= chunk.len() {
                BASE64[(n >> (18 - 6 * i)) as usize & 63] as char
            } else {
                '='
            });
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in text.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out.into_bytes()
}

/// One way to damage a DER object.
#[derive(Debug, Clone)]
enum Mutation {
    /// XOR the byte at this position (modulo the length) with a non-zero value.
    Flip(usize, u8),
    /// Keep only this many bytes (modulo the length).
    Truncate(usize),
    /// Insert a byte at this position.
    Insert(usize, u8),
    /// Set a byte to 0xff or 0x80, typical of broken lengths.
    Length(usize, bool),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 1..=255u8).prop_map(|(at, x)| Mutation::Flip(at, x)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Insert(at, b)),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(at, high)| Mutation::Length(at, high)),
    ]
}

fn mutate(der: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = der.to_vec();
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        let len = bytes.len();
        match *m {
            Mutation::Flip(at, x) => bytes[at % len] ^= x,
            Mutation::Truncate(keep) => bytes.truncate(keep % len),
            Mutation::Insert(at, b) => bytes.insert(at % (len + 1), b),
            Mutation::Length(at, high) => bytes[at % len] = if high { 0xff } else { 0x80 },
        }
    }
    bytes
}

#[test]
fn the_unmutated_seeds_are_read_back() {
    let seeds = seeds();
    let kinds: Vec<ObjectKind> = seeds
        .ders
        .iter()
        .enumerate()
        .map(|(i, der)| {
            let label = if i == 2 {
                "CERTIFICATE REQUEST"
            } else {
                "CERTIFICATE"
            };
            let mut kinds = Vec::new();
            for bytes in [der.clone(), pem(label, der)] {
                let file = tempfile::NamedTempFile::new().expect("temporary file");
                std::fs::write(file.path(), &bytes).expect("write");
                let objects = inspect::load_objects(file.path()).expect("a real object is read");
                assert_eq!(objects.len(), 1);
                assert_eq!(&objects[0].der, der, "PEM and DER give the same object");
                assert!(inspect::describe_file(file.path()).is_ok());
                kinds.push(objects[0].kind);
            }
            assert_eq!(kinds[0], kinds[1]);
            kinds[0]
        })
        .collect();
    assert_eq!(
        kinds,
        [ObjectKind::Certificate, ObjectKind::Certificate, ObjectKind::Csr]
    );
    assert!(inspect::verify_files(&seeds.ca_pem, &seeds.leaf_pem, Some("localhost"), Usage::Server).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1500)) {
        exercise_bytes(&bytes);
    }

    #[test]
    fn pem_armour_around_junk_never_panics(
        label in prop::sample::select(vec!["CERTIFICATE", "CERTIFICATE REQUEST", "PRIVATE KEY", "X509 CRL"]),
        junk in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        exercise_bytes(&pem(label, &junk));
    }

    #[test]
    fn mutated_real_objects_never_panic(
        seed in 0..3usize,
        mutations in prop::collection::vec(mutation(), 1..6),
        armoured in any::<bool>(),
    ) {
        let damaged = mutate(&seeds().ders[seed], &mutations);
        let label = if seed == 2 { "CERTIFICATE REQUEST" } else { "CERTIFICATE" };
        exercise_bytes(&if armoured { pem(label, &damaged) } else { damaged });
    }

    #[test]
    fn a_damaged_certificate_after_a_good_one_never_panics(
        seed in 0..3usize,
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let seeds = seeds();
        let mut chain = pem("CERTIFICATE", &seeds.ders[1]);
        chain.extend(pem("CERTIFICATE", &mutate(&seeds.ders[seed], &mutations)));
        exercise_bytes(&chain);
    }
}

//! ring against aws-lc-rs on this machine, as the workspace would use them: bulk encryption and decryption
//! through rustls (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305 over TLS 1.3), TLS 1.3 handshakes per second
//! (full and resumed, X25519 and an ECDSA P-256 certificate for both), ECDSA P-256 and RSA key generation and
//! signing. Both sides of every TLS connection run in this process, in memory, on one thread; every rate is per
//! second of this thread's CPU time.
//!
//!     provider-bench [SECONDS]    (time spent on each figure, default 1; prints one JSON object)
//!
//! ring cannot generate RSA keys: its RSA key-generation row is the `rsa` crate, which a workspace on ring would
//! need for them (the workspace uses aws-lc-rs only).

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, Connection, HandshakeKind, RootCertStore, ServerConfig, ServerConnection};
use serde_json::{Value, json};

type Failure = Box<dyn std::error::Error>;

/// The two providers, with the few calls whose signatures differ between the two crates.
#[derive(Clone, Copy)]
enum Provider {
    Ring,
    AwsLc,
}

impl Provider {
    fn name(self) -> &'static str {
        match self {
            Provider::Ring => "ring",
            Provider::AwsLc => "aws-lc-rs",
        }
    }

    /// The provider restricted to one TLS 1.3 suite (by name) and to X25519, so both do the same work.
    fn rustls(self, suite: &str) -> CryptoProvider {
        let mut provider = match self {
            Provider::Ring => rustls::crypto::ring::default_provider(),
            Provider::AwsLc => rustls::crypto::aws_lc_rs::default_provider(),
        };
        provider
            .cipher_suites
            .retain(|s| format!("{:?}", s.suite()) == suite);
        provider
            .kx_groups
            .retain(|group| format!("{:?}", group.name()) == "X25519");
        provider
    }

    fn ecdsa_p256_pkcs8(self) -> Result<Vec<u8>, Failure> {
        Ok(match self {
            Provider::Ring => {
                use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
                let rng = ring::rand::SystemRandom::new();
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
                    .map_err(|e| format!("ring ECDSA keygen: {e}"))?
                    .as_ref()
                    .to_vec()
            }
            Provider::AwsLc => {
                use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
                let rng = aws_lc_rs::rand::SystemRandom::new();
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
                    .map_err(|e| format!("aws-lc-rs ECDSA keygen: {e}"))?
                    .as_ref()
                    .to_vec()
            }
        })
    }

    /// A signer over `pkcs8` of the given kind; each call signs one fixed message.
    fn signer(self, pkcs8: &[u8], rsa: bool) -> Result<Box<dyn Fn() -> usize>, Failure> {
        const MESSAGE: &[u8] = b"tbsCertificate of a typical leaf certificate, about this long or longer";
        Ok(match (self, rsa) {
            (Provider::Ring, false) => {
                use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
                let rng = ring::rand::SystemRandom::new();
                let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8, &rng)
                    .map_err(|e| format!("ring ECDSA key: {e}"))?;
                Box::new(move || key.sign(&rng, MESSAGE).map_or(0, |s| s.as_ref().len()))
            }
            (Provider::AwsLc, false) => {
                use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
                let rng = aws_lc_rs::rand::SystemRandom::new();
                let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8)
                    .map_err(|e| format!("aws-lc-rs ECDSA key: {e}"))?;
                Box::new(move || key.sign(&rng, MESSAGE).map_or(0, |s| s.as_ref().len()))
            }
            (Provider::Ring, true) => {
                use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
                let rng = ring::rand::SystemRandom::new();
                let key = RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| format!("ring RSA key: {e}"))?;
                Box::new(move || {
                    let mut signature = vec![0; key.public().modulus_len()];
                    key.sign(&RSA_PKCS1_SHA256, &rng, MESSAGE, &mut signature)
                        .map_or(0, |()| signature.len())
                })
            }
            (Provider::AwsLc, true) => {
                use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
                let rng = aws_lc_rs::rand::SystemRandom::new();
                let key = RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| format!("aws-lc-rs RSA key: {e}"))?;
                Box::new(move || {
                    let mut signature = vec![0; key.public_modulus_len()];
                    key.sign(&RSA_PKCS1_SHA256, &rng, MESSAGE, &mut signature)
                        .map_or(0, |()| signature.len())
                })
            }
        })
    }

    /// One RSA key as PKCS#8; ring's side is the `rsa` crate (see the module comment).
    fn rsa_pkcs8(self, bits: usize) -> Result<Vec<u8>, Failure> {
        Ok(match self {
            Provider::Ring => {
                use rsa::pkcs8::EncodePrivateKey;
                let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits)?;
                key.to_pkcs8_der()?.as_bytes().to_vec()
            }
            Provider::AwsLc => {
                use aws_lc_rs::encoding::AsDer;
                use aws_lc_rs::rsa::KeySize;
                let size = match bits {
                    2048 => KeySize::Rsa2048,
                    3072 => KeySize::Rsa3072,
                    _ => KeySize::Rsa4096,
                };
                let key = aws_lc_rs::signature::RsaKeyPair::generate(size)
                    .map_err(|e| format!("aws-lc-rs RSA keygen: {e}"))?;
                key.as_der()
                    .map_err(|e| format!("aws-lc-rs RSA key encoding: {e}"))?
                    .as_ref()
                    .to_vec()
            }
        })
    }
}

/// CPU time this thread has run (from /proc/thread-self/schedstat, nanoseconds). Rates are per CPU second, not
/// per wall-clock second, so other work sharing the machine does not skew the comparison.
fn cpu_time() -> Result<Duration, Failure> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    let nanos = stat
        .split_whitespace()
        .next()
        .and_then(|field| field.parse().ok())
        .ok_or("unreadable /proc/thread-self/schedstat")?;
    Ok(Duration::from_nanos(nanos))
}

/// A CPU-time stopwatch.
struct Cpu(Duration);

impl Cpu {
    fn start() -> Result<Cpu, Failure> {
        cpu_time().map(Cpu)
    }

    fn elapsed(&self) -> Result<Duration, Failure> {
        Ok(cpu_time()?.saturating_sub(self.0))
    }
}

/// Repeats `work` for at least `budget` of CPU time (and at least `min_runs` times); returns runs per CPU second.
fn per_second(budget: Duration, min_runs: u32, mut work: impl FnMut() -> Result<(), Failure>) -> Result<f64, Failure> {
    let started = Cpu::start()?;
    let mut runs = 0u32;
    while runs < min_runs || started.elapsed()? < budget {
        work()?;
        runs += 1;
    }
    Ok(f64::from(runs) / started.elapsed()?.as_secs_f64().max(1e-9))
}

/// A CA and an ECDSA P-256 localhost leaf (made with rcgen), as rustls wants them.
struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
    roots: Arc<RootCertStore>,
}

impl Identity {
    fn new() -> Result<Identity, Failure> {
        let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])?.signed_by(&leaf_key, &issuer)?;
        let mut roots = RootCertStore::empty();
        roots.add(ca_cert.der().clone())?;
        Ok(Identity {
            chain: vec![leaf.der().clone(), ca_cert.der().clone()],
            key: leaf_key.serialize_der(),
            roots: Arc::new(roots),
        })
    }

    fn configs(&self, provider: CryptoProvider, resume: bool) -> Result<(Arc<ServerConfig>, Arc<ClientConfig>), Failure> {
        let provider = Arc::new(provider);
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()));
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), key)?;
        let mut client = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_root_certificates(self.roots.clone())
            .with_no_client_auth();
        if !resume {
            client.resumption = Resumption::disabled();
        }
        Ok((Arc::new(server), Arc::new(client)))
    }
}

/// Moves everything `from` wants to send into `to`, processing it and draining any plaintext it yields.
/// Returns the plaintext bytes `to` received.
fn pump(from: &mut Connection, to: &mut Connection, wire: &mut Vec<u8>, plain: &mut [u8]) -> Result<usize, Failure> {
    wire.clear();
    while from.wants_write() {
        from.write_tls(wire)?;
    }
    let mut incoming = &wire[..];
    let mut received = 0;
    while !incoming.is_empty() {
        to.read_tls(&mut incoming)?;
        to.process_new_packets()?;
        loop {
            match to.reader().read(plain) {
                Ok(0) => break,
                Ok(n) => received += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(received)
}

/// A completed handshake; tickets the server sends after it are delivered too, so the next one can resume.
fn handshake(server: &Arc<ServerConfig>, client: &Arc<ClientConfig>) -> Result<(Connection, Connection), Failure> {
    let name = ServerName::try_from("localhost")?;
    let mut c = Connection::Client(ClientConnection::new(client.clone(), name)?);
    let mut s = Connection::Server(ServerConnection::new(server.clone())?);
    let (mut wire, mut plain) = (Vec::new(), [0u8; 0]);
    while c.is_handshaking() || s.is_handshaking() {
        pump(&mut c, &mut s, &mut wire, &mut plain)?;
        pump(&mut s, &mut c, &mut wire, &mut plain)?;
    }
    pump(&mut s, &mut c, &mut wire, &mut plain)?;
    Ok((s, c))
}

/// Handshakes per second; with `resume`, checks that they really resumed.
fn handshakes(identity: &Identity, provider: Provider, resume: bool, budget: Duration) -> Result<f64, Failure> {
    let (server, client) = identity.configs(provider.rustls("TLS13_AES_128_GCM_SHA256"), resume)?;
    handshake(&server, &client)?;
    let expected = if resume { HandshakeKind::Resumed } else { HandshakeKind::Full };
    per_second(budget, 20, || {
        let (_, client_side) = handshake(&server, &client)?;
        match client_side.handshake_kind() {
            Some(kind) if kind == expected => Ok(()),
            other => Err(format!("{} handshake was {other:?}, expected {expected:?}", provider.name()).into()),
        }
    })
}

/// MB/s of application data encrypted by one side and decrypted by the other, in 16 KiB writes.
fn throughput(identity: &Identity, provider: Provider, suite: &str, budget: Duration) -> Result<f64, Failure> {
    let (server, client) = identity.configs(provider.rustls(suite), false)?;
    let (mut s, mut c) = handshake(&server, &client)?;
    let negotiated = s.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite()));
    if negotiated.as_deref() != Some(suite) {
        return Err(format!("{} negotiated {negotiated:?}, not {suite}", provider.name()).into());
    }
    let chunk = vec![0x5a; 16 * 1024];
    let (mut wire, mut plain) = (Vec::with_capacity(64 * 1024), vec![0u8; 64 * 1024]);
    let started = Cpu::start()?;
    let mut bytes = 0usize;
    while bytes < 1 << 20 || started.elapsed()? < budget {
        s.writer().write_all(&chunk)?;
        let got = pump(&mut s, &mut c, &mut wire, &mut plain)?;
        if got != chunk.len() {
            return Err(format!("{}: {got} bytes arrived of {}", provider.name(), chunk.len()).into());
        }
        bytes += got;
    }
    Ok(bytes as f64 / 1e6 / started.elapsed()?.as_secs_f64().max(1e-9))
}

fn measure(provider: Provider, identity: &Identity, budget: Duration) -> Result<Value, Failure> {
    let mut suites = serde_json::Map::new();
    for suite in [
        "TLS13_AES_128_GCM_SHA256",
        "TLS13_AES_256_GCM_SHA384",
        "TLS13_CHACHA20_POLY1305_SHA256",
    ] {
        suites.insert(suite.into(), json!(throughput(identity, provider, suite, budget)?));
    }
    let ecdsa = provider.ecdsa_p256_pkcs8()?;
    let ecdsa_sign = provider.signer(&ecdsa, false)?;
    let rsa2048 = provider.rsa_pkcs8(2048)?;
    let rsa_sign = provider.signer(&rsa2048, true)?;
    let signed = |sign: &dyn Fn() -> usize| {
        per_second(budget, 20, || match sign() {
            0 => Err("signing failed".into()),
            _ => Ok(()),
        })
    };
    // RSA key generation takes tens to hundreds of milliseconds: count a few keys, not a time budget.
    let rsa_keygen = |bits| per_second(Duration::ZERO, 3, || provider.rsa_pkcs8(bits).map(drop));
    Ok(json!({
        "provider": provider.name(),
        "mb_per_s": suites,
        "handshakes_per_s": {
            "full": handshakes(identity, provider, false, budget)?,
            "resumed": handshakes(identity, provider, true, budget)?,
        },
        "keygen_per_s": {
            "ecdsa_p256": per_second(budget, 20, || provider.ecdsa_p256_pkcs8().map(drop))?,
            "rsa_2048": rsa_keygen(2048)?,
            "rsa_3072": rsa_keygen(3072)?,
        },
        "sign_per_s": {
            "ecdsa_p256": signed(&*ecdsa_sign)?,
            "rsa_2048": signed(&*rsa_sign)?,
        },
    }))
}

fn main() {
    let budget = match std::env::args().nth(1).map(|s| s.parse::<f64>()) {
        None => Duration::from_secs(1),
        Some(Ok(seconds)) if seconds.is_finite() && seconds > 0.0 => Duration::from_secs_f64(seconds),
        Some(_) => {
            eprintln!("provider-bench: SECONDS must be a positive number, e.g. provider-bench 0.5");
            std::process::exit(2);
        }
    };
    let run = || -> Result<Value, Failure> {
        let identity = Identity::new()?;
        let providers = [Provider::Ring, Provider::AwsLc];
        let measured: Result<Vec<Value>, Failure> =
            providers.iter().map(|&p| measure(p, &identity, budget)).collect();
        Ok(json!({ "per": "CPU second", "providers": measured? }))
    };
    match run() {
        Ok(report) => println!("{report}"),
        Err(e) => {
            eprintln!("provider-bench: {e}");
            std::process::exit(1);
        }
    }
}

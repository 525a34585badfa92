//! The crypto-provider comparison: ring against aws-lc-rs.

use super::figures::ratio;
use crate::bench::provider_report::ProviderFigures;
use crate::bench::results::Results;
use std::fmt::{self, Write as _};

/// One figure of a provider.
type Figure = fn(&ProviderFigures) -> f64;

/// ring against aws-lc-rs, from `provider-bench`'s JSON report.
pub(super) fn providers(md: &mut String, results: &Results) -> fmt::Result {
    let Some(report) = &results.providers else {
        return Ok(());
    };
    let of = |name: &str| report.providers.iter().find(|p| p.provider == name);
    let (Some(ring), Some(aws)) = (of("ring"), of("aws-lc-rs")) else {
        return Ok(());
    };
    writeln!(md, "\n## Crypto provider: ring against aws-lc-rs\n")?;
    writeln!(
        md,
        "`xtask/providers` (outside the workspace, so the workspace keeps one provider) drives both ends of rustls \
         connections in memory on one thread: bulk data in 16 KiB writes (encrypted by one side, decrypted by the \
         other), TLS 1.3 handshakes with X25519 and an ECDSA P-256 certificate chain (full, and resumed from a \
         ticket), and key generation and signing. ring cannot generate RSA keys: its RSA key-generation rows are \
         the `rsa` crate, which a workspace on ring would need for them (this one uses aws-lc-rs only). One run; \
         higher is better.\n"
    )?;
    writeln!(
        md,
        "| operation | ring | aws-lc-rs | aws-lc-rs × ring |\n|---|---:|---:|---:|"
    )?;
    let rows: [(Figure, &str); 10] = [
        (|p| p.mb_per_s.aes_128_gcm, "TLS 1.3 AES-128-GCM, MB/s"),
        (|p| p.mb_per_s.aes_256_gcm, "TLS 1.3 AES-256-GCM, MB/s"),
        (
            |p| p.mb_per_s.chacha20_poly1305,
            "TLS 1.3 ChaCha20-Poly1305, MB/s",
        ),
        (|p| p.handshakes_per_s.full, "full handshakes/s"),
        (|p| p.handshakes_per_s.resumed, "resumed handshakes/s"),
        (|p| p.keygen_per_s.ecdsa_p256, "ECDSA P-256 key generation/s"),
        (|p| p.sign_per_s.ecdsa_p256, "ECDSA P-256 signatures/s"),
        (
            |p| p.keygen_per_s.rsa_2048,
            "RSA-2048 key generation/s (ring: `rsa` crate)",
        ),
        (
            |p| p.keygen_per_s.rsa_3072,
            "RSA-3072 key generation/s (ring: `rsa` crate)",
        ),
        (|p| p.sign_per_s.rsa_2048, "RSA-2048 signatures/s"),
    ];
    for (figure, label) in rows {
        let (r, a) = (figure(ring), figure(aws));
        writeln!(md, "| {label} | {r:.1} | {a:.1} | {:.2} |", ratio(a, r))?;
    }
    Ok(())
}

//! What `provider-bench` (xtask/providers, outside the workspace) prints as JSON, read into types: a figure it
//! stops printing, or prints under another name, fails the run where it is read instead of showing as 0.

use serde::Deserialize;

/// Every provider's figures, per CPU second.
#[derive(Debug, Deserialize)]
pub struct ProviderReport {
    pub providers: Vec<ProviderFigures>,
}

/// One provider's figures, per CPU second.
#[derive(Debug, Deserialize)]
pub struct ProviderFigures {
    /// `ring` or `aws-lc-rs`.
    pub provider: String,
    /// Bulk data in MB/s, by TLS 1.3 cipher suite.
    pub mb_per_s: Suites,
    pub handshakes_per_s: Handshakes,
    pub keygen_per_s: KeyGeneration,
    pub sign_per_s: Signatures,
}

#[derive(Debug, Deserialize)]
pub struct Suites {
    #[serde(rename = "TLS13_AES_128_GCM_SHA256")]
    pub aes_128_gcm: f64,
    #[serde(rename = "TLS13_AES_256_GCM_SHA384")]
    pub aes_256_gcm: f64,
    #[serde(rename = "TLS13_CHACHA20_POLY1305_SHA256")]
    pub chacha20_poly1305: f64,
}

#[derive(Debug, Deserialize)]
pub struct Handshakes {
    pub full: f64,
    pub resumed: f64,
}

#[derive(Debug, Deserialize)]
pub struct KeyGeneration {
    pub ecdsa_p256: f64,
    pub rsa_2048: f64,
    pub rsa_3072: f64,
}

#[derive(Debug, Deserialize)]
pub struct Signatures {
    pub ecdsa_p256: f64,
    pub rsa_2048: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape `xtask/providers/src/main.rs` prints.
    #[test]
    fn the_report_provider_bench_prints_is_read_whole() {
        let printed = r#"{"per":"CPU second","providers":[{"provider":"ring",
            "mb_per_s":{"TLS13_AES_128_GCM_SHA256":1.5,"TLS13_AES_256_GCM_SHA384":2.5,"TLS13_CHACHA20_POLY1305_SHA256":3.5},
            "handshakes_per_s":{"full":4.0,"resumed":5.0},
            "keygen_per_s":{"ecdsa_p256":6.0,"rsa_2048":7.0,"rsa_3072":8.0},
            "sign_per_s":{"ecdsa_p256":9.0,"rsa_2048":10.0}}]}"#;
        let report: ProviderReport = serde_json::from_str(printed).unwrap();
        let ring = &report.providers[0];
        assert_eq!(ring.provider, "ring");
        assert_eq!(ring.mb_per_s.chacha20_poly1305, 3.5);
        assert_eq!(ring.keygen_per_s.rsa_3072, 8.0);
        assert_eq!(ring.sign_per_s.rsa_2048, 10.0);
        let renamed = printed.replace("\"resumed\"", "\"resumption\"");
        assert!(serde_json::from_str::<ProviderReport>(&renamed).is_err());
    }
}

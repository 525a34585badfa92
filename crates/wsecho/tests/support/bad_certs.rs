//! The broken-certificate fixtures (`certgen broken`) served by one `wsecho serve --bad-certs`, and what each real
//! client says about each of them: [`VERDICTS`], the table docs/troubleshooting.md shows. The peer tests assert
//! every cell against the real client, and `docs_table_is_the_measured_one` checks the doc holds these rows.

use std::ffi::OsString;

use super::{ServeProcess, TestCerts};

/// What each client says when it refuses one fixture; `None` everywhere for `good`, which all accept.
#[derive(Debug, Clone, Copy)]
pub struct Verdict {
    /// The fixture's name (`certgen broken`'s file stem, the banner's `bad certificate NAME`).
    pub name: &'static str,
    /// Chromium's `net::ERR_*` for a page load (DevTools `Page.navigate` errorText).
    pub chromium: Option<&'static str>,
    /// The NSS error code Firefox names in its certificate error (WebDriver BiDi navigate error).
    pub firefox: Option<&'static str>,
    /// The reason after `certificate verify failed: ` in Python's `ssl.SSLCertVerificationError`.
    pub python: Option<&'static str>,
    /// Node's `error.code` (the `ws` client; Node's TLS gives it).
    pub node: Option<&'static str>,
    /// curl's exit code and message (`curl: (60) MESSAGE`).
    pub curl: Option<(i32, &'static str)>,
    /// `openssl s_client`'s `Verify return code: N (TEXT)`.
    pub openssl: Option<(i32, &'static str)>,
}

/// One row per fixture, in the banner's order (good first, then by name). Every value was measured by the tests
/// that assert it.
pub const VERDICTS: &[Verdict] = &[
    Verdict {
        name: "good",
        chromium: None,
        firefox: None,
        python: None,
        node: None,
        curl: None,
        openssl: None,
    },
    Verdict {
        name: "expired",
        chromium: Some("net::ERR_CERT_DATE_INVALID"),
        firefox: Some("SEC_ERROR_EXPIRED_CERTIFICATE"),
        python: Some("certificate has expired"),
        node: Some("CERT_HAS_EXPIRED"),
        curl: Some((60, "SSL certificate problem: certificate has expired")),
        openssl: Some((10, "certificate has expired")),
    },
    Verdict {
        name: "incomplete-chain",
        chromium: Some("net::ERR_CERT_AUTHORITY_INVALID"),
        firefox: Some("SEC_ERROR_UNKNOWN_ISSUER"),
        python: Some("unable to get local issuer certificate"),
        node: Some("UNABLE_TO_VERIFY_LEAF_SIGNATURE"),
        curl: Some((
            60,
            "SSL certificate problem: unable to get local issuer certificate",
        )),
        openssl: Some((20, "unable to get local issuer certificate")),
    },
    Verdict {
        name: "no-server-auth",
        chromium: Some("net::ERR_CERT_INVALID"),
        firefox: Some("SEC_ERROR_INADEQUATE_CERT_TYPE"),
        python: Some("unsuitable certificate purpose"),
        node: Some("INVALID_PURPOSE"),
        curl: Some((60, "SSL certificate problem: unsuitable certificate purpose")),
        openssl: Some((26, "unsuitable certificate purpose")),
    },
    Verdict {
        name: "not-yet-valid",
        chromium: Some("net::ERR_CERT_DATE_INVALID"),
        firefox: Some("MOZILLA_PKIX_ERROR_NOT_YET_VALID_CERTIFICATE"),
        python: Some("certificate is not yet valid"),
        node: Some("CERT_NOT_YET_VALID"),
        curl: Some((60, "SSL certificate problem: certificate is not yet valid")),
        openssl: Some((9, "certificate is not yet valid")),
    },
    Verdict {
        name: "outside-constraints",
        chromium: Some("net::ERR_CERT_INVALID"),
        firefox: Some("SEC_ERROR_CERT_NOT_IN_NAME_SPACE"),
        python: Some("permitted subtree violation"),
        node: Some("UNSPECIFIED"),
        curl: Some((60, "SSL certificate problem: permitted subtree violation")),
        openssl: Some((47, "permitted subtree violation")),
    },
    Verdict {
        name: "self-signed",
        chromium: Some("net::ERR_CERT_AUTHORITY_INVALID"),
        firefox: Some("MOZILLA_PKIX_ERROR_SELF_SIGNED_CERT"),
        python: Some("self-signed certificate"),
        node: Some("DEPTH_ZERO_SELF_SIGNED_CERT"),
        curl: Some((60, "SSL certificate problem: self-signed certificate")),
        openssl: Some((18, "self-signed certificate")),
    },
    Verdict {
        name: "untrusted-root",
        chromium: Some("net::ERR_CERT_AUTHORITY_INVALID"),
        firefox: Some("SEC_ERROR_UNKNOWN_ISSUER"),
        python: Some("self-signed certificate in certificate chain"),
        node: Some("SELF_SIGNED_CERT_IN_CHAIN"),
        curl: Some((
            60,
            "SSL certificate problem: self-signed certificate in certificate chain",
        )),
        openssl: Some((19, "self-signed certificate in certificate chain")),
    },
    Verdict {
        name: "wrong-host",
        chromium: Some("net::ERR_CERT_COMMON_NAME_INVALID"),
        firefox: Some("SSL_ERROR_BAD_CERT_DOMAIN"),
        python: Some("Hostname mismatch, certificate is not valid for 'localhost'."),
        node: Some("ERR_TLS_CERT_ALTNAME_INVALID"),
        curl: Some((
            60,
            "SSL: no alternative certificate subject name matches target host name 'localhost'",
        )),
        openssl: Some((62, "hostname mismatch")),
    },
];

/// One `wsecho serve` with ws, wss (the usual test certificate) and every fixture on its own port.
pub struct BadCertServer {
    pub certs: TestCerts,
    pub server: ServeProcess,
    /// `(name, port)` of each `bad certificate NAME URL page URL` banner line, in banner order.
    pub listeners: Vec<(String, u16)>,
}

impl BadCertServer {
    pub fn start() -> BadCertServer {
        let certs = TestCerts::new();
        let broken = certs.broken();
        let mut args: Vec<OsString> = ["--ws", "127.0.0.1:0", "--wss", "127.0.0.1:0"]
            .map(OsString::from)
            .into();
        for (flag, path) in [
            ("--cert", &certs.server_chain),
            ("--key", &certs.server_key),
            ("--ca", &certs.ca_cer),
            ("--bad-certs", &broken),
        ] {
            args.push(flag.into());
            args.push(path.into());
        }
        let server = ServeProcess::start(&args);
        // e.g. "bad certificate expired wss://localhost:41235 page https://localhost:41235/"
        let listeners = server
            .banner
            .iter()
            .filter_map(|line| line.strip_prefix("bad certificate "))
            .map(|rest| {
                let mut words = rest.split_whitespace();
                let name = words.next().expect("a fixture name").to_string();
                let url = words.next().expect("a wss URL");
                let port = url.rsplit(':').next().and_then(|p| p.parse().ok());
                (name, port.unwrap_or_else(|| panic!("no port in {url}")))
            })
            .collect();
        BadCertServer {
            certs,
            server,
            listeners,
        }
    }

    /// Each fixture's verdict with its listener's port, asserting the banner lists exactly [`VERDICTS`].
    pub fn cases(&self) -> Vec<(Verdict, u16)> {
        let names: Vec<&str> = self.listeners.iter().map(|(name, _)| name.as_str()).collect();
        let expected: Vec<&str> = VERDICTS.iter().map(|v| v.name).collect();
        assert_eq!(names, expected, "the banner's bad-certificate listeners");
        VERDICTS
            .iter()
            .copied()
            .zip(self.listeners.iter().map(|(_, port)| *port))
            .collect()
    }
}

/// The row of docs/troubleshooting.md's table for `verdict`: `| \`NAME\` | chromium | firefox | python | node | curl
/// | openssl |`, "accepted" where the client accepts the certificate.
pub fn doc_row(verdict: &Verdict) -> String {
    let code = |text: Option<&str>| text.map_or("accepted".to_string(), |t| format!("`{t}`"));
    let numbered = |value: Option<(i32, &str)>| {
        value.map_or("accepted".to_string(), |(number, text)| {
            format!("{number} `{text}`")
        })
    };
    let cells = [
        format!("`{}`", verdict.name),
        code(verdict.chromium),
        code(verdict.firefox),
        code(verdict.python),
        code(verdict.node),
        numbered(verdict.curl),
        numbered(verdict.openssl),
    ];
    format!("| {} |", cells.join(" | "))
}

//! Pebble, Let's Encrypt's test ACME CA, started on loopback for one test and stopped when dropped: real
//! validation (no `PEBBLE_VA_ALWAYS_VALID`), its default 5% of rejected nonces kept (or more, on request), its TLS
//! certificate made by certgen, and pebble-challtestsrv as its DNS server (every name resolves to 127.0.0.1; its management API sets
//! the TXT records of dns-01). certgen's and wsecho's ACME tests both include this file by `#[path]`.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testkit::KillOnDrop;

/// How long pebble and challtestsrv may take to start listening on a loaded machine.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The share of good nonces pebble rejects unless told otherwise (its own default).
const DEFAULT_NONCE_REJECT: u8 = 5;

pub struct Pebble {
    /// pebble-challtestsrv and pebble, stopped when the `Pebble` is dropped.
    processes: Vec<KillOnDrop>,
    /// Holds the config, TLS files, root and logs; deleted on drop.
    pub dir: tempfile::TempDir,
    /// `https://127.0.0.1:PORT/dir`.
    pub directory_url: String,
    /// The CA of pebble's own TLS certificate (`--acme-ca`).
    pub tls_ca: PathBuf,
    /// The root pebble issues under, from its management port's `/roots/0`.
    pub root: PathBuf,
    /// Port of pebble-challtestsrv's management API (set-txt, clear-txt).
    pub dns_management: u16,
}

/// A port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Are `pebble` and `pebble-challtestsrv` on PATH?
pub fn installed() -> bool {
    ["pebble", "pebble-challtestsrv"].iter().all(|program| {
        Command::new(program)
            .arg("-h")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    })
}

impl Pebble {
    /// Starts challtestsrv and pebble; pebble validates http-01 on `http_port` and tls-alpn-01 on `tls_port` of
    /// 127.0.0.1 (where the test's responder listens). Panics, naming the log, when either does not come up.
    pub fn start(http_port: u16, tls_port: u16) -> Pebble {
        Pebble::start_with(http_port, tls_port, None, DEFAULT_NONCE_REJECT)
    }

    /// [`Pebble::start`] requiring external account binding with this key id and base64url HMAC key.
    pub fn start_requiring_eab(http_port: u16, tls_port: u16, kid: &str, hmac_key: &str) -> Pebble {
        Pebble::start_with(http_port, tls_port, Some((kid, hmac_key)), DEFAULT_NONCE_REJECT)
    }

    /// [`Pebble::start`] rejecting `percent` % of good nonces instead of 5 % (`PEBBLE_WFE_NONCEREJECT`).
    pub fn start_rejecting_nonces(http_port: u16, tls_port: u16, percent: u8) -> Pebble {
        Pebble::start_with(http_port, tls_port, None, percent)
    }

    fn start_with(http_port: u16, tls_port: u16, eab: Option<(&str, &str)>, nonce_reject: u8) -> Pebble {
        let dir = tempfile::tempdir().expect("temp dir");
        let (tls_ca, tls_cert, tls_key) = tls_files(&dir.path().join("tls"));
        let (acme, management, dns, dns_management) = (free_port(), free_port(), free_port(), free_port());
        let config = dir.path().join("pebble-config.json");
        let json = serde_json::json!({
            "pebble": {
                "listenAddress": format!("127.0.0.1:{acme}"),
                "managementListenAddress": format!("127.0.0.1:{management}"),
                "certificate": tls_cert,
                "privateKey": tls_key,
                "httpPort": http_port,
                "tlsPort": tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": eab.is_some(),
                "externalAccountMACKeys": eab.map(|(kid, key)| serde_json::json!({ kid: key })),
            }
        });
        std::fs::write(&config, json.to_string()).expect("write pebble config");
        let mut pebble = Pebble {
            processes: Vec::new(),
            directory_url: format!("https://127.0.0.1:{acme}/dir"),
            tls_ca,
            root: dir.path().join("pebble-root.pem"),
            dns_management,
            dir,
        };
        let dns_addr = format!("127.0.0.1:{dns}");
        pebble.spawn(
            "pebble-challtestsrv",
            nonce_reject,
            &[
                "-dns01",
                &dns_addr,
                "-management",
                &format!("127.0.0.1:{dns_management}"),
                "-defaultIPv6",
                "",
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
            ],
        );
        wait_for_port(dns_management, "pebble-challtestsrv", pebble.dir.path());
        pebble.spawn(
            "pebble",
            nonce_reject,
            &["-config", path_str(&config), "-dnsserver", &dns_addr],
        );
        wait_for_port(acme, "pebble", pebble.dir.path());
        pebble.fetch_root(management);
        pebble
    }

    fn spawn(&mut self, program: &str, nonce_reject: u8, args: &[&str]) {
        let log = std::fs::File::create(self.dir.path().join(format!("{program}.log"))).expect("log file");
        let child = Command::new(program)
            .args(args)
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", nonce_reject.to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        self.processes.push(KillOnDrop(child));
    }

    fn fetch_root(&self, management: u16) {
        let url = format!("https://127.0.0.1:{management}/roots/0");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let out = Command::new("curl")
                .args([
                    "-sf",
                    "--max-time",
                    "5",
                    "--cacert",
                    path_str(&self.tls_ca),
                    "-o",
                    path_str(&self.root),
                    &url,
                ])
                .status()
                .expect("run curl");
            if out.success() {
                return;
            }
            assert!(Instant::now() < deadline, "pebble's root at {url} did not appear");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The last lines of pebble's log, for assertion messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default()
    }

    /// A `--dns-hook` script that sets and clears TXT records through challtestsrv's management API.
    pub fn dns_hook(&self) -> PathBuf {
        let script = self.dir.path().join("dns-hook.sh");
        let body = format!(
            "#!/bin/sh\n# certgen runs: dns-hook.sh set|clear NAME VALUE\nset -e\n\
             case \"$1\" in set) path=set-txt; body=\"{{\\\"host\\\":\\\"$2.\\\",\\\"value\\\":\\\"$3\\\"}}\" ;;\n\
             clear) path=clear-txt; body=\"{{\\\"host\\\":\\\"$2.\\\"}}\" ;; *) exit 2 ;; esac\n\
             curl -sf --max-time 5 -X POST -d \"$body\" http://127.0.0.1:{}/$path\n",
            self.dns_management
        );
        std::fs::write(&script, body).expect("write dns hook");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod hook");
        }
        script
    }
}

/// A certgen CA and a `localhost 127.0.0.1` leaf for pebble's own HTTPS.
fn tls_files(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let certs = certgen::CertsDir::new(dir);
    certs
        .create_ca(&certgen::CaOptions::default())
        .expect("CA for pebble");
    let names = certgen::SubjectName::parse_all(["localhost", "127.0.0.1"]).expect("names");
    let leaf = certs
        .issue(&names, &Default::default())
        .expect("pebble's TLS certificate");
    (
        certs.ca_files().cert_pem,
        leaf.files.fullchain_pem,
        leaf.files.key_pem,
    )
}

fn wait_for_port(port: u16, what: &str, logs: &Path) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + START_TIMEOUT;
    while TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err() {
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(logs.join(format!("{what}.log"))).unwrap_or_default();
            panic!("{what} did not listen on {addr} within {START_TIMEOUT:?}; its log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

//! The local trust chain: `up` = `certs` + `trust` + `serve`, plus `untrust` and `status` to check and undo it.
//! Everything here is orchestration over the `certgen` and `wsecho` libraries.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use certgen::renew::{CaState, LeafState};
use certgen::trust::{self, CaCert, Change, Host, StoreKind, TrustError};
use certgen::{CaOptions, CertsDir, Issued, LeafFiles, LeafOptions, SubjectName};

/// A server certificate is renewed this long before it expires.
const RENEW_WITHIN_DAYS: i64 = 30;
/// File stem of the server certificate in certs/ (`localhost.pem`, `localhost-key.pem`, ...).
const SERVER_STEM: &str = "localhost";

use crate::nss_tools::{self, Consent};

#[derive(Debug, clap::Args)]
pub struct NameArgs {
    /// Extra name for the server certificate (DNS name or IP; repeatable), e.g. --name myhost.test
    #[arg(long = "name", value_name = "NAME")]
    names: Vec<String>,
    /// Add this machine's LAN addresses (so phones and other machines can connect) and listen on all interfaces
    #[arg(long)]
    lan: bool,
}

#[derive(Debug, clap::Args)]
pub struct TrustArgs {
    /// Also the operating system's store (needs root; otherwise prints the command to run)
    #[arg(long)]
    system: bool,
    /// Print the commands without running them
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Also check the operating system's store
    #[arg(long)]
    system: bool,
    /// Port of the running server's wss:// + https:// listener, whose certificate `certgen doctor` checks
    #[arg(long, value_name = "PORT", default_value_t = 8443)]
    wss_port: u16,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Listen on all interfaces instead of loopback only
    #[arg(long)]
    lan: bool,
    #[command(flatten)]
    ports: Ports,
}

/// The two ports the echo server listens on.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Ports {
    /// Port of the ws:// + http:// listener (the CA download for phones is served here)
    #[arg(long, value_name = "PORT", default_value_t = 8080)]
    ws_port: u16,
    /// Port of the wss:// + https:// listener (the test page)
    #[arg(long, value_name = "PORT", default_value_t = 8443)]
    wss_port: u16,
}

#[derive(Debug, clap::Args)]
pub struct UpArgs {
    #[command(flatten)]
    names: NameArgs,
    /// Also install the CA in the operating system's store (curl, Python, Node with system CAs...)
    #[arg(long)]
    system: bool,
    /// Install what the trust step needs (certutil) without asking; without a terminal and without --yes
    /// the install command is only printed
    #[arg(long, short = 'y')]
    yes: bool,
    #[command(flatten)]
    ports: Ports,
}

pub fn up(root: &Path, host: &Host, args: &UpArgs) -> anyhow::Result<()> {
    // A taken port fails before the certificates or the stores change.
    let (ws, wss) = listen_addresses(args.names.lan, args.ports);
    wsecho::server::ensure_ports_free(&[ws, wss].concat()).map_err(one_line)?;
    certs(root, host, &args.names, true)?;
    let verdict = trust_for_up(root, host, args)?;
    let serve_args = ServeArgs {
        lan: args.names.lan,
        ports: args.ports,
    };
    run_server(root, &serve_args, &[runtimes_line(root, host), verdict])
}

/// `trust`, installing certutil first when it is missing and the user agrees; returns the verdict line.
fn trust_for_up(root: &Path, host: &Host, args: &UpArgs) -> anyhow::Result<String> {
    let ca = load_ca(root)?;
    let kinds = stores(args.system);
    let mut report = trust::install(&ca, host, &kinds, false);
    let mut fix = None;
    if lacks_certutil(&report) {
        match nss_tools::Install::for_this_machine() {
            Some(install) if nss_tools::offer(&install, Consent::from(args.yes)) => {
                report = trust::install(&ca, host, &kinds, false);
            }
            Some(install) => fix = Some(format!("{} && cargo xtask trust", install.shown())),
            None => {
                fix =
                    Some("install your distribution's NSS tools (certutil), then `cargo xtask trust`".into())
            }
        }
    }
    print!("{report}");
    let browsers = browsers(&report);
    let covered = browsers.iter().any(|b| b.fix.is_none());
    Ok(match (report.problems(), covered) {
        (None, false) if browsers.is_empty() => {
            "verdict: NOT trusted: no browser store found for this user; import certs/ca.cer by hand \
                      (docs/browsers.md)"
                .to_owned()
        }
        (None, _) => browser_verdict(&browsers, args.ports.wss_port),
        (Some(_), _) if fix.is_some() => format!(
            "verdict: NOT trusted (certutil is not installed): run `{}`, or import certs/ca.cer by hand \
             (docs/browsers.md)",
            fix.unwrap_or_default()
        ),
        (Some(problems), _) => format!(
            "verdict: NOT trusted ({problems}): fix that and run `cargo xtask trust`, or import certs/ca.cer by \
             hand (docs/browsers.md)"
        ),
    })
}

/// One browser's standing after the trust step: `fix` is `None` when every store of it that is in use trusts the
/// CA, else what to do first.
struct BrowserTrust {
    name: &'static str,
    fix: Option<String>,
}

/// The browsers in `report`, in the order first seen, each covered or with its first missing step.
fn browsers(report: &trust::Report) -> Vec<BrowserTrust> {
    let mut browsers: Vec<BrowserTrust> = Vec::new();
    for outcome in report.outcomes.iter().filter(|o| o.kind == StoreKind::Nss) {
        let Some(name) = outcome.browser else { continue };
        let fix = match &outcome.result {
            Ok(Change::Done(_) | Change::Unchanged(_) | Change::Unused(_) | Change::WouldRun(_)) => None,
            Ok(Change::NotCovered(why)) => Some(why.clone()),
            Ok(Change::NeedsPrivilege(_) | Change::NotApplicable(_)) => None,
            Err(err) => Some(err.to_string()),
        };
        match browsers.iter_mut().find(|b| b.name == name) {
            Some(browser) => {
                if browser.fix.is_none() {
                    browser.fix = fix;
                }
            }
            None => browsers.push(BrowserTrust { name, fix }),
        }
    }
    browsers
}

/// `up`'s last line when the trust step ran: which browsers trust the CA now, and for the others what to do.
fn browser_verdict(browsers: &[BrowserTrust], wss_port: u16) -> String {
    let parts: Vec<String> = browsers
        .iter()
        .map(|b| match &b.fix {
            None => format!("{} yes", b.name),
            Some(fix) => format!("{} not yet: {fix}", b.name),
        })
        .collect();
    let page = format!("https://localhost:{wss_port}/");
    if browsers.iter().all(|b| b.fix.is_none()) {
        format!("verdict: {}: open {page} and it turns green", parts.join(", "))
    } else {
        format!(
            "verdict: {}; in a browser marked yes, {page} turns green",
            parts.join(", ")
        )
    }
}

/// Whether the trust step failed only because certutil is not installed.
fn lacks_certutil(report: &trust::Report) -> bool {
    report
        .outcomes
        .iter()
        .any(|o| matches!(o.result, Err(TrustError::ToolMissing { tool: "certutil", .. })))
}

/// Creates or reuses the CA and the server certificate; returns the server certificate's files. A CA that had to
/// be replaced is taken out of every store that trusted it; `trust_follows` says whether the caller trusts the new
/// one next (`up`) or the user must (`certs`).
pub fn certs(root: &Path, host: &Host, args: &NameArgs, trust_follows: bool) -> anyhow::Result<LeafFiles> {
    let lan = if args.lan { lan_addresses()? } else { Vec::new() };
    let (files, replaced) = ensure_certs(root, &server_names(&args.names, &lan))?;
    if replaced {
        print!("{}", trust::untrust_replaced(certs_dir(root).path(), host));
        if !trust_follows {
            println!("CA: the new one is not trusted yet: run `cargo xtask trust`");
        }
    }
    Ok(files)
}

/// The server certificate's names: loopback, then `--name`s, then the LAN addresses. The CA permits exactly
/// these (certgen derives its name constraints from them).
fn server_names(extra: &[String], lan: &[IpAddr]) -> Vec<String> {
    let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    names.extend(extra.iter().cloned());
    names.extend(lan.iter().map(IpAddr::to_string));
    names
}

/// Creates or reuses a CA that permits `names` and a server certificate for them; true when the CA was replaced.
fn ensure_certs(root: &Path, names: &[String]) -> anyhow::Result<(LeafFiles, bool)> {
    let dir = certs_dir(root);
    let parsed = SubjectName::parse_all(names)?;
    let ca_state = dir.ensure_ca(&parsed, &CaOptions::default())?;
    match &ca_state {
        CaState::Created => println!("CA: created {}", dir.ca_files().cert_pem.display()),
        CaState::Reused => println!("CA: reusing {}", dir.ca_files().cert_pem.display()),
        CaState::Replaced { reason } => println!(
            "CA: replaced because {reason}; the old one is kept as certs/ca-backup-* and taken out of the stores \
             that trusted it"
        ),
    }
    let opts = LeafOptions {
        out: Some(SERVER_STEM.into()),
        ..LeafOptions::default()
    };
    let renew_within = time::Duration::days(RENEW_WITHIN_DAYS);
    let (Issued { files, .. }, state) = dir.ensure_leaf(&parsed, &opts, renew_within)?;
    match state {
        LeafState::Reused { days_left } => println!(
            "server certificate: reusing {} ({days_left} days left) for {}",
            files.cert_pem.display(),
            names.join(", ")
        ),
        LeafState::Issued { reason } => println!(
            "server certificate: {reason}: {} for {}",
            files.cert_pem.display(),
            names.join(", ")
        ),
    }
    Ok((files, matches!(ca_state, CaState::Replaced { .. })))
}

pub fn trust(root: &Path, host: &Host, args: &TrustArgs) -> anyhow::Result<()> {
    let ca = load_ca(root)?;
    let report = trust::install(&ca, host, &stores(args.system), args.dry_run);
    finish(&report, report.problems())
}

/// Removes the CA from the stores `trust` (with the same `--system`) put it in; only our entries are touched.
pub fn untrust(root: &Path, host: &Host, args: &TrustArgs) -> anyhow::Result<()> {
    let ca = load_ca(root)?;
    let report = trust::uninstall(&ca, host, &stores(args.system), args.dry_run);
    finish(&report, report.problems())
}

pub fn status(root: &Path, host: &Host, args: &StatusArgs) -> anyhow::Result<()> {
    let ca = load_ca(root)?;
    let report = trust::status(&ca, host, &stores(args.system), certs_dir(root).path());
    let mut problems = report.problems_fixed_by(&STATUS_FIXES);
    print!("{report}");
    if let Some(rejected) = doctor_running_server(root, host, args.wss_port)? {
        problems = Some(problems.map_or_else(|| rejected.clone(), |p| format!("{p}; {rejected}")));
    }
    match problems {
        Some(problems) => bail!("{problems}"),
        None => Ok(()),
    }
}

/// `certgen doctor` on the server listening on `wss_port`, if one is; returns the problem when a browser would
/// reject its certificate. No server running is not a problem: `status` is also for before `up`.
fn doctor_running_server(root: &Path, host: &Host, wss_port: u16) -> anyhow::Result<Option<String>> {
    let url = format!("https://localhost:{wss_port}/");
    match certgen::inspect::diagnose(&url, certs_dir(root).path(), host) {
        Ok(diagnosis) => {
            println!("server {diagnosis}");
            Ok((!diagnosis.accepted).then(|| {
                "a browser would reject the running server's certificate (see the fixes above)".to_owned()
            }))
        }
        Err(certgen::Error::Connect { reason, .. }) => {
            println!("--   server {url}: not running ({reason}); `cargo xtask up` starts it");
            Ok(None)
        }
        Err(err) => Err(err.into()),
    }
}

/// What `status` found wrong is fixed by `cargo xtask` tasks.
const STATUS_FIXES: trust::StatusFixes<'static> = trust::StatusFixes {
    expired_ca: "run `cargo xtask certs` to replace it, then `cargo xtask trust`",
    uncovered: "browser(s) not covered yet (do the step on its line)",
    failing: Some("run `cargo xtask certs` to reissue the server certificate"),
};

pub fn serve(root: &Path, args: &ServeArgs) -> anyhow::Result<()> {
    run_server(root, args, &[])
}

/// The echo server on the certificate in certs/; `closing` (from `up`: the programs line and the verdict) are the
/// last lines printed before it serves.
fn run_server(root: &Path, args: &ServeArgs, closing: &[String]) -> anyhow::Result<()> {
    let dir = certs_dir(root);
    let leaf = dir.leaf_files(SERVER_STEM, false);
    let ca = dir.ca_files();
    if !leaf.fullchain_pem.exists() {
        bail!(
            "no server certificate in {}: run `cargo xtask certs` first",
            dir.path().display()
        );
    }
    let (ws, wss) = listen_addresses(args.lan, args.ports);
    // The QR code for phones points at the first LAN address, the one the banner announces.
    let lan = if args.lan { lan_addresses()? } else { Vec::new() };
    let config = wsecho::server::Config {
        ws,
        wss,
        tls: Some(wsecho::server::TlsFiles {
            cert: leaf.fullchain_pem,
            key: leaf.key_pem,
        }),
        ca_download: Some(ca.cert_der.clone()),
        device_host: lan.first().copied(),
        ..wsecho::server::Config::default()
    };
    wsecho::init_logging(false);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let mut signals = wsecho::server::StopSignals::register().context("cannot handle SIGINT/SIGTERM")?;
        let running = start_dual_stack(config).await?;
        print!("{}", running.banner());
        if args.lan {
            for ip in lan.iter().skip(1) {
                println!(
                    "other devices on the network of {ip}: http://{ip}:{}/trust",
                    args.ports.ws_port
                );
            }
        } else {
            println!("other devices: run with --lan, or import certs/ca.cer by hand (docs/browsers.md)");
        }
        for line in closing {
            println!("{line}");
        }
        let signal = signals.recv().await;
        println!("{signal}: stopping");
        running.shutdown().await;
        anyhow::Ok(())
    })
}

/// The one line that makes programs (not browsers) trust the CA too: `certgen trust env`, to eval.
fn runtimes_line(root: &Path, host: &Host) -> String {
    let env = host
        .invocation
        .certgen(format!("trust env --dir {}", certs_dir(root).path().display()));
    format!("programs (Node, Python, curl, git, Deno, Go, Rust): eval \"$({env})\"")
}

/// Starts the server on IPv4 and IPv6 (IPv4 only, with a warning, on a machine without IPv6). A port in use is one
/// error line naming the port, its holder when known, and the options that move it.
async fn start_dual_stack(config: wsecho::server::Config) -> anyhow::Result<wsecho::server::RunningServer> {
    wsecho::server::start_dual_stack(config).await.map_err(one_line)
}

/// A start-up failure as one line (the OS error is already in it, so its cause chain is not repeated); a port in
/// use also names the options that choose other ports.
fn one_line(err: wsecho::Error) -> anyhow::Error {
    match err {
        wsecho::Error::Bind { ref source, .. } if source.kind() == std::io::ErrorKind::AddrInUse => {
            anyhow::anyhow!("{err} (--ws-port PORT / --wss-port PORT)")
        }
        err => anyhow::anyhow!("{err}"),
    }
}

/// The (ws, wss) listeners: loopback on IPv4 and IPv6, or with `lan` every interface, IPv4 and IPv6 (the server
/// keeps `[::]` to IPv6 beside `0.0.0.0`).
fn listen_addresses(lan: bool, ports: Ports) -> (Vec<SocketAddr>, Vec<SocketAddr>) {
    let on = |port: u16| -> Vec<SocketAddr> {
        if lan {
            vec![
                SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)),
                SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)),
            ]
        } else {
            vec![
                SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
            ]
        }
    };
    (on(ports.ws_port), on(ports.wss_port))
}

/// This machine's IPv4 addresses other devices can reach: what `--lan` serves on.
fn lan_addresses() -> anyhow::Result<Vec<IpAddr>> {
    let interfaces = if_addrs::get_if_addrs().context("cannot list network interfaces")?;
    reachable_ipv4(interfaces.iter().map(if_addrs::Interface::ip))
}

/// The addresses among `addrs` other devices can reach (see [`wsecho::server::reachable_ipv4`]); none is an error.
fn reachable_ipv4(addrs: impl IntoIterator<Item = IpAddr>) -> anyhow::Result<Vec<IpAddr>> {
    let found = wsecho::server::reachable_ipv4(addrs);
    if found.is_empty() {
        bail!("--lan: this machine has no IPv4 LAN address (only loopback)");
    }
    Ok(found)
}

/// Prints a trust report; its problems, if any, become the task's error (and exit code 1).
fn finish(report: &dyn std::fmt::Display, problems: Option<String>) -> anyhow::Result<()> {
    print!("{report}");
    match problems {
        Some(problems) => bail!("{problems}"),
        None => Ok(()),
    }
}

/// The user's browsers always; the OS store only when asked, since changing it needs root.
fn stores(system: bool) -> Vec<StoreKind> {
    let mut kinds = vec![StoreKind::Nss];
    if system {
        kinds.push(StoreKind::System);
    }
    kinds
}

fn certs_dir(root: &Path) -> CertsDir {
    CertsDir::new(root.join("certs"))
}

fn load_ca(root: &Path) -> anyhow::Result<CaCert> {
    let path: PathBuf = certs_dir(root).ca_files().cert_pem;
    if !path.exists() {
        bail!("no CA in certs/: run `cargo xtask certs` (or `cargo xtask up`) first");
    }
    Ok(CaCert::load(&path)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch::Scratch;
    use certgen::trust::Os;
    use std::process::Command;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// A user with an empty HOME, so the NSS stores are the test's own.
    fn fresh_user(home: &Path) -> Host {
        Host {
            os: Os::Linux,
            home: Some(home.to_path_buf()),
            xdg_config_home: None,
            java_home: None,
            wsl: false,
            sudo_in_user_home: false,
            invocation: trust::Invocation::detect().for_xtask(),
        }
    }

    /// Whether certutil is here; a missing one fails under LOCALTLS_REQUIRE_PEERS=1 instead of skipping.
    fn certutil_present(test: &str) -> bool {
        let present = Command::new("certutil").arg("-H").output().is_ok();
        if !present {
            assert!(
                std::env::var_os("LOCALTLS_REQUIRE_PEERS").is_none(),
                "{test}: certutil is not installed (Debian package libnss3-tools)"
            );
            eprintln!("SKIP {test}: certutil is not installed (Debian package libnss3-tools)");
        }
        present
    }

    /// A HOME where Firefox has been started once: its profile folder with an empty NSS database.
    fn firefox_started_once(home: &Path) -> PathBuf {
        let firefox = home.join(".config/mozilla/firefox/t1.default-release");
        std::fs::create_dir_all(&firefox).unwrap();
        let made = Command::new("certutil")
            .args(["-N", "--empty-password", "-d"])
            .arg(format!("sql:{}", firefox.display()))
            .status()
            .unwrap();
        assert!(made.success());
        firefox
    }

    fn nicknames(db: &Path) -> String {
        let out = Command::new("certutil")
            .arg("-L")
            .arg("-d")
            .arg(format!("sql:{}", db.display()))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn lan_keeps_reachable_ipv4_addresses_sorted_once() {
        let found = reachable_ipv4(
            [
                "127.0.0.1",
                "192.168.1.20",
                "169.254.7.1",
                "10.0.0.5",
                "::1",
                "fe80::1",
                "2001:db8::5",
                "192.168.1.20",
            ]
            .map(ip),
        )
        .unwrap();
        assert_eq!(found, vec![ip("10.0.0.5"), ip("192.168.1.20")]);
    }

    #[test]
    fn lan_without_an_ipv4_address_is_an_error_that_says_so() {
        let err = reachable_ipv4(["127.0.0.1", "::1", "169.254.0.9"].map(ip)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--lan: this machine has no IPv4 LAN address (only loopback)"
        );
    }

    #[test]
    fn server_names_are_loopback_then_extra_names_then_lan_addresses() {
        let names = server_names(&["myhost.test".into()], &[ip("192.168.1.20")]);
        assert_eq!(
            names,
            ["localhost", "127.0.0.1", "::1", "myhost.test", "192.168.1.20"]
        );
        assert_eq!(server_names(&[], &[]), ["localhost", "127.0.0.1", "::1"]);
    }

    #[test]
    fn serve_listens_on_loopback_unless_lan() {
        let default = Ports {
            ws_port: 8080,
            wss_port: 8443,
        };
        let (ws, wss) = listen_addresses(false, default);
        assert_eq!(
            ws,
            ["127.0.0.1:8080".parse().unwrap(), "[::1]:8080".parse().unwrap()]
        );
        assert_eq!(
            wss,
            ["127.0.0.1:8443".parse().unwrap(), "[::1]:8443".parse().unwrap()]
        );
        let (ws, wss) = listen_addresses(true, default);
        assert_eq!(
            ws,
            [
                "0.0.0.0:8080".parse().unwrap(),
                "[::]:8080".parse::<SocketAddr>().unwrap()
            ]
        );
        assert_eq!(
            wss,
            [
                "0.0.0.0:8443".parse().unwrap(),
                "[::]:8443".parse::<SocketAddr>().unwrap()
            ]
        );
    }

    #[test]
    fn the_os_store_is_used_only_when_asked() {
        assert_eq!(stores(false), [StoreKind::Nss]);
        assert_eq!(stores(true), [StoreKind::Nss, StoreKind::System]);
    }

    #[test]
    fn lan_names_are_what_the_ca_permits_and_the_certificate_names() {
        let scratch = Scratch::new("xtask-lan-certs").unwrap();
        let names = server_names(&["myhost.test".into()], &[ip("192.168.1.20")]);
        let (leaf, _) = ensure_certs(&scratch.0, &names).unwrap();
        let text = |path: &Path| {
            let out = Command::new("openssl")
                .args(["x509", "-noout", "-text", "-in"])
                .arg(path)
                .output()
                .expect("openssl");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        // The CA permits loopback (always) and exactly the extra name and the LAN address, nothing wider.
        let ca = text(&scratch.0.join("certs/ca.pem"));
        let permitted: Vec<&str> = ca
            .lines()
            .skip_while(|line| line.trim() != "Permitted:")
            .skip(1)
            .map(str::trim)
            .take_while(|line| line.starts_with("DNS:") || line.starts_with("IP:"))
            .collect();
        assert_eq!(
            permitted,
            [
                "DNS:localhost",
                "IP:127.0.0.0/255.0.0.0",
                "IP:0:0:0:0:0:0:0:1/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF",
                "IP:192.168.1.20/255.255.255.255",
                "DNS:myhost.test",
            ],
            "{ca}"
        );
        let leaf_text = text(&leaf.cert_pem);
        for name in [
            "DNS:localhost",
            "DNS:myhost.test",
            "IP Address:127.0.0.1",
            "IP Address:192.168.1.20",
        ] {
            assert!(leaf_text.contains(name), "certificate lacks {name}:\n{leaf_text}");
        }
        // Run again with the same names: both are reused, not re-issued.
        let (again, _) = ensure_certs(&scratch.0, &names).unwrap();
        assert_eq!(
            std::fs::read(&again.cert_pem).unwrap(),
            std::fs::read(&leaf.cert_pem).unwrap()
        );
    }

    /// Status for a server port nothing listens on (one just freed).
    fn no_server() -> StatusArgs {
        let free = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        StatusArgs {
            system: false,
            wss_port: free,
        }
    }

    #[test]
    fn up_on_a_taken_port_fails_before_it_makes_certificates_or_trusts() {
        let scratch = Scratch::new("xtask-up-port-taken").unwrap();
        let host = fresh_user(&scratch.0.join("home"));
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let ws_port = taken.local_addr().unwrap().port();
        let args = UpArgs {
            names: NameArgs {
                names: Vec::new(),
                lan: false,
            },
            system: false,
            yes: false,
            ports: Ports {
                ws_port,
                wss_port: no_server().wss_port,
            },
        };
        let err = up(&scratch.0, &host, &args).unwrap_err().to_string();
        assert!(
            err.contains(&format!("port {ws_port} is already in use"))
                && err.ends_with("(--ws-port PORT / --wss-port PORT)"),
            "{err}"
        );
        assert!(
            !scratch.0.join("certs").exists(),
            "up made certs/ before failing on the port"
        );
    }

    #[test]
    fn status_without_a_ca_fails_and_says_what_to_run() {
        let scratch = Scratch::new("xtask-status-no-ca").unwrap();
        let host = fresh_user(&scratch.0.join("home"));
        let err = status(&scratch.0, &host, &no_server()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no CA in certs/: run `cargo xtask certs` (or `cargo xtask up`) first"
        );
    }

    #[test]
    fn status_fails_until_trust_and_again_after_untrust_which_removes_only_our_ca() {
        if !certutil_present("status_fails_until_trust_and_again_after_untrust") {
            return;
        }
        let scratch = Scratch::new("xtask-status-trust").unwrap();
        let home = scratch.0.join("home");
        let host = fresh_user(&home);
        let (user, system) = (
            TrustArgs {
                system: false,
                dry_run: false,
            },
            no_server(),
        );
        ensure_certs(&scratch.0, &server_names(&[], &[])).unwrap();
        // An installed Firefox without a profile is never all well.
        firefox_started_once(&home);

        let untrusted = status(&scratch.0, &host, &system).unwrap_err().to_string();
        assert!(
            untrusted.contains("do not trust the CA (run `cargo xtask trust`)"),
            "an untrusted CA is not all well, and the fix is this task's own: {untrusted}"
        );
        trust(&scratch.0, &host, &user).unwrap();
        status(&scratch.0, &host, &system).unwrap();

        // With a server running, status asks `certgen doctor` about the certificate it serves.
        let dir = certs_dir(&scratch.0);
        let leaf = dir.leaf_files(SERVER_STEM, false);
        let broken = dir.make_broken().unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let serve = |cert: PathBuf, key: PathBuf| {
            let config = wsecho::server::Config {
                ws: Vec::new(),
                wss: vec![SocketAddr::from((Ipv4Addr::LOCALHOST, 0))],
                tls: Some(wsecho::server::TlsFiles { cert, key }),
                ..wsecho::server::Config::default()
            };
            let running = runtime.block_on(wsecho::server::start(config)).unwrap();
            let port = running.listener(true).unwrap().local_addr.port();
            (running, port)
        };
        let (good, good_port) = serve(leaf.fullchain_pem, leaf.key_pem);
        let (bad, bad_port) = serve(
            broken.dir.join("expired-fullchain.pem"),
            broken.dir.join("expired-key.pem"),
        );
        let accepted = doctor_running_server(&scratch.0, &host, good_port);
        let rejected = doctor_running_server(&scratch.0, &host, bad_port);
        let served = status(
            &scratch.0,
            &host,
            &StatusArgs {
                system: false,
                wss_port: good_port,
            },
        );
        let failed = status(
            &scratch.0,
            &host,
            &StatusArgs {
                system: false,
                wss_port: bad_port,
            },
        );
        runtime.block_on(good.shutdown());
        runtime.block_on(bad.shutdown());
        assert_eq!(accepted.unwrap(), None);
        assert!(
            rejected
                .unwrap()
                .is_some_and(|p| p.contains("would reject the running server"))
        );
        served.unwrap();
        let failed = failed.unwrap_err().to_string();
        assert!(
            failed.contains("would reject the running server's certificate"),
            "{failed}"
        );

        // Someone else's CA in the same database must survive `untrust`.
        let db = home.join(".pki/nssdb");
        let other = Scratch::new("xtask-status-other-ca").unwrap();
        let other_ca = certgen::CertsDir::new(other.0.clone())
            .create_ca(&CaOptions::default())
            .unwrap();
        let added = Command::new("certutil")
            .args(["-A", "-n", "someone else's CA", "-t", "C,,", "-i"])
            .arg(&other_ca.files.cert_pem)
            .arg("-d")
            .arg(format!("sql:{}", db.display()))
            .status()
            .unwrap();
        assert!(added.success());
        let before = nicknames(&db);

        untrust(&scratch.0, &host, &user).unwrap();
        assert!(
            status(&scratch.0, &host, &system).is_err(),
            "untrust leaves the CA untrusted"
        );
        let after = nicknames(&db);
        assert!(after.contains("someone else's CA"), "{after}");
        let removed: Vec<&str> = before.lines().filter(|line| !after.contains(*line)).collect();
        assert_eq!(removed.len(), 1, "untrust removes exactly one entry: {removed:?}");
    }

    #[test]
    fn the_verdict_names_each_browser_and_what_the_uncovered_one_needs() {
        let both = [
            BrowserTrust {
                name: "Chromium",
                fix: None,
            },
            BrowserTrust {
                name: "Firefox",
                fix: None,
            },
        ];
        assert_eq!(
            browser_verdict(&both, 8443),
            "verdict: Chromium yes, Firefox yes: open https://localhost:8443/ and it turns green"
        );
        let firefox_later = [
            BrowserTrust {
                name: "Chromium",
                fix: None,
            },
            BrowserTrust {
                name: "Firefox",
                fix: Some("start Firefox once, then run `cargo xtask trust`".into()),
            },
        ];
        let verdict = browser_verdict(&firefox_later, 8443);
        assert_eq!(
            verdict,
            "verdict: Chromium yes, Firefox not yet: start Firefox once, then run `cargo xtask trust`; in a browser \
             marked yes, https://localhost:8443/ turns green"
        );
    }

    /// `up`'s verdict from a real trust step: Firefox ESR installed but never started in this HOME is "not yet",
    /// with the step and this task's own command; once it has a profile, both browsers are "yes".
    #[test]
    fn the_verdict_says_firefox_not_yet_until_it_has_a_profile() {
        let test = "the_verdict_says_firefox_not_yet_until_it_has_a_profile";
        if !certutil_present(test) {
            return;
        }
        if Command::new("firefox-esr").arg("--version").output().is_err() {
            assert!(
                std::env::var_os("LOCALTLS_REQUIRE_PEERS").is_none(),
                "{test}: firefox-esr is not installed"
            );
            return;
        }
        let scratch = Scratch::new("xtask-verdict").unwrap();
        let home = scratch.0.join("home");
        let host = fresh_user(&home);
        ensure_certs(&scratch.0, &server_names(&[], &[])).unwrap();
        let ca = load_ca(&scratch.0).unwrap();
        let report = trust::install(&ca, &host, &[StoreKind::Nss], false);
        let verdict = browser_verdict(&browsers(&report), 8443);
        assert!(
            verdict.starts_with("verdict: Chromium yes, Firefox not yet: installed, but no profile")
                && verdict.contains("start Firefox once, then run `cargo xtask trust`"),
            "{verdict}"
        );

        firefox_started_once(&home);
        let report = trust::install(&ca, &host, &[StoreKind::Nss], false);
        let verdict = browser_verdict(&browsers(&report), 8443);
        assert!(
            verdict.starts_with("verdict: Chromium yes, Firefox yes: open https://localhost:8443/"),
            "{verdict}"
        );
    }

    /// What `up --lan` does when the CA must be replaced (here: a new --name the old CA's constraints do not permit):
    /// the old CA leaves every NSS database it was trusted in, and `status` fails on one left behind.
    #[test]
    fn a_replaced_ca_is_taken_out_of_the_stores_that_trusted_it() {
        if !certutil_present("a_replaced_ca_is_taken_out_of_the_stores_that_trusted_it") {
            return;
        }
        let scratch = Scratch::new("xtask-replaced-ca").unwrap();
        let home = scratch.0.join("home");
        let host = fresh_user(&home);
        let firefox = firefox_started_once(&home);
        let user = TrustArgs {
            system: false,
            dry_run: false,
        };
        let names = |extra: &[&str]| NameArgs {
            names: extra.iter().map(|n| n.to_string()).collect(),
            lan: false,
        };
        certs(&scratch.0, &host, &names(&[]), true).unwrap();
        trust(&scratch.0, &host, &user).unwrap();
        let old = load_ca(&scratch.0).unwrap().name();
        let dbs = [home.join(".pki/nssdb"), firefox.clone()];
        for db in &dbs {
            assert!(nicknames(db).contains(&old), "{}", db.display());
        }

        certs(&scratch.0, &host, &names(&["myhost.test"]), true).unwrap();
        assert_ne!(
            load_ca(&scratch.0).unwrap().name(),
            old,
            "the CA was not replaced"
        );
        for db in &dbs {
            let listing = nicknames(db);
            assert!(
                !listing.contains(&old),
                "{old} left in {}:\n{listing}",
                db.display()
            );
        }
        trust(&scratch.0, &host, &user).unwrap();
        status(&scratch.0, &host, &no_server()).unwrap();

        // One left behind (as before this fix) is a failure naming the command that removes it.
        let backup = trust::replaced_cas(certs_dir(&scratch.0).path())
            .pop()
            .expect("the old CA is kept as a backup");
        let planted = Command::new("certutil")
            .args(["-A", "-t", "C,,", "-n", &old, "-i"])
            .arg(backup.path())
            .arg("-d")
            .arg(format!("sql:{}", firefox.display()))
            .status()
            .unwrap();
        assert!(planted.success());
        let stale = status(&scratch.0, &host, &no_server()).unwrap_err().to_string();
        assert!(stale.contains("1 replaced CA(s) still trusted"), "{stale}");
    }
}

//! The local trust chain: `up` = `certs` + `trust` + `serve`, plus `untrust` and `status` to check and undo it.
//! Everything here is orchestration over the `certgen` and `wsecho` libraries.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use certgen::renew::{CaState, LeafState};
use certgen::trust::{self, CaCert, Host, StoreKind};
use certgen::{CaOptions, CertsDir, Issued, LeafFiles, LeafOptions, SubjectName};

/// A server certificate is renewed this long before it expires.
const RENEW_WITHIN_DAYS: i64 = 30;
/// File stem of the server certificate in certs/ (`localhost.pem`, `localhost-key.pem`, ...).
const SERVER_STEM: &str = "localhost";
const WS_PORT: u16 = 8080;
const WSS_PORT: u16 = 8443;

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
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Listen on all interfaces instead of loopback only
    #[arg(long)]
    lan: bool,
}

#[derive(Debug, clap::Args)]
pub struct UpArgs {
    #[command(flatten)]
    names: NameArgs,
    /// Also install the CA in the operating system's store (curl, Python, Node with system CAs...)
    #[arg(long)]
    system: bool,
}

pub fn up(root: &Path, args: &UpArgs) -> anyhow::Result<()> {
    certs(root, &args.names)?;
    let trust_args = TrustArgs {
        system: args.system,
        dry_run: false,
    };
    if let Err(err) = trust(root, &trust_args) {
        eprintln!("xtask: warning: {err:#}");
        eprintln!("xtask: import certs/ca.cer by hand (docs/browsers.md); the server starts anyway");
    }
    serve(root, &ServeArgs { lan: args.names.lan })
}

/// Creates or reuses the CA and the server certificate; returns the server certificate's files.
pub fn certs(root: &Path, args: &NameArgs) -> anyhow::Result<LeafFiles> {
    let dir = certs_dir(root);
    let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    names.extend(args.names.iter().cloned());
    if args.lan {
        names.extend(lan_addresses()?.iter().map(IpAddr::to_string));
    }
    let parsed = SubjectName::parse_all(&names)?;
    match dir.ensure_ca(&parsed, &CaOptions::default())? {
        CaState::Created => println!("CA: created {}", dir.ca_files().cert_pem.display()),
        CaState::Reused => println!("CA: reusing {}", dir.ca_files().cert_pem.display()),
        CaState::Replaced { reason } => println!(
            "CA: replaced ({reason}); the old one is kept as certs/ca-backup-*; run `cargo xtask trust` again"
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
            "server certificate: issued {} for {} ({reason})",
            files.cert_pem.display(),
            names.join(", ")
        ),
    }
    Ok(files)
}

pub fn trust(root: &Path, args: &TrustArgs) -> anyhow::Result<()> {
    let ca = load_ca(root)?;
    let report = trust::install(&ca, &Host::current(), &stores(args.system), args.dry_run);
    finish(&report, report.problems())
}

/// Removes the CA from the stores `trust` (with the same `--system`) put it in; only our entries are touched.
pub fn untrust(root: &Path, args: &TrustArgs) -> anyhow::Result<()> {
    let ca = load_ca(root)?;
    let report = trust::uninstall(&ca, &Host::current(), &stores(args.system), args.dry_run);
    finish(&report, report.problems())
}

pub fn status(root: &Path, args: &StatusArgs) -> anyhow::Result<()> {
    let ca = load_ca(root)?;
    let report = trust::status(
        &ca,
        &Host::current(),
        &stores(args.system),
        certs_dir(root).path(),
    );
    finish(&report, report.problems())
}

pub fn serve(root: &Path, args: &ServeArgs) -> anyhow::Result<()> {
    let dir = certs_dir(root);
    let leaf = dir.leaf_files(SERVER_STEM, false);
    let ca = dir.ca_files();
    if !leaf.fullchain_pem.exists() {
        bail!(
            "no server certificate in {}: run `cargo xtask certs` first",
            dir.path().display()
        );
    }
    // --lan: every IPv4 interface (binding [::] as well would collide with 0.0.0.0 on dual-stack Linux).
    let (ws, wss) = if args.lan {
        (
            vec![SocketAddr::from((Ipv4Addr::UNSPECIFIED, WS_PORT))],
            vec![SocketAddr::from((Ipv4Addr::UNSPECIFIED, WSS_PORT))],
        )
    } else {
        (
            dual_stack(Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into(), WS_PORT),
            dual_stack(Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into(), WSS_PORT),
        )
    };
    let config = wsecho::server::Config {
        ws,
        wss,
        tls: Some(wsecho::server::TlsFiles {
            cert: leaf.fullchain_pem,
            key: leaf.key_pem,
        }),
        ca_download: Some(ca.cert_der.clone()),
        ..wsecho::server::Config::default()
    };
    wsecho::init_logging(false);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let mut signals = wsecho::server::StopSignals::register().context("cannot handle SIGINT/SIGTERM")?;
        let running = start_dual_stack(config).await?;
        print!("{}", running.banner());
        println!("CA fingerprint (SHA-256): {}", load_ca(root)?.cert().sha256_colons());
        if args.lan {
            for ip in lan_addresses()? {
                println!("other devices: import http://{ip}:{WS_PORT}/ca.cer (docs/browsers.md), then open https://{ip}:{WSS_PORT}/");
            }
        } else {
            println!("other devices: run with --lan, or import certs/ca.cer by hand (docs/browsers.md)");
        }
        let signal = signals.recv().await;
        println!("{signal}: stopping");
        running.shutdown().await;
        anyhow::Ok(())
    })
}

/// Starts the server on IPv4 and IPv6; a machine without IPv6 gets IPv4 only (with a note), not a failure.
async fn start_dual_stack(config: wsecho::server::Config) -> anyhow::Result<wsecho::server::RunningServer> {
    match wsecho::server::start(config.clone()).await {
        Ok(running) => Ok(running),
        Err(err) if config.ws.iter().chain(&config.wss).any(SocketAddr::is_ipv6) => {
            eprintln!("xtask: note: IPv6 listeners unavailable ({err}); serving IPv4 only");
            let v4 = |addrs: &[SocketAddr]| addrs.iter().copied().filter(SocketAddr::is_ipv4).collect();
            let config = wsecho::server::Config {
                ws: v4(&config.ws),
                wss: v4(&config.wss),
                ..config
            };
            Ok(wsecho::server::start(config).await?)
        }
        Err(err) => Err(err.into()),
    }
}

fn dual_stack(v4: IpAddr, v6: IpAddr, port: u16) -> Vec<SocketAddr> {
    vec![SocketAddr::new(v4, port), SocketAddr::new(v6, port)]
}

/// This machine's IPv4 addresses other devices can reach (not loopback, not link-local): what `--lan` serves on.
fn lan_addresses() -> anyhow::Result<Vec<IpAddr>> {
    let mut found: Vec<IpAddr> = if_addrs::get_if_addrs()
        .context("cannot list network interfaces")?
        .into_iter()
        .filter_map(|iface| match iface.ip() {
            IpAddr::V4(v4) if !v4.is_loopback() && !v4.is_link_local() => Some(IpAddr::V4(v4)),
            _ => None,
        })
        .collect();
    found.sort();
    found.dedup();
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

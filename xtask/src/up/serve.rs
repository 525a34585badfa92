//! `serve`: the echo server on the certificate in certs/, until SIGINT or SIGTERM.

use super::args::ServeArgs;
use super::certs_dir::{SERVER_STEM, certs_dir};
use super::listen::{lan_addresses, listen_addresses};
use anyhow::{Context, bail};
use certgen::trust::Host;
use std::path::Path;

pub fn serve(root: &Path, args: &ServeArgs) -> anyhow::Result<()> {
    run_server(root, args, &[])
}

/// The echo server on the certificate in certs/; `closing` (from `up`: the programs line and the verdict) are the
/// last lines printed before it serves.
pub(super) fn run_server(root: &Path, args: &ServeArgs, closing: &[String]) -> anyhow::Result<()> {
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
pub(super) fn runtimes_line(root: &Path, host: &Host) -> String {
    let env = host
        .invocation
        .certgen(format!("trust env --dir {}", certs_dir(root).path().display()));
    format!("programs (Node, Python, curl, git, Deno, Go, Rust): eval \"$({env})\"")
}

/// Starts the server on IPv4 and IPv6 (IPv4 only, with a warning, on a machine without IPv6). A port in use is one
/// error line naming the port, its holder when known, and the options that move it.
pub(super) async fn start_dual_stack(
    config: wsecho::server::Config,
) -> anyhow::Result<wsecho::server::RunningServer> {
    wsecho::server::start_dual_stack(config).await.map_err(one_line)
}

/// A start-up failure as one line (the OS error is already in it, so its cause chain is not repeated); a port in
/// use also names the options that choose other ports.
pub(super) fn one_line(err: wsecho::Error) -> anyhow::Error {
    match err {
        wsecho::Error::Bind { ref source, .. } if source.kind() == std::io::ErrorKind::AddrInUse => {
            anyhow::anyhow!("{err} (--ws-port PORT / --wss-port PORT)")
        }
        err => anyhow::anyhow!("{err}"),
    }
}

//! The local trust chain: `up` = `certs` + `trust` + `serve`, plus `untrust` and `status` to check and undo it.
//! Everything here is orchestration over the `certgen` and `wsecho` libraries; one file per task, `args.rs` for
//! their flags.

mod args;
mod certs;
mod certs_dir;
mod listen;
mod serve;
mod status;
#[cfg(test)]
mod testing;
mod trust;
mod verdict;

pub use args::{NameArgs, ServeArgs, StatusArgs, TrustArgs, UpArgs};
pub use certs::certs;
pub use serve::serve;
pub use status::status;
pub use trust::{trust, untrust};

use certgen::trust::Host;
use listen::listen_addresses;
use serve::{one_line, run_server, runtimes_line};
use std::path::Path;
use trust::trust_for_up;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch::Scratch;
    use args::{NameArgs, Ports};
    use testing::{fresh_user, no_server};

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
}

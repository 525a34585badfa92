//! `certgen trust env` with `wsecho serve`: the variables it gives (the library behind the command, with this
//! machine's system bundle) are all the Python `websockets` and Node `ws` clients get, without `--ca`, and they
//! echo over `wss://`; without those variables they refuse the server. (certgen's tests/trust_env.rs checks the
//! printed shell lines with more clients and that the public roots are kept.)

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use certgen::trust::{CaCert, TrustEnv};
use support::{ServeProcess, TestCerts, python_websockets, run, skip_or_fail};

/// A client run covers connect, three echoes (one of 1 MiB) and the close handshake.
const PEER_TIMEOUT: Duration = Duration::from_secs(30);

/// Every variable a client could otherwise inherit from the developer's shell.
const TRUST_VARS: [&str; 6] = [
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_EXTRA_CA_CERTS",
    "NODE_OPTIONS",
    "REQUESTS_CA_BUNDLE",
    "DENO_CERT",
];

fn peer_script(name: &str) -> PathBuf {
    support::repo_root().join("tests/peers").join(name)
}

/// Runs `cmd URL` (no `--ca`) with the variables of `env`, or none of them; returns whether it echoed, and its output.
fn echo(mut cmd: Command, url: &str, env: Option<&TrustEnv>) -> (bool, String) {
    cmd.arg(url);
    for var in TRUST_VARS {
        cmd.env_remove(var);
    }
    for variable in env.into_iter().flat_map(|env| &env.variables) {
        // NODE_OPTIONS was removed above, so the appended flag is its whole value here.
        cmd.env(variable.name, &variable.value);
    }
    let finished = run(&mut cmd, PEER_TIMEOUT);
    (finished.status.success(), finished.output())
}

#[test]
fn python_and_node_echo_over_wss_with_only_the_trust_env_variables() {
    let Some(python) = python_websockets("trust env peers") else {
        return;
    };
    let node_modules = std::env::var_os("NODE_PATH")
        .unwrap_or_else(|| support::repo_root().join(".ci-cache/node/node_modules").into());
    let node = || {
        let mut cmd = Command::new("node");
        cmd.env("NODE_PATH", &node_modules)
            .arg(peer_script("echo_client.js"));
        cmd
    };
    let has_ws = Command::new("node")
        .env("NODE_PATH", &node_modules)
        .args(["-e", "require('ws')"])
        .status();
    if !has_ws.is_ok_and(|s| s.success()) {
        return skip_or_fail(
            "trust env peers",
            "`node` with the `ws` package on NODE_PATH is not available",
        );
    }
    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss(&certs);
    let wss = format!("wss://localhost:{}/", server.wss_port.expect("wss port"));
    let ca = CaCert::load(&certs.ca_pem).expect("test CA");
    let env = certgen::trust::env(&ca).expect("trust env (a system CA bundle on this machine)");

    let python = || {
        let mut cmd = Command::new(&python);
        cmd.arg(peer_script("echo_client.py"));
        cmd
    };
    for (client, expected) in [(python(), "ok python"), (node(), "ok node ws")] {
        let (ok, output) = echo(client, &wss, Some(&env));
        assert!(ok && output.contains(expected), "{expected}: {output}");
    }
    for client in [python(), node()] {
        let (ok, output) = echo(client, &wss, None);
        assert!(!ok, "trusted a new CA without trust env's variables: {output}");
    }
}

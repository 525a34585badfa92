//! The echo servers under test, each started on a loopback port and killed on drop.

use super::peer::Peer;
use super::programs::Programs;
use crate::banner;
use crate::cmd::{self, KillOnDrop};
use crate::tls_files::TlsFiles;
use anyhow::{Context, bail};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How a server is started.
pub struct Launch<'a> {
    pub peer: Peer,
    /// websocat's mirror answers every message with one kind, chosen by `-t`/`-b`: match the messages sent.
    pub binary: bool,
    pub tls: Option<&'a TlsFiles>,
    /// Lift `wsecho serve`'s connection cap and idle timeout (for the idle-memory measurement).
    pub many_idle: bool,
    /// Accept permessage-deflate: the test peers take `--deflate`; `wsecho serve` accepts it by default, and
    /// the baseline and websocat cannot ([`Peer::deflate`]).
    pub deflate: bool,
}

/// A running server; killed on drop.
pub struct Server {
    child: KillOnDrop,
    pub url: String,
    /// The command line, with the port written as PORT, for the report.
    pub shown: String,
}

impl Server {
    pub fn start(programs: &Programs, launch: &Launch, log_dir: &Path) -> anyhow::Result<Server> {
        let log = log_dir.join(format!("{}.log", launch.peer.short()));
        let (mut server_cmd, shown, port) = command(programs, launch)?;
        let log_file =
            std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        server_cmd
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file);
        let mut child =
            KillOnDrop::spawn(&mut server_cmd).with_context(|| format!("cannot start {shown}"))?;
        let stdout = child.stdout.take().context("server stdout")?;
        let lines = cmd::lines(stdout, None);
        let failed = |what: &str| format!("{what} (see {})", log.display());
        let url = match port {
            // Servers that print their URL: `listening ws://127.0.0.1:PORT[/] ...`.
            None => {
                let scheme = if launch.tls.is_some() { "wss://" } else { "ws://" };
                cmd::wait_for_line(&lines, START_TIMEOUT, |line| {
                    banner::listening_url(line)
                        .filter(|url| url.starts_with(scheme))
                        .map(|url| url.replace("://localhost:", "://127.0.0.1:"))
                })
                .with_context(|| failed(&format!("{} printed no listening line", launch.peer.name())))?
            }
            Some(port) => {
                wait_accepting(port).with_context(|| failed(launch.peer.name()))?;
                let scheme = if launch.tls.is_some() { "wss" } else { "ws" };
                format!("{scheme}://127.0.0.1:{port}/")
            }
        };
        Ok(Server { child, url, shown })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory of the server process, KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        cmd::rss_kib(self.pid())
    }
}

/// The command for one server; servers that cannot report their port get a free one picked here. With `tls`,
/// every server serves wss with the same certificate (websocat reads it as PKCS#12).
fn command(programs: &Programs, launch: &Launch) -> anyhow::Result<(Command, String, Option<u16>)> {
    let tls = launch.tls;
    Ok(match launch.peer {
        Peer::Wsecho => {
            let mut cmd = Command::new(&programs.wsecho);
            let mut shown = String::from("wsecho serve");
            match tls {
                None => {
                    cmd.args(["serve", "--ws", "127.0.0.1:0"]);
                    shown += " --ws 127.0.0.1:PORT";
                }
                Some(tls) => {
                    cmd.args(["serve", "--wss", "127.0.0.1:0", "--cert"])
                        .arg(&tls.fullchain)
                        .arg("--key")
                        .arg(&tls.key);
                    shown += " --wss 127.0.0.1:PORT --cert localhost-fullchain.pem --key localhost-key.pem";
                }
            }
            if launch.many_idle {
                cmd.args(["--max-connections", "1000000", "--idle-timeout", "0"]);
                shown += " --max-connections 1000000 --idle-timeout 0";
            }
            (cmd, shown, None)
        }
        Peer::Baseline => {
            let port = free_port()?;
            let mut cmd = Command::new(&programs.baseline);
            cmd.arg(format!("127.0.0.1:{port}"));
            let mut shown = String::from("baseline_echo 127.0.0.1:PORT");
            if let Some(tls) = tls {
                cmd.arg(&tls.fullchain).arg(&tls.key);
                shown += PEM_PAIR;
            }
            (cmd, shown, Some(port))
        }
        Peer::Websocat => {
            let port = free_port()?;
            let kind = if launch.binary { "-b" } else { "-t" };
            let websocat = programs
                .websocat
                .as_ref()
                .context("websocat is not part of this run")?;
            let mut cmd = Command::new(websocat);
            cmd.arg(kind);
            let listen = match tls {
                None => format!("ws-l:127.0.0.1:{port}"),
                Some(tls) => {
                    cmd.arg("--pkcs12-der")
                        .arg(&tls.p12)
                        .args(["--pkcs12-passwd", certgen::export::DEFAULT_P12_PASSWORD]);
                    format!("wss-l:127.0.0.1:{port}")
                }
            };
            cmd.args([listen.as_str(), "mirror:"]);
            let shown = match tls {
                None => format!("websocat {kind} ws-l:127.0.0.1:PORT mirror:"),
                Some(_) => format!(
                    "websocat {kind} --pkcs12-der localhost.p12 --pkcs12-passwd {} wss-l:127.0.0.1:PORT mirror:",
                    certgen::export::DEFAULT_P12_PASSWORD
                ),
            };
            (cmd, shown, Some(port))
        }
        Peer::Python => {
            let mut cmd = Command::new(&programs.python);
            cmd.arg(&programs.python_echo).arg("0");
            let shown = peer_script_args(&mut cmd, "python tests/peers/echo_server.py 0", launch);
            (cmd, shown, None)
        }
        Peer::Node => {
            let mut cmd = Command::new("node");
            cmd.arg(&programs.node_echo)
                .arg("0")
                .env("NODE_PATH", &programs.node_modules);
            let shown = peer_script_args(&mut cmd, "node tests/peers/echo_server.js 0", launch);
            (cmd, shown, None)
        }
    })
}

/// What the test peers' echo scripts take after the port, `[CERT.pem KEY.pem] [--deflate]`, added to `cmd`;
/// returns `shown` with them.
fn peer_script_args(cmd: &mut Command, shown: &str, launch: &Launch) -> String {
    let mut shown = shown.to_string();
    if let Some(tls) = launch.tls {
        cmd.arg(&tls.fullchain).arg(&tls.key);
        shown += PEM_PAIR;
    }
    if launch.deflate {
        cmd.arg("--deflate");
        shown += " --deflate";
    }
    shown
}

/// The certificate arguments as the report shows them.
const PEM_PAIR: &str = " localhost-fullchain.pem localhost-key.pem";

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("cannot bind a loopback port")?;
    Ok(listener.local_addr()?.port())
}

fn wait_accepting(port: u16) -> anyhow::Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("nothing accepts on {addr} after {} s", START_TIMEOUT.as_secs())
}

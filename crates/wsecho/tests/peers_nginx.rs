//! docs/deploy.md's setup, for real: Debian's nginx terminates TLS with our certificate and proxies WebSocket
//! upgrades to two `wsecho serve` instances. The nginx site config is the documented file itself
//! (`docs/deploy/nginx-wsecho.conf`), with only its ports and certificate paths filled in.

mod support;

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{KillOnDrop, ServeProcess, TestCerts, run, skip_or_fail};

const NGINX: &str = "/usr/sbin/nginx";
const NGINX_START_TIMEOUT: Duration = Duration::from_secs(15);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections made through nginx; round-robin over two upstreams gives each at least one.
const CONNECTIONS: usize = 4;

#[test]
fn nginx_terminates_tls_and_spreads_websockets_over_two_wsecho_instances() {
    if !Path::new(NGINX).exists() {
        skip_or_fail(
            "nginx deploy",
            &format!("{NGINX} is not installed (Debian package `nginx`)"),
        );
        return;
    }
    let Some(python) = support::python_websockets("nginx deploy") else {
        return;
    };
    let certs = TestCerts::new();
    let upstreams = [ServeProcess::ws(&[]), ServeProcess::ws(&[])];
    let port = free_port();
    let _nginx = start_nginx(&certs, port, &upstreams);

    let script = support::repo_root().join("tests/peers/echo_client.py");
    for _ in 0..CONNECTIONS {
        let finished = run(
            Command::new(&python)
                .arg(&script)
                .arg(format!("wss://localhost:{port}/"))
                .arg("--ca")
                .arg(&certs.ca_pem),
            CLIENT_TIMEOUT,
        );
        assert!(
            finished.status.success(),
            "echo through nginx: {}",
            finished.output()
        );
    }
    for upstream in &upstreams {
        let stats = stats(upstream.ws_port);
        assert!(
            stats["total_connections"].as_u64().unwrap_or(0) >= 1,
            "upstream {} got no WebSocket through nginx: {stats}",
            upstream.ws_port
        );
    }
}

/// Writes a minimal main config around the documented site config and runs nginx in the foreground.
fn start_nginx(certs: &TestCerts, port: u16, upstreams: &[ServeProcess; 2]) -> KillOnDrop {
    let prefix = certs.dir.path().join("nginx");
    std::fs::create_dir_all(&prefix).expect("nginx prefix");
    let site = std::fs::read_to_string(support::repo_root().join("docs/deploy/nginx-wsecho.conf"))
        .expect("docs/deploy/nginx-wsecho.conf")
        .replace("@LISTEN@", &format!("127.0.0.1:{port}"))
        .replace("@CERT@", &certs.server_chain.display().to_string())
        .replace("@KEY@", &certs.server_key.display().to_string())
        .replace("127.0.0.1:8081", &format!("127.0.0.1:{}", upstreams[0].ws_port))
        .replace("127.0.0.1:8082", &format!("127.0.0.1:{}", upstreams[1].ws_port));
    std::fs::write(prefix.join("site.conf"), site).expect("site.conf");
    let p = prefix.display();
    // One process (no master/worker split, no `user` switch), everything inside the temporary prefix.
    let main = format!(
        "daemon off;\nmaster_process off;\npid {p}/nginx.pid;\nerror_log {p}/error.log;\nevents {{}}\n\
         http {{\n  access_log off;\n  client_body_temp_path {p}/body;\n  proxy_temp_path {p}/proxy;\n  \
         fastcgi_temp_path {p}/fastcgi;\n  uwsgi_temp_path {p}/uwsgi;\n  scgi_temp_path {p}/scgi;\n  \
         include {p}/site.conf;\n}}\n"
    );
    std::fs::write(prefix.join("nginx.conf"), main).expect("nginx.conf");

    let conf = prefix.join("nginx.conf");
    let check = run(
        Command::new(NGINX)
            .arg("-t")
            .arg("-p")
            .arg(&prefix)
            .arg("-e")
            .arg(prefix.join("error.log"))
            .arg("-c")
            .arg(&conf),
        NGINX_START_TIMEOUT,
    );
    assert!(
        check.status.success(),
        "nginx -t rejects the documented config: {}",
        check.output()
    );
    let child = Command::new(NGINX)
        .arg("-p")
        .arg(&prefix)
        .arg("-e")
        .arg(prefix.join("error.log"))
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .spawn()
        .expect("start nginx");
    let nginx = KillOnDrop(child);
    let deadline = Instant::now() + NGINX_START_TIMEOUT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nginx did not listen on {port} within {NGINX_START_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    nginx
}

fn stats(port: u16) -> serde_json::Value {
    let finished = run(
        Command::new("curl")
            .args(["--silent", "--fail", "--max-time", "5"])
            .arg(format!("http://127.0.0.1:{port}/stats")),
        CLIENT_TIMEOUT,
    );
    assert!(
        finished.status.success(),
        "GET /stats on {port}: {}",
        finished.output()
    );
    serde_json::from_str(&finished.stdout).expect("/stats is JSON")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

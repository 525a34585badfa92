//! The `wsecho serve` binary: the machine-readable banner, SIGTERM shutdown with 1001, and one-line errors with
//! exit code 2 for bad input.

mod support;

use futures_util::SinkExt;
use support::*;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[tokio::test]
async fn banner_lists_every_listener_and_page_and_the_urls_work() {
    let pki = TestCerts::new();
    let path = |p: &std::path::Path| p.to_str().expect("path").to_string();
    let (cert, key, ca) = (path(&pki.server_chain), path(&pki.server_key), path(&pki.ca_cer));
    let serve = ServeProcess::start(&[
        "--ws",
        "127.0.0.1:0",
        "--ws",
        "[::1]:0",
        "--wss",
        "127.0.0.1:0",
        "--cert",
        &cert,
        "--key",
        &key,
        "--ca",
        &ca,
    ]);
    let listening: Vec<&String> = serve
        .banner
        .iter()
        .filter(|l| l.starts_with("listening "))
        .collect();
    assert_eq!(listening.len(), 3, "{:?}", serve.banner);
    for (line, scheme, host, page) in [
        (listening[0], "ws", "127.0.0.1", "http"),
        (listening[1], "ws", "[::1]", "http"),
        (listening[2], "wss", "localhost", "https"),
    ] {
        let words: Vec<&str> = line.split_whitespace().collect();
        let [_, url, "page", page_url] = words.as_slice() else {
            panic!("banner line format: {line}")
        };
        let port = url
            .strip_prefix(&format!("{scheme}://{host}:"))
            .unwrap_or_else(|| panic!("{url}"));
        assert_ne!(
            port.parse::<u16>().expect("numeric port"),
            0,
            "the real port is printed"
        );
        assert_eq!(*page_url, format!("{page}://{host}:{port}/"));
    }
    assert!(
        serve.banner.iter().any(|l| l.ends_with("/ca.cer")),
        "{:?}",
        serve.banner
    );
    assert!(
        serve.banner.iter().any(|l| l.contains("origins: any")),
        "{:?}",
        serve.banner
    );

    for url in &serve.urls {
        let mut ws = connect(url, Some(&pki)).await;
        within(ws.send(Message::text(url.as_str()))).await.expect("send");
        assert_eq!(next_message(&mut ws).await, Message::text(url.as_str()));
    }
}

#[tokio::test]
async fn a_wildcard_socket_is_announced_with_the_address_it_binds() {
    let pki = TestCerts::new();
    let serve = ServeProcess::ws_and_wss_everywhere(&pki, &[]);
    for (scheme, host) in [("ws", "127.0.0.1"), ("wss", "localhost")] {
        let url = serve.url(scheme);
        let port = url.rsplit(':').next().expect("a port");
        let line = serve
            .banner
            .iter()
            .find(|line| line.starts_with(&format!("listening {url} ")))
            .unwrap_or_else(|| panic!("no {url} in {:?}", serve.banner));
        assert!(url.starts_with(&format!("{scheme}://{host}:")), "{url}");
        assert!(
            line.ends_with(&format!(
                " (bound to 0.0.0.0:{port}: every IPv4 address of this machine)"
            )),
            "{line}"
        );
    }
    let page = http_get(&serve.url("ws"), "/healthz", None).await;
    assert_eq!(page.status, 200, "the loopback URL of a wildcard socket works");
}

#[tokio::test]
async fn ipv6_and_ipv4_wildcards_share_a_port_and_each_is_announced() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|free| free.local_addr())
        .expect("a free port")
        .port();
    let (v4, v6) = (format!("0.0.0.0:{port}"), format!("[::]:{port}"));
    let serve = ServeProcess::start(&["--ws", &v4, "--ws", &v6]);
    for (url, socket, family) in [
        (format!("ws://127.0.0.1:{port}"), &v4, "IPv4"),
        (format!("ws://[::1]:{port}"), &v6, "IPv6"),
    ] {
        let line = format!(
            "listening {url} page http://{}/ (bound to {socket}: every {family} address of this machine)",
            url.trim_start_matches("ws://")
        );
        assert!(serve.banner.contains(&line), "{line:?} in {:?}", serve.banner);
        let health = http_get(&url, "/healthz", None).await;
        assert_eq!(health.status, 200, "{url}");
    }
}

/// `wsecho serve ARGS` (no `--ws`/`--wss`: the default ports 8080 and 8443) run for a few seconds in a network
/// namespace of its own (`unshare -rn`, loopback only, after the shell command `setup`), so that its fixed ports
/// collide with nothing here. `None` (after a skip line, or a failure under `LOCALTLS_REQUIRE_PEERS=1`) where
/// this sandbox allows no namespace.
fn serve_defaults_alone(test: &str, setup: &str, args: &[&str]) -> Option<Finished> {
    let made = run(
        std::process::Command::new("unshare").args(["-rn", "sh", "-c", "ip link set lo up"]),
        WAIT,
    );
    if made.code != Some(0) {
        support::peers::skip_or_fail(
            test,
            &format!("no network namespace here (unshare -rn, ip): {}", made.output()),
        );
        return None;
    }
    let script = format!(r#"ip link set lo up && {setup} exec timeout -s TERM 5 "$0" serve "$@""#);
    Some(run(
        std::process::Command::new("unshare")
            .args(["-rn", "sh", "-c", &script])
            .arg(WSECHO)
            .args(args),
        WAIT,
    ))
}

/// The URLs of a banner's `listening` lines.
fn listening(banner: &str) -> Vec<&str> {
    banner
        .lines()
        .filter_map(|line| line.strip_prefix("listening "))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect()
}

#[tokio::test]
async fn default_listeners_are_both_loopbacks_and_wss_on_ipv6_only_when_the_certificate_names_it() {
    let test = "default_listeners_are_both_loopbacks_and_wss_on_ipv6_only_when_the_certificate_names_it";
    let pki = TestCerts::new();
    let path = |p: &std::path::Path| p.to_str().expect("path").to_string();
    let (chain, key) = (path(&pki.server_chain), path(&pki.server_key));
    let (v4_chain, v4_key) = pki.server_for("127.0.0.1");
    let (v4_chain, v4_key) = (path(&v4_chain), path(&v4_key));
    let Some(both) = serve_defaults_alone(test, "", &["--cert", &chain, "--key", &key]) else {
        return;
    };
    assert_eq!(
        listening(&both.stdout),
        [
            "ws://127.0.0.1:8080",
            "ws://[::1]:8080",
            "wss://localhost:8443",
            "wss://[::1]:8443"
        ],
        "a certificate naming ::1: {}",
        both.output()
    );
    let v4_only =
        serve_defaults_alone(test, "", &["--cert", &v4_chain, "--key", &v4_key]).expect("a namespace");
    assert_eq!(
        listening(&v4_only.stdout),
        ["ws://127.0.0.1:8080", "ws://[::1]:8080", "wss://localhost:8443"],
        "a certificate without ::1: {}",
        v4_only.output()
    );
    // Without IPv6 the defaults fall back to IPv4 with one warning; an asked-for IPv6 address stays an error.
    let no_ipv6 = "echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6 &&";
    let fallback =
        serve_defaults_alone(test, no_ipv6, &["--cert", &chain, "--key", &key]).expect("a namespace");
    assert_eq!(
        listening(&fallback.stdout),
        ["ws://127.0.0.1:8080", "wss://localhost:8443"],
        "{}",
        fallback.output()
    );
    assert!(
        fallback
            .stderr
            .contains("no IPv6 here (cannot listen on [::1]:8080"),
        "{}",
        fallback.stderr
    );
    let asked = serve_defaults_alone(test, no_ipv6, &["--ws", "[::1]:8080"]).expect("a namespace");
    assert_eq!(asked.code, Some(1), "{}", asked.output());
    assert!(
        asked.stderr.contains("cannot listen on [::1]:8080"),
        "{}",
        asked.stderr
    );
}

#[tokio::test]
async fn sigterm_closes_clients_with_1001_and_exits_0() {
    let mut serve = ServeProcess::start(&["--ws", "127.0.0.1:0"]);
    let mut ws = connect(&serve.url("ws"), None).await;
    within(ws.send(Message::text("still here"))).await.expect("send");
    assert_eq!(next_message(&mut ws).await, Message::text("still here"));

    let pid = serve.pid().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(kill.success());
    match next_message(&mut ws).await {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Away),
        other => panic!("expected close 1001, got {other:?}"),
    }
    drop(ws);
    let status = serve.wait_within(WAIT);
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn bad_input_is_one_line_naming_the_value_with_exit_2() {
    let pki = TestCerts::new();
    let key = pki.server_key.to_str().expect("path");
    let chain = pki.server_chain.to_str().expect("path");
    let cases: [(&[&str], &str); 10] = [
        (&["serve", "--ws", "localhost:80"], "expected IP:PORT"),
        (
            &[
                "serve",
                "--cert",
                "/nonexistent/cert.pem",
                "--key",
                key,
                "--wss",
                "127.0.0.1:0",
            ],
            "/nonexistent/cert.pem",
        ),
        (
            &["serve", "--cert", key, "--key", key, "--wss", "127.0.0.1:0"],
            "CERTIFICATE",
        ),
        (&["serve", "--wss", "127.0.0.1:0"], "--cert"),
        (
            &["serve", "--ws", "127.0.0.1:0", "--client-ca", chain],
            "--client-ca needs TLS",
        ),
        (&["serve", "--max-message-size", "lots"], "16MiB"),
        (&["serve", "--idle-timeout", "1e15"], "at most 31536000"),
        (
            &[
                "serve",
                "--ws",
                "127.0.0.1:0",
                "--bad-certs",
                "/nonexistent/broken",
            ],
            "make the fixtures with `certgen broken`",
        ),
        (
            &["serve", "--ws", "127.0.0.1:0", "--device-host", "192.168.1.20"],
            "--device-host 192.168.1.20: no listener serves that address",
        ),
        (&["serve", "--device-host", "phone"], "invalid value 'phone'"),
    ];
    for (args, expected) in cases {
        let run = run_wsecho(args, "").await;
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
    }
}

#[tokio::test]
async fn a_bad_flag_value_is_one_line_naming_the_help_to_read_and_help_exits_0() {
    let run = run_wsecho(&["serve", "--ws", "nope"], "").await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "wsecho: error: invalid value 'nope' for '--ws <ADDR>': expected IP:PORT such as 127.0.0.1:8080, 0.0.0.0:8443 or \
         [::1]:8080 (port 0 picks a free port) (see 'wsecho serve --help')\n"
    );
    let missing = run_wsecho(&["client"], "").await;
    assert_eq!(missing.code, Some(2), "{}", missing.stderr);
    assert_eq!(
        missing.stderr,
        "wsecho: error: the following required arguments were not provided: <URL> (see 'wsecho client --help')\n"
    );
    for args in [&["serve", "--help"][..], &["--version"]] {
        let run = run_wsecho(args, "").await;
        assert_eq!(run.code, Some(0), "{args:?}: {}", run.stderr);
        assert!(!run.stdout.is_empty(), "{args:?} prints");
    }
}

#[tokio::test]
async fn a_port_in_use_is_a_runtime_failure_with_exit_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let run = run_wsecho(&["serve", "--ws", &addr], "").await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("cannot listen on {addr}")),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_port_in_use_is_one_line_naming_the_port_and_the_process_holding_it() {
    // Python holds the port, as another server would; the error must name it by pid and command.
    let holder = std::process::Command::new("python3")
        .args([
            "-c",
            "import socket,sys,time; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(); \
             print(s.getsockname()[1], flush=True); time.sleep(60)",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let mut holder = KillOnDrop(holder);
    let mut port = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.0.stdout.take().expect("stdout")),
        &mut port,
    )
    .expect("python prints its port");
    let addr = format!("127.0.0.1:{}", port.trim());
    let run = run_wsecho(&["serve", "--ws", &addr], "").await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1, "one line: {}", run.stderr);
    let expected = format!(
        "cannot listen on {addr}: port {} is already in use by pid {} (python3)",
        port.trim(),
        holder.0.id()
    );
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    assert!(
        run.stderr
            .trim_end()
            .ends_with("choose another port with --ws 127.0.0.1:PORT"),
        "the flag that moves it: {}",
        run.stderr
    );
    let pki = TestCerts::new();
    let (chain, key) = (
        pki.server_chain.to_str().expect("path"),
        pki.server_key.to_str().expect("path"),
    );
    let wss = run_wsecho(&["serve", "--wss", &addr, "--cert", chain, "--key", key], "").await;
    assert_eq!(wss.code, Some(1), "{}", wss.stderr);
    assert_eq!(wss.stderr.trim().lines().count(), 1, "one line: {}", wss.stderr);
    assert!(
        wss.stderr
            .trim_end()
            .ends_with("choose another port with --wss 127.0.0.1:PORT"),
        "the flag that moves it: {}",
        wss.stderr
    );
}

#[test]
fn a_certificate_from_another_ca_than_the_one_offered_at_ca_cer_is_one_warning_at_start() {
    let (pki, other) = (TestCerts::new(), TestCerts::new());
    let log_dir = tempfile::tempdir().expect("temp dir");
    let path = |p: &std::path::Path| p.to_str().expect("path").to_string();
    let start = |ca: &std::path::Path, log: &std::path::Path| {
        ServeProcess::start_logging_to(
            &[
                "--ws",
                "127.0.0.1:0",
                "--wss",
                "127.0.0.1:0",
                "--cert",
                &path(&pki.server_chain),
                "--key",
                &path(&pki.server_key),
                "--ca",
                &path(ca),
            ],
            log,
        )
    };
    let matching_log = log_dir.path().join("matching.log");
    drop(start(&pki.ca_cer, &matching_log));
    let matching = std::fs::read_to_string(&matching_log).expect("log");
    assert!(!matching.contains("WARN"), "its own CA: no warning: {matching}");

    let wrong_log = log_dir.path().join("wrong.log");
    drop(start(&other.ca_cer, &wrong_log));
    let wrong = std::fs::read_to_string(&wrong_log).expect("log");
    let warnings: Vec<&str> = wrong.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{wrong}");
    for part in [
        path(&pki.server_chain),
        path(&other.ca_cer),
        "was not issued by the CA served at /ca.cer".into(),
    ] {
        assert!(warnings[0].contains(&part), "{part} in {}", warnings[0]);
    }
}

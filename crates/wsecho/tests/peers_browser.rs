//! A real browser against the `wsecho` binary: headless Chromium with our CA in a fresh NSS database opens
//! `https://localhost:PORT/` and the page's self-check (wss echo on its own origin) reaches `pass`; without the
//! CA the page does not load at all.
//!
//! Chromium is driven through the DevTools protocol over a WebSocket (our own tokio-tungstenite client) and the
//! test polls the page's `#selftest` status with a deadline: `--dump-dom` would snapshot before the result.
//! With `LOCALTLS_SCREENSHOT=1` the pages in the docs are saved to `docs/images/` (`selftest-pass.png`,
//! `phone-codes.png`, `trust-iphone.png`).
//! For phones: the page's QR codes decode (zbarimg, on a screenshot) to the URLs the banner printed, and `/trust`
//! shows each platform's steps for its User-Agent.

mod support;

use certgen::trust;
use data_encoding::BASE64;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Stdio};
use support::bad_certs::BadCertServer;
use support::browser::{self, CALL_TIMEOUT, Page as _, RemoteSocket};
use support::qr::{decode_image, zbarimg_installed};
use support::{KillOnDrop, ServeProcess, TestCerts, openssl_name_and_fingerprint, run};

const CHROMIUM: &str = "/usr/bin/chromium";
/// Flags that work headless as root on Debian; no `--ignore-certificate-errors`: trust is what we test.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
    // The name-constraint test's forged `bank.example` must reach our loopback server, never a real host.
    "--host-resolver-rules=MAP bank.example 127.0.0.1",
    "--window-size=1000,1250",
];
const CA_NICKNAME: &str = "wsecho test CA";

#[tokio::test]
async fn chromium_with_our_ca_passes_the_self_check() {
    if !browser_installed("chromium with our CA") {
        return;
    }
    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss(&certs);
    let home = tempfile::tempdir().expect("temporary HOME");
    import_ca(home.path(), &certs.ca_pem);
    let url = format!("https://localhost:{}/", server.wss_port.expect("wss port"));
    let (_browser, mut page, result) = open_passing_page(home.path(), &url).await;
    let title = result["title"].as_str().unwrap_or_default();
    assert!(title.starts_with("PASS"), "title {title:?}: {result}");
    assert!(result["latency_median_ms"].is_string(), "{result}");
    // Chromium offers permessage-deflate; the page shows the server's answer (ws.extensions), and the text,
    // binary and 1 MiB echoes above passed over the compressed connection.
    let connect = page
        .evaluate("document.querySelector('#step-connect .detail').textContent")
        .await;
    assert!(
        connect
            .as_str()
            .is_some_and(|detail| detail.contains("extensions: permessage-deflate")),
        "connect step: {connect}"
    );
    let wss_url = format!("wss://localhost:{}", server.wss_port.expect("wss port"));
    let stats: Value =
        serde_json::from_slice(&support::http_get(&wss_url, "/stats", Some(&certs)).await.body)
            .expect("/stats JSON");
    assert!(stats["compressed_connections"].as_u64() >= Some(1), "{stats}");
    let source = page_text_within(&mut page, "certificate-source").await;
    assert!(
        source.starts_with("Certificate: from files (issuer O=certgen local development CA, CN=certgen CA"),
        "{source:?}"
    );

    if screenshots_wanted() {
        page.save_screenshot(&support::repo_root().join("docs/images/selftest-pass.png"))
            .await;
    }
}

#[tokio::test]
async fn chromium_without_our_ca_refuses_the_page_and_the_page_explains_why() {
    if !browser_installed("chromium without our CA") {
        return;
    }
    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss(&certs);
    let home = tempfile::tempdir().expect("temporary HOME");
    let https = format!("https://localhost:{}/", server.wss_port.expect("wss port"));
    let (_browser, mut page) = open_refused_page(home.path(), &https).await;

    // Over plain http the page checks ws:// and passes; its console's wss:// attempt then fails on trust, and
    // the page must say why and offer the CA.
    let http = format!("http://127.0.0.1:{}/", server.ws_port);
    page.call("Page.navigate", json!({ "url": http })).await;
    let result = page.wait_for_self_check().await;
    assert_eq!(result["status"], "pass", "self-check on {http}: {result}");
    let wss = format!("wss://localhost:{}/", server.wss_port.expect("wss port"));
    page.evaluate(&format!(
        "document.querySelector('#url').value = {}; document.querySelector('#connect').click()",
        json!(wss)
    ))
    .await;
    assert!(
        page.wait_until("!document.querySelector('#trust-help').hidden")
            .await,
        "no CA import help after the failed {wss}"
    );
    let ca = page
        .evaluate_async(
            "fetch(document.querySelector('#trust-help a[href=\"/ca.cer\"]').href)
                .then(async r => r.status + ' ' + r.headers.get('content-type') + ' ' + (await r.arrayBuffer()).byteLength)",
        )
        .await;
    let ca_len = std::fs::metadata(&certs.ca_cer).expect("ca.cer").len();
    assert_eq!(
        ca,
        format!("200 application/pkix-cert {ca_len}"),
        "the help's /ca.cer link"
    );
}

#[tokio::test]
async fn self_check_fails_visibly_when_an_echo_breaks() {
    if !browser_installed("failing self-check") {
        return;
    }
    // The server refuses the 1 MiB message (close 1009): the page must name that step, not hang or pass.
    let server = ServeProcess::ws(&["--max-message-size", "512KiB"]);
    let home = tempfile::tempdir().expect("temporary HOME");
    let browser = Chromium::launch(home.path());
    let mut page = browser.new_page().await;

    let http = format!("http://127.0.0.1:{}/", server.ws_port);
    page.call("Page.navigate", json!({ "url": http })).await;
    let result = page.wait_for_self_check().await;
    assert_eq!(result["status"], "fail", "{result}");
    assert_eq!(result["failed_step"], "large", "{result}");
    assert!(
        result["title"].as_str().unwrap_or_default().starts_with("FAIL"),
        "{result}"
    );
    assert!(
        result["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("1 MiB message"),
        "{result}"
    );
}

/// The user's path on Linux: `certgen trust install` (the library behind it) fills a fresh HOME's NSS databases
/// the way Chromium reads them, and the self-check passes; `uninstall` takes it away again for the same HOME.
#[tokio::test]
async fn certgen_trust_install_makes_chromium_pass_and_uninstall_undoes_it() {
    if !browser_installed("certgen trust + chromium") {
        return;
    }
    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss(&certs);
    let home = tempfile::tempdir().expect("temporary HOME");
    let host = trust::Host {
        home: Some(home.path().to_path_buf()),
        xdg_config_home: None,
        java_home: None,
        wsl: false,
        ..trust::Host::current()
    };
    let ca = trust::CaCert::load(&certs.ca_pem).expect("test CA");
    let url = format!("https://localhost:{}/", server.wss_port.expect("wss port"));

    let installed = trust::install(&ca, &host, &[trust::StoreKind::Nss], false);
    assert!(installed.problems().is_none(), "install: {installed}");
    drop(open_passing_page(home.path(), &url).await);

    let removed = trust::uninstall(&ca, &host, &[trust::StoreKind::Nss], false);
    assert!(removed.problems().is_none(), "uninstall: {removed}");
    open_refused_page(home.path(), &url).await;
}

/// docs/clients.md's browser block, run as written in a page whose origin trusts our CA.
#[tokio::test]
async fn docs_browser_block_echoes() {
    if !browser_installed("docs browser block") {
        return;
    }
    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss(&certs);
    let home = tempfile::tempdir().expect("temporary HOME");
    import_ca(home.path(), &certs.ca_pem);
    let browser = Chromium::launch(home.path());
    let mut page = browser.new_page().await;
    let port = server.wss_port.expect("wss port");
    page.call(
        "Page.navigate",
        json!({ "url": format!("https://localhost:{port}/") }),
    )
    .await;

    let doc = std::fs::read_to_string(support::repo_root().join("docs/clients.md")).expect("docs/clients.md");
    let block = doc
        .split("```js\n")
        .skip(1)
        .filter_map(|rest| rest.split("```\n").next())
        .find(|code| code.contains("function echoOnce"))
        .expect("docs/clients.md has the browser ```js block with echoOnce");
    let url = format!("wss://localhost:{port}/");
    let code = block.replace("wss://localhost:8443/", &url);
    let reply = page
        .evaluate_async(&format!(
            "{code}\n;echoOnce({}, 'hello from the docs')",
            json!(url)
        ))
        .await;
    assert_eq!(reply, "hello from the docs");
}

/// `cargo xtask test`/`e2e` run `cargo xtask up` in a fresh clone with a throw-away HOME and then this test
/// against it: the page `up` announced must pass in Chromium using only the trust `up` installed in that HOME.
#[tokio::test]
#[ignore = "needs a running `cargo xtask up`; run by `cargo xtask test` and `cargo xtask e2e`"]
async fn xtask_up_page_passes() {
    let (Some(url), Some(home)) = (
        std::env::var_os("LOCALTLS_UP_PAGE"),
        std::env::var_os("LOCALTLS_UP_HOME"),
    ) else {
        panic!("set LOCALTLS_UP_PAGE and LOCALTLS_UP_HOME (cargo xtask e2e does)");
    };
    open_passing_page(Path::new(&home), &url.to_string_lossy()).await;
}

/// The CA's name constraints hold in a real browser: with our CA trusted, a certgen leaf for `sub.localhost` is
/// accepted (the self-check passes), and a `bank.example` leaf signed with the same CA key by openssl, as a
/// leaked key could sign it, is refused.
#[tokio::test]
async fn chromium_honours_the_cas_name_constraints() {
    if !browser_installed("chromium and the CA's name constraints") {
        return;
    }
    let certs = TestCerts::new();
    let home = tempfile::tempdir().expect("temporary HOME");
    import_ca(home.path(), &certs.ca_pem);

    let (chain, key) = certs.server_for("sub.localhost");
    let allowed = ServeProcess::ws_and_wss_with(&chain, &key, &certs.ca_cer);
    let url = format!("https://sub.localhost:{}/", allowed.wss_port.expect("wss port"));
    open_passing_page(home.path(), &url).await;

    let (chain, key) = certs.forged_by_openssl("bank.example");
    let forged = ServeProcess::ws_and_wss_with(&chain, &key, &certs.ca_cer);
    let url = format!("https://bank.example:{}/", forged.wss_port.expect("wss port"));
    let browser = Chromium::launch(home.path());
    let mut page = browser.new_page().await;
    let navigated = page.call("Page.navigate", json!({ "url": url })).await;
    assert_eq!(
        navigated["errorText"], "net::ERR_CERT_INVALID",
        "{url} is outside the CA's name constraints and must be refused: {navigated}"
    );
}

/// `wsecho serve --bad-certs` in Chromium with our CA trusted: the page lists every fixture with its link, `good`
/// loads and passes its self-check, and each other one is refused with the `net::ERR_*` of support/bad_certs.rs
/// (docs/troubleshooting.md's table). One browser visits them all.
#[tokio::test]
async fn chromium_refuses_each_broken_certificate_with_its_documented_error() {
    if !browser_installed("chromium and the broken certificates") {
        return;
    }
    let bad = BadCertServer::start();
    let cases = bad.cases();
    let home = tempfile::tempdir().expect("temporary HOME");
    import_ca(home.path(), &bad.certs.ca_pem);
    let url = format!("https://localhost:{}/", bad.server.wss_port.expect("wss port"));
    let (_browser, mut page, _) = open_passing_page(home.path(), &url).await;

    let count = cases.len();
    assert!(
        page.wait_until(&format!(
            "document.querySelectorAll('#bad-cert-list a').length === {count}"
        ))
        .await,
        "the page lists no {count} broken-certificate links"
    );
    let listed = page
        .evaluate("[...document.querySelectorAll('#bad-cert-list a')].map(a => a.textContent + ' ' + a.href)")
        .await;
    let expected: Vec<String> = cases
        .iter()
        .map(|(verdict, port)| format!("{} https://localhost:{port}/", verdict.name))
        .collect();
    assert_eq!(listed, json!(expected), "the page's broken-certificate list");

    for (verdict, port) in cases {
        let url = format!("https://localhost:{port}/");
        let navigated = page.call("Page.navigate", json!({ "url": url })).await;
        match verdict.chromium {
            Some(error) => assert_eq!(navigated["errorText"], error, "{}: {navigated}", verdict.name),
            None => {
                assert!(
                    navigated.get("errorText").is_none(),
                    "{}: {navigated}",
                    verdict.name
                );
                let result = page.wait_for_self_check().await;
                assert_eq!(result["status"], "pass", "{}: {result}", verdict.name);
            }
        }
    }
}

/// The Connection card, over HTTP/2 and (with `--http2 off`) HTTP/1.1: it shows the HTTP version Chromium really
/// used for the page's WebSocket, as DevTools reports its handshake (status 200: an RFC 8441 extended CONNECT on
/// the page's own h2 connection; 101: an HTTP/1.1 upgrade), and every field it shows is the one the server logged
/// for that socket.
#[tokio::test]
async fn connection_card_shows_what_chromium_negotiated_over_h2_and_http1() {
    if !browser_installed("chromium connection card") {
        return;
    }
    let certs = TestCerts::new();
    let home = tempfile::tempdir().expect("temporary HOME");
    import_ca(home.path(), &certs.ca_pem);
    let browser = Chromium::launch(home.path());
    for (http2, page_protocol, http_version, handshake_status) in
        [("on", "h2", "HTTP/2", 200), ("off", "http/1.1", "HTTP/1.1", 101)]
    {
        let log = home.path().join(format!("wsecho-http2-{http2}.log"));
        let server = ServeProcess::start_logging_to(&wss_args(&certs, &["--http2", http2]), &log);
        let url = format!("https://localhost:{}/", server.wss_port.expect("wss port"));
        let mut page = browser.new_page().await;
        page.call("Network.enable", json!({})).await;
        let navigated = page.call("Page.navigate", json!({ "url": url })).await;
        assert!(navigated.get("errorText").is_none(), "{url}: {navigated}");
        let result = page.wait_for_self_check().await;
        assert_eq!(result["status"], "pass", "self-check on {url}: {result}");
        assert!(
            page.wait_until("document.querySelector('#connection').dataset.status === 'pass'")
                .await,
            "the Connection card never showed the facts: {}",
            page.evaluate("document.querySelector('#connection').innerText")
                .await
        );
        let card = page
            .evaluate(
                "Object.fromEntries([...document.querySelectorAll('#connection-facts dd')]
                    .map(dd => [dd.dataset.field, dd.textContent]))",
            )
            .await;
        let browser_view = page
            .evaluate("({ user_agent: navigator.userAgent, origin: location.origin })")
            .await;
        let page_request = page.evaluate_async("fetch('/whoami').then(r => r.json())").await;

        // What Chromium itself reports: the page's protocol, and how each of its WebSockets was opened.
        assert_eq!(card["page_protocol"], page_protocol, "--http2 {http2}: {card}");
        let handshakes: Vec<&Value> = page
            .events("Network.webSocketHandshakeResponseReceived")
            .into_iter()
            .map(|event| &event["params"]["response"]["status"])
            .collect();
        assert!(
            handshakes.len() >= 2 && handshakes.iter().all(|status| **status == handshake_status),
            "--http2 {http2}: the self-check's and the card's WebSockets must open with {handshake_status}: {handshakes:?}"
        );
        assert_eq!(card["http_version"], http_version, "--http2 {http2}: {card}");
        if http2 == "on" {
            assert_eq!(
                card["remote_addr"], page_request["remote_addr"],
                "over h2 the WebSocket rides on the page's own connection: {card} vs {page_request}"
            );
        }
        assert_eq!(card["alpn"], page_protocol, "{card}");
        assert_eq!(card["sni"], "localhost", "{card}");
        assert_eq!(card["user_agent"], browser_view["user_agent"], "{card}");
        assert_eq!(card["origin"], browser_view["origin"], "{card}");

        // What the server logged for that socket (found by its remote address) says the same, field by field.
        let remote_addr = card["remote_addr"].as_str().expect("remote address on the card");
        let logged = connect_log_line(&log, remote_addr);
        let fields = card.as_object().expect("card fields");
        for (field, shown) in fields.iter().filter(|(field, _)| *field != "page_protocol") {
            let shown = shown.as_str().expect("card text");
            // The card shows none as a dash and lists with ", "; the log `-` and ",".
            let shown = match shown {
                "—" => "-".to_string(),
                list if field.ends_with("_offered") || field.ends_with("_accepted") => {
                    list.replace(", ", ",")
                }
                text => text.to_string(),
            };
            let in_log = logged.get(field.as_str()).map(String::as_str);
            assert_eq!(
                Some(shown.as_str()),
                in_log,
                "{field}: card {card} vs log {logged:?}"
            );
        }
    }
}

/// A second device's view: the test page shows two QR codes, and a real decoder (zbarimg, on Chromium's
/// screenshot of them) reads the same LAN URLs the banner printed: `/trust` on plain http, then the self-check.
#[tokio::test]
async fn test_page_shows_qr_codes_that_decode_to_the_urls_the_banner_printed() {
    if !browser_installed("test page QR codes") || !zbarimg_installed("test page QR codes") {
        return;
    }
    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss_everywhere(&certs, &["--device-host", "198.51.100.7"]);
    let printed = server.device_urls();
    assert_eq!(printed.len(), 2, "{:#?}", server.banner);
    let home = tempfile::tempdir().expect("temporary HOME");
    let browser = Chromium::launch(home.path());
    let mut page = browser.new_page().await;
    let url = format!("http://127.0.0.1:{}/", server.ws_port);
    page.call("Page.navigate", json!({ "url": url })).await;
    assert!(
        page.wait_until(
            "document.querySelector('#devices')?.hidden === false && \
             [...document.querySelectorAll('#devices img')].every(i => i.complete && i.naturalWidth > 0)"
        )
        .await,
        "the QR codes never showed on {url}"
    );
    let rect = page
        .evaluate(
            "(() => { const r = document.querySelector('#devices').getBoundingClientRect(); \
             return { x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height, scale: 1 }; })()",
        )
        .await;
    let png = page
        .screenshot(json!({ "format": "png", "clip": rect, "captureBeyondViewport": true }))
        .await;
    let image = home.path().join("devices.png");
    std::fs::write(&image, &png).expect("write the screenshot");
    if screenshots_wanted() {
        std::fs::write(support::repo_root().join("docs/images/phone-codes.png"), &png)
            .expect("write docs/images/phone-codes.png");
    }
    let mut decoded = decode_image(&image);
    decoded.sort();
    let mut expected = printed.clone();
    expected.sort();
    assert_eq!(
        decoded, expected,
        "the page's codes against the banner's {printed:?}"
    );
    let captions = page
        .evaluate("[...document.querySelectorAll('#devices figcaption a')].map(a => a.href)")
        .await;
    assert_eq!(captions, json!(printed), "the links under the codes");
}

/// `/trust` in Chromium posing as each platform (its User-Agent overridden): that platform's steps come first and
/// open, with the CA's fingerprint as openssl reads it. Then, still as an iPhone, the page's link leads to the
/// self-check, which passes once the CA is trusted: the phone's path end to end.
#[tokio::test]
async fn trust_page_shows_each_platforms_steps_and_leads_to_a_passing_self_check() {
    if !browser_installed("trust page per platform") {
        return;
    }
    const AGENTS: &[(&str, &str, &str)] = &[
        (
            "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
            "steps-android",
            "Install a certificate",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
            "steps-macos",
            "Always Trust",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "steps-windows",
            "Trusted Root Certification Authorities",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "steps-linux",
            "certgen trust install",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "steps-firefox",
            "Trust this CA to identify websites",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
            "steps-ios",
            "Certificate Trust Settings",
        ),
    ];
    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss(&certs);
    let home = tempfile::tempdir().expect("temporary HOME");
    import_ca(home.path(), &certs.ca_pem);
    let (_, fingerprint) = openssl_name_and_fingerprint(&certs.ca_cer);
    let browser = Chromium::launch(home.path());
    let mut page = browser.new_page().await;
    let trust = format!("http://127.0.0.1:{}/trust", server.ws_port);
    const PROBE: &str = "(() => { const d = [...document.querySelectorAll('[data-detected]')]; \
        return { detected: d.map(e => e.id), open: d.every(e => e.open), \
                 first: document.querySelector('details')?.id, text: (d[0]?.textContent ?? '').replace(/\\s+/g, ' '), \
                 fingerprint: document.querySelector('#fingerprint')?.textContent, \
                 agent: navigator.userAgent }; })()";
    for (agent, section, step) in AGENTS {
        page.call("Emulation.setUserAgentOverride", json!({ "userAgent": agent }))
            .await;
        page.call("Page.navigate", json!({ "url": trust })).await;
        assert!(
            page.wait_until("document.readyState === 'complete' && !!document.querySelector('#fingerprint')")
                .await,
            "{trust} did not load as {agent}"
        );
        let shown = page.evaluate(PROBE).await;
        assert_eq!(shown["agent"], *agent, "the override took: {shown}");
        assert_eq!(shown["detected"], json!([section]), "{agent}: {shown}");
        assert_eq!(shown["first"], *section, "{agent}: its steps come first: {shown}");
        assert_eq!(shown["open"], true, "{shown}");
        assert!(
            shown["text"].as_str().unwrap_or_default().contains(step),
            "{agent}: {step:?} in {shown}"
        );
        assert_eq!(shown["fingerprint"], fingerprint, "{shown}");
    }

    if screenshots_wanted() {
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true }),
        )
        .await;
        page.save_screenshot(&support::repo_root().join("docs/images/trust-iphone.png"))
            .await;
        page.call("Emulation.clearDeviceMetricsOverride", json!({})).await;
    }

    // Still an iPhone: the profile link works, and the self-check link leads to a passing self-check.
    let profile = page
        .evaluate_async(
            "fetch(document.querySelector('#steps-ios a[href=\"/ca.mobileconfig\"]').href)
                .then(r => r.status + ' ' + r.headers.get('content-type'))",
        )
        .await;
    assert_eq!(profile, "200 application/x-apple-aspen-config");
    let self_check = page.evaluate("document.querySelector('#self-check').href").await;
    let wss_port = server.wss_port.expect("wss port");
    assert_eq!(
        self_check,
        format!("https://127.0.0.1:{wss_port}/"),
        "the host the visitor used"
    );
    page.evaluate("document.querySelector('#self-check').click()")
        .await;
    let result = page.wait_for_self_check().await;
    assert_eq!(result["status"], "pass", "the self-check after /trust: {result}");
}

/// `serve` arguments for ws and wss with the test certificate, and `extra`.
fn wss_args(certs: &TestCerts, extra: &[&str]) -> Vec<String> {
    let path = |p: &Path| p.to_str().expect("UTF-8 path").to_string();
    let mut args: Vec<String> = ["--ws", "127.0.0.1:0", "--wss", "127.0.0.1:0"]
        .map(String::from)
        .into();
    args.extend([
        "--cert".into(),
        path(&certs.server_chain),
        "--key".into(),
        path(&certs.server_key),
    ]);
    args.extend(extra.iter().map(|arg| arg.to_string()));
    args
}

/// The fields of the server's `connected` log line for `remote_addr`: `name=value` pairs, quoted values unquoted.
fn connect_log_line(log: &Path, remote_addr: &str) -> std::collections::HashMap<String, String> {
    let text = std::fs::read_to_string(log).expect("server log");
    let marker = format!(" {remote_addr} connected ");
    let line = text
        .lines()
        .find_map(|line| line.split_once(&marker).map(|(_, fields)| fields))
        .unwrap_or_else(|| panic!("no connect line for {remote_addr} in the log:\n{text}"));
    let mut fields = std::collections::HashMap::new();
    let mut rest = line;
    while let Some((name, after)) = rest.split_once('=') {
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = quoted.len();
                while let Some((at, c)) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next().map(|(_, escaped)| escaped)),
                        '"' => {
                            end = at + 1;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                (value, &quoted[end..])
            }
            None => {
                let end = after.find(' ').unwrap_or(after.len());
                (after[..end].to_string(), &after[end..])
            }
        };
        fields.insert(name.trim().to_string(), value);
        rest = next.trim_start();
    }
    fields
}

/// Chromium with `home` opens `url`: the page must load (its certificate trusted) and its self-check pass.
/// Returns the browser and page (for more checks) and the self-check result.
async fn open_passing_page(home: &Path, url: &str) -> (Chromium, Page, Value) {
    let browser = Chromium::launch(home);
    let mut page = browser.new_page().await;
    let navigated = page.call("Page.navigate", json!({ "url": url })).await;
    assert!(
        navigated.get("errorText").is_none(),
        "{url} did not load (is our CA trusted in {}?): {navigated}",
        home.display()
    );
    let result = page.wait_for_self_check().await;
    assert_eq!(result["status"], "pass", "self-check on {url}: {result}");
    (browser, page, result)
}

/// The text of the element `id` once the page has filled it in (bounded wait).
async fn page_text_within(page: &mut Page, id: &str) -> String {
    let expression = format!("document.getElementById({id:?}).textContent");
    for _ in 0..50 {
        let text = page.evaluate(&expression).await;
        if let Some(text) = text.as_str().filter(|t| !t.is_empty()) {
            return text.to_string();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("#{id} stayed empty");
}

/// Chromium with `home` opens `url`: the certificate must be refused as untrusted and no page load.
async fn open_refused_page(home: &Path, url: &str) -> (Chromium, Page) {
    let browser = Chromium::launch(home);
    let mut page = browser.new_page().await;
    let navigated = page.call("Page.navigate", json!({ "url": url })).await;
    assert_eq!(
        navigated["errorText"], "net::ERR_CERT_AUTHORITY_INVALID",
        "{url} must be refused without our CA: {navigated}"
    );
    let status = page
        .evaluate("document.querySelector('#selftest')?.dataset.status ?? 'no page'")
        .await;
    assert_eq!(status, "no page", "the test page must not have loaded");
    (browser, page)
}

/// `LOCALTLS_SCREENSHOT=1`: the tests that show a page in the docs save it to docs/images/.
fn screenshots_wanted() -> bool {
    std::env::var("LOCALTLS_SCREENSHOT").is_ok_and(|v| v == "1")
}

/// Whether Chromium and certutil are installed; prints a skip line (or fails under CI) when not.
fn browser_installed(test: &str) -> bool {
    browser::browser_installed(test, CHROMIUM, "chromium")
}

/// Creates a fresh NSS database and trusts the CA for websites in it, where Chromium on Linux looks: the classic
/// `~/.pki/nssdb` and, for new profiles from Chromium 146 on, `~/.local/share/pki/nssdb`.
fn import_ca(home: &Path, ca_pem: &Path) {
    for db in [".pki/nssdb", ".local/share/pki/nssdb"] {
        let db = home.join(db);
        std::fs::create_dir_all(&db).expect("NSS db directory");
        let db_arg = format!("sql:{}", db.display());
        let steps: [&[&str]; 2] = [
            &["-N", "--empty-password"],
            &["-A", "-n", CA_NICKNAME, "-t", "C,,", "-i"],
        ];
        for args in steps {
            let mut cmd = Command::new("certutil");
            cmd.arg("-d").arg(&db_arg).args(args);
            if args[0] == "-A" {
                cmd.arg(ca_pem);
            }
            let finished = run(&mut cmd, CALL_TIMEOUT);
            assert!(finished.status.success(), "{cmd:?}: {}", finished.output());
        }
    }
}

/// A headless Chromium with its own HOME and profile, killed on drop.
struct Chromium {
    debug_port: u16,
    browser_path: String,
    _process: KillOnDrop,
}

impl Chromium {
    fn launch(home: &Path) -> Self {
        let profile = home.join("profile");
        // A relaunch on the same HOME must not read the previous browser's port.
        let _ = std::fs::remove_file(profile.join("DevToolsActivePort"));
        let log_path = home.join("chromium.log");
        let log = std::fs::File::create(&log_path).expect("chromium log file");
        let child = browser::isolate(&mut Command::new(CHROMIUM), home)
            .args(CHROMIUM_FLAGS)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start chromium");
        let process = KillOnDrop(child);

        // Chromium writes "PORT\n/devtools/browser/ID" once DevTools listens.
        let active_port = profile.join("DevToolsActivePort");
        let (debug_port, browser_path) = browser::wait_for_launch("chromium", &log_path, || {
            let text = std::fs::read_to_string(&active_port).ok()?;
            let mut lines = text.lines();
            Some((lines.next()?.parse().ok()?, lines.next()?.to_owned()))
        });
        Chromium {
            debug_port,
            browser_path,
            _process: process,
        }
    }

    /// Opens a blank tab and a DevTools session attached to it.
    async fn new_page(&self) -> Page {
        let url = format!("ws://127.0.0.1:{}{}", self.debug_port, self.browser_path);
        let mut page = Page {
            socket: RemoteSocket::connect(self.debug_port, &url).await,
            session: None,
        };
        let target = page
            .call("Target.createTarget", json!({ "url": "about:blank" }))
            .await;
        let attached = page
            .call(
                "Target.attachToTarget",
                json!({ "targetId": target["targetId"], "flatten": true }),
            )
            .await;
        page.session = Some(
            attached["sessionId"]
                .as_str()
                .expect("DevTools session id")
                .to_owned(),
        );
        page
    }
}

/// A DevTools protocol connection; commands go to the attached tab once `session` is set.
struct Page {
    socket: RemoteSocket,
    session: Option<String>,
}

impl Page {
    /// The DevTools events named `method` this page's session has received so far.
    fn events(&self, method: &str) -> Vec<&Value> {
        self.socket.events(method)
    }

    /// Sends one command and returns its `result`.
    async fn call(&mut self, method: &str, params: Value) -> Value {
        let session: Vec<(&str, Value)> = self
            .session
            .iter()
            .map(|session| ("sessionId", json!(session)))
            .collect();
        let reply = self.socket.exchange(method, params, &session).await;
        assert!(reply.get("error").is_none(), "DevTools {method} failed: {reply}");
        reply["result"].clone()
    }

    /// The resolved value of a JavaScript expression that yields a promise.
    async fn evaluate_async(&mut self, expression: &str) -> Value {
        let evaluated = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            )
            .await;
        assert!(
            evaluated.get("exceptionDetails").is_none(),
            "{expression} threw: {evaluated}"
        );
        evaluated["result"]["value"].clone()
    }

    async fn save_screenshot(&mut self, path: &Path) {
        let png = self
            .screenshot(json!({ "format": "png", "captureBeyondViewport": true }))
            .await;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot directory");
        }
        std::fs::write(path, png).expect("write the screenshot");
        eprintln!("saved {}", path.display());
    }

    /// A PNG of the page, with `Page.captureScreenshot`'s `params`.
    async fn screenshot(&mut self, params: Value) -> Vec<u8> {
        let shot = self.call("Page.captureScreenshot", params).await;
        BASE64
            .decode(shot["data"].as_str().expect("screenshot data").as_bytes())
            .expect("screenshot is base64")
    }
}

impl browser::Page for Page {
    async fn evaluate(&mut self, expression: &str) -> Value {
        let evaluated = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true }),
            )
            .await;
        assert!(
            evaluated.get("exceptionDetails").is_none(),
            "{expression} threw: {evaluated}"
        );
        evaluated["result"]["value"].clone()
    }
}

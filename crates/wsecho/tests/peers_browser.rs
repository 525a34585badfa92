//! A real browser against the `wsecho` binary: headless Chromium with our CA in a fresh NSS database opens
//! `https://localhost:PORT/` and the page's self-check (wss echo on its own origin) reaches `pass`; without the
//! CA the page does not load at all.
//!
//! Chromium is driven through the DevTools protocol over a WebSocket (our own tokio-tungstenite client) and the
//! test polls the page's `#selftest` status with a deadline: `--dump-dom` would snapshot before the result.
//! With `LOCALTLS_SCREENSHOT=1` the passing page is saved to `docs/images/selftest-pass.png`.

mod support;

use certgen::trust;
use data_encoding::BASE64;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Stdio};
use support::browser::{self, CALL_TIMEOUT, Page as _, RemoteSocket};
use support::{KillOnDrop, ServeProcess, TestCerts, run};

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
    let source = page_text_within(&mut page, "certificate-source").await;
    assert!(
        source.starts_with("Certificate: from files (issuer O=certgen local development CA, CN=certgen CA"),
        "{source:?}"
    );

    if std::env::var("LOCALTLS_SCREENSHOT").is_ok_and(|v| v == "1") {
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
        let shot = self
            .call(
                "Page.captureScreenshot",
                json!({ "format": "png", "captureBeyondViewport": true }),
            )
            .await;
        let png = BASE64
            .decode(shot["data"].as_str().expect("screenshot data").as_bytes())
            .expect("screenshot is base64");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot directory");
        }
        std::fs::write(path, png).expect("write the screenshot");
        eprintln!("saved {}", path.display());
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

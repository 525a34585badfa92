//! A real Firefox against the `wsecho` binary: Firefox ESR (Debian `firefox-esr`) makes its profiles where it
//! makes them for a user, `certgen trust install` (the library behind it) covers them, and the page's self-check
//! passes in each; after `uninstall` Firefox refuses the page with its certificate error. `/trust` shows a real
//! Firefox its own steps.
//!
//! Firefox is driven headless through its built-in WebDriver BiDi (`--remote-debugging-port`) with our own
//! WebSocket client, as peers_browser.rs drives Chromium through DevTools; every run is bounded and the browser is
//! killed when its handle drops.

mod support;

use certgen::trust;
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use support::bad_certs::BadCertServer;
use support::browser::{self, Page as _, RemoteSocket};
use support::{KillOnDrop, ServeProcess, TestCerts, run};

const FIREFOX: &str = "/usr/bin/firefox-esr";
/// Bound on a Firefox run that ends by itself (`-CreateProfile`, a first start with `--screenshot`).
const FIREFOX_RUN: Duration = Duration::from_secs(60);
/// How often [`start_once`] tries a first start before giving up.
const FIRST_START_ATTEMPTS: usize = 3;
/// Prefs that keep a test Firefox off the network beyond loopback and away from first-run pages; Firefox's remote
/// agent adds its own recommended set when it starts.
const QUIET_PREFS: &[(&str, &str)] = &[
    ("app.update.disabledForTesting", "true"),
    ("app.normandy.enabled", "false"),
    ("browser.aboutwelcome.enabled", "false"),
    ("browser.region.network.url", "\"\""),
    ("browser.safebrowsing.downloads.enabled", "false"),
    ("browser.safebrowsing.malware.enabled", "false"),
    ("browser.safebrowsing.phishing.enabled", "false"),
    ("browser.safebrowsing.update.enabled", "false"),
    ("browser.shell.checkDefaultBrowser", "false"),
    ("browser.startup.homepage_override.mstone", "\"ignore\""),
    ("datareporting.policy.dataSubmissionEnabled", "false"),
    ("extensions.update.enabled", "false"),
    ("network.captive-portal-service.enabled", "false"),
    ("network.connectivity-service.enabled", "false"),
    // The name-constraint test's hosts resolve to loopback, never to a real host.
    ("network.dns.localDomains", "\"sub.localhost,bank.example\""),
    ("network.trr.mode", "5"),
    ("security.OCSP.enabled", "0"),
    ("security.remote_settings.crlite_filters.enabled", "false"),
    ("services.settings.server", "\"data:,#remote-settings-dummy/v1\""),
    ("toolkit.telemetry.enabled", "false"),
];

/// Firefox ESR 153 keeps a new HOME's profiles in `~/.config/mozilla/firefox` and an existing `~/.mozilla/firefox`
/// in use; `certgen trust install` must cover a profile in each, `trust status` list both, and `uninstall` leave
/// Firefox refusing the page with SEC_ERROR_UNKNOWN_ISSUER again.
#[tokio::test]
async fn certgen_trust_covers_firefox_profiles_in_both_folders_and_uninstall_undoes_it() {
    if !browser::browser_installed("certgen trust + firefox", FIREFOX, "firefox-esr") {
        return;
    }
    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss(&certs);
    let home = tempfile::tempdir().expect("temporary HOME");
    let home = home.path();
    let host = user_with_home(home);
    let ca = trust::CaCert::load(&certs.ca_pem).expect("test CA");
    let certs_dir = certs.ca_pem.parent().expect("certs folder");
    let url = format!("https://localhost:{}/", server.wss_port.expect("wss port"));

    // A brand-new HOME: Firefox makes the profile under ~/.config; once ~/.mozilla/firefox exists, it uses that.
    let xdg = create_profile(home, "xdg");
    assert!(
        xdg.starts_with(home.join(".config/mozilla/firefox")),
        "firefox-esr made its first profile in {}",
        xdg.display()
    );
    std::fs::create_dir_all(home.join(".mozilla/firefox")).expect("~/.mozilla/firefox");
    let legacy = create_profile(home, "legacy");
    assert!(
        legacy.starts_with(home.join(".mozilla/firefox")),
        "with ~/.mozilla/firefox present firefox-esr made the profile in {}",
        legacy.display()
    );
    let profiles = [xdg, legacy];

    // Before Firefox opened them they have no database: status names each as not covered.
    let report = trust::status(&ca, &host, &[trust::StoreKind::Nss], certs_dir);
    for profile in &profiles {
        assert_eq!(
            state_of(&report, home, profile),
            "not covered",
            "{}: {report}",
            profile.display()
        );
    }
    assert!(!report.ok, "{report}");

    for profile in &profiles {
        start_once(home, profile);
    }
    let installed = trust::install(&ca, &host, &[trust::StoreKind::Nss], false);
    assert!(installed.problems().is_none(), "install: {installed}");
    let report = trust::status(&ca, &host, &[trust::StoreKind::Nss], certs_dir);
    for profile in &profiles {
        assert_eq!(
            state_of(&report, home, profile),
            "trusted",
            "{}: {report}",
            profile.display()
        );
    }
    assert!(report.ok, "{report}");
    for profile in &profiles {
        let firefox = Firefox::launch(home, profile);
        let mut page = firefox.new_page().await;
        if let Err(error) = page.navigate(&url).await {
            panic!("{url} did not load in {}: {error}", profile.display());
        }
        let result = page.wait_for_self_check().await;
        assert_eq!(result["status"], "pass", "{}: {result}", profile.display());
        assert!(
            result["title"].as_str().unwrap_or_default().starts_with("PASS"),
            "{result}"
        );
    }

    let removed = trust::uninstall(&ca, &host, &[trust::StoreKind::Nss], false);
    assert!(removed.problems().is_none(), "uninstall: {removed}");
    for profile in &profiles {
        let firefox = Firefox::launch(home, profile);
        let mut page = firefox.new_page().await;
        let error = page
            .navigate(&url)
            .await
            .expect_err("Firefox loaded the page after uninstall");
        assert!(
            error.contains("SEC_ERROR_UNKNOWN_ISSUER"),
            "{}: not Firefox's unknown-issuer error: {error}",
            profile.display()
        );
        let shown = page.evaluate("document.documentURI").await;
        let shown = shown.as_str().unwrap_or_default();
        assert!(
            shown.starts_with("about:certerror") || shown.starts_with("about:neterror"),
            "{}: Firefox shows {shown}",
            profile.display()
        );
        let status = page
            .evaluate("document.querySelector('#selftest')?.dataset.status ?? 'no page'")
            .await;
        assert_eq!(status, "no page", "the test page must not have loaded");
    }
}

/// The CA's name constraints hold in Firefox too: with our CA trusted, a certgen leaf for `sub.localhost` passes
/// the self-check, and a `bank.example` leaf signed with the same CA key by openssl is refused as outside the CA's
/// name space.
#[tokio::test]
async fn firefox_honours_the_cas_name_constraints() {
    if !browser::browser_installed("firefox and the CA's name constraints", FIREFOX, "firefox-esr") {
        return;
    }
    let certs = TestCerts::new();
    let home = tempfile::tempdir().expect("temporary HOME");
    let home = home.path();
    let profile = profile_trusting(home, "constraints", &certs.ca_pem);

    let (chain, key) = certs.server_for("sub.localhost");
    let allowed = ServeProcess::ws_and_wss_with(&chain, &key, &certs.ca_cer);
    let url = format!("https://sub.localhost:{}/", allowed.wss_port.expect("wss port"));
    let firefox = Firefox::launch(home, &profile);
    let mut page = firefox.new_page().await;
    if let Err(error) = page.navigate(&url).await {
        panic!("{url} did not load: {error}");
    }
    let result = page.wait_for_self_check().await;
    assert_eq!(result["status"], "pass", "{url}: {result}");

    let (chain, key) = certs.forged_by_openssl("bank.example");
    let forged = ServeProcess::ws_and_wss_with(&chain, &key, &certs.ca_cer);
    let url = format!("https://bank.example:{}/", forged.wss_port.expect("wss port"));
    let error = page
        .navigate(&url)
        .await
        .expect_err("Firefox loaded a page whose certificate is outside the CA's name constraints");
    assert!(
        error.contains("SEC_ERROR_CERT_NOT_IN_NAME_SPACE"),
        "{url}: not Firefox's name-constraint error: {error}"
    );
}

/// `wsecho serve --bad-certs` in Firefox with our CA trusted by `certgen trust install`: `good` passes its
/// self-check and each other fixture is refused with the NSS error of support/bad_certs.rs (docs/troubleshooting.md's
/// table). One browser visits them all.
#[tokio::test]
async fn firefox_refuses_each_broken_certificate_with_its_documented_error() {
    if !browser::browser_installed("firefox and the broken certificates", FIREFOX, "firefox-esr") {
        return;
    }
    let bad = BadCertServer::start();
    let home = tempfile::tempdir().expect("temporary HOME");
    let home = home.path();
    let profile = profile_trusting(home, "broken", &bad.certs.ca_pem);
    let firefox = Firefox::launch(home, &profile);
    let mut page = firefox.new_page().await;
    for (verdict, port) in bad.cases() {
        let url = format!("https://localhost:{port}/");
        let navigated = page.navigate(&url).await;
        match verdict.firefox {
            Some(code) => {
                let error = navigated.expect_err(&format!("{}: Firefox loaded {url}", verdict.name));
                // e.g. "NS_ERROR_GENERATE_FAILURE(NS_ERROR_MODULE_SECURITY, SEC_ERROR_EXPIRED_CERTIFICATE)"
                let named = format!("NS_ERROR_MODULE_SECURITY, {code})");
                assert!(
                    error.contains(&named),
                    "{}: expected {code}: {error}",
                    verdict.name
                );
            }
            None => {
                if let Err(error) = navigated {
                    panic!("{}: {url} did not load: {error}", verdict.name);
                }
                let result = page.wait_for_self_check().await;
                assert_eq!(result["status"], "pass", "{}: {result}", verdict.name);
            }
        }
    }
}

/// A new profile `name` in `home`, started once, with the CA `ca_pem` installed by `certgen trust install`.
fn profile_trusting(home: &Path, name: &str, ca_pem: &Path) -> PathBuf {
    let profile = create_profile(home, name);
    start_once(home, &profile);
    let ca = trust::CaCert::load(ca_pem).expect("test CA");
    let installed = trust::install(&ca, &user_with_home(home), &[trust::StoreKind::Nss], false);
    assert!(installed.problems().is_none(), "install: {installed}");
    profile
}

/// `/trust` reads a real Firefox's own User-Agent (not an overridden one) as Firefox, whose store is its own, and
/// shows those steps first.
#[tokio::test]
async fn firefox_gets_its_own_steps_on_the_trust_page() {
    if !browser::browser_installed("firefox and /trust", FIREFOX, "firefox-esr") {
        return;
    }
    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss(&certs);
    let home = tempfile::tempdir().expect("temporary HOME");
    let home = home.path();
    let profile = create_profile(home, "trust-page");
    start_once(home, &profile);
    let firefox = Firefox::launch(home, &profile);
    let mut page = firefox.new_page().await;
    let url = format!("http://127.0.0.1:{}/trust", server.ws_port);
    if let Err(error) = page.navigate(&url).await {
        panic!("{url} did not load: {error}");
    }
    let shown = page
        .evaluate(
            "({ agent: navigator.userAgent, \
                detected: [...document.querySelectorAll('[data-detected]')].map(e => e.id), \
                first: document.querySelector('details')?.id })",
        )
        .await;
    assert!(
        shown["agent"].as_str().unwrap_or_default().contains("Firefox/"),
        "{shown}"
    );
    assert_eq!(shown["detected"], json!(["steps-firefox"]), "{shown}");
    assert_eq!(shown["first"], "steps-firefox", "{shown}");
}

/// Firefox coarsens `performance.now()` (to 1 ms here), so loopback round trips measure 0: the page says they are
/// below its timer resolution instead of "0.00 ms".
#[tokio::test]
async fn firefox_coarse_timer_shows_no_zero_round_trip() {
    if !browser::browser_installed("firefox and the latency step", FIREFOX, "firefox-esr") {
        return;
    }
    let server = ServeProcess::ws(&[]);
    let home = tempfile::tempdir().expect("temporary HOME");
    let home = home.path();
    let profile = create_profile(home, "latency");
    start_once(home, &profile);
    let firefox = Firefox::launch(home, &profile);
    let mut page = firefox.new_page().await;
    let url = format!("http://127.0.0.1:{}/", server.ws_port);
    if let Err(error) = page.navigate(&url).await {
        panic!("{url} did not load: {error}");
    }
    let result = page.wait_for_self_check().await;
    assert_eq!(result["status"], "pass", "{result}");
    let latency = page
        .evaluate("document.querySelector('#step-latency .detail').textContent")
        .await;
    let summary = result["summary"].as_str().unwrap_or_default();
    for shown in [summary, latency.as_str().unwrap_or_default()] {
        assert!(!shown.contains("0.00 ms"), "a zero shown as a duration: {shown}");
    }
    if result["latency_median_ms"] == "0.000" {
        assert!(
            summary.contains("median round trip below the browser's timer resolution"),
            "{summary}"
        );
    }
}

/// This machine as seen by a user whose HOME is `home` (no XDG override, no Java, not WSL).
fn user_with_home(home: &Path) -> trust::Host {
    trust::Host {
        home: Some(home.to_path_buf()),
        xdg_config_home: None,
        java_home: None,
        wsl: false,
        ..trust::Host::current()
    }
}

/// The state `status` reports for the store at `profile`, found by the location it shows (HOME as `~`).
fn state_of(report: &trust::StatusReport, home: &Path, profile: &Path) -> String {
    let shown = format!("~/{}", profile.strip_prefix(home).expect("in HOME").display());
    report
        .stores
        .iter()
        .find(|s| s.location.split(' ').next() == Some(shown.as_str()))
        .map(|s| s.state.to_owned())
        .unwrap_or_else(|| format!("not listed as {shown}"))
}

/// Makes a profile called `name` the way a user does (`firefox-esr -CreateProfile NAME`) and returns its folder,
/// wherever Firefox put it.
fn create_profile(home: &Path, name: &str) -> PathBuf {
    let made = run(
        browser::isolate(&mut Command::new(FIREFOX), home).args(["--headless", "-CreateProfile", name]),
        FIREFOX_RUN,
    );
    assert!(made.status.success(), "-CreateProfile {name}: {}", made.output());
    let suffix = format!(".{name}");
    [".config/mozilla/firefox", ".mozilla/firefox"]
        .iter()
        .filter_map(|root| std::fs::read_dir(home.join(root)).ok())
        .flat_map(|entries| entries.flatten().map(|e| e.path()))
        .find(|dir| dir.to_string_lossy().ends_with(&suffix))
        .unwrap_or_else(|| panic!("-CreateProfile {name} made no profile folder: {}", made.output()))
}

/// Lets Firefox open `profile` once, as a user's first start does (it then makes cert9.db): `--screenshot` loads
/// a blank page and exits. With several Firefoxes starting at once on a loaded machine such a run was seen to end
/// without cert9.db (or to fail), so it gets up to [`FIRST_START_ATTEMPTS`] tries, each miss logged.
fn start_once(home: &Path, profile: &Path) {
    quiet(profile);
    for attempt in 1..=FIRST_START_ATTEMPTS {
        let started = run(
            browser::isolate(&mut Command::new(FIREFOX), home)
                .args(["--headless", "--profile"])
                .arg(profile)
                .arg("--screenshot")
                .arg(home.join("first-start.png"))
                .arg("about:blank"),
            FIREFOX_RUN,
        );
        if started.status.success() && profile.join("cert9.db").is_file() {
            return;
        }
        eprintln!(
            "firefox first start {attempt}/{FIRST_START_ATTEMPTS} in {} left no cert9.db ({}): {}",
            profile.display(),
            started.status,
            started.output()
        );
    }
    panic!(
        "Firefox made no cert9.db in {} in {FIRST_START_ATTEMPTS} starts (see above)",
        profile.display()
    );
}

/// Writes [`QUIET_PREFS`] to the profile's `user.js`, which Firefox reads at every start.
fn quiet(profile: &Path) {
    let mut user_js = std::fs::File::create(profile.join("user.js")).expect("user.js");
    for (pref, value) in QUIET_PREFS {
        writeln!(user_js, "user_pref(\"{pref}\", {value});").expect("write user.js");
    }
}

/// A headless Firefox on one profile with WebDriver BiDi on a free loopback port, killed on drop.
struct Firefox {
    port: u16,
    _process: KillOnDrop,
}

impl Firefox {
    fn launch(home: &Path, profile: &Path) -> Firefox {
        quiet(profile);
        let log_path = home.join("firefox.log");
        let log = std::fs::File::create(&log_path).expect("firefox log file");
        let child = browser::isolate(&mut Command::new(FIREFOX), home)
            .args(["--headless", "--remote-debugging-port", "0", "--profile"])
            .arg(profile)
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start firefox");
        let process = KillOnDrop(child);
        // Firefox prints "WebDriver BiDi listening on ws://127.0.0.1:PORT" once it listens.
        let port = browser::wait_for_launch("firefox", &log_path, || {
            let log = std::fs::read_to_string(&log_path).ok()?;
            let (_, rest) = log.split_once("WebDriver BiDi listening on ws://127.0.0.1:")?;
            rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
        });
        Firefox {
            port,
            _process: process,
        }
    }

    /// A BiDi session and the browsing context of Firefox's first tab.
    async fn new_page(&self) -> Tab {
        let url = format!("ws://127.0.0.1:{}/session", self.port);
        let mut tab = Tab {
            socket: RemoteSocket::connect(self.port, &url).await,
            context: Value::Null,
        };
        tab.call("session.new", json!({ "capabilities": {} }))
            .await
            .expect("BiDi session.new");
        let tree = tab
            .call("browsingContext.getTree", json!({}))
            .await
            .expect("BiDi browsingContext.getTree");
        tab.context = tree["contexts"][0]["context"].clone();
        assert!(tab.context.is_string(), "no browsing context: {tree}");
        tab
    }
}

/// One WebDriver BiDi browsing context (a tab).
struct Tab {
    socket: RemoteSocket,
    context: Value,
}

impl Tab {
    /// Sends one command: its `result`, or the error's message.
    async fn call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        let reply = self.socket.exchange(method, params, &[]).await;
        match reply["type"].as_str() {
            Some("success") => Ok(reply["result"].clone()),
            _ => Err(format!("{}: {}", reply["error"], reply["message"])),
        }
    }

    /// Loads `url` and waits for its load event; Err carries Firefox's reason (e.g. a certificate error).
    async fn navigate(&mut self, url: &str) -> Result<(), String> {
        let params = json!({ "context": self.context, "url": url, "wait": "complete" });
        self.call("browsingContext.navigate", params).await.map(drop)
    }
}

impl browser::Page for Tab {
    /// BiDi returns typed remote values; the expression goes through `JSON.stringify` to come back as plain JSON.
    async fn evaluate(&mut self, expression: &str) -> Value {
        let params = json!({
            "expression": format!("JSON.stringify({expression})"),
            "target": { "context": self.context },
            "awaitPromise": false,
        });
        let evaluated = self
            .call("script.evaluate", params)
            .await
            .unwrap_or_else(|e| panic!("script.evaluate {expression}: {e}"));
        match evaluated["type"].as_str() {
            Some("success") => evaluated["result"]["value"].as_str().map_or(Value::Null, |json| {
                serde_json::from_str(json).expect("JSON.stringify gives JSON")
            }),
            _ => panic!("{expression} threw: {evaluated}"),
        }
    }
}

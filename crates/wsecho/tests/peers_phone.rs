//! A phone's way in, checked with real tools: the QR code `wsecho serve` prints when it listens beyond loopback
//! decodes (zbarimg, from an image of the terminal's half blocks) to the printed trust-page URL at a LAN
//! address, and `/ca.mobileconfig` is a property list (Python's plistlib) whose root payload is `ca.cer` byte for
//! byte, named and fingerprinted as openssl reads the CA. The test page's QR codes and `/trust` are checked in
//! Chromium (peers_browser.rs).

mod support;

use std::process::Command;

use serde_json::Value;
use support::qr::{decode_terminal, zbarimg_installed};
use support::{ServeProcess, TestCerts, WAIT, header, http_get, openssl_name_and_fingerprint, python, run};

#[tokio::test]
async fn serve_on_every_interface_prints_a_qr_code_of_the_trust_page_at_the_lan_address() {
    if !zbarimg_installed("serve's terminal QR code") {
        return;
    }
    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss_everywhere(&certs, &[]);
    let lan = wsecho::server::lan_addresses().expect("list the interfaces");
    // Without a LAN address there is no QR code to check, only its absence; like a missing peer, that is a skip
    // normally and a failure under LOCALTLS_REQUIRE_PEERS=1. A test cannot make a LAN address itself (that takes
    // a network interface), and tests never use one as a network target anyway: it only has to be printed.
    let Some(lan) = lan.first() else {
        assert_eq!(
            server.device_urls(),
            Vec::<String>::new(),
            "no LAN address, so nothing to scan: {:#?}",
            server.banner
        );
        support::skip_or_fail(
            "serve's terminal QR code",
            "this machine has no LAN address (no interface address outside loopback), so serve prints no QR \
             code to decode",
        );
        return;
    };
    let trust = format!("http://{lan}:{}/trust", server.ws_port);
    let page = format!("https://{lan}:{}/", server.wss_port.expect("wss port"));
    assert_eq!(
        server.device_urls(),
        [trust.clone(), page],
        "{:#?}",
        server.banner
    );
    let scratch = tempfile::tempdir().expect("scratch dir");
    assert_eq!(decode_terminal(&server.banner, scratch.path()), [trust]);

    // The page the code names is there (reached here over loopback: tests never leave the machine).
    let page = http_get(&server.url("ws"), "/trust", None).await;
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("Trust the local CA"));
}

/// `cargo xtask e2e` runs `cargo xtask up --lan` in a fresh clone, saves what it printed and runs this test while
/// it serves: its QR code decodes to the `/trust` URL it printed, at the first LAN address (the one `--lan` put in
/// the certificate), and that page is served.
#[tokio::test]
#[ignore = "needs a running `cargo xtask up --lan`; run by `cargo xtask test` and `cargo xtask e2e`"]
async fn xtask_up_lan_prints_a_qr_code_of_its_trust_page() {
    let Some(output) = std::env::var_os("LOCALTLS_UP_LAN_OUTPUT") else {
        panic!(
            "set LOCALTLS_UP_LAN_OUTPUT to a file with what `cargo xtask up --lan` printed (cargo xtask e2e does)"
        );
    };
    assert!(zbarimg_installed("xtask up --lan QR code"));
    let output: Vec<String> = std::fs::read_to_string(&output)
        .expect("the saved output of `cargo xtask up --lan`")
        .lines()
        .map(str::to_owned)
        .collect();
    let listening = |scheme: &str| {
        output
            .iter()
            .filter_map(|line| line.strip_prefix("listening "))
            .filter_map(|rest| rest.split_whitespace().next())
            .find(|url| url.starts_with(scheme))
            .and_then(|url| url.rsplit(':').next())
            .unwrap_or_else(|| panic!("no {scheme} listener in {output:#?}"))
            .to_owned()
    };
    let (ws_port, wss_port) = (listening("ws://"), listening("wss://"));
    let lan = wsecho::server::lan_addresses().expect("list the interfaces");
    let lan = lan
        .first()
        .expect("`up --lan` started, so this machine has a LAN address");
    let trust = format!("http://{lan}:{ws_port}/trust");
    let line = format!("other devices: scan to trust the CA, or open {trust}");
    assert!(output.contains(&line), "{line:?} in {output:#?}");
    let then = format!("other devices, then: https://{lan}:{wss_port}/");
    assert!(output.contains(&then), "{then:?} in {output:#?}");
    let scratch = tempfile::tempdir().expect("scratch dir");
    assert_eq!(decode_terminal(&output, scratch.path()), [trust]);
    let page = http_get(&format!("ws://127.0.0.1:{ws_port}"), "/trust", None).await;
    assert_eq!(page.status, 200, "`up --lan` serves /trust");
}

#[test]
fn device_host_chooses_the_address_in_the_qr_code_and_without_a_ca_it_opens_the_test_page() {
    if !zbarimg_installed("serve --device-host") {
        return;
    }
    let server = ServeProcess::start(&["--ws", "0.0.0.0:0", "--device-host", "198.51.100.7"]);
    let page = format!("http://198.51.100.7:{}/", server.ws_port);
    let line = format!("other devices: scan to open the test page, or open {page}");
    assert!(server.banner.contains(&line), "{line:?} in {:#?}", server.banner);
    let scratch = tempfile::tempdir().expect("scratch dir");
    assert_eq!(decode_terminal(&server.banner, scratch.path()), [page]);
}

#[test]
fn a_loopback_server_prints_no_qr_code() {
    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss(&certs);
    assert!(
        !server.banner.iter().any(|line| line.contains("other devices")),
        "{:#?}",
        server.banner
    );
}

/// Reads a property list with Python's plistlib and returns what the test compares, as JSON.
const READ_PROFILE: &str = r#"
import base64, json, plistlib, sys
with open(sys.argv[1], "rb") as f:
    profile = plistlib.load(f)
print(json.dumps({
    "type": profile["PayloadType"],
    "uuid": profile["PayloadUUID"],
    "version": profile["PayloadVersion"],
    "description": profile["PayloadDescription"],
    "payloads": [
        {"type": p["PayloadType"], "uuid": p["PayloadUUID"], "identifier": p["PayloadIdentifier"],
         "der": base64.b64encode(p["PayloadContent"]).decode()}
        for p in profile["PayloadContent"]
    ],
}))
"#;

/// `/ca.mobileconfig` of `server`, checked for its headers and read by plistlib.
async fn fetch_profile(server: &ServeProcess, scratch: &std::path::Path) -> Value {
    let response = http_get(&server.url("ws"), "/ca.mobileconfig", None).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        header(&response.headers, "content-type"),
        Some("application/x-apple-aspen-config"),
        "what Safari hands to the profile installer"
    );
    assert!(
        header(&response.headers, "content-disposition").is_some_and(|v| v.contains(".mobileconfig")),
        "{:?}",
        response.headers
    );
    let file = scratch.join("ca.mobileconfig");
    std::fs::write(&file, &response.body).expect("write the profile");
    let finished = run(Command::new(python()).args(["-c", READ_PROFILE]).arg(&file), WAIT);
    assert!(finished.status.success(), "plistlib: {}", finished.output());
    serde_json::from_str(&finished.stdout).expect("the script prints JSON")
}

#[tokio::test]
async fn mobileconfig_is_a_plist_whose_root_payload_is_ca_cer_with_stable_uuids() {
    let scratch = tempfile::tempdir().expect("scratch dir");
    let certs = TestCerts::new();
    let server = ServeProcess::ws_and_wss(&certs);
    let profile = fetch_profile(&server, scratch.path()).await;

    assert_eq!(profile["type"], "Configuration", "{profile}");
    assert_eq!(profile["version"], 1, "{profile}");
    let payloads = profile["payloads"].as_array().expect("payloads");
    assert_eq!(payloads.len(), 1, "{profile}");
    assert_eq!(payloads[0]["type"], "com.apple.security.root");
    let der = data_encoding::BASE64
        .decode(payloads[0]["der"].as_str().expect("der").as_bytes())
        .expect("base64");
    assert_eq!(
        der,
        std::fs::read(&certs.ca_cer).expect("ca.cer"),
        "payload is ca.cer"
    );
    let (name, fingerprint) = openssl_name_and_fingerprint(&certs.ca_cer);
    let description = profile["description"].as_str().expect("description");
    assert!(description.contains(&name), "{name:?} in {description:?}");
    assert!(
        description.contains(&fingerprint),
        "{fingerprint:?} in {description:?}"
    );
    let uuid = profile["uuid"].as_str().expect("uuid");
    assert!(uuid.len() == 36 && uuid != payloads[0]["uuid"], "{profile}");

    // The same CA served again gives the same profile identity (installing it again replaces it); another CA
    // gives another.
    let again = ServeProcess::ws_and_wss(&certs);
    assert_eq!(fetch_profile(&again, scratch.path()).await["uuid"], uuid);
    let other_certs = TestCerts::new();
    let other = ServeProcess::ws_and_wss(&other_certs);
    let other_profile = fetch_profile(&other, scratch.path()).await;
    assert_ne!(other_profile["uuid"], uuid);
    assert_ne!(
        other_profile["payloads"][0]["identifier"],
        payloads[0]["identifier"]
    );
}

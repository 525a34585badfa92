//! `/trust`: how to trust the CA on the device that opens the page. The platform comes from the User-Agent
//! (`?for=ios` and so on overrides it, e.g. for an iPad, whose Safari says it is a Mac); that platform's steps come
//! first and open, the others stay one tap away, and the fingerprint to compare is at the top.

use super::ca_offer::CaOffer;
use super::mobileconfig::escape;

/// A platform with its own way of trusting a CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Platform {
    Ios,
    Android,
    Firefox,
    MacOs,
    Windows,
    Linux,
}

impl Platform {
    /// In the order the page lists them.
    const ALL: [Platform; 6] = [
        Platform::Ios,
        Platform::Android,
        Platform::MacOs,
        Platform::Windows,
        Platform::Linux,
        Platform::Firefox,
    ];

    /// The `?for=` value and the id suffix of its section.
    fn key(self) -> &'static str {
        match self {
            Platform::Ios => "ios",
            Platform::Android => "android",
            Platform::Firefox => "firefox",
            Platform::MacOs => "macos",
            Platform::Windows => "windows",
            Platform::Linux => "linux",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Platform::Ios => "iPhone and iPad",
            Platform::Android => "Android",
            Platform::Firefox => "Firefox on the desktop (its own certificate store)",
            Platform::MacOs => "macOS (Safari, Chrome, Edge)",
            Platform::Windows => "Windows (Edge, Chrome)",
            Platform::Linux => "Linux (Chrome, Chromium, command-line tools)",
        }
    }

    /// The platform a User-Agent belongs to. Browsers on iOS and Android use the system's trust, whatever their
    /// name; desktop Firefox has its own store; everything else uses the operating system's.
    pub(crate) fn detect(user_agent: &str) -> Option<Platform> {
        let has = |word: &str| user_agent.contains(word);
        if has("iPhone") || has("iPad") || has("iPod") {
            Some(Platform::Ios)
        } else if has("Android") {
            Some(Platform::Android)
        } else if has("Firefox/") {
            Some(Platform::Firefox)
        } else if has("Windows") {
            Some(Platform::Windows)
        } else if has("Macintosh") || has("Mac OS X") {
            Some(Platform::MacOs)
        } else if has("Linux") || has("X11") {
            Some(Platform::Linux)
        } else {
            None
        }
    }

    fn from_key(key: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.key() == key)
    }

    /// The steps, as HTML list items. `self_check` is the page to open afterwards.
    fn steps(self, ca: &CaOffer, self_check: &str) -> String {
        let name = escape(&ca.name);
        let check = format!(
            r#"<li>Open the <a href="{self_check}">self-check page</a> ({self_check}) and wait for <b>PASS</b>.</li>"#
        );
        let steps = match self {
            Platform::Ios => format!(
                r#"<li>In <b>Safari</b> (other browsers cannot install profiles), tap
<a href="/ca.mobileconfig">Download the profile</a> and answer <b>Allow</b>, then <b>Close</b>.</li>
<li>Open <b>Settings</b> and tap <b>Profile Downloaded</b> near the top (or Settings → General → VPN &amp; Device
Management → “localtls CA: {name}”), then <b>Install</b>, enter your passcode, <b>Install</b> again, <b>Done</b>.</li>
<li>Settings → General → About → <b>Certificate Trust Settings</b> → under “Enable full trust for root
certificates” turn on <b>{name}</b> → <b>Continue</b>. Without this step Safari still refuses the server.</li>
<li>To compare the fingerprint: Settings → General → VPN &amp; Device Management → the profile → More Details →
the certificate: its SHA-256 must match the one above.</li>"#
            ),
            Platform::Android => format!(
                r#"<li>Tap <a href="/ca.cer" download="ca.cer">Download ca.cer</a> (Android 11 and later do not install
a certificate when you open the file; the next step does).</li>
<li>Settings → Security &amp; privacy → More security &amp; privacy → Encryption &amp; credentials →
<b>Install a certificate</b> → <b>CA certificate</b> → <b>Install anyway</b> → pick <code>ca.cer</code> from
Downloads. Menu names differ between makers: search Settings for “CA certificate”.</li>
<li>To compare the fingerprint: Encryption &amp; credentials → Trusted credentials → <b>User</b> → {name}.</li>
<li>Chrome trusts it now, and so does Firefox 120 and later (it uses the CAs you install in Android). Other
apps trust user-installed CAs only when their network security config allows it.</li>"#
            ),
            Platform::Firefox => format!(
                r#"<li><a href="/ca.cer" download="ca.cer">Download ca.cer</a>.</li>
<li>Settings → Privacy &amp; Security → Certificates → <b>View Certificates…</b> → Authorities →
<b>Import…</b> → <code>ca.cer</code> → tick <b>Trust this CA to identify websites</b>; <b>View</b> shows the
fingerprint to compare → OK.</li>
<li>On the machine that runs the server, <code>certgen trust install</code> does this for every Firefox profile
of the user instead. On Windows and macOS, Firefox 120 and later also trusts the CAs of the system (“Allow Firefox
to automatically trust third-party root certificates you install”, on by default), so the
<a href="/trust?for=windows">Windows</a> or <a href="/trust?for=macos">macOS</a> steps cover it there.</li>
<li>Restart Firefox. “{name}” is now listed under Authorities.</li>"#
            ),
            Platform::MacOs => format!(
                r#"<li><a href="/ca.cer" download="ca.cer">Download ca.cer</a> and open it: Keychain Access adds it to
the <b>login</b> keychain.</li>
<li>In Keychain Access, double-click <b>{name}</b> → Trust → “When using this certificate”: <b>Always Trust</b>
→ close the window and confirm with your password. The same window shows the SHA-256 fingerprint to compare.</li>
<li>Or in Terminal: <code>sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain
~/Downloads/ca.cer</code></li>
<li>Restart the browser. On an iPad (its Safari says it is a Mac), use the
<a href="/trust?for=ios">iPhone and iPad steps</a>.</li>"#
            ),
            Platform::Windows => format!(
                r#"<li><a href="/ca.cer" download="ca.cer">Download ca.cer</a> and open it → <b>Install
Certificate…</b> → Current User → “Place all certificates in the following store” → Browse → <b>Trusted Root
Certification Authorities</b> → Next → Finish.</li>
<li>The security warning shows the certificate's SHA-1 thumbprint: it must be <code>{sha1}</code>. Answer
<b>Yes</b>.</li>
<li>Or in PowerShell: <code>certutil -user -addstore Root ca.cer</code></li>
<li>Restart the browser.</li>"#,
                sha1 = ca.sha1,
            ),
            Platform::Linux => format!(
                r#"<li>On the machine that runs the server: <code>certgen trust install</code> (or
<code>cargo xtask trust</code>) trusts “{name}” in every NSS database of the user (Chrome, Chromium, Firefox).</li>
<li>On another machine, <a href="/ca.cer" download="ca.cer">download ca.cer</a>, check it with
<code>openssl x509 -inform der -in ca.cer -noout -fingerprint -sha256</code>, then
<code>certutil -d sql:$HOME/.pki/nssdb -A -n localtls -t C,, -i ca.cer</code> for Chrome and Chromium (or
Settings → Privacy and security → Security → Manage certificates → Import).</li>
<li>For curl, Python and the rest of the system (Debian, Ubuntu): <code>sudo openssl x509 -inform der -in ca.cer
-out /usr/local/share/ca-certificates/localtls.crt &amp;&amp; sudo update-ca-certificates</code></li>
<li>Restart the browser.</li>"#
            ),
        };
        format!("<ol>\n{steps}\n{check}\n</ol>")
    }
}

/// The whole page for a visitor with `user_agent` (and `query`, for `?for=`), for the CA `ca`.
pub(crate) fn render(user_agent: &str, query: Option<&str>, ca: &CaOffer, self_check: &str) -> String {
    // The link comes from the request's Host header: never put it in the page unescaped.
    let self_check = &escape(self_check);
    let chosen = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("for="))
        .and_then(Platform::from_key);
    let detected = chosen.or_else(|| Platform::detect(user_agent));
    let intro = match (chosen, detected) {
        (Some(p), _) => format!("Showing the steps for <b>{}</b>.", p.title()),
        (None, Some(p)) => format!(
            "Your browser says it runs on <b>{}</b>: its steps come first.",
            p.title()
        ),
        (None, None) => "Pick your device below.".to_owned(),
    };
    let ordered = detected
        .into_iter()
        .chain(Platform::ALL.into_iter().filter(|p| Some(*p) != detected));
    let sections: String = ordered
        .map(|p| {
            let mark = if Some(p) == detected {
                " open data-detected"
            } else {
                ""
            };
            format!(
                "<details id=\"steps-{key}\" data-platform=\"{key}\"{mark}>\n<summary>{title}</summary>\n{steps}\n</details>\n",
                key = p.key(),
                title = p.title(),
                steps = p.steps(ca, self_check),
            )
        })
        .collect();
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Trust the local CA · wsecho</title>
<style>
  body {{ margin: 0 auto; max-width: 720px; padding: 20px; font: 16px/1.5 system-ui, -apple-system, sans-serif; }}
  code {{ font-size: 14px; overflow-wrap: anywhere; }}
  .fingerprint {{ font: 14px ui-monospace, Menlo, Consolas, monospace; overflow-wrap: anywhere; }}
  details {{ border-top: 1px solid #8884; padding: 8px 0; }}
  summary {{ cursor: pointer; font-weight: 600; }}
  li {{ margin: 6px 0; }}
</style>
</head>
<body>
<h1>Trust the local CA on this device</h1>
<p>This server's certificate is signed by the local development CA <b id="ca-name">{name}</b>. Trust it once on
this device and every page and <code>wss://</code> connection of this server works without warnings. It can vouch
only for the names it was made for (it is name-constrained).</p>
<p>Before you trust it, compare its SHA-256 fingerprint with the one the server's terminal printed:</p>
<p class="fingerprint" id="fingerprint">{sha256}</p>
<p id="platform-intro">{intro}</p>
{sections}
<p>Downloads: <a href="/ca.cer" download="ca.cer">ca.cer</a> (DER certificate) ·
<a href="/ca.mobileconfig">ca.mobileconfig</a> (profile for iPhone, iPad and Mac). Afterwards:
<a id="self-check" href="{self_check}">the self-check page</a>.</p>
</body>
</html>
"#,
        name = escape(&ca.name),
        sha256 = ca.sha256,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_map_to_their_platform() {
        let cases = [
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
                Some(Platform::Ios),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/132.0 Mobile/15E148 Safari/605.1.15",
                Some(Platform::Ios),
            ),
            (
                "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                Some(Platform::Android),
            ),
            (
                "Mozilla/5.0 (Android 15; Mobile; rv:132.0) Gecko/132.0 Firefox/132.0",
                Some(Platform::Android),
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                Some(Platform::Firefox),
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                Some(Platform::Windows),
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
                Some(Platform::MacOs),
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                Some(Platform::Linux),
            ),
            ("curl/8.11.0", None),
        ];
        for (agent, platform) in cases {
            assert_eq!(Platform::detect(agent), platform, "{agent}");
        }
    }

    #[test]
    fn the_query_overrides_the_user_agent_and_unknown_agents_get_every_platform_closed() {
        let ca = CaOffer::for_test();
        let mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Safari/605.1.15";
        let page = render(mac, Some("for=ios"), &ca, "https://192.168.1.20:8443/");
        assert!(
            page.contains(r#"<details id="steps-ios" data-platform="ios" open data-detected>"#),
            "{page}"
        );
        let page = render("curl/8", None, &ca, "/");
        assert!(!page.contains("data-detected"), "{page}");
        assert_eq!(page.matches("<details").count(), Platform::ALL.len());
        let page = render("curl/8", None, &ca, "https://a&b:8443/");
        assert!(
            page.contains("https://a&amp;b:8443/") && !page.contains("a&b"),
            "{page}"
        );
    }
}

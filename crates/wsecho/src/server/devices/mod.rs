//! What a second device (a phone, another machine) needs from this server: the URLs it reaches the server at,
//! a QR code of each (in the start-up banner and on the test page at `/qr/`), the CA as an Apple configuration
//! profile (`/ca.mobileconfig`) and a `/trust` page with the visitor's platform's steps. Built once at start-up
//! from the bound listeners and the CA.

mod ca_offer;
mod lan;
mod mobileconfig;
mod qr;
mod trust_page;

use std::net::{IpAddr, SocketAddr};

use hyper::HeaderMap;
use hyper::StatusCode;
use hyper::header::{self, HeaderValue};

pub use lan::{lan_addresses, reachable_ipv4};

use super::bound_listener::BoundListener;
use super::response::{Body, text, with_type};
use ca_offer::CaOffer;

/// Smallest side of the test page's QR codes, in CSS pixels: big enough for a phone camera a metre away.
const QR_PIXELS: u32 = 240;

/// Where another device opens this server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceUrls {
    /// The page to start from: `/trust` on a plain listener (the device does not trust the CA yet), or the test
    /// page when no CA is offered.
    pub(crate) start: String,
    /// The self-check page, on TLS when a TLS listener is reachable.
    pub(crate) page: String,
}

/// Everything `/trust`, `/ca.mobileconfig` and `/qr/` serve.
pub(crate) struct Devices {
    urls: Option<DeviceUrls>,
    ca: Option<CaOffer>,
    /// The first TLS listener's port: the trust page links to the self-check on the host the visitor used.
    tls_port: Option<u16>,
}

impl Devices {
    /// For the bound `listeners`, reached at `host` when given (else at a non-loopback address they bind, or at
    /// the first LAN address for wildcard binds), offering the CA `ca_der`.
    pub(crate) fn new(listeners: &[BoundListener], host: Option<IpAddr>, ca_der: Option<&[u8]>) -> Devices {
        let host = host.or_else(|| default_host(listeners));
        let ca = ca_der.map(CaOffer::new);
        Devices {
            urls: host.and_then(|host| device_urls(listeners, host, ca.is_some())),
            tls_port: listeners.iter().find(|l| l.tls).map(|l| l.local_addr.port()),
            ca,
        }
    }

    /// The offered CA's SHA-256 fingerprint, which the trust page asks to compare with the terminal's.
    pub(crate) fn ca_fingerprint(&self) -> Option<&str> {
        self.ca.as_ref().map(|ca| ca.sha256.as_str())
    }

    /// The banner's lines for other devices, QR code included; `None` when the server listens on loopback only.
    pub(crate) fn banner(&self) -> Option<String> {
        let urls = self.urls.as_ref()?;
        let what = if self.ca.is_some() {
            "trust the CA"
        } else {
            "open the test page"
        };
        let mut out = format!("other devices: scan to {what}, or open {}\n", urls.start);
        out.push_str(&qr::terminal(&urls.start).unwrap_or_default());
        if urls.page != urls.start {
            out.push_str(&format!("other devices, then: {}\n", urls.page));
        }
        Some(out)
    }

    /// The response for the paths this module serves, `None` for any other path.
    pub(crate) fn respond(
        &self,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
    ) -> Option<hyper::Response<Body>> {
        let response = match path {
            "/trust" => match &self.ca {
                Some(ca) => {
                    let agent = headers
                        .get(header::USER_AGENT)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    let page = trust_page::render(agent, query, ca, &self.self_check(headers));
                    with_type(StatusCode::OK, "text/html; charset=utf-8", page)
                }
                None => no_ca(),
            },
            "/ca.mobileconfig" => match &self.ca {
                Some(ca) => {
                    let mut response =
                        with_type(StatusCode::OK, mobileconfig::CONTENT_TYPE, ca.profile.clone());
                    response.headers_mut().insert(
                        header::CONTENT_DISPOSITION,
                        HeaderValue::from_static("attachment; filename=\"localtls-ca.mobileconfig\""),
                    );
                    response
                }
                None => no_ca(),
            },
            "/qr/urls.json" => match &self.urls {
                Some(urls) => {
                    let json = serde_json::json!({ "start": urls.start, "page": urls.page });
                    with_type(StatusCode::OK, "application/json", json.to_string())
                }
                None => loopback_only(),
            },
            "/qr/start.svg" | "/qr/page.svg" => match &self.urls {
                Some(urls) => {
                    let url = if path == "/qr/start.svg" {
                        &urls.start
                    } else {
                        &urls.page
                    };
                    match qr::svg(url, QR_PIXELS) {
                        Some(svg) => with_type(StatusCode::OK, "image/svg+xml", svg),
                        None => text(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            &format!("{url} is too long for a QR code\n"),
                        ),
                    }
                }
                None => loopback_only(),
            },
            _ => return None,
        };
        Some(response)
    }

    /// The self-check page on the host the visitor reached this server at (a name or address it can reach).
    fn self_check(&self, headers: &HeaderMap) -> String {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .and_then(|authority| authority.parse::<hyper::http::uri::Authority>().ok());
        match (host, self.tls_port) {
            (Some(authority), Some(port)) => {
                let host = authority.host();
                format!("https://{host}:{port}/")
            }
            _ => "/".to_owned(),
        }
    }
}

fn no_ca() -> hyper::Response<Body> {
    text(
        StatusCode::NOT_FOUND,
        "no CA certificate configured: start the server with --ca certs/ca.cer (or ca.pem) to offer it here\n",
    )
}

fn loopback_only() -> hyper::Response<Body> {
    text(
        StatusCode::NOT_FOUND,
        "this server listens on loopback only, which other devices cannot reach: listen on a LAN address \
         (wsecho serve --ws 0.0.0.0:8080, or cargo xtask up --lan)\n",
    )
}

/// The address other devices use when none is given: a non-loopback address a listener binds, else this
/// machine's first LAN address when a listener binds every interface.
fn default_host(listeners: &[BoundListener]) -> Option<IpAddr> {
    let ips = || listeners.iter().map(|l| l.local_addr.ip());
    ips()
        .find(|ip| !ip.is_loopback() && !ip.is_unspecified())
        .or_else(|| {
            ips()
                .any(|ip| ip.is_unspecified())
                .then(|| lan_addresses().ok()?.into_iter().next())
                .flatten()
        })
}

/// The URLs at `host`: the start page on the first plain listener that reaches it (else a TLS one), the page on
/// the first TLS listener that reaches it (else a plain one). `None` when no listener reaches `host`.
fn device_urls(listeners: &[BoundListener], host: IpAddr, offers_ca: bool) -> Option<DeviceUrls> {
    let reaching = |tls: bool| {
        listeners
            .iter()
            .find(|l| l.tls == tls && reaches(l.local_addr, host))
            .map(|l| base_url(l.tls, host, l.local_addr.port()))
    };
    let plain_first = reaching(false).or_else(|| reaching(true))?;
    let page = reaching(true).unwrap_or_else(|| plain_first.clone());
    let start = if offers_ca {
        format!("{plain_first}trust")
    } else {
        page.clone()
    };
    Some(DeviceUrls { start, page })
}

/// Rejects a device host that no listener serves: other devices would be sent to an address nobody answers on.
pub(crate) fn check_host(host: Option<IpAddr>, listen: &[SocketAddr]) -> Result<(), crate::Error> {
    match host {
        Some(host) if !listen.iter().any(|addr| reaches(*addr, host)) => Err(crate::Error::Usage(format!(
            "--device-host {host}: no listener serves that address; listen on it or on every interface \
             (e.g. --ws 0.0.0.0:8080)"
        ))),
        _ => Ok(()),
    }
}

/// Whether a listener bound to `bound` accepts connections to `host` (its own address, or any on a wildcard).
fn reaches(bound: SocketAddr, host: IpAddr) -> bool {
    bound.ip() == host || bound.ip().is_unspecified()
}

fn base_url(tls: bool, host: IpAddr, port: u16) -> String {
    let scheme = if tls { "https" } else { "http" };
    match host {
        IpAddr::V4(v4) => format!("{scheme}://{v4}:{port}/"),
        IpAddr::V6(v6) => format!("{scheme}://[{v6}]:{port}/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener(tls: bool, addr: &str) -> BoundListener {
        let local_addr: SocketAddr = addr.parse().unwrap();
        BoundListener {
            tls,
            local_addr,
            url: String::new(),
            page_url: String::new(),
            bad_cert: None,
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_wildcard_server_is_announced_at_the_chosen_lan_address_trust_page_on_plain_http() {
        let listeners = [listener(false, "0.0.0.0:8080"), listener(true, "0.0.0.0:8443")];
        let urls = device_urls(&listeners, ip("192.168.1.20"), true).unwrap();
        assert_eq!(urls.start, "http://192.168.1.20:8080/trust");
        assert_eq!(urls.page, "https://192.168.1.20:8443/");
        let without_ca = device_urls(&listeners, ip("192.168.1.20"), false).unwrap();
        assert_eq!(without_ca.start, "https://192.168.1.20:8443/");
    }

    #[test]
    fn a_device_host_needs_a_listener_that_serves_it() {
        let wildcard: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let loopback: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert!(check_host(Some(ip("192.168.1.20")), &[wildcard]).is_ok());
        assert!(check_host(None, &[loopback]).is_ok());
        let err = check_host(Some(ip("192.168.1.20")), &[loopback]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--device-host 192.168.1.20: no listener serves that address; listen on it or on every interface \
             (e.g. --ws 0.0.0.0:8080)"
        );
    }

    #[test]
    fn loopback_listeners_reach_no_other_device() {
        let listeners = [listener(false, "127.0.0.1:8080"), listener(true, "[::1]:8443")];
        assert_eq!(default_host(&listeners), None);
        assert_eq!(device_urls(&listeners, ip("192.168.1.20"), true), None);
    }

    #[test]
    fn a_listener_on_one_lan_address_is_announced_there_and_loopback_tls_is_not_offered() {
        let listeners = [listener(false, "10.0.0.5:9080"), listener(true, "127.0.0.1:9443")];
        assert_eq!(default_host(&listeners), Some(ip("10.0.0.5")));
        let urls = device_urls(&listeners, ip("10.0.0.5"), true).unwrap();
        assert_eq!(urls.start, "http://10.0.0.5:9080/trust");
        assert_eq!(urls.page, "http://10.0.0.5:9080/");
    }
}

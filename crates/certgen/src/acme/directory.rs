//! Which ACME server to ask: the presets, any URL, and the rules a *public* CA applies to names, checked here
//! before any network traffic so a request that must fail costs nothing and writes nothing.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::error::Error as AcmeError;
use crate::{Error, SubjectName};

/// Let's Encrypt's production directory (rate-limited; try `letsencrypt-staging` first).
pub const LETSENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";
/// Let's Encrypt's staging directory: same rules, untrusted certificates, generous rate limits.
pub const LETSENCRYPT_STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";

/// Hosts of the publicly trusted ACME CAs (production and staging). Their directories get the public-name rules.
const PUBLIC_CA_HOSTS: &[&str] = &[
    "acme-v02.api.letsencrypt.org",
    "acme-staging-v02.api.letsencrypt.org",
    "acme.zerossl.com",
    "dv.acme-v02.api.pki.goog",
    "dv.acme-v02.test-api.pki.goog",
    "api.buypass.com",
    "api.test4.buypass.no",
    "acme.ssl.com",
    "acme.actalis.com",
];

/// Name suffixes reserved for private use or testing (RFC 6761, RFC 6762, ICANN's `.internal`): no public CA
/// can validate them.
const PRIVATE_SUFFIXES: &[&str] = &[
    "localhost",
    "local",
    "test",
    "internal",
    "invalid",
    "example",
    "home.arpa",
    "lan",
];

/// An ACME directory: a preset name or an `https://` URL, its host taken out once when parsed. On disk (the
/// record) it is its URL.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Directory {
    url: String,
    /// `[USER@]HOST[:PORT]`, for the account's file name.
    authority: String,
    /// The authority's host, without brackets around an IPv6 address.
    host: String,
}

impl Directory {
    /// `letsencrypt`, `letsencrypt-staging` or an `http(s)://` URL.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let url = match input {
            "letsencrypt" => LETSENCRYPT,
            "letsencrypt-staging" => LETSENCRYPT_STAGING,
            url if url.starts_with("https://") || url.starts_with("http://") => url,
            other => {
                return Err(AcmeError::BadDirectory {
                    input: other.to_string(),
                }
                .into());
            }
        };
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        let authority = rest.split('/').next().unwrap_or(rest);
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        let host = match host_port.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(v6),
            None => host_port.split(':').next().unwrap_or(host_port),
        };
        Ok(Directory {
            url: url.to_string(),
            authority: authority.to_string(),
            host: host.to_string(),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL's host, e.g. `acme-v02.api.letsencrypt.org` or `127.0.0.1`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `[USER@]HOST[:PORT]`, e.g. `127.0.0.1:14000`.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// A short name for messages and file names: `letsencrypt`, `letsencrypt-staging`, else the host.
    pub fn label(&self) -> String {
        match self.url.as_str() {
            LETSENCRYPT => "letsencrypt".into(),
            LETSENCRYPT_STAGING => "letsencrypt-staging".into(),
            _ => self.host.clone(),
        }
    }

    /// This directory and `wanted` for a message: their labels, or their URLs when the labels are the same (two
    /// servers on one host).
    pub fn names_beside(&self, wanted: &Directory) -> (String, String) {
        if self.label() == wanted.label() {
            (self.url.clone(), wanted.url.clone())
        } else {
            (self.label(), wanted.label())
        }
    }

    /// Is this one of the publicly trusted CAs (which sign only public names)?
    pub fn is_public_ca(&self) -> bool {
        PUBLIC_CA_HOSTS.contains(&self.host.to_ascii_lowercase().as_str())
    }

    /// Refuses, before any request, a name a public CA will not sign; a private ACME server may sign anything.
    pub fn check_names(&self, names: &[SubjectName]) -> Result<(), Error> {
        if !self.is_public_ca() {
            return Ok(());
        }
        for name in names {
            if let Some(why) = not_public(name) {
                return Err(AcmeError::NotPublic {
                    name: name.to_string(),
                    why,
                    ca: self.label(),
                }
                .into());
            }
        }
        Ok(())
    }
}

impl FromStr for Directory {
    type Err = Error;
    fn from_str(input: &str) -> Result<Self, Error> {
        Directory::parse(input)
    }
}

impl TryFrom<String> for Directory {
    type Error = Error;
    fn try_from(url: String) -> Result<Self, Error> {
        Directory::parse(&url)
    }
}

impl From<Directory> for String {
    fn from(directory: Directory) -> String {
        directory.url
    }
}

impl fmt::Display for Directory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// Why no public CA signs `name`, or `None` when one may.
fn not_public(name: &SubjectName) -> Option<&'static str> {
    match name {
        SubjectName::Ip(ip) => not_public_ip(*ip),
        SubjectName::Dns(dns) | SubjectName::Wildcard(dns) => {
            let dns = dns.trim_start_matches("*.");
            if !dns.contains('.') {
                return Some("is a single-label name that only resolves on your own network");
            }
            let reserved = PRIVATE_SUFFIXES
                .iter()
                .any(|suffix| dns == *suffix || dns.ends_with(&format!(".{suffix}")));
            reserved.then_some("is under a suffix reserved for private networks and testing")
        }
        SubjectName::Email(_) | SubjectName::Uri(_) => {
            Some("is not a host name; ACME certificates name DNS names and IP addresses only")
        }
    }
}

fn not_public_ip(ip: IpAddr) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            if v4.is_loopback() {
                Some("is a loopback address, reachable only from this machine")
            } else if v4.is_private() || (a == 100 && (64..128).contains(&b)) {
                Some("is a private address (RFC 1918 / carrier-grade NAT), not reachable from the internet")
            } else if v4.is_link_local() {
                Some("is a link-local address, reachable only on this network segment")
            } else if v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || a >= 240
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b == 18 || b == 19))
            {
                Some("is a reserved address (IANA special-purpose registry)")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("is a loopback address, reachable only from this machine")
            } else if first & 0xfe00 == 0xfc00 {
                Some("is a unique local address (fc00::/7), the IPv6 kind of private address")
            } else if first & 0xffc0 == 0xfe80 {
                Some("is a link-local address, reachable only on this network segment")
            } else if first & 0xe000 != 0x2000 || first == 0x2001 && v6.segments()[1] == 0x0db8 {
                Some("is a reserved address (outside 2000::/3, or documentation)")
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(directory: &str, name: &str) -> bool {
        let names = SubjectName::parse_all([name]).unwrap();
        Directory::parse(directory).unwrap().check_names(&names).is_err()
    }

    #[test]
    fn public_cas_refuse_private_names_and_private_servers_allow_them() {
        for name in [
            "localhost",
            "app.localhost",
            "127.0.0.1",
            "::1",
            "192.168.1.2",
            "10.0.0.1",
            "172.16.5.4",
            "100.64.0.1",
            "169.254.1.1",
            "fe80::1",
            "fd00::1",
            "printer.local",
            "app.test",
            "db.internal",
            "*.app.test",
            "nas",
            "203.0.113.7",
            "2001:db8::1",
            "0.1.2.3",
        ] {
            assert!(refused("letsencrypt", name), "letsencrypt should refuse {name}");
            assert!(
                refused("https://acme.zerossl.com/v2/DV90", name),
                "zerossl should refuse {name}"
            );
            assert!(
                !refused("https://127.0.0.1:14000/dir", name),
                "a private CA may sign {name}"
            );
        }
        for name in [
            "example.com",
            "*.example.com",
            "8.8.8.8",
            "2606:4700::1111",
            "1.1.1.1",
        ] {
            assert!(
                !refused("letsencrypt-staging", name),
                "letsencrypt should accept {name}"
            );
        }
    }

    #[test]
    fn hosts_and_labels() {
        let d = Directory::parse("https://[::1]:14000/dir").unwrap();
        assert_eq!(d.host(), "::1");
        assert_eq!(d.authority(), "[::1]:14000");
        assert_eq!(
            Directory::parse("https://127.0.0.1:14000/dir").unwrap().label(),
            "127.0.0.1"
        );
        assert_eq!(Directory::parse("letsencrypt").unwrap().label(), "letsencrypt");
        assert!(Directory::parse("letsencrypt").unwrap().is_public_ca());
        assert!(matches!(
            Directory::parse("lets-encrypt"),
            Err(Error::Acme(AcmeError::BadDirectory { .. }))
        ));
    }
}

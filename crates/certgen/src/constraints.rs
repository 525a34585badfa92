//! A CA's name constraints: the `--permit` subtrees, reading them back from a certificate, and the check made
//! before issuing, which says which `--permit` a refused name needs.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use x509_parser::extensions::GeneralName;

use crate::Error;
use crate::error::InputError;
use crate::names::{SubjectName, dns_name};

/// One permitted subtree of a CA's name constraints: a DNS name (`example.test` matches it and its subdomains,
/// `.example.test` only its subdomains) or an IP network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permit {
    Dns(String),
    Ip(IpNet),
}

impl Permit {
    /// Parses a `--permit` value: `NAME`, `.NAME`, `IP` (a single host) or `IP/PREFIX` (the network address).
    pub fn parse(input: &str) -> Result<Self, Error> {
        let bad = |reason: String| {
            Error::Input(InputError::InvalidPermit {
                input: input.to_string(),
                reason,
            })
        };
        if input.contains('/') {
            let net: IpNet = input
                .parse()
                .map_err(|_| bad("not a CIDR block such as 192.168.1.0/24 or fd00::/8".into()))?;
            if net.addr() != net.network() {
                return Err(bad(format!("host bits are set; did you mean {}?", net.trunc())));
            }
            return Ok(Permit::Ip(net));
        }
        if let Ok(ip) = input
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            return Ok(Permit::Ip(IpNet::from(ip)));
        }
        if let Some(base) = input.strip_prefix("*.") {
            return Err(bad(format!(
                "write `.{base}` (every subdomain of {base}) instead of a wildcard"
            )));
        }
        let (dot, name) = match input.strip_prefix('.') {
            Some(rest) => (".", rest),
            None => ("", input),
        };
        if name.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Err(bad("not a valid IPv4 address or CIDR block".into()));
        }
        dns_name(name)
            .map(|n| Permit::Dns(format!("{dot}{n}")))
            .map_err(bad)
    }

    /// The built-in subtrees of a constrained CA: loopback names and addresses only. `localhost` already covers
    /// every name under it (RFC 5280 4.2.1.10), so no `.localhost` subtree is needed; CAs made before still list one
    /// and keep working.
    pub fn defaults() -> Vec<Permit> {
        let loopback = |s: &str| s.parse().map(Permit::Ip).ok();
        [Some(Permit::Dns("localhost".into()))]
            .into_iter()
            .chain([loopback("127.0.0.0/8"), loopback("::1/128")])
            .flatten()
            .collect()
    }

    /// The subtrees a CA writes for the defaults plus `extra`: duplicates and subtrees inside another one
    /// (`.localhost` and `a.localhost` inside `localhost`, `10.1.0.0/16` inside `10.0.0.0/8`) are left out, which
    /// changes no name's outcome. A `.NAME` the user asked for without `NAME` stays: it means "subdomains only".
    pub fn with_defaults(extra: Vec<Permit>) -> Vec<Permit> {
        let mut all: Vec<Permit> = Vec::new();
        for permit in Permit::defaults().into_iter().chain(extra) {
            if !all.contains(&permit) {
                all.push(permit);
            }
        }
        all.iter()
            .filter(|p| !all.iter().any(|other| other != *p && other.contains(p)))
            .cloned()
            .collect()
    }

    /// Does this subtree match every name `other` matches?
    fn contains(&self, other: &Permit) -> bool {
        match (self, other) {
            (Permit::Ip(outer), Permit::Ip(inner)) => outer.contains(inner),
            (Permit::Dns(outer), Permit::Dns(inner)) => match inner.strip_prefix('.') {
                Some(base) => outer.trim_start_matches('.') == base || dns_within(base, outer),
                None => dns_within(inner, outer),
            },
            _ => false,
        }
    }

    pub fn to_subtree(&self) -> rcgen::GeneralSubtree {
        match self {
            Permit::Dns(name) => rcgen::GeneralSubtree::DnsName(name.clone()),
            Permit::Ip(net) => rcgen::GeneralSubtree::IpAddress(rcgen::CidrSubnet::from_addr_prefix(
                net.network(),
                net.prefix_len(),
            )),
        }
    }

    /// Does this subtree cover `name`? Names of another type are not covered. DNS follows RFC 5280 and OpenSSL: the
    /// name equals the base or ends with `.` + base; a base starting with `.` matches subdomains only.
    fn covers(&self, name: &SubjectName) -> bool {
        match (self, name) {
            (Permit::Dns(base), SubjectName::Dns(n) | SubjectName::Wildcard(n)) => dns_within(n, base),
            (Permit::Ip(net), SubjectName::Ip(ip)) => net.contains(ip),
            _ => false,
        }
    }

    fn same_type(&self, name: &SubjectName) -> bool {
        matches!(
            (self, name),
            (Permit::Dns(_), SubjectName::Dns(_) | SubjectName::Wildcard(_))
                | (Permit::Ip(_), SubjectName::Ip(_))
        )
    }
}

fn dns_within(name: &str, base: &str) -> bool {
    if base.is_empty() {
        return true;
    }
    if base.starts_with('.') {
        return name.len() > base.len() && name.ends_with(base);
    }
    name == base || name.strip_suffix(base).is_some_and(|head| head.ends_with('.'))
}

impl fmt::Display for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Permit::Dns(name) => f.write_str(name),
            Permit::Ip(net) => write!(f, "{net}"),
        }
    }
}

/// A CA's name constraints as the pre-issue check needs them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Constraints {
    pub permitted: Vec<Permit>,
    pub excluded: Vec<Permit>,
}

impl Constraints {
    /// Reads the nameConstraints extension of a CA certificate; `None` when the CA is unconstrained.
    pub fn from_certificate(
        cert: &x509_parser::certificate::X509Certificate<'_>,
    ) -> Result<Option<Self>, String> {
        let Some(ext) = cert
            .name_constraints()
            .map_err(|e| format!("unreadable name constraints: {e}"))?
        else {
            return Ok(None);
        };
        let subtrees =
            |list: &Option<Vec<x509_parser::extensions::GeneralSubtree<'_>>>| -> Result<Vec<_>, String> {
                list.iter()
                    .flatten()
                    .map(|subtree| permit_from_general_name(&subtree.base))
                    .collect()
            };
        Ok(Some(Constraints {
            permitted: subtrees(&ext.value.permitted_subtrees)?,
            excluded: subtrees(&ext.value.excluded_subtrees)?,
        }))
    }

    /// Would a verifier accept `name` under these constraints? A name type without any permitted subtree is
    /// unconstrained (RFC 5280), which is why a constrained CA always lists both DNS and IP subtrees.
    pub fn allows(&self, name: &SubjectName) -> bool {
        let typed: Vec<&Permit> = self.permitted.iter().filter(|p| p.same_type(name)).collect();
        let permitted = typed.is_empty() || typed.iter().any(|p| p.covers(name));
        permitted && !self.excluded.iter().any(|p| p.covers(name))
    }

    /// `None` when `name` is inside the constraints; otherwise what is wrong, with the `--permit` the CA would need.
    pub fn check(&self, name: &SubjectName) -> Option<Violation> {
        if self.allows(name) {
            return None;
        }
        let hint = match name {
            SubjectName::Dns(n) => format!("--permit {n}"),
            SubjectName::Wildcard(n) => format!("--permit {}", n.trim_start_matches("*.")),
            SubjectName::Ip(ip @ IpAddr::V4(_)) => {
                format!(
                    "--permit {}",
                    IpNet::new(*ip, 24)
                        .map(|n| n.trunc().to_string())
                        .unwrap_or(ip.to_string())
                )
            }
            SubjectName::Ip(ip) => {
                format!(
                    "--permit {}",
                    IpNet::new(*ip, 64)
                        .map(|n| n.trunc().to_string())
                        .unwrap_or(ip.to_string())
                )
            }
            SubjectName::Email(_) | SubjectName::Uri(_) => "--unconstrained".to_string(),
        };
        let permitted = self
            .permitted
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        Some(Violation {
            name: name.to_string(),
            permitted,
            hint,
        })
    }
}

/// A name a CA's name constraints do not cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub name: String,
    /// The permitted subtrees, comma-separated.
    pub permitted: String,
    /// The `--permit ...` (or `--unconstrained`) the CA would need.
    pub hint: String,
}

impl From<Violation> for Error {
    fn from(violation: Violation) -> Self {
        Error::Input(InputError::OutsideConstraints {
            name: violation.name,
            permitted: violation.permitted,
            hint: violation.hint,
        })
    }
}

fn permit_from_general_name(name: &GeneralName<'_>) -> Result<Permit, String> {
    match name {
        GeneralName::DNSName(s) => Ok(Permit::Dns(s.to_ascii_lowercase())),
        GeneralName::IPAddress(bytes) => {
            let net = match bytes.len() {
                8 => {
                    let (addr, mask) = bytes.split_at(4);
                    ipnet::Ipv4Net::with_netmask(
                        <[u8; 4]>::try_from(addr).unwrap_or_default().into(),
                        <[u8; 4]>::try_from(mask).unwrap_or_default().into(),
                    )
                    .map(IpNet::V4)
                    .ok()
                }
                32 => {
                    let (addr, mask) = bytes.split_at(16);
                    ipnet::Ipv6Net::with_netmask(
                        <[u8; 16]>::try_from(addr).unwrap_or_default().into(),
                        <[u8; 16]>::try_from(mask).unwrap_or_default().into(),
                    )
                    .map(IpNet::V6)
                    .ok()
                }
                _ => None,
            };
            net.map(Permit::Ip)
                .ok_or_else(|| "malformed IP name constraint".to_string())
        }
        other => Err(format!("unsupported name constraint {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_parse_and_reject() {
        let good: &[(&str, &str)] = &[
            (".test", ".test"),
            ("Example.TEST", "example.test"),
            ("192.168.1.0/24", "192.168.1.0/24"),
            ("10.0.0.7", "10.0.0.7/32"),
            ("fd00::/8", "fd00::/8"),
            ("[::1]", "::1/128"),
        ];
        for (input, shown) in good {
            assert_eq!(
                Permit::parse(input).map(|p| p.to_string()).ok().as_deref(),
                Some(*shown),
                "{input}"
            );
        }
        for (input, needle) in [
            ("192.168.1.5/24", "192.168.1.0/24"),
            ("*.test", ".test"),
            ("300.1.1.1", "IPv4"),
            ("a_b", "_"),
        ] {
            let err = Permit::parse(input).expect_err(input).to_string();
            assert!(err.contains(input) && err.contains(needle), "{err}");
        }
    }

    #[test]
    fn constraint_matching_follows_rfc5280_and_openssl() {
        let default = Constraints {
            permitted: Permit::defaults(),
            excluded: vec![],
        };
        let name = |s: &str| SubjectName::parse(s).unwrap_or_else(|e| panic!("{e}"));
        for ok in [
            "localhost",
            "a.localhost",
            "b.a.localhost",
            "127.0.0.1",
            "127.255.0.9",
            "::1",
            "alice@example.test",
        ] {
            assert!(default.allows(&name(ok)), "{ok} should be allowed");
        }
        for refused in [
            "example.test",
            "evillocalhost",
            "localhost.evil",
            "128.0.0.1",
            "::2",
            "*.app.test",
        ] {
            assert!(!default.allows(&name(refused)), "{refused} should be refused");
        }
        let parse = |s: &str| Permit::parse(s).unwrap_or_else(|e| panic!("{e}"));
        let subdomains_only = Constraints {
            permitted: vec![parse(".app.test")],
            excluded: vec![],
        };
        assert!(subdomains_only.allows(&name("x.app.test")));
        assert!(subdomains_only.allows(&name("*.app.test")));
        assert!(!subdomains_only.allows(&name("app.test")));
        assert!(
            subdomains_only.allows(&name("10.1.2.3")),
            "no IP subtree means IPs are unconstrained"
        );
        let with_exclusion = Constraints {
            permitted: vec![parse("test")],
            excluded: vec![parse("bad.test")],
        };
        assert!(with_exclusion.allows(&name("good.test")));
        assert!(!with_exclusion.allows(&name("x.bad.test")));
    }

    #[test]
    fn subtrees_inside_others_are_left_out_without_changing_any_outcome() {
        let parse = |s: &str| Permit::parse(s).unwrap_or_else(|e| panic!("{e}"));
        let shown = |permits: Vec<Permit>| permits.iter().map(ToString::to_string).collect::<Vec<_>>();
        let extra = [
            ".localhost",
            "a.localhost",
            ".test",
            "app.test",
            "app.test",
            "10.1.0.0/16",
            "10.0.0.0/8",
        ];
        let written = Permit::with_defaults(extra.iter().map(|s| parse(s)).collect());
        assert_eq!(
            shown(written.clone()),
            ["localhost", "127.0.0.0/8", "::1/128", ".test", "10.0.0.0/8"]
        );
        // Every name is judged the same by the written subtrees as by all of them, and as by a CA made before,
        // whose defaults listed `.localhost` too.
        let all = Constraints {
            permitted: Permit::defaults()
                .into_iter()
                .chain(extra.iter().map(|s| parse(s)))
                .collect(),
            excluded: vec![],
        };
        let legacy = Constraints {
            permitted: vec![parse("localhost"), parse(".localhost"), parse("127.0.0.0/8")],
            excluded: vec![],
        };
        let default = Constraints {
            permitted: Permit::defaults(),
            excluded: vec![],
        };
        let written = Constraints {
            permitted: written,
            excluded: vec![],
        };
        for input in [
            "localhost",
            "a.localhost",
            "b.a.localhost",
            "test",
            "x.test",
            "app.test",
            "evillocalhost",
            "10.1.2.3",
            "10.200.0.1",
            "11.0.0.1",
            "127.0.0.1",
        ] {
            let name = SubjectName::parse(input).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(written.allows(&name), all.allows(&name), "{input}");
            if !input.starts_with("10.") && !input.starts_with("11.") {
                assert_eq!(default.allows(&name), legacy.allows(&name), "{input}");
            }
        }
    }

    #[test]
    fn refusal_names_the_permit_needed() {
        let default = Constraints {
            permitted: Permit::defaults(),
            excluded: vec![],
        };
        for (input, hint) in [
            ("myhost.lan", "--permit myhost.lan"),
            ("*.app.test", "--permit app.test"),
            ("192.168.1.20", "--permit 192.168.1.0/24"),
            ("fd00::5", "--permit fd00::/64"),
        ] {
            let name = SubjectName::parse(input).unwrap_or_else(|e| panic!("{e}"));
            let err = Error::from(default.check(&name).expect(input)).to_string();
            assert!(err.contains(input) && err.contains(hint), "{err}");
        }
    }
}

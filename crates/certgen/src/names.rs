//! User input -> typed subject alternative names (the CA's name constraints over them are in `constraints.rs`).
//!
//! Classification order: URI (`scheme://...`), email (`user@host`), IPv6 (`::1`, `[::1]`), wildcard (`*.app.test`),
//! IPv4 (anything made of digits and dots), otherwise a DNS name (IDN converted to punycode, lowercased).

use std::fmt;
use std::net::IpAddr;

use x509_parser::extensions::GeneralName;

use crate::Error;
use crate::error::InputError;

/// A validated name in its canonical form (what ends up in the certificate's subjectAltName).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SubjectName {
    /// ASCII DNS name: lowercase, punycode for IDN, no trailing dot.
    Dns(String),
    /// `*.` followed by a DNS name of at least two labels, e.g. `*.app.test`.
    Wildcard(String),
    Ip(IpAddr),
    /// `local@domain`, domain canonicalised like a DNS name.
    Email(String),
    /// `scheme://rest`, ASCII, scheme lowercased.
    Uri(String),
}

impl SubjectName {
    /// Classifies and validates one name; the error names the input and says what is wrong with it.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let bad = |reason: &str| {
            Error::Input(InputError::InvalidName {
                input: input.to_string(),
                reason: reason.to_string(),
            })
        };
        if input.is_empty() {
            return Err(bad("the name is empty"));
        }
        if input.chars().any(char::is_whitespace) {
            return Err(bad("names cannot contain spaces or other whitespace"));
        }
        if input.chars().any(char::is_control) {
            return Err(bad("names cannot contain control characters"));
        }
        if input.contains("://") {
            return parse_uri(input).map(SubjectName::Uri).map_err(|r| bad(&r));
        }
        if input.contains('@') {
            return parse_email(input).map(SubjectName::Email).map_err(|r| bad(&r));
        }
        if let Some(inner) = input.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            return parse_ipv6(inner).map_err(|r| bad(&r));
        }
        let host_port = match input.strip_prefix('[') {
            Some(bracketed) => bracketed.rsplit_once("]:"),
            None => input.rsplit_once(':').filter(|_| input.matches(':').count() == 1),
        };
        if let Some((_, port)) =
            host_port.filter(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad(&format!(
                "certificates name hosts, not ports; drop `:{port}`"
            )));
        }
        if input.contains(':') {
            return parse_ipv6(input).map_err(|r| bad(&r));
        }
        if input.contains('*') {
            return parse_wildcard(input)
                .map(SubjectName::Wildcard)
                .map_err(|r| bad(&r));
        }
        if input.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return input
                .parse::<std::net::Ipv4Addr>()
                .map(|ip| SubjectName::Ip(ip.into()))
                .map_err(|_| {
                    bad("not a valid IPv4 address (four numbers 0-255 separated by dots, no leading zeros)")
                });
        }
        dns_name(input).map(SubjectName::Dns).map_err(|r| bad(&r))
    }

    /// Parses every input in order; the first bad one is the error.
    pub fn parse_all<S: AsRef<str>>(inputs: impl IntoIterator<Item = S>) -> Result<Vec<Self>, Error> {
        inputs
            .into_iter()
            .map(|input| Self::parse(input.as_ref()))
            .collect()
    }

    /// Converts a subjectAltName entry read from a certificate or CSR back into a validated name.
    pub fn from_general_name(name: &GeneralName<'_>) -> Result<Self, Error> {
        match name {
            GeneralName::DNSName(s) | GeneralName::RFC822Name(s) | GeneralName::URI(s) => Self::parse(s),
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => Ok(SubjectName::Ip(IpAddr::from(
                    <[u8; 4]>::try_from(*bytes).unwrap_or_default(),
                ))),
                16 => Ok(SubjectName::Ip(IpAddr::from(
                    <[u8; 16]>::try_from(*bytes).unwrap_or_default(),
                ))),
                bytes => Err(Error::Input(InputError::BadIpEntry { bytes })),
            },
            other => Err(Error::Input(InputError::UnsupportedName {
                entry: other.to_string(),
            })),
        }
    }

    /// The name as a subjectAltName entry for rcgen.
    pub fn to_san(&self) -> Result<rcgen::SanType, Error> {
        let ia5 = |s: &str| {
            rcgen::string::Ia5String::try_from(s).map_err(|e| Error::crypto("encoding a subjectAltName", e))
        };
        Ok(match self {
            SubjectName::Dns(s) | SubjectName::Wildcard(s) => rcgen::SanType::DnsName(ia5(s)?),
            SubjectName::Ip(ip) => rcgen::SanType::IpAddress(*ip),
            SubjectName::Email(s) => rcgen::SanType::Rfc822Name(ia5(s)?),
            SubjectName::Uri(s) => rcgen::SanType::URI(ia5(s)?),
        })
    }

    /// A file-name friendly form, used as the default output stem (`*.app.test` -> `_wildcard.app.test`).
    pub fn file_stem(&self) -> String {
        let text = match self {
            SubjectName::Wildcard(s) => s.replacen('*', "_wildcard", 1),
            other => other.to_string(),
        };
        text.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }
}

impl fmt::Display for SubjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubjectName::Dns(s) | SubjectName::Wildcard(s) | SubjectName::Email(s) | SubjectName::Uri(s) => {
                f.write_str(s)
            }
            SubjectName::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// Longest DNS name in presentation form without the trailing dot (RFC 1035: 255 octets on the wire).
const MAX_DNS_NAME: usize = 253;
const MAX_DNS_LABEL: usize = 63;

/// Validates a DNS name and returns its canonical ASCII form; the error is the reason only.
pub(crate) fn dns_name(input: &str) -> Result<String, String> {
    let trimmed = input.strip_suffix('.').unwrap_or(input);
    let ascii = if trimmed.is_ascii() && !trimmed.to_ascii_lowercase().contains("xn--") {
        trimmed.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii_strict(trimmed).map_err(|_| {
            "not a valid internationalised domain name (IDNA/punycode conversion failed)".to_string()
        })?
    };
    if ascii.is_empty() {
        return Err("the name is empty".into());
    }
    if ascii.len() > MAX_DNS_NAME {
        return Err(format!(
            "the name is {} characters long; DNS names are at most {MAX_DNS_NAME}",
            ascii.len()
        ));
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    for label in &labels {
        if label.is_empty() {
            return Err("empty label (a leading dot or two dots in a row)".into());
        }
        if label.len() > MAX_DNS_LABEL {
            return Err(format!(
                "label `{label}` is {} characters long; DNS labels are at most {MAX_DNS_LABEL}",
                label.len()
            ));
        }
        if let Some(c) = label.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
            return Err(if c == '_' {
                format!("label `{label}` contains `_`; browsers reject underscores in certificate names")
            } else {
                format!("`{c}` is not allowed in DNS names (letters, digits and hyphens only)")
            });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label `{label}` starts or ends with a hyphen"));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(
            "the last label is numeric, which no DNS name has; if this is an IP address it is malformed"
                .into(),
        );
    }
    Ok(ascii)
}

fn parse_wildcard(input: &str) -> Result<String, String> {
    if input == "*" || input == "*." {
        return Err("a bare `*` matches nothing; write a wildcard such as `*.app.test`".into());
    }
    let base = input
        .strip_prefix("*.")
        .filter(|rest| !rest.contains('*'))
        .ok_or("`*` is allowed only as the whole leftmost label, as in `*.app.test`")?;
    let base = dns_name(base)?;
    if !base.contains('.') {
        return Err(format!(
            "a wildcard directly under a top-level name (`*.{base}`) is rejected by browsers; use a deeper base such \
             as `*.app.{base}`"
        ));
    }
    Ok(format!("*.{base}"))
}

fn parse_ipv6(input: &str) -> Result<SubjectName, String> {
    if input.contains('%') {
        return Err("IPv6 zone ids (`%eth0`) cannot appear in certificates; drop the `%...` part".into());
    }
    input
        .parse::<std::net::Ipv6Addr>()
        .map(|ip| SubjectName::Ip(ip.into()))
        .map_err(|_| "not a valid IPv6 address".into())
}

/// Characters RFC 5322 allows unquoted in the local part of an address (plus `.` between atoms).
fn is_local_part_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c)
}

fn parse_email(input: &str) -> Result<String, String> {
    let (local, domain) = input.rsplit_once('@').ok_or("missing `@`")?;
    if local.is_empty() {
        return Err("the part before `@` is empty".into());
    }
    if local.contains('@') {
        return Err("an email address has exactly one `@`".into());
    }
    if let Some(c) = local.chars().find(|c| !is_local_part_char(*c)) {
        return Err(format!(
            "`{c}` is not allowed before the `@` of an email address in a certificate"
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("dots before the `@` must separate non-empty parts".into());
    }
    if local.len() > 64 {
        return Err("the part before `@` is longer than 64 characters".into());
    }
    let domain = dns_name(domain).map_err(|r| format!("bad domain after `@`: {r}"))?;
    Ok(format!("{local}@{domain}"))
}

fn parse_uri(input: &str) -> Result<String, String> {
    if !input.is_ascii() {
        return Err("URIs in certificates must be ASCII; percent-encode other characters".into());
    }
    let (scheme, rest) = input.split_once("://").ok_or("missing `://`")?;
    let mut chars = scheme.chars();
    let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return Err(
            "the scheme before `://` must start with a letter and use letters, digits, `+`, `-` or `.`"
                .into(),
        );
    }
    if rest.is_empty() {
        return Err("nothing follows `://`".into());
    }
    Ok(format!("{}://{rest}", scheme.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_good_names() {
        let table: &[(&str, &str, &str)] = &[
            ("localhost", "dns", "localhost"),
            ("LocalHost.", "dns", "localhost"),
            ("my-host.lan", "dns", "my-host.lan"),
            ("münchen.test", "dns", "xn--mnchen-3ya.test"),
            ("xn--mnchen-3ya.test", "dns", "xn--mnchen-3ya.test"),
            ("bücher.例え.test", "dns", "xn--bcher-kva.xn--r8jz45g.test"),
            ("*.app.test", "wildcard", "*.app.test"),
            ("*.Bücher.test", "wildcard", "*.xn--bcher-kva.test"),
            ("127.0.0.1", "ip", "127.0.0.1"),
            ("192.168.1.20", "ip", "192.168.1.20"),
            ("::1", "ip", "::1"),
            ("[::1]", "ip", "::1"),
            ("2001:DB8:0:0::1", "ip", "2001:db8::1"),
            ("::ffff:10.0.0.1", "ip", "::ffff:10.0.0.1"),
            ("alice@Example.TEST", "email", "alice@example.test"),
            ("a.b+tag@例え.test", "email", "a.b+tag@xn--r8jz45g.test"),
            (
                "HTTPS://example.test/path?q=1",
                "uri",
                "https://example.test/path?q=1",
            ),
            (
                "spiffe://cluster.local/ns/x",
                "uri",
                "spiffe://cluster.local/ns/x",
            ),
            ("a", "dns", "a"),
            (&"a".repeat(63), "dns", &"a".repeat(63)),
        ];
        for (input, kind, canonical) in table {
            let name = SubjectName::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            let got_kind = match name {
                SubjectName::Dns(_) => "dns",
                SubjectName::Wildcard(_) => "wildcard",
                SubjectName::Ip(_) => "ip",
                SubjectName::Email(_) => "email",
                SubjectName::Uri(_) => "uri",
            };
            assert_eq!(
                (got_kind, name.to_string().as_str()),
                (*kind, *canonical),
                "input {input}"
            );
            assert_eq!(
                SubjectName::parse(canonical).ok(),
                Some(name),
                "canonical form of {input} re-parses"
            );
        }
    }

    #[test]
    fn rejects_bad_names_with_a_reason() {
        let long_label = format!("{}.test", "a".repeat(64));
        let long_name = ["a".repeat(60).as_str(); 5].join(".");
        let table: &[(&str, &str)] = &[
            ("", "empty"),
            ("my host", "whitespace"),
            ("tab\there", "whitespace"),
            ("bell\u{7}", "control"),
            ("999.1.1.1", "IPv4"),
            ("1.2.3", "IPv4"),
            ("01.2.3.4", "IPv4"),
            ("1.2.3.4.5", "IPv4"),
            ("::g", "IPv6"),
            ("localhost:8443", "drop `:8443`"),
            ("127.0.0.1:80", "drop `:80`"),
            ("[::1]:8443", "drop `:8443`"),
            ("[::1", "IPv6"),
            ("fe80::1%eth0", "zone"),
            ("*", "bare"),
            ("*.", "bare"),
            ("*.test", "top-level"),
            ("*.*.test", "leftmost"),
            ("a.*.test", "leftmost"),
            ("f*o.test", "leftmost"),
            ("a..b", "empty label"),
            (".a.b", "empty label"),
            ("-a.test", "hyphen"),
            ("a-.test", "hyphen"),
            ("under_score.test", "underscore"),
            ("bad!.test", "not allowed"),
            (&long_label, "at most 63"),
            (&long_name, "at most 253"),
            ("host.123", "numeric"),
            ("@example.test", "before `@` is empty"),
            ("a@b@c.test", "exactly one"),
            ("a..b@c.test", "dots"),
            ("a(b)@c.test", "not allowed"),
            ("alice@", "bad domain"),
            ("://x", "scheme"),
            ("1http://x", "scheme"),
            ("https://", "nothing follows"),
            ("https://ü.test", "ASCII"),
            ("xn--zz.test", "internationalised"),
        ];
        for (input, needle) in table {
            let err = SubjectName::parse(input).expect_err(input).to_string();
            assert!(
                err.contains(&format!("`{input}`")),
                "{input}: error must name the input: {err}"
            );
            assert!(err.contains(needle), "{input}: expected `{needle}` in: {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }
}

//! The certification path `doctor` builds from a server's leaf to a trust anchor, link by link with x509-parser's
//! signature checks, so a broken chain can still be explained (which link is missing, which key did not sign).

use rustls_pki_types::CertificateDer;
use x509_parser::certificate::X509Certificate;

use super::anchors::{Known, Origin};

/// The certificates from the leaf up, each with where it came from; the trust anchor is kept apart.
pub(super) type ChainPath<'c> = Vec<(&'c X509Certificate<'c>, Origin)>;

/// Longest chain followed (leaf, intermediates, root); real ones have three or four.
const MAX_PATH: usize = 8;

/// The path from `leaf` up: each issuer found among the `sent` certificates, then among the certs folder's `local`
/// CAs, until one of the `anchors` signed it (the anchor, returned apart) or no issuer is found. Each side pairs
/// the parsed certificates with what is known of them.
pub(super) fn build_path<'c>(
    leaf: &'c X509Certificate<'c>,
    sent: &'c [Option<X509Certificate<'c>>],
    (anchors_parsed, anchors): (&'c [Option<X509Certificate<'c>>], &'c [Known]),
    (local_parsed, local_cas): (&'c [Option<X509Certificate<'c>>], &'c [Known]),
) -> (ChainPath<'c>, Option<(&'c X509Certificate<'c>, &'c Origin)>) {
    let mut path: ChainPath<'c> = vec![(leaf, Origin::Sent)];
    let mut anchor = None;
    while path.len() < MAX_PATH {
        let current = path
            .last()
            .map(|(c, _)| *c)
            .expect("the path starts with the leaf");
        let trusted = anchors_parsed.iter().zip(anchors).find_map(|(parsed, known)| {
            let parsed = parsed.as_ref()?;
            (parsed.as_ref() == current.as_ref() || issued_by(current, parsed))
                .then_some((parsed, &known.origin))
        });
        if let Some(found) = trusted {
            anchor = Some(found);
            break;
        }
        let next_sent = sent
            .iter()
            .flatten()
            .find(|c| !path.iter().any(|(p, _)| p.as_ref() == c.as_ref()) && issued_by(current, c));
        let next = next_sent.map(|c| (c, Origin::Sent)).or_else(|| {
            local_parsed.iter().zip(local_cas).find_map(|(parsed, known)| {
                let parsed = parsed.as_ref()?;
                let fresh = !path.iter().any(|(p, _)| p.as_ref() == parsed.as_ref());
                (fresh && issued_by(current, parsed)).then(|| (parsed, known.origin.clone()))
            })
        });
        match next {
            Some(step) => path.push(step),
            None => break,
        }
    }
    (path, anchor)
}

/// The parsed certificate, or `None` for one no client can parse.
pub(super) fn parse<'a>(der: &'a CertificateDer<'_>) -> Option<X509Certificate<'a>> {
    x509_parser::parse_x509_certificate(der)
        .ok()
        .map(|(_, cert)| cert)
}

/// Whether `parent` signed `child`: the names match and the signature verifies with `parent`'s key.
pub(super) fn issued_by(child: &X509Certificate<'_>, parent: &X509Certificate<'_>) -> bool {
    child.issuer().as_raw() == parent.subject().as_raw()
        && child.verify_signature(Some(parent.public_key())).is_ok()
}

pub(super) fn is_self_signed(cert: &X509Certificate<'_>) -> bool {
    issued_by(cert, cert)
}

/// The intermediate CAs on the path that the server did not send (found in the certs folder), with their files.
pub(super) fn missing_intermediates(path: &[(&X509Certificate<'_>, Origin)]) -> Vec<String> {
    path.iter()
        .filter_map(|(cert, origin)| match origin {
            Origin::Local(file) if !is_self_signed(cert) => {
                Some(format!("{} (in {})", cert.subject(), file.display()))
            }
            _ => None,
        })
        .collect()
}

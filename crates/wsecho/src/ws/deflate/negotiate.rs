//! Choosing permessage-deflate parameters from a client's `Sec-WebSocket-Extensions` offers (RFC 7692 section 7.1):
//! the first offer the server can accept wins; an offer with an unknown, repeated or badly valued parameter, or
//! one the server cannot honour, is declined and the next one is tried.

use hyper::header::HeaderMap;

use super::settings::{DeflateSettings, WINDOW_BITS};
use crate::ws::extensions::{self, Param};

const EXTENSION: &str = "permessage-deflate";
const LARGEST_WINDOW: u8 = 15;

/// The parameters of one connection and the response header that announces them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Agreed {
    /// Window the server compresses with.
    pub(crate) server_window_bits: u8,
    /// Largest window the client may compress with, which the server's inflater needs.
    pub(crate) client_window_bits: u8,
    pub(crate) server_context_takeover: bool,
    pub(crate) client_context_takeover: bool,
    /// The `Sec-WebSocket-Extensions` value of the 101 response.
    pub(crate) response: String,
}

/// What one permessage-deflate offer asks for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Offer {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: offered without a value (the client accepts any limit).
    client_max_window_bits: Option<Option<u8>>,
}

/// The agreement for the first acceptable permessage-deflate offer in `headers`, if any.
pub(crate) fn negotiate(headers: &HeaderMap, settings: &DeflateSettings) -> Option<Agreed> {
    extensions::parse_headers(headers)
        .filter_map(Result::ok)
        .filter(|extension| extension.name.eq_ignore_ascii_case(EXTENSION))
        .filter_map(|extension| parse_offer(&extension.params))
        .find_map(|offer| accept(&offer, settings))
}

/// What `wsecho client --deflate` offers: any window the server picks for either side.
pub(crate) const CLIENT_OFFER: &str = "permessage-deflate; client_max_window_bits";

/// The parameters a server's `Sec-WebSocket-Extensions` answer to [`CLIENT_OFFER`] agrees to, or `None` when it
/// is not a valid answer (one permessage-deflate extension) or asks for a window zlib cannot compress with (8).
pub(crate) fn accepted(response: &str) -> Option<Agreed> {
    let mut answered = extensions::parse(response);
    let answer = answered.next()?.ok()?;
    if answered.next().is_some() || !answer.name.eq_ignore_ascii_case(EXTENSION) {
        return None;
    }
    let answer = parse_offer(&answer.params)?;
    let client_window_bits = match answer.client_max_window_bits {
        None => LARGEST_WINDOW,
        Some(bits) => bits.filter(|bits| WINDOW_BITS.contains(bits))?,
    };
    Some(Agreed {
        server_window_bits: answer.server_max_window_bits.unwrap_or(LARGEST_WINDOW),
        client_window_bits,
        server_context_takeover: !answer.server_no_context_takeover,
        client_context_takeover: !answer.client_no_context_takeover,
        response: response.to_string(),
    })
}

/// The offer's parameters, or `None` when RFC 7692 says to decline it (unknown, repeated or invalid parameter).
fn parse_offer(params: &[Param]) -> Option<Offer> {
    let mut offer = Offer::default();
    let mut seen = Vec::new();
    for param in params {
        let name = param.name.to_ascii_lowercase();
        if seen.contains(&name) {
            return None;
        }
        match (name.as_str(), param.value.as_deref()) {
            ("server_no_context_takeover", None) => offer.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => offer.client_no_context_takeover = true,
            ("server_max_window_bits", Some(bits)) => offer.server_max_window_bits = Some(window_bits(bits)?),
            ("client_max_window_bits", None) => offer.client_max_window_bits = Some(None),
            ("client_max_window_bits", Some(bits)) => {
                offer.client_max_window_bits = Some(Some(window_bits(bits)?))
            }
            _ => return None,
        }
        seen.push(name);
    }
    Some(offer)
}

/// `8` to `15` without leading zeros (RFC 7692 7.1.2.1).
fn window_bits(value: &str) -> Option<u8> {
    if value.starts_with('0') {
        return None;
    }
    value
        .parse()
        .ok()
        .filter(|bits| (8..=LARGEST_WINDOW).contains(bits))
}

/// The server's answer to one offer, or `None` when it cannot honour it (a window of 8: zlib's raw deflate
/// cannot compress with it).
fn accept(offer: &Offer, settings: &DeflateSettings) -> Option<Agreed> {
    let mut response = String::from(EXTENSION);
    let server_window_bits = match offer.server_max_window_bits {
        Some(bits) if !WINDOW_BITS.contains(&bits) => return None,
        Some(bits) => {
            let bits = bits.min(settings.server_max_window_bits);
            response.push_str(&format!("; server_max_window_bits={bits}"));
            bits
        }
        // Without the parameter the client inflates with the largest window, so a smaller one needs no mention.
        None => settings.server_max_window_bits,
    };
    let server_context_takeover = settings.server_context_takeover && !offer.server_no_context_takeover;
    if !server_context_takeover {
        response.push_str("; server_no_context_takeover");
    }
    let client_context_takeover = settings.client_context_takeover && !offer.client_no_context_takeover;
    if !client_context_takeover {
        response.push_str("; client_no_context_takeover");
    }
    let client_window_bits = match offer.client_max_window_bits {
        // The response may only limit a client that offered to be limited.
        None => LARGEST_WINDOW,
        Some(offered) => {
            let offered = offered.unwrap_or(LARGEST_WINDOW);
            let bits = offered.min(settings.client_max_window_bits);
            if bits < offered {
                response.push_str(&format!("; client_max_window_bits={bits}"));
            }
            bits
        }
    };
    Some(Agreed {
        server_window_bits,
        client_window_bits,
        server_context_takeover,
        client_context_takeover,
        response,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::{self, HeaderValue};

    fn offered(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::SEC_WEBSOCKET_EXTENSIONS, HeaderValue::from_static(value));
        }
        headers
    }

    fn response(values: &[&'static str], settings: &DeflateSettings) -> Option<String> {
        negotiate(&offered(values), settings).map(|agreed| agreed.response)
    }

    #[test]
    fn a_browser_offer_gets_no_context_takeover_both_ways_by_default() {
        let agreed = negotiate(
            &offered(&["permessage-deflate; client_max_window_bits"]),
            &DeflateSettings::default(),
        )
        .expect("accepted");
        assert_eq!(
            agreed.response,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        );
        assert_eq!((agreed.server_window_bits, agreed.client_window_bits), (15, 15));
        assert!(!agreed.server_context_takeover && !agreed.client_context_takeover);
    }

    #[test]
    fn window_bits_are_answered_with_the_smaller_of_offer_and_settings() {
        let settings = DeflateSettings {
            server_max_window_bits: 12,
            client_max_window_bits: 10,
            server_context_takeover: true,
            client_context_takeover: true,
            ..DeflateSettings::default()
        };
        let agreed = negotiate(
            &offered(&["permessage-deflate; server_max_window_bits=\"14\"; client_max_window_bits=11"]),
            &settings,
        )
        .expect("accepted");
        assert_eq!(
            agreed.response,
            "permessage-deflate; server_max_window_bits=12; client_max_window_bits=10"
        );
        assert_eq!((agreed.server_window_bits, agreed.client_window_bits), (12, 10));
        assert!(agreed.server_context_takeover && agreed.client_context_takeover);
        // A client that did not offer client_max_window_bits is not limited, and asking for no context takeover
        // is granted.
        assert_eq!(
            response(&["permessage-deflate; server_no_context_takeover"], &settings).as_deref(),
            Some("permessage-deflate; server_no_context_takeover")
        );
    }

    #[test]
    fn a_client_reads_the_servers_answer_back_into_the_same_agreement() {
        let settings = DeflateSettings {
            client_max_window_bits: 10,
            ..DeflateSettings::default()
        };
        let agreed = negotiate(&offered(&[CLIENT_OFFER]), &settings).expect("accepted");
        assert_eq!(accepted(&agreed.response), Some(agreed));
        assert_eq!(accepted("permessage-deflate; client_max_window_bits=8"), None);
        assert_eq!(accepted("permessage-deflate; client_max_window_bits"), None);
        assert_eq!(accepted("x-webkit-deflate-frame"), None);
    }

    #[test]
    fn malformed_or_unsatisfiable_offers_are_declined_and_the_next_one_is_tried() {
        let settings = DeflateSettings::default();
        for bad in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; client_max_window_bits=7",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; x_unknown",
            "permessage-deflate; server_max_window_bits=8",
            "permessage-deflate; client_max_window_bits=\"10",
        ] {
            assert_eq!(response(&[bad], &settings), None, "{bad}");
        }
        assert_eq!(
            response(
                &["x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=9"],
                &settings
            )
            .as_deref(),
            Some(
                "permessage-deflate; server_max_window_bits=9; server_no_context_takeover; client_no_context_takeover"
            )
        );
        assert_eq!(response(&[], &settings), None);
    }

    #[test]
    fn a_quoted_comma_in_another_extension_is_no_offer_of_its_own() {
        assert_eq!(
            response(
                // Split at every comma, the quoted text would be an offer of its own, accepted first.
                &["x-other; note=\"a, permessage-deflate; server_max_window_bits=10, b\", permessage-deflate"],
                &DeflateSettings::default()
            )
            .as_deref(),
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        );
    }
}

//! The one reader of `Sec-WebSocket-Extensions` values (RFC 6455 section 9.1, RFC 7692 section 5):
//!
//! ```text
//! extension-list  = 1#extension
//! extension       = extension-token *( ";" extension-param )
//! extension-param = token [ "=" ( token / quoted-string ) ]
//! ```
//!
//! Commas and semicolons inside a quoted-string are part of the value, not separators, so every caller (the
//! server's negotiation, the client's reading of the answer, the connection facts) splits the same way. A list
//! element that breaks the grammar is reported as [`Malformed`] on its own: the other elements still count,
//! which is what lets the server decline one bad offer and try the next.

use hyper::header::{HeaderMap, SEC_WEBSOCKET_EXTENSIONS};

/// One extension of a list: its name and parameters, as written (names keep their case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Extension {
    pub(crate) name: String,
    pub(crate) params: Vec<Param>,
}

/// One `name` or `name=value` parameter; a quoted value is unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Param {
    pub(crate) name: String,
    pub(crate) value: Option<String>,
}

/// A list element that does not follow the grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed;

/// The elements of every `Sec-WebSocket-Extensions` line in `headers`, as written (trimmed, empty ones skipped),
/// split only at commas outside quoted-strings.
pub(crate) fn listed(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(SEC_WEBSOCKET_EXTENSIONS)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(elements)
}

/// The extensions offered or answered in `headers`, each element parsed on its own, in order.
pub(crate) fn parse_headers(headers: &HeaderMap) -> impl Iterator<Item = Result<Extension, Malformed>> {
    listed(headers).map(parse_element)
}

/// The extensions of one header value, each element parsed on its own, in order.
pub(crate) fn parse(value: &str) -> impl Iterator<Item = Result<Extension, Malformed>> {
    elements(value).map(parse_element)
}

/// The elements of one value: split at commas outside quoted-strings, trimmed, empty ones skipped (RFC 7230
/// section 7 lets a list carry empty elements).
fn elements(value: &str) -> impl Iterator<Item = &str> {
    split_outside_quotes(value, ',')
        .into_iter()
        .map(str::trim)
        .filter(|element| !element.is_empty())
}

/// One element: `name *( ";" param )`.
fn parse_element(element: &str) -> Result<Extension, Malformed> {
    let mut parts = split_outside_quotes(element, ';').into_iter();
    let name = token(parts.next().unwrap_or_default())?;
    let params = parts.map(parse_param).collect::<Result<_, _>>()?;
    Ok(Extension {
        name: name.to_string(),
        params,
    })
}

/// One parameter: `token [ "=" ( token / quoted-string ) ]`, whitespace around each part allowed.
fn parse_param(param: &str) -> Result<Param, Malformed> {
    let (name, value) = match param.split_once('=') {
        Some((name, value)) => (name, Some(value_of(value.trim())?)),
        None => (param, None),
    };
    Ok(Param {
        name: token(name)?.to_string(),
        value,
    })
}

/// A parameter's value: a token as it is, or a quoted-string unescaped, which must then be a token too (RFC 6455
/// section 9.1).
fn value_of(value: &str) -> Result<String, Malformed> {
    let Some(quoted) = value.strip_prefix('"') else {
        return token(value).map(str::to_string);
    };
    let mut unescaped = String::new();
    let mut chars = quoted.chars();
    loop {
        match chars.next().ok_or(Malformed)? {
            '"' => break,
            '\\' => unescaped.push(chars.next().ok_or(Malformed)?),
            c => unescaped.push(c),
        }
    }
    if chars.next().is_some() {
        return Err(Malformed);
    }
    token(&unescaped)?;
    Ok(unescaped)
}

/// `text` trimmed, if it is an RFC 7230 token (one or more visible characters that are not separators).
fn token(text: &str) -> Result<&str, Malformed> {
    let text = text.trim();
    let is_tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if !text.is_empty() && text.chars().all(is_tchar) {
        Ok(text)
    } else {
        Err(Malformed)
    }
}

/// Splits at `separator` where it is not inside a quoted-string (a backslash there escapes the next character).
fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn param(name: &str, value: Option<&str>) -> Param {
        Param {
            name: name.into(),
            value: value.map(Into::into),
        }
    }

    #[test]
    fn names_params_and_values_of_a_list() {
        let parsed: Vec<_> = parse(
            "permessage-deflate; client_max_window_bits ; server_max_window_bits=10,  x-foo;a=\"b\" ,, bar",
        )
        .collect();
        assert_eq!(
            parsed,
            [
                Ok(Extension {
                    name: "permessage-deflate".into(),
                    params: vec![
                        param("client_max_window_bits", None),
                        param("server_max_window_bits", Some("10"))
                    ],
                }),
                Ok(Extension {
                    name: "x-foo".into(),
                    params: vec![param("a", Some("b"))],
                }),
                Ok(Extension {
                    name: "bar".into(),
                    params: vec![],
                }),
            ]
        );
    }

    #[test]
    fn a_quoted_comma_or_semicolon_separates_nothing() {
        let parsed: Vec<_> = parse("x-a; p=\"1,2\", x-b; q=\"3;4\"; r").collect();
        // The quoted values are not tokens after unescaping, so each element is malformed, but still only one.
        assert_eq!(parsed, [Err(Malformed), Err(Malformed)]);
        let mut headers = HeaderMap::new();
        headers.append(
            SEC_WEBSOCKET_EXTENSIONS,
            HeaderValue::from_static("x-a; p=\"1,2\", x-b; q=\"3;4\"; r"),
        );
        headers.append(SEC_WEBSOCKET_EXTENSIONS, HeaderValue::from_static("x-c"));
        assert_eq!(
            listed(&headers).collect::<Vec<_>>(),
            ["x-a; p=\"1,2\"", "x-b; q=\"3;4\"; r", "x-c"]
        );
        assert_eq!(
            parse_headers(&headers).last(),
            Some(Ok(Extension {
                name: "x-c".into(),
                params: vec![]
            }))
        );
    }

    #[test]
    fn quoted_values_are_unescaped() {
        let parsed: Vec<_> = parse("x; a=\"15\"; b=\"1\\2\"").collect();
        assert_eq!(
            parsed,
            [Ok(Extension {
                name: "x".into(),
                params: vec![param("a", Some("15")), param("b", Some("12"))],
            })]
        );
    }

    #[test]
    fn an_element_that_breaks_the_grammar_is_malformed_alone() {
        for bad in [
            "x; a=\"10",
            "x; a=\"1\"0",
            "x; a=",
            "x; ; a",
            "x;",
            "; a",
            "x y",
            "x; a b",
            "x; a=\"\"",
        ] {
            assert_eq!(parse(bad).collect::<Vec<_>>(), [Err(Malformed)], "{bad}");
        }
        let parsed: Vec<_> = parse("x; a=1 2, y").collect();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0], Err(Malformed));
        assert!(parsed[1].is_ok());
    }
}

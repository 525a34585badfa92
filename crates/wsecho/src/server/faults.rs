//! Failures on demand: the `/fault?...` URL grammar (docs/wsecho.md "Faults on demand"), parsed into a
//! [`FaultPlan`], and the per-connection [`Faults`] the echo loop asks what to do differently.
//!
//! The loop's questions are few and narrow: before reading a message, whether the connection ends now
//! ([`Faults::due_end`]); how long to wait before each echo and how big its frames may be; what timed event comes
//! next (a ping to send, or the end); and it reports each echo and each pong. A plain echo path gets the faults
//! of an empty plan, which answer "nothing" to all.

use std::fmt;
use std::pin::Pin;
use std::time::Duration;

use hyper::StatusCode;
use tokio::time::{Instant, Sleep};

use super::outgoing::MAX_WRITE_FRAME;

/// The path whose query string is the fault grammar.
pub(crate) const FAULT_PATH: &str = "/fault";

/// Longest time any fault parameter may name: a fault is for a test run, not for a day.
const MAX_SECS: f64 = 3600.0;
/// Shortest ping interval; below it the pings alone would flood the client.
const MIN_PING_SECS: f64 = 0.01;
/// Most echoes `after=` may allow.
const MAX_AFTER: u64 = 1_000_000;
/// Longest delay per echo; the loop waits it out, so shutdown must not have to wait longer.
const MAX_DELAY_MS: u64 = 10_000;
/// Largest `fragment=` size (the loop's usual frame size).
const MAX_FRAGMENT: usize = MAX_WRITE_FRAME;
/// A close frame's payload is at most 125 bytes: two for the code, the rest for the reason (RFC 6455 5.5).
const MAX_REASON_BYTES: usize = 123;
/// Close code and reason sent when a ping of `ping_every=` is not answered in time.
const PING_UNANSWERED: (u16, &str) = (1011, "ping unanswered");
/// Payload of the server's fault pings.
pub(crate) const PING_PAYLOAD: &[u8] = b"wsecho fault ping";

const PARAMETERS: &str =
    "close, reason, drop, after, after_secs, delay_ms, fragment, ping_every, refuse, subprotocol";

/// What a fault URL asks for. The default asks for nothing: a plain echo.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FaultPlan {
    /// How the connection ends on purpose; `None`: as a plain echo connection ends.
    pub(crate) end: Option<FaultEnd>,
    /// End after this many echoes.
    pub(crate) after_messages: Option<u64>,
    /// End this long after the upgrade.
    pub(crate) after_time: Option<Duration>,
    /// Wait before each echo.
    pub(crate) delay: Option<Duration>,
    /// Echo data in frames of at most this many payload bytes.
    pub(crate) fragment: Option<usize>,
    /// Send a ping this often; close with 1011 when the previous one has no pong by the next.
    pub(crate) ping_every: Option<Duration>,
    /// Refuse the upgrade with this HTTP status.
    pub(crate) refuse: Option<StatusCode>,
    /// Answer the upgrade with this subprotocol whatever the client offered.
    pub(crate) subprotocol: Option<String>,
}

/// How a fault ends a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FaultEnd {
    /// Send a close frame with this code and reason, then wait for the client's reply.
    Close { code: u16, reason: String },
    /// Close the TCP connection without a close frame (the client sees 1006).
    Drop,
}

/// A fault URL parameter that cannot be used; the upgrade is answered with HTTP 400 naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadFault {
    pub(crate) parameter: String,
    pub(crate) why: String,
}

impl fmt::Display for BadFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad fault parameter {:?}: {} (see docs/wsecho.md \"Faults on demand\")",
            self.parameter, self.why
        )
    }
}

fn bad(parameter: &str, why: impl Into<String>) -> BadFault {
    BadFault {
        parameter: parameter.into(),
        why: why.into(),
    }
}

/// The plan for an upgrade to `path?query`: parsed from the query on the fault path when faults are enabled,
/// nothing anywhere else (and on the fault path with `--no-faults`, which makes it a plain echo path).
pub(crate) fn plan_for(path: &str, query: Option<&str>, enabled: bool) -> Result<FaultPlan, BadFault> {
    if enabled && path == FAULT_PATH {
        parse(query.unwrap_or_default())
    } else {
        Ok(FaultPlan::default())
    }
}

/// Parses a fault query string such as `close=4000&reason=bye&after=3`.
pub(crate) fn parse(query: &str) -> Result<FaultPlan, BadFault> {
    let mut plan = FaultPlan::default();
    let mut seen: Vec<String> = Vec::new();
    let mut close_code = None;
    let mut reason = None;
    let mut drop = false;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(raw_name).map_err(|why| bad(raw_name, why))?;
        let value = percent_decode(raw_value).map_err(|why| bad(&name, why))?;
        if seen.contains(&name) {
            return Err(bad(&name, "given twice"));
        }
        seen.push(name.clone());
        match name.as_str() {
            "close" => close_code = Some(parse_close_code(&value)?),
            "reason" => {
                if value.len() > MAX_REASON_BYTES {
                    return Err(bad(
                        "reason",
                        format!(
                            "is {} bytes; a close reason holds at most {MAX_REASON_BYTES}",
                            value.len()
                        ),
                    ));
                }
                reason = Some(value);
            }
            "drop" => {
                if !value.is_empty() {
                    return Err(bad(
                        "drop",
                        format!("takes no value (got {value:?}); write just `drop`"),
                    ));
                }
                drop = true;
            }
            "after" => plan.after_messages = Some(parse_number(&name, &value, 0, MAX_AFTER)?),
            "after_secs" => plan.after_time = Some(parse_secs(&name, &value, 0.0)?),
            "delay_ms" => {
                let ms = parse_number(&name, &value, 0, MAX_DELAY_MS)?;
                plan.delay = Some(Duration::from_millis(ms));
            }
            "fragment" => {
                let size = parse_number(&name, &value, 1, MAX_FRAGMENT as u64)?;
                plan.fragment = Some(size as usize);
            }
            "ping_every" => plan.ping_every = Some(parse_secs(&name, &value, MIN_PING_SECS)?),
            "refuse" => plan.refuse = Some(parse_refusal_status(&value)?),
            "subprotocol" => {
                if value.is_empty() || !value.bytes().all(is_token_byte) {
                    return Err(bad(
                        "subprotocol",
                        format!("{value:?} is not an HTTP token (letters, digits and !#$%&'*+-.^_`|~)"),
                    ));
                }
                plan.subprotocol = Some(value);
            }
            _ => return Err(bad(&name, format!("unknown; the parameters are {PARAMETERS}"))),
        }
    }
    plan.end = match (close_code, drop) {
        (Some(_), true) => return Err(bad("drop", "cannot be combined with close: choose one ending")),
        (Some(code), false) => Some(FaultEnd::Close {
            code,
            reason: reason.take().unwrap_or_default(),
        }),
        (None, true) => Some(FaultEnd::Drop),
        (None, false) => None,
    };
    if reason.is_some() {
        return Err(bad("reason", "needs close=CODE"));
    }
    if plan.end.is_none() {
        for (name, given) in [
            ("after", plan.after_messages.is_some()),
            ("after_secs", plan.after_time.is_some()),
        ] {
            if given {
                return Err(bad(name, "says when the connection ends; add close=CODE or drop"));
            }
        }
    }
    if plan.refuse.is_some()
        && let Some(other) = seen.iter().find(|name| *name != "refuse")
    {
        return Err(bad(
            other,
            "cannot be combined with refuse: a refused upgrade has no WebSocket to apply it to",
        ));
    }
    Ok(plan)
}

/// Close codes an endpoint may send (RFC 6455 7.4: 1004-1006 and 1015 are reserved, 1012-1014 belong to
/// other specifications, 3000-4999 are for libraries and applications).
fn parse_close_code(value: &str) -> Result<u16, BadFault> {
    let code = parse_number("close", value, 1000, 4999)? as u16;
    match code {
        1000..=1003 | 1007..=1011 | 3000..=4999 => Ok(code),
        _ => Err(bad(
            "close",
            format!("{code} may not be sent; use 1000-1003, 1007-1011 or 3000-4999"),
        )),
    }
}

fn parse_refusal_status(value: &str) -> Result<StatusCode, BadFault> {
    let status = parse_number("refuse", value, 400, 599)? as u16;
    StatusCode::from_u16(status).map_err(|_| bad("refuse", format!("{status} is not an HTTP status")))
}

fn parse_number(name: &str, value: &str, min: u64, max: u64) -> Result<u64, BadFault> {
    match value.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(bad(
            name,
            format!("{value:?} is not a whole number from {min} to {max}"),
        )),
    }
}

/// Seconds, fractions allowed (`0.5`), from `min` to [`MAX_SECS`].
fn parse_secs(name: &str, value: &str, min: f64) -> Result<Duration, BadFault> {
    match value.parse::<f64>() {
        Ok(secs) if (min..=MAX_SECS).contains(&secs) => Ok(Duration::from_secs_f64(secs)),
        _ => Err(bad(
            name,
            format!("{value:?} is not a number of seconds from {min} to {MAX_SECS}"),
        )),
    }
}

/// RFC 7230 `tchar`, the characters of a subprotocol name.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Decodes `%XX` escapes and `+` (a space, as HTML forms write it) of one query component.
fn percent_decode(component: &str) -> Result<String, String> {
    let bytes = component.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                    .ok_or_else(|| format!("{component:?} has a % not followed by two hex digits"))?;
                out.push(hex);
                i += 2;
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("{component:?} decodes to bytes that are not UTF-8"))
}

/// A timed fault event for the echo loop.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FaultEvent {
    /// Send a ping with [`PING_PAYLOAD`].
    Ping,
    /// End the connection so.
    End(FaultEnd),
}

/// One connection's faults while it runs.
pub(crate) struct Faults {
    end: Option<FaultEnd>,
    /// The end comes after this many echoes (0: at once); `None` when only a time or nothing ends it.
    end_after_messages: Option<u64>,
    /// The end of `after_secs=` and its timer.
    end_timer: Option<(FaultEnd, Pin<Box<Sleep>>)>,
    delay: Option<Duration>,
    fragment: Option<usize>,
    ping: Option<(Duration, Pin<Box<Sleep>>)>,
    /// A ping was sent and no pong has come since.
    awaiting_pong: bool,
    echoes: u64,
}

impl Faults {
    /// Starts the plan's clocks; call it when the upgrade is done.
    pub(crate) fn start(plan: &FaultPlan) -> Faults {
        let now = Instant::now();
        let end_after_messages = match (&plan.end, plan.after_messages, plan.after_time) {
            (None, _, _) => None,
            (Some(_), None, None) => Some(0),
            (Some(_), after, _) => after,
        };
        Faults {
            end: plan.end.clone(),
            end_after_messages,
            end_timer: plan
                .end
                .clone()
                .zip(plan.after_time)
                .map(|(end, after)| (end, Box::pin(tokio::time::sleep_until(now + after)))),
            delay: plan.delay,
            fragment: plan.fragment,
            ping: plan
                .ping_every
                .map(|every| (every, Box::pin(tokio::time::sleep_until(now + every)))),
            awaiting_pong: false,
            echoes: 0,
        }
    }

    /// How long to wait before each echo.
    pub(crate) fn echo_delay(&self) -> Option<Duration> {
        self.delay
    }

    /// The largest frame payload an echo may be written in, when the fault sets one.
    pub(crate) fn frame_size(&self) -> Option<usize> {
        self.fragment
    }

    /// Counts an echo written.
    pub(crate) fn echoed(&mut self) {
        self.echoes += 1;
    }

    /// The end, once the plan's number of echoes is written (at once when the plan gives no time either).
    /// Asked before each message is read, so an end after N echoes reads no message N + 1.
    pub(crate) fn due_end(&self) -> Option<FaultEnd> {
        self.end_after_messages
            .filter(|&after| self.echoes >= after)
            .and_then(|_| self.end.clone())
    }

    /// Records a pong from the client: the outstanding ping is answered.
    pub(crate) fn pong_received(&mut self) {
        self.awaiting_pong = false;
    }

    /// The next timed event; never resolves when the plan has none. Cancel-safe, for `select!`.
    pub(crate) async fn next_event(&mut self) -> FaultEvent {
        let Faults {
            end_timer,
            ping,
            awaiting_pong,
            ..
        } = self;
        let end_timer = async {
            match end_timer {
                Some((end, timer)) => {
                    timer.as_mut().await;
                    end.clone()
                }
                None => std::future::pending().await,
            }
        };
        let ping_timer = async {
            match ping {
                Some((every, timer)) => {
                    timer.as_mut().await;
                    // Timed from this ping, not from the schedule: after a pause in the loop (a long echo
                    // delay) the client still has a whole interval for its pong.
                    timer.as_mut().reset(Instant::now() + *every);
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            end = end_timer => FaultEvent::End(end),
            () = ping_timer => {
                if *awaiting_pong {
                    let (code, reason) = PING_UNANSWERED;
                    FaultEvent::End(FaultEnd::Close { code, reason: reason.into() })
                } else {
                    *awaiting_pong = true;
                    FaultEvent::Ping
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad_parameter(query: &str) -> String {
        parse(query).expect_err(query).parameter
    }

    #[test]
    fn a_full_plan_parses() {
        let plan =
            parse("close=4000&reason=bye+now%21&after=3&delay_ms=20&fragment=5&ping_every=0.5").unwrap();
        assert_eq!(
            plan,
            FaultPlan {
                end: Some(FaultEnd::Close {
                    code: 4000,
                    reason: "bye now!".into()
                }),
                after_messages: Some(3),
                delay: Some(Duration::from_millis(20)),
                fragment: Some(5),
                ping_every: Some(Duration::from_millis(500)),
                ..FaultPlan::default()
            }
        );
        assert_eq!(parse("drop&after_secs=1.5").unwrap().end, Some(FaultEnd::Drop));
        assert_eq!(
            parse("refuse=503").unwrap().refuse,
            Some(StatusCode::SERVICE_UNAVAILABLE)
        );
        assert_eq!(parse("").unwrap(), FaultPlan::default());
    }

    #[test]
    fn each_malformed_parameter_is_named() {
        for (query, parameter) in [
            ("close=1005", "close"),
            ("close=abc", "close"),
            ("close=4000&close=4001", "close"),
            ("reason=bye", "reason"),
            ("after=3", "after"),
            ("drop&after_secs=-1", "after_secs"),
            ("drop=yes", "drop"),
            ("close=4000&drop", "drop"),
            ("delay_ms=999999", "delay_ms"),
            ("fragment=0", "fragment"),
            ("ping_every=0", "ping_every"),
            ("refuse=200", "refuse"),
            ("refuse=503&fragment=2", "fragment"),
            ("subprotocol=a%20b", "subprotocol"),
            ("colse=4000", "colse"),
            ("close=4000&reason=%zz", "reason"),
        ] {
            assert_eq!(bad_parameter(query), parameter, "{query}");
        }
        let long = format!("close=4000&reason={}", "x".repeat(124));
        assert_eq!(bad_parameter(&long), "reason");
    }

    #[test]
    fn without_faults_enabled_the_fault_path_is_plain() {
        assert_eq!(
            plan_for("/fault", Some("close=abc"), false),
            Ok(FaultPlan::default())
        );
        assert_eq!(
            plan_for("/other", Some("close=abc"), true),
            Ok(FaultPlan::default())
        );
        assert!(plan_for("/fault", Some("close=abc"), true).is_err());
    }
}

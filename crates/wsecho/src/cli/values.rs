//! Parsers for flag values shared by the subcommands: addresses, byte sizes, seconds, on/off, headers, roots.

use std::net::SocketAddr;
use std::time::Duration;

use wsecho::client::Roots;

pub(crate) fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|_| {
        "expected IP:PORT such as 127.0.0.1:8080, 0.0.0.0:8443 or [::1]:8080 (port 0 picks a free port)"
            .to_string()
    })
}

/// Bytes with an optional `KiB`/`MiB`/`GiB` (or `K`/`M`/`G`) suffix.
pub(crate) fn parse_size(text: &str) -> Result<usize, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" | "kb" => 10,
        "m" | "mib" | "mb" => 20,
        "g" | "gib" | "gb" => 30,
        _ => return Err("expected a byte count such as 65536, 64KiB or 16MiB".into()),
    };
    number
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(1usize << shift))
        .filter(|n| *n > 0)
        .ok_or_else(|| "expected a byte count above 0 such as 65536, 64KiB or 16MiB".into())
}

/// Longest accepted duration: a year (deadlines `now + duration` must not overflow).
const MAX_SECS: f64 = 365.0 * 24.0 * 3600.0;

/// Seconds, decimals allowed (`0.5`), at most a year.
pub(crate) fn parse_secs(text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|secs| *secs <= MAX_SECS)
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| format!("expected seconds such as 10 or 0.5, at most {MAX_SECS}"))
}

/// `on` or `off`, for switches whose default is on.
pub(crate) fn parse_on_off(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err("expected on or off".into()),
    }
}

pub(crate) fn parse_header(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.trim().to_string()))
        }
        _ => Err("expected NAME:VALUE such as \"Origin: https://localhost:8443\"".into()),
    }
}

/// `--ca`: `system` for the operating system's roots, anything else a CA file (`./system` for a file named so).
pub(crate) fn parse_roots(text: &str) -> Result<Roots, String> {
    Ok(match text {
        "system" => Roots::System,
        path => Roots::File(path.into()),
    })
}

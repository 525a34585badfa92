//! When certificates start and end: the leaf limits, `--not-before` parsing, day arithmetic and the date format the
//! CLI prints.

use time::{Duration, OffsetDateTime};

use crate::Error;
use crate::error::InputError;

/// Default leaf validity: the public-CA limit (398 days) minus a day of margin.
pub const DEFAULT_LEAF_DAYS: u32 = 397;
/// Apple platforms reject TLS server certificates valid for longer, even from a locally trusted CA.
pub const MAX_APPLE_DAYS: u32 = 825;

/// Parses `--not-before`: an RFC 3339 date-time (`2024-01-31T12:00:00Z`) or a date (`2024-01-31`, midnight UTC).
pub fn parse_not_before(input: &str) -> Result<OffsetDateTime, Error> {
    let date_only = time::macros::format_description!("[year]-[month]-[day]");
    OffsetDateTime::parse(input, &time::format_description::well_known::Rfc3339)
        .or_else(|_| time::Date::parse(input, &date_only).map(|d| d.midnight().assume_utc()))
        .map_err(|_| {
            Error::Input(InputError::BadNotBefore {
                input: input.to_string(),
            })
        })
}

/// `YYYY-MM-DD` (UTC), as the CLI prints validity dates.
pub fn format_date(t: OffsetDateTime) -> String {
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// RFC 3339 in UTC (`2027-01-31T12:00:00Z`), the date format of every `--json` output.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// The current time in whole seconds (certificates carry no fractions).
pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc())
}

/// `start` plus `days`, refused past the year 9999 (the last year X.509 time can hold).
pub(crate) fn add_days(start: OffsetDateTime, days: u32) -> Result<OffsetDateTime, Error> {
    start
        .checked_add(Duration::days(i64::from(days)))
        .filter(|end| end.year() <= 9999)
        .ok_or(Error::Input(InputError::DaysPastYear9999 { days }))
}

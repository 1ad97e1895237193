//! Enforcer time: whole seconds since the UNIX epoch, UTC.
//!
//! OpenDNSSEC keeps every time as epoch seconds and every duration as seconds, so
//! the domain does too. Calendar conversion is done here (no time-zone database:
//! the enforcer speaks UTC only, like the C locale `ctime` output it imitates).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A moment in enforcer time, seconds since 1970-01-01T00:00:00Z. Persisted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

/// A length of time in whole seconds, as OpenDNSSEC stores durations. Persisted.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Seconds(pub u32);

impl Seconds {
    /// The value as a signed 64-bit count, for arithmetic on timestamps.
    pub fn as_i64(self) -> i64 {
        i64::from(self.0)
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Broken-down UTC calendar time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Sunday.
    pub weekday: u32,
}

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days since the epoch of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Why a time string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid time '{input}': expected YYYY-MM-DDTHH:MM:SSZ or seconds since the epoch")]
pub struct TimeParseError {
    pub input: String,
}

impl Timestamp {
    /// The calendar fields of this moment in UTC.
    pub fn civil(self) -> Civil {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
            weekday: (days + 4).rem_euclid(7) as u32,
        }
    }

    /// Builds a timestamp from UTC calendar fields, checking each.
    pub fn from_civil(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<Self> {
        if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) {
            return None;
        }
        if h > 23 || mi > 59 || s > 59 {
            return None;
        }
        let days = days_from_civil(y, mo, d);
        Some(Timestamp(days * 86_400 + i64::from(h * 3600 + mi * 60 + s)))
    }

    /// Parses `YYYY-MM-DDTHH:MM:SSZ`, `YYYY-MM-DD-HH:MM:SS` (OpenDNSSEC's `--set-time`
    /// form, taken as UTC) or a plain count of seconds since the epoch.
    pub fn parse(input: &str) -> Result<Self, TimeParseError> {
        let err = || TimeParseError {
            input: input.to_string(),
        };
        let s = input.trim();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return s.parse::<i64>().map(Timestamp).map_err(|_| err());
        }
        let b = s.as_bytes();
        let body = match b.len() {
            20 if b[19] == b'Z' && b[10] == b'T' => &s[..19],
            19 if b[10] == b'-' || b[10] == b'T' => s,
            _ => return Err(err()),
        };
        let bb = body.as_bytes();
        if bb[4] != b'-' || bb[7] != b'-' || bb[13] != b':' || bb[16] != b':' {
            return Err(err());
        }
        let num = |r: std::ops::Range<usize>| -> Result<u32, TimeParseError> {
            let part = &body[r];
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse::<u32>().map_err(|_| err())
            } else {
                Err(err())
            }
        };
        let y = num(0..4)?;
        Timestamp::from_civil(
            i64::from(y),
            num(5..7)?,
            num(8..10)?,
            num(11..13)?,
            num(14..16)?,
            num(17..19)?,
        )
        .ok_or_else(err)
    }

    /// C-locale `ctime` without the newline: `Wed Jan  1 14:00:00 2025`.
    pub fn ctime(self) -> String {
        let c = self.civil();
        format!(
            "{} {} {:>2} {:02}:{:02}:{:02} {}",
            WEEKDAYS[c.weekday as usize],
            MONTHS[(c.month - 1) as usize],
            c.day,
            c.hour,
            c.minute,
            c.second,
            c.year
        )
    }

    /// This moment plus a duration.
    pub fn plus(self, d: Seconds) -> Timestamp {
        Timestamp(self.0.saturating_add(d.as_i64()))
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC: `2025-01-01T00:00:00Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.civil();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_dates() {
        let t = Timestamp(1_735_689_600);
        assert_eq!(t.to_string(), "2025-01-01T00:00:00Z");
        assert_eq!(
            Timestamp(1_735_689_600 + 50_400).ctime(),
            "Wed Jan  1 14:00:00 2025"
        );
        assert_eq!(Timestamp(1_668_085_512).ctime(), "Thu Nov 10 13:05:12 2022");
        assert_eq!(Timestamp::parse("2025-01-01T00:00:00Z"), Ok(t));
        assert_eq!(Timestamp::parse("2025-01-01-00:00:00"), Ok(t));
        assert_eq!(Timestamp::parse("1735689600"), Ok(t));
        assert!(Timestamp::parse("2025-02-29T00:00:00Z").is_err());
        assert!(Timestamp::parse("2024-02-29T00:00:00Z").is_ok());
        assert!(Timestamp::parse("2025-01-01T24:00:00Z").is_err());
        assert!(Timestamp::parse("yesterday").is_err());
        assert!(Timestamp::parse("").is_err());
    }

    proptest! {
        #[test]
        fn display_parse_roundtrip(secs in -62_135_596_800i64..253_402_300_799) {
            let t = Timestamp(secs);
            prop_assert_eq!(Timestamp::parse(&t.to_string()), Ok(t));
        }
    }
}

//! OpenDNSSEC durations: the `xsd:duration`-like text of kasp.xml and conf.xml, parsed
//! strictly, converted to seconds with OpenDNSSEC's fixed month and year lengths, and
//! rendered back from seconds exactly as `policy export` and the signconf writer do.
//!
//! Accepted text is `P[nY][nM][nW][nD][T[nH][nM][nS]]`: upper-case designators in that
//! order, each at most once, unsigned whole numbers, at least one component, `T` only
//! when a time component follows, and `W` only as the sole designator (as
//! `common/duration.c:duration_create_from_string` does). Conversion uses 1Y = 365 days,
//! 1M = 31 days and 1W = 7 days (`duration2time`); a total above `i32::MAX` seconds is
//! refused as too long. [`render`] is `duration_set_time` + `duration2string`.

use kasp_events::Seconds;
use std::fmt;

const MINUTE: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 86_400;
const WEEK: u64 = 7 * DAY;
const MONTH: u64 = 31 * DAY;
const YEAR: u64 = 365 * DAY;

/// The largest duration OpenDNSSEC can hold: `i32::MAX` seconds (about 68 years).
pub const MAX_SECONDS: u64 = i32::MAX as u64;

/// A duration as written, component by component (nothing is normalised: `PT3600S`
/// keeps 3600 seconds and no hours).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct OdsDuration {
    /// `Y`, 365 days each.
    pub years: u64,
    /// `M` before `T`, 31 days each.
    pub months: u64,
    /// `W`, 7 days each; only ever the sole component.
    pub weeks: u64,
    /// `D`.
    pub days: u64,
    /// `H`.
    pub hours: u64,
    /// `M` after `T`.
    pub minutes: u64,
    /// `S`.
    pub seconds: u64,
}

/// Why a duration was refused. The display text says what is wrong without repeating
/// the input; callers add the input and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text is empty.
    #[error("the duration is empty")]
    Empty,
    /// A leading `+` or `-`.
    #[error("signed durations are not supported")]
    Signed,
    /// The text does not start with `P`.
    #[error("a duration must start with 'P'")]
    MissingP,
    /// A `.` or `,` decimal fraction.
    #[error("fractions are not supported")]
    Fraction,
    /// A lower-case designator such as `p1d`.
    #[error("designators must be upper case, found '{0}'")]
    LowerCase(char),
    /// A character that is neither a digit nor a designator.
    #[error("unexpected character '{0}'")]
    BadChar(char),
    /// A designator without a number in front of it.
    #[error("a number must come before '{0}'")]
    MissingNumber(char),
    /// Digits at the end with no designator after them.
    #[error("the number at the end has no designator")]
    TrailingNumber,
    /// A designator repeated or out of order, or a time designator before `T`, or a date
    /// designator after it.
    #[error("'{0}' is out of order, repeated or in the wrong part")]
    Order(char),
    /// `T` with no hours, minutes or seconds after it.
    #[error("'T' must be followed by hours, minutes or seconds")]
    EmptyTime,
    /// `P` alone.
    #[error("a duration needs at least one component")]
    NoComponent,
    /// Weeks combined with another component.
    #[error("weeks (W) cannot be combined with other components")]
    WeeksCombined,
    /// More than `i32::MAX` seconds in total (or a number that does not fit at all).
    #[error("too long: more than {MAX_SECONDS} seconds (about 68 years)")]
    TooLong,
}

impl OdsDuration {
    /// Parses OpenDNSSEC duration text strictly (see the module documentation). The
    /// total is not checked here; [`OdsDuration::to_seconds`] does that.
    pub fn parse(text: &str) -> Result<OdsDuration, DurationError> {
        let mut chars = text.chars().peekable();
        match chars.next() {
            None => return Err(DurationError::Empty),
            Some('+' | '-') => return Err(DurationError::Signed),
            Some('P') => {}
            Some('p') => return Err(DurationError::LowerCase('p')),
            Some(_) => return Err(DurationError::MissingP),
        }
        let mut d = OdsDuration::default();
        // Slots in order: Y M W D | H M S. `next` is the first slot still allowed.
        let mut next = 0usize;
        let mut in_time = false;
        let mut time_components = 0usize;
        let mut components = 0usize;
        let mut number: Option<u64> = None;
        let mut overflow = false;
        for c in chars {
            match c {
                '0'..='9' => {
                    let digit = u64::from(c as u8 - b'0');
                    let n = number.unwrap_or(0);
                    match n.checked_mul(10).and_then(|n| n.checked_add(digit)) {
                        Some(v) => number = Some(v),
                        None => {
                            overflow = true;
                            number = Some(u64::MAX);
                        }
                    }
                }
                'T' => {
                    if number.is_some() || in_time {
                        return Err(DurationError::Order('T'));
                    }
                    in_time = true;
                    next = 4;
                }
                'Y' | 'M' | 'W' | 'D' | 'H' | 'S' => {
                    let slot = match (c, in_time) {
                        ('Y', false) => 0,
                        ('M', false) => 1,
                        ('W', false) => 2,
                        ('D', false) => 3,
                        ('H', true) => 4,
                        ('M', true) => 5,
                        ('S', true) => 6,
                        _ => return Err(DurationError::Order(c)),
                    };
                    if slot < next {
                        return Err(DurationError::Order(c));
                    }
                    let Some(n) = number.take() else {
                        return Err(DurationError::MissingNumber(c));
                    };
                    next = slot + 1;
                    components += 1;
                    if in_time {
                        time_components += 1;
                    }
                    *match slot {
                        0 => &mut d.years,
                        1 => &mut d.months,
                        2 => &mut d.weeks,
                        3 => &mut d.days,
                        4 => &mut d.hours,
                        5 => &mut d.minutes,
                        _ => &mut d.seconds,
                    } = n;
                }
                '.' | ',' => return Err(DurationError::Fraction),
                '+' | '-' => return Err(DurationError::Signed),
                c if c.is_ascii_lowercase() && "pymwdths".contains(c) => {
                    return Err(DurationError::LowerCase(c));
                }
                c => return Err(DurationError::BadChar(c)),
            }
        }
        if number.is_some() {
            return Err(DurationError::TrailingNumber);
        }
        if in_time && time_components == 0 {
            return Err(DurationError::EmptyTime);
        }
        if components == 0 {
            return Err(DurationError::NoComponent);
        }
        if text.contains('W') && components > 1 {
            return Err(DurationError::WeeksCombined);
        }
        if overflow {
            return Err(DurationError::TooLong);
        }
        Ok(d)
    }

    /// The length in seconds (1Y = 365 days, 1M = 31 days, 1W = 7 days); refused as
    /// [`DurationError::TooLong`] above `i32::MAX`.
    pub fn to_seconds(&self) -> Result<Seconds, DurationError> {
        let parts = [
            (self.years, YEAR),
            (self.months, MONTH),
            (self.weeks, WEEK),
            (self.days, DAY),
            (self.hours, HOUR),
            (self.minutes, MINUTE),
            (self.seconds, 1),
        ];
        let mut total: u128 = 0;
        for (n, unit) in parts {
            total += u128::from(n) * u128::from(unit);
        }
        if total > u128::from(MAX_SECONDS) {
            return Err(DurationError::TooLong);
        }
        // Fits: total <= i32::MAX < u32::MAX.
        Ok(Seconds(total as u32))
    }

    /// Whether the duration has a month component (ods-kaspcheck warns about it).
    pub fn uses_months(&self) -> bool {
        self.months != 0
    }

    /// Whether the duration has a year component (ods-kaspcheck warns about it).
    pub fn uses_years(&self) -> bool {
        self.years != 0
    }

    /// Splits seconds greedily into years, months, days, hours, minutes and seconds, as
    /// `duration_set_time` does (weeks are never produced).
    pub fn from_seconds(secs: Seconds) -> OdsDuration {
        let mut t = u64::from(secs.0);
        let mut take = |unit: u64| {
            let n = t / unit;
            t %= unit;
            n
        };
        let years = take(YEAR);
        let months = take(MONTH);
        let days = take(DAY);
        let hours = take(HOUR);
        let minutes = take(MINUTE);
        OdsDuration {
            years,
            months,
            weeks: 0,
            days,
            hours,
            minutes,
            seconds: t,
        }
    }
}

/// Parses duration text and converts it to seconds in one step.
pub fn parse_seconds(text: &str) -> Result<Seconds, DurationError> {
    OdsDuration::parse(text)?.to_seconds()
}

impl fmt::Display for OdsDuration {
    /// `duration2string`: `P`, the non-zero date parts (Y, M, W, D), `T` if a time part
    /// is non-zero, the non-zero time parts (H, M, S); all zero gives `PT0S`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("P")?;
        for (n, c) in [
            (self.years, 'Y'),
            (self.months, 'M'),
            (self.weeks, 'W'),
            (self.days, 'D'),
        ] {
            if n > 0 {
                write!(f, "{n}{c}")?;
            }
        }
        let date = self.years + self.months + self.weeks + self.days > 0;
        let time = self.hours > 0 || self.minutes > 0 || self.seconds > 0;
        if !date && !time {
            return f.write_str("T0S");
        }
        if time {
            f.write_str("T")?;
            for (n, c) in [(self.hours, 'H'), (self.minutes, 'M'), (self.seconds, 'S')] {
                if n > 0 {
                    write!(f, "{n}{c}")?;
                }
            }
        }
        Ok(())
    }
}

/// Renders seconds as OpenDNSSEC does (`duration_set_time` + `duration2string`):
/// `3600` → `PT1H`, `7776000` → `P2M28D`, `0` → `PT0S`.
pub fn render(secs: Seconds) -> String {
    OdsDuration::from_seconds(secs).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn render_table() {
        for (s, text) in [
            (0, "PT0S"),
            (3600, "PT1H"),
            (9999, "PT2H46M39S"),
            (86400, "P1D"),
            (90061, "P1DT1H1M1S"),
            (7_776_000, "P2M28D"),
            (8_640_000, "P3M7D"),
            (31_536_000, "P1Y"),
            (60, "PT1M"),
            (2_678_400, "P1M"),
        ] {
            assert_eq!(render(Seconds(s)), text, "{s}");
        }
    }

    #[test]
    fn parses_components() {
        let d = OdsDuration::parse("P1Y2M3DT4H5M6S").unwrap();
        assert_eq!(
            d,
            OdsDuration {
                years: 1,
                months: 2,
                weeks: 0,
                days: 3,
                hours: 4,
                minutes: 5,
                seconds: 6
            }
        );
        assert!(d.uses_months() && d.uses_years());
        assert_eq!(d.to_string(), "P1Y2M3DT4H5M6S");
        assert_eq!(OdsDuration::parse("PT3600S").unwrap().seconds, 3600);
        assert_eq!(parse_seconds("PT3600S"), Ok(Seconds(3600)));
        assert_eq!(parse_seconds("P2W"), Ok(Seconds(14 * 86400)));
        assert_eq!(parse_seconds("P1M"), Ok(Seconds(31 * 86400)));
        assert_eq!(parse_seconds("P1Y"), Ok(Seconds(365 * 86400)));
        assert_eq!(parse_seconds("PT1M"), Ok(Seconds(60)));
        assert_eq!(parse_seconds("P0D"), Ok(Seconds(0)));
        assert_eq!(parse_seconds("P100D"), Ok(Seconds(8_640_000)));
        assert_eq!(parse_seconds("P1DT1H1M1S"), Ok(Seconds(90061)));
        assert_eq!(parse_seconds("PT2147483647S"), Ok(Seconds(i32::MAX as u32)));
        let m = OdsDuration::parse("P3M").unwrap();
        assert!(m.uses_months() && !m.uses_years());
    }

    #[test]
    fn refuses_bad_text() {
        use DurationError as E;
        for (text, err) in [
            ("", E::Empty),
            ("-P1D", E::Signed),
            ("+P1D", E::Signed),
            ("P-1D", E::Signed),
            ("1D", E::MissingP),
            ("T1H", E::MissingP),
            ("p1d", E::LowerCase('p')),
            ("P1d", E::LowerCase('d')),
            ("PT1.5S", E::Fraction),
            ("P1,5D", E::Fraction),
            ("P1X", E::BadChar('X')),
            ("P 1D", E::BadChar(' ')),
            ("PD", E::MissingNumber('D')),
            ("P5", E::TrailingNumber),
            ("PT5", E::TrailingNumber),
            ("P1D1Y", E::Order('Y')),
            ("P1D1D", E::Order('D')),
            ("P1H", E::Order('H')),
            ("P1S", E::Order('S')),
            ("PT1D", E::Order('D')),
            ("PT1Y", E::Order('Y')),
            ("P1DTT1H", E::Order('T')),
            ("P1T1H", E::Order('T')),
            ("PT", E::EmptyTime),
            ("P1DT", E::EmptyTime),
            ("P", E::NoComponent),
            ("P1W1D", E::WeeksCombined),
            ("P1Y1W", E::WeeksCombined),
            ("P1WT1H", E::WeeksCombined),
            ("PT2147483648S", E::TooLong),
            ("P99999999999999999999999D", E::TooLong),
        ] {
            let got = OdsDuration::parse(text).and_then(|d| d.to_seconds());
            assert_eq!(got, Err(err), "{text:?}");
        }
        assert_eq!(parse_seconds("P100Y"), Err(E::TooLong));
        assert_eq!(
            parse_seconds("P100Y").unwrap_err().to_string(),
            "too long: more than 2147483647 seconds (about 68 years)"
        );
        assert_eq!(E::Fraction.to_string(), "fractions are not supported");
    }

    proptest! {
        #[test]
        fn render_parses_back(s in 0u32..=i32::MAX as u32) {
            let text = render(Seconds(s));
            prop_assert_eq!(parse_seconds(&text), Ok(Seconds(s)), "{}", text);
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,24}") {
            let _ = OdsDuration::parse(&text).and_then(|d| d.to_seconds());
        }

        #[test]
        fn display_parses_back(
            y in 0u64..50, mo in 0u64..50, d in 0u64..50,
            h in 0u64..50, mi in 0u64..50, s in 0u64..50,
        ) {
            let dur = OdsDuration { years: y, months: mo, weeks: 0, days: d, hours: h, minutes: mi, seconds: s };
            let back = OdsDuration::parse(&dur.to_string()).unwrap();
            prop_assert_eq!(back.to_seconds(), dur.to_seconds());
        }
    }
}

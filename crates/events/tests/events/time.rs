//! `Timestamp::ctime` against the C locale's `ctime` shape, and against the C library.

use kasp_events::Timestamp;
use proptest::prelude::*;

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
/// 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
const FIRST: i64 = 0;
const LAST: i64 = 253_402_300_799;

/// The C library's `asctime(gmtime(t))` without the newline.
fn libc_ctime(t: i64) -> String {
    let time: libc::time_t = t;
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let mut buf = [0 as libc::c_char; 64];
    // SAFETY: both pointers are valid for the calls; asctime_r writes at most 26 bytes
    // for years up to 9999.
    unsafe {
        assert!(!libc::gmtime_r(&time, &mut tm).is_null());
        assert!(!libc::asctime_r(&tm, buf.as_mut_ptr()).is_null());
    }
    let s = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    s.to_str().unwrap().trim_end_matches('\n').to_string()
}

fn check_shape(t: Timestamp) -> Result<(), TestCaseError> {
    let s = t.ctime();
    let c = t.civil();
    prop_assert_eq!(s.len(), 24, "{:?}", s);
    prop_assert!(s.is_ascii());
    prop_assert!(WEEKDAYS.contains(&&s[0..3]), "{:?}", s);
    prop_assert_eq!(&s[3..4], " ");
    prop_assert!(MONTHS.contains(&&s[4..7]), "{:?}", s);
    prop_assert_eq!(&s[7..8], " ");
    // The day of the month is padded with a space, not a zero.
    let day = &s[8..10];
    prop_assert!(!day.starts_with('0'), "{:?}", s);
    prop_assert_eq!(day.trim_start().parse::<u32>().unwrap(), c.day);
    prop_assert_eq!(&s[10..11], " ");
    prop_assert_eq!(&s[13..14], ":");
    prop_assert_eq!(&s[16..17], ":");
    prop_assert_eq!(s[11..13].parse::<u32>().unwrap(), c.hour);
    prop_assert_eq!(s[14..16].parse::<u32>().unwrap(), c.minute);
    prop_assert_eq!(s[17..19].parse::<u32>().unwrap(), c.second);
    prop_assert_eq!(&s[19..20], " ");
    prop_assert_eq!(s[20..24].parse::<i64>().unwrap(), c.year);
    prop_assert_eq!(WEEKDAYS[c.weekday as usize], &s[0..3]);
    prop_assert_eq!(MONTHS[c.month as usize - 1], &s[4..7]);
    Ok(())
}

proptest! {
    #[test]
    fn ctime_has_the_c_locale_shape(secs in FIRST..=LAST) {
        check_shape(Timestamp(secs))?;
    }

    #[test]
    fn ctime_matches_the_c_library(secs in FIRST..=LAST) {
        prop_assert_eq!(Timestamp(secs).ctime(), libc_ctime(secs));
    }

    /// Midnight on any day, and the last second before it, where off-by-one errors live.
    #[test]
    fn ctime_at_day_boundaries(day in 0i64..=(LAST / 86_400)) {
        for secs in [day * 86_400, day * 86_400 + 86_399] {
            check_shape(Timestamp(secs))?;
            prop_assert_eq!(Timestamp(secs).ctime(), libc_ctime(secs));
        }
    }

    #[test]
    fn weekday_advances_daily(secs in FIRST..=LAST - 86_400) {
        let a = Timestamp(secs).civil().weekday;
        let b = Timestamp(secs + 86_400).civil().weekday;
        prop_assert_eq!(b, (a + 1) % 7);
    }
}

#[test]
fn ctime_edges() {
    assert_eq!(Timestamp(FIRST).ctime(), "Thu Jan  1 00:00:00 1970");
    assert_eq!(Timestamp(LAST).ctime(), "Fri Dec 31 23:59:59 9999");
    assert_eq!(Timestamp(951_782_400).ctime(), "Tue Feb 29 00:00:00 2000");
    assert_eq!(Timestamp(4_107_542_400).ctime(), "Mon Mar  1 00:00:00 2100");
    for t in [FIRST, LAST, 951_782_400, 4_107_542_400] {
        assert_eq!(Timestamp(t).ctime(), libc_ctime(t));
    }
}

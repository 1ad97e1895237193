//! Time going backwards. `time leap --time` to a time before the log's clock does what
//! OpenDNSSEC 2.1.12 does with every `--time` (it overwrites it with the first task's time,
//! daemon/time_leap_cmd.c): it leaps to the first task; the clock never goes back.

use crate::common::Sandbox;

/// A log on a simulated clock (2025-01-01) with a zone whose next task lies ahead.
fn zone_with_a_task_ahead() -> Sandbox {
    let sb = Sandbox::with_log();
    sb.ok("policy import");
    sb.ok("zone add --zone example.com --policy default");
    sb
}

/// The line saying where `time leap` leapt.
fn leapt_to(out: &str) -> String {
    out.lines()
        .find(|l| l.starts_with("Leaping to time "))
        .unwrap_or_else(|| panic!("no leap in {out}"))
        .to_string()
}

#[test]
fn a_leap_into_the_past_leaps_to_the_first_task_as_opendnssec_does() {
    let plain = zone_with_a_task_ahead();
    let expected = leapt_to(&plain.ok("time leap").out);
    let sb = zone_with_a_task_ahead();
    let r = sb.ok("time leap --time 2024-06-01-00:00:00");
    assert!(
        r.out
            .contains("Using 2024-06-01-00:00:00 parameter value as time to leap to"),
        "{r:?}"
    );
    assert_eq!(leapt_to(&r.out), expected, "{r:?}");
    assert!(!leapt_to(&r.out).contains("2024"), "{r:?}");
    // The clock stands where it leapt, no earlier than where it was (2025-01-01).
    let queue = sb.ok("queue").out;
    let now = queue
        .lines()
        .find_map(|l| l.strip_prefix("It is now "))
        .and_then(|l| {
            l.split_once(" (")?
                .1
                .split_whitespace()
                .next()?
                .parse::<i64>()
                .ok()
        })
        .unwrap_or_else(|| panic!("no clock in {queue}"));
    assert!(now >= 1_735_689_600, "the clock went back: {queue}");
}

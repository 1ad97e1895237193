//! Time going backwards. On the system clock (a production log) the log's time never
//! goes back: a command run while the clock is behind the log's last record is recorded
//! at that record's time, with a warning, and the enforcer does not run until the clock
//! has caught up (crates/projector/src/clock.rs), so no key record changes state at a time
//! earlier than it did. The clock is set back with `faketime` (Debian package faketime,
//! installed by scripts/deps.sh).
//!
//! `time leap --time` to a time before the log's clock does what OpenDNSSEC 2.1.12 does
//! with every `--time` (it overwrites it with the first task's time,
//! daemon/time_leap_cmd.c): it leaps to the first task; the clock never goes back.

use crate::common::{Run, Sandbox};
use std::process::Command;

/// Runs `ods-enforcer` in the sandbox with the system clock set `offset` (faketime's
/// syntax: `-1d`) from the real time.
fn with_clock(sb: &Sandbox, offset: &str, line: &str) -> Run {
    let faketime = ["/usr/bin/faketime", "/bin/faketime"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .expect("faketime is missing: package faketime; run scripts/deps.sh");
    sb.run_wrapped(&[faketime, "-f", offset], line)
}

/// The time of every record, in log order.
fn record_times(sb: &Sandbox) -> Vec<String> {
    sb.ok("log export --jsonl")
        .out
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            v["at"].as_str().expect("at").to_string()
        })
        .collect()
}

/// The DNSKEY state (`key list --debug`) of each key of a zone.
fn dnskey_states(sb: &Sandbox, zone: &str) -> Vec<String> {
    sb.ok("key list --debug")
        .out
        .lines()
        .filter(|l| l.starts_with(zone))
        .filter_map(|l| l.split_whitespace().nth(3).map(str::to_string))
        .collect()
}

#[test]
fn a_clock_set_back_neither_dates_records_back_nor_hurries_a_new_key() {
    let sb = Sandbox::with_token();
    std::fs::remove_file(sb.log_path()).unwrap();
    sb.ok("setup");
    sb.ok("policy import");
    sb.ok("zone add --zone a.test --policy default");
    let before = record_times(&sb);
    // The clock set back a day: the zone is added, at the log's time, and the enforcer
    // waits for the clock.
    let r = with_clock(&sb, "-1d", "zone add --zone b.test --policy default");
    assert_eq!(r.code, 0, "{r:?}");
    let times = record_times(&sb);
    assert!(times.len() > before.len(), "nothing was recorded");
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "a record is dated before its predecessor: {times:?}"
    );
    // The clock right again: b.test's keys are published now, and a run at once does not
    // take its DNSKEYs to omnipresent, which needs the TTL and delays (hours).
    sb.ok("enforce");
    sb.ok("enforce");
    let states = dnskey_states(&sb, "b.test");
    assert!(!states.is_empty(), "b.test has no keys");
    assert!(
        states.iter().all(|s| s == "rumoured"),
        "a DNSKEY of b.test went on within seconds of its publication: {states:?}\n{}",
        sb.ok("key list --debug").out
    );
    // The operator was told why nothing ran.
    assert!(
        r.err.contains("is behind the event log's last record"),
        "{r:?}"
    );
}

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

/// `ods-enforcerd -d` in the sandbox under libfaketime (LD_PRELOAD) with `faketime`'s
/// settings, ready to answer.
fn daemon_with_faketime(
    sb: &Sandbox,
    faketime: &[(&str, &std::ffi::OsStr)],
) -> crate::daemon::support::Daemon {
    let lib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
    assert!(
        std::path::Path::new(lib).is_file(),
        "{lib} is missing: package libfaketime (faketime); run scripts/deps.sh"
    );
    let stderr = sb.path("daemon.stderr");
    let child = Command::new(env!("CARGO_BIN_EXE_ods-enforcerd"))
        .arg("-d")
        .arg("-c")
        .arg(sb.conf())
        .envs(sb.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("LD_PRELOAD", lib)
        .envs(faketime.iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .expect("spawn ods-enforcerd");
    let d = crate::daemon::support::Daemon {
        child: Some(child),
        socket: sb.path("enforcer/enforcer.sock"),
        stderr,
    };
    d.wait_ready();
    d
}

/// The daemon started while the clock is a day behind the log: the commands it runs are
/// recorded at the log's time, the enforcer waits, and its log says so once.
#[test]
fn a_daemon_on_a_clock_behind_the_log_records_at_the_logs_time_and_waits() {
    let sb = Sandbox::with_token();
    std::fs::remove_file(sb.log_path()).unwrap();
    sb.ok("setup");
    sb.ok("policy import");
    sb.ok("zone add --zone a.test --policy default");
    let d = daemon_with_faketime(&sb, &[("FAKETIME", "-1d".as_ref())]);
    let r = sb.sh("zone add --zone b.test --policy default");
    assert_eq!(r.code, 0, "{r:?}");
    sb.ok("enforce");
    let times = record_times(&sb);
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "a record is dated before its predecessor: {times:?}"
    );
    let states = dnskey_states(&sb, "b.test");
    assert!(
        states.iter().all(|s| s == "hidden"),
        "b.test's keys were published on a clock behind the log: {states:?}"
    );
    let log = d.log();
    assert_eq!(
        log.matches("is behind the event log's last record").count(),
        1,
        "{log}"
    );
}

/// The clock set back a day while the daemon runs (libfaketime reading the offset from a
/// file at every call; the monotonic clock, as on a real system, unaffected): the daemon
/// keeps the real time, so its commands and the enforcer's runs go on as before, dated
/// in order, without a warning.
#[test]
fn a_clock_set_back_under_a_running_daemon_changes_nothing() {
    let sb = Sandbox::with_token();
    std::fs::remove_file(sb.log_path()).unwrap();
    sb.ok("setup");
    sb.ok("policy import");
    let offset = sb.path("clock-offset");
    std::fs::write(&offset, "+0\n").unwrap();
    let d = daemon_with_faketime(
        &sb,
        &[
            ("FAKETIME_TIMESTAMP_FILE", offset.as_os_str()),
            ("FAKETIME_NO_CACHE", "1".as_ref()),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1".as_ref()),
        ],
    );
    sb.ok("zone add --zone a.test --policy default");
    std::fs::write(&offset, "-1d\n").unwrap();
    sb.ok("zone add --zone b.test --policy default");
    let times = record_times(&sb);
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "a record is dated before its predecessor: {times:?}"
    );
    let states = dnskey_states(&sb, "b.test");
    assert!(
        !states.is_empty() && states.iter().all(|s| s == "rumoured"),
        "b.test's keys were not published: {states:?}"
    );
    let log = d.log();
    assert!(
        !log.contains("is behind the event log's last record"),
        "{log}"
    );
}

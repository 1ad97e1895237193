//! A log with one record's bytes changed: `log show` and `log export` check the hash chain
//! as they stream. They print only records that verify, stop at the break with exit 3
//! naming the first damaged record and the last good one (as `log verify` does), and
//! dump everything with `--no-verify`, every record from the damaged one on marked.

use crate::common::Sandbox;

/// A log of a policy import and a zone add whose `zone add` record (record 4) has one byte
/// of its cause flipped in the file.
fn tampered() -> Sandbox {
    let sb = Sandbox::with_log();
    sb.ok("policy import");
    sb.ok("zone add --zone example.com --policy default");
    sb.flip_a_bit_in_record("zone add --zone example.com --policy default");
    let r = sb.sh("log verify");
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.err.contains("at record 4"), "{r:?}");
    sb
}

#[test]
fn log_show_stops_at_the_first_damaged_record() {
    let sb = tampered();
    let before = sb.log_bytes();
    let r = sb.sh("log show");
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.err.contains("is damaged at record 4") && r.err.contains("the last good one: record 3"),
        "{r:?}"
    );
    // Records 0..=3 are shown, the damaged one and those after it are not.
    let seqs: Vec<u64> = r
        .out
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(seqs, vec![0, 1, 2, 3], "{r:?}");
    let r = sb.sh("log show --json");
    assert_eq!(r.code, 3, "{r:?}");
    assert!(!r.out.contains("\"seq\":4"), "{r:?}");
    assert_eq!(before, sb.log_bytes(), "log show wrote to the log");
}

#[test]
fn log_export_stops_at_the_first_damaged_record() {
    let sb = tampered();
    for line in ["log export --jsonl", "log export --csv"] {
        let r = sb.sh(line);
        assert_eq!(r.code, 3, "{line}: {r:?}");
        assert!(r.err.contains("is damaged at record 4"), "{line}: {r:?}");
        assert!(!r.out.contains("zone add --zone"), "{line}: {r:?}");
    }
}

#[test]
fn no_verify_dumps_every_record_marking_those_from_the_break() {
    let sb = tampered();
    let r = sb.ok("log show --no-verify");
    assert!(r.err.contains("broken at record 4"), "{r:?}");
    let lines: Vec<&str> = r.out.lines().collect();
    assert!(lines.len() > 5, "{r:?}");
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line.starts_with('!'), i >= 4, "line {i}: {line}");
    }
    let r = sb.ok("log export --jsonl --no-verify");
    for line in r.out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let seq = v["seq"].as_u64().unwrap();
        assert_eq!(v.get("unverified").is_some(), seq >= 4, "{line}");
    }
    let r = sb.ok("log export --csv --no-verify");
    let marked: Vec<bool> = r
        .out
        .lines()
        .skip(1)
        .map(|l| l.contains("UNVERIFIED: "))
        .collect();
    assert_eq!(marked.iter().position(|m| *m), Some(4), "{r:?}");
    assert!(marked[4..].iter().all(|m| *m), "{r:?}");
}

#[test]
fn an_intact_log_is_shown_as_before() {
    let sb = Sandbox::with_log();
    sb.ok("policy import");
    let r = sb.ok("log show");
    assert!(!r.out.contains('!'), "{r:?}");
    assert!(r.err.is_empty(), "{r:?}");
    let r = sb.ok("log export --jsonl");
    assert!(!r.out.contains("unverified"), "{r:?}");
}

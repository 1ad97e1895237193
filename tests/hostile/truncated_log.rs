//! A log cut short (by a byte, a quarter, half, to nothing) or with a few bytes zeroed:
//! every reader and writer gives the same verdict, corrupted (exit 3) with what is wrong,
//! and the file is left byte-for-byte as it was. `log verify`, `log show`, `zone list`,
//! a daemonless `zone add` and the daemon's start-up are tried on each.

use crate::common::{Sandbox, refused};
use crate::daemon::support::Daemon;
use std::time::{Duration, Instant};

/// A log of a policy import and a zone add, then damaged by `damage`.
fn damaged(damage: impl FnOnce(Vec<u8>) -> Vec<u8>) -> Sandbox {
    let sb = Sandbox::with_log();
    sb.ok("policy import");
    sb.ok("zone add --zone example.com --policy default");
    let bytes = damage(sb.log_bytes());
    std::fs::write(sb.log_path(), bytes).unwrap();
    sb
}

/// Every command refuses the log with exit 3, saying `what`, and writes nothing; the
/// daemon refuses to start with exit 3 and leaves the file as it was.
fn refused_by_everyone(sb: &Sandbox, what: &str) {
    let path = sb.log_path().display().to_string();
    for line in [
        "log verify",
        "log show",
        "log export --jsonl",
        "zone list",
        "key list",
        "zone add --zone new.test --policy default",
    ] {
        let r = refused(sb, line, 3, what);
        assert!(r.err.contains(&path), "{line}: {r:?}");
        assert!(!r.out.contains("verified"), "{line}: {r:?}");
        assert!(!r.out.contains("new.test"), "{line}: {r:?}");
    }
    let before = sb.log_bytes();
    let mut d = Daemon::spawn(sb, &[]);
    let started = Instant::now();
    let code = loop {
        if let Some(status) = d.child.as_mut().unwrap().try_wait().unwrap() {
            d.child = None;
            break status.code();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the daemon started on a damaged log: {}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(3), "{}", d.log());
    assert!(
        d.log()
            .contains(&format!("setup failed: the event log {path} is corrupted"))
            && d.log().contains(what),
        "{}",
        d.log()
    );
    assert!(
        before == sb.log_bytes(),
        "the daemon's start-up changed the log"
    );
}

#[test]
fn a_log_cut_by_one_byte_is_corrupt_for_everyone() {
    let sb = damaged(|mut b| {
        b.pop();
        b
    });
    refused_by_everyone(&sb, "cut short");
    // Every record is still readable: the message says so (records 0 to 5).
    refused(&sb, "log verify", 3, "the last good record: 5");
}

#[test]
fn a_log_cut_by_a_quarter_is_corrupt_for_everyone() {
    let sb = damaged(|mut b| {
        b.truncate(b.len() - b.len() / 4);
        b
    });
    refused_by_everyone(&sb, "cut short");
}

#[test]
fn a_log_cut_by_half_is_corrupt_for_everyone() {
    let sb = damaged(|mut b| {
        b.truncate(b.len() / 2);
        b
    });
    refused_by_everyone(&sb, "cut short");
}

#[test]
fn an_empty_log_is_corrupt_for_everyone() {
    let sb = damaged(|_| Vec::new());
    refused_by_everyone(&sb, "the file is empty");
}

/// Four bytes zeroed inside the `zone add` record (every copy of it: redb pages are
/// copy-on-write): the chain breaks after record 3, the last good one.
#[test]
fn a_log_with_bytes_zeroed_in_a_record_is_corrupt_for_everyone() {
    let sb = damaged(|mut b| {
        let text = b"zone add --zone example.com --policy default";
        let hits: Vec<usize> = b
            .windows(text.len())
            .enumerate()
            .filter(|(_, w)| *w == text)
            .map(|(i, _)| i)
            .collect();
        assert!(!hits.is_empty());
        for at in hits {
            b[at + 10..at + 14].fill(0);
        }
        b
    });
    refused_by_everyone(&sb, "record");
    let r = sb.sh("log verify");
    assert!(r.err.contains("FAILED verification at record"), "{r:?}");
    let r = sb.sh("log show");
    assert!(r.err.contains("the last good one: record"), "{r:?}");
}

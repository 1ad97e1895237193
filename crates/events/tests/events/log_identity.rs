//! Which file a log handle holds: a file removed or replaced under an open handle
//! refuses appends before writing, and an append during which it was replaced is
//! reported as not done; a log cut short is refused alike by every kind of open.

use crate::common::{log_created, new_event};
use kasp_events::{Access, Actor, EventLog, LogError, Timestamp};
use std::path::{Path, PathBuf};

fn tmp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.redb");
    (dir, path)
}

fn make_log(path: &Path, n: u64) -> EventLog {
    let (mut log, _) =
        EventLog::create(path, log_created(), Timestamp(0), Actor::System, "setup").unwrap();
    for k in 1..=n {
        log.append(log.head(), vec![new_event(k, "cause")], |_| None)
            .unwrap();
    }
    log
}

#[test]
fn an_open_log_knows_it_is_still_at_its_path() {
    let (_dir, path) = tmp();
    let log = make_log(&path, 1);
    log.still_at_path().unwrap();
    let ro = EventLog::open(&path, Access::ReadOnly).unwrap();
    ro.still_at_path().unwrap();
}

#[test]
fn a_removed_log_refuses_appends_and_writes_nothing() {
    let (dir, path) = tmp();
    let mut log = make_log(&path, 2);
    let kept = dir.path().join("kept.redb");
    std::fs::hard_link(&path, &kept).unwrap();
    std::fs::remove_file(&path).unwrap();
    let head = log.head();
    let err = log
        .append(head, vec![new_event(3, "after")], |_| None)
        .unwrap_err();
    match &err {
        LogError::Replaced { path: p, detail } => {
            assert_eq!(p, &path);
            assert!(detail.contains("removed"), "{err}");
        }
        other => panic!("expected Replaced, got {other:?}"),
    }
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert_eq!(log.head(), head, "the refused append moved the head");
    // Reads go on from the file held; put back, it takes appends again.
    assert_eq!(log.verify().unwrap(), head);
    std::fs::rename(&kept, &path).unwrap();
    log.append(head, vec![new_event(3, "again")], |_| None)
        .unwrap();
}

#[test]
fn a_log_moved_over_refuses_appends() {
    let (dir, path) = tmp();
    let mut log = make_log(&path, 1);
    let other = dir.path().join("other.redb");
    drop(make_log(&other, 4));
    std::fs::rename(&other, &path).unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = log
        .append(log.head(), vec![new_event(2, "after")], |_| None)
        .unwrap_err();
    assert!(
        matches!(&err, LogError::Replaced { detail, .. } if detail.contains("another file")),
        "{err:?}"
    );
    assert!(
        std::fs::read(&path).unwrap() == before,
        "the new file was written"
    );
}

/// The file is replaced while the append runs (inside its transaction, before the
/// commit): the commit lands in the file held, which the path no longer names, so the
/// append is reported as not done rather than acknowledged and lost at the next open.
#[test]
fn a_log_replaced_during_an_append_reports_it_not_done() {
    let (dir, path) = tmp();
    let mut log = make_log(&path, 1);
    let other = dir.path().join("other.redb");
    drop(make_log(&other, 1));
    let err = log
        .append(log.head(), vec![new_event(2, "during")], |_| {
            std::fs::rename(&other, &path).unwrap();
            None
        })
        .unwrap_err();
    match &err {
        LogError::Replaced { detail, .. } => {
            assert!(detail.contains("did NOT complete"), "{err}");
        }
        other => panic!("expected Replaced, got {other:?}"),
    }
}

/// Cut short by one byte, a quarter, half, or to nothing: read-only and read-write opens
/// give the same verdict, corrupted, and change nothing.
#[test]
fn a_log_cut_short_is_corrupt_for_every_open() {
    let (dir, path) = tmp();
    drop(make_log(&path, 5));
    let full = std::fs::read(&path).unwrap();
    let n = full.len();
    for (what, len) in [
        ("one byte", n - 1),
        ("a quarter", n - n / 4),
        ("half", n / 2),
        ("everything", 0),
    ] {
        let p = dir.path().join(format!("cut-{len}"));
        std::fs::write(&p, &full[..len]).unwrap();
        for access in [Access::ReadOnly, Access::ReadWrite] {
            match EventLog::open(&p, access) {
                Err(LogError::Corrupt { detail, .. }) => {
                    // The read-only open says what of the log can still be read.
                    if access == Access::ReadOnly && len > 0 {
                        assert!(
                            detail.contains("the last good record: ")
                                || detail.contains("no record can be read"),
                            "{detail}"
                        );
                    }
                }
                other => panic!("cut by {what} ({access:?}): expected Corrupt, got {other:?}"),
            }
            assert!(
                std::fs::read(&p).unwrap() == full[..len],
                "cut by {what} ({access:?}): the refused open changed the file"
            );
        }
    }
}

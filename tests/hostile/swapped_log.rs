//! The log removed (`rm`) or replaced (`mv` of another file over it) while
//! `ods-enforcerd` holds it open: the daemon refuses every write with exit 3 naming the
//! path (and says so in its log at error level), still answers reads from the file it
//! holds, `log verify` reports the mismatch (exit 3), and after a restart every write it
//! acknowledged is in the log.

use crate::common::Sandbox;
use crate::daemon::support::{Daemon, fast_sandbox};

/// Checks the daemon refuses a write, answers a read and fails `log verify`, all
/// naming the log's path and `why`.
fn refuses_writes_but_answers_reads(sb: &Sandbox, d: &Daemon, why: &str) {
    let path = sb.log_path().display().to_string();
    let r = sb.sh("zone add --zone refused.test --policy fast");
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.err.contains(&path) && r.err.contains(why), "{r:?}");
    assert!(!r.out.contains("added successfully"), "{r:?}");
    let r = sb.ok("zone list");
    assert!(r.out.contains("before.test"), "{r:?}");
    assert!(!r.out.contains("refused.test"), "{r:?}");
    let r = sb.sh("log verify");
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.err.contains(&path) && r.err.contains(why), "{r:?}");
    assert!(!r.out.contains("verified"), "{r:?}");
    assert!(
        d.log().contains("error: [engine] the event log") && d.log().contains(why),
        "not logged at error level: {}",
        d.log()
    );
}

/// Stops the daemon, starts it again, and returns its `zone list`.
fn zones_after_restart(sb: &Sandbox, mut d: Daemon) -> String {
    assert_eq!(sb.sh("stop").code, 0);
    assert_eq!(d.wait(), Some(0), "{}", d.log());
    drop(d);
    let mut d = Daemon::start(sb, &[]);
    let zones = sb.ok("zone list").out;
    assert_eq!(sb.sh("stop").code, 0);
    assert_eq!(d.wait(), Some(0), "{}", d.log());
    zones
}

#[test]
fn a_log_removed_under_the_daemon_is_never_written_to() {
    let sb = fast_sandbox(false);
    let d = Daemon::start(&sb, &[]);
    sb.ok("zone add --zone before.test --policy fast");
    // A second name keeps the file, to put it back.
    std::fs::hard_link(sb.log_path(), sb.path("kept.redb")).unwrap();
    std::fs::remove_file(sb.log_path()).unwrap();
    refuses_writes_but_answers_reads(&sb, &d, "removed");
    assert!(!sb.log_path().exists(), "a refused write created a log");
    // Put back, the path names the file held again: writes resume.
    std::fs::rename(sb.path("kept.redb"), sb.log_path()).unwrap();
    sb.ok("zone add --zone after.test --policy fast");
    sb.ok("log verify");
    let zones = zones_after_restart(&sb, d);
    assert!(
        zones.contains("before.test") && zones.contains("after.test"),
        "{zones}"
    );
    assert!(!zones.contains("refused.test"), "{zones}");
}

#[test]
fn a_log_moved_over_the_held_one_is_never_written_to() {
    let sb = fast_sandbox(false);
    let d = Daemon::start(&sb, &[]);
    sb.ok("zone add --zone before.test --policy fast");
    // A copy of the log as it is now (every acknowledged write is in it), moved over it.
    std::fs::copy(sb.log_path(), sb.path("copy.redb")).unwrap();
    std::fs::rename(sb.path("copy.redb"), sb.log_path()).unwrap();
    let before = sb.log_bytes();
    refuses_writes_but_answers_reads(&sb, &d, "another file was put in its place");
    assert!(before == sb.log_bytes(), "the file moved in was written to");
    // Restarted, the daemon uses the file now at the path: everything acknowledged is
    // in it, the refused write is not.
    let zones = zones_after_restart(&sb, d);
    assert!(zones.contains("before.test"), "{zones}");
    assert!(!zones.contains("refused.test"), "{zones}");
}

/// Without a daemon, a log removed between commands is missing (as before), not
/// created again by a write.
#[test]
fn a_removed_log_is_missing_for_daemonless_commands() {
    let sb = Sandbox::with_log();
    sb.ok("policy import");
    std::fs::remove_file(sb.log_path()).unwrap();
    let r = sb.sh("zone add --zone new.test --policy default");
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.err.contains("no event log"), "{r:?}");
    assert!(!sb.log_path().exists());
}

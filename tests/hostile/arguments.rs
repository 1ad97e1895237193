//! Arguments with spaces and words left over: OpenDNSSEC's command line travels as words
//! joined by spaces (its client joins them, its daemon splits the line), so a value holding
//! a space falls apart. Its commands ignore the words left over, and would act on the
//! first half (`--zone 'b c.test'` adds zone `b`). kasp-ledger refuses both: a spaced
//! argument in its client (exit 2), and words left over after the options in every command,
//! daemonless or in the daemon, through its client or the stock one (`too many
//! arguments`, exit 255). Nothing is appended.

use crate::common::{Run, Sandbox, refused};
use crate::daemon::support::{Daemon, fast_sandbox, stock};

/// Whether `zone list` lists a zone of this name.
fn has_zone(sb: &Sandbox, name: &str) -> bool {
    let list = sb.ok("zone list").out;
    list.lines()
        .any(|l| l.split_whitespace().next() == Some(name))
}

#[test]
fn a_value_with_a_space_is_refused_by_the_client() {
    let sb = Sandbox::with_log();
    sb.ok("policy import");
    let before = sb.log_bytes();
    let r = sb.run(&["zone", "add", "--zone", "b c.test", "--policy", "default"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.err.contains("'b c.test' contains a space"), "{r:?}");
    let spaced = sb.path("with space.xml").display().to_string();
    let r = sb.run(&[
        "zone",
        "add",
        "--zone",
        "d.test",
        "--policy",
        "default",
        "--signerconf",
        &spaced,
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        before == sb.log_bytes(),
        "a refused command changed the log"
    );
    assert!(
        !sb.path("with").exists(),
        "a file was written at the first half of the path"
    );
    assert!(!has_zone(&sb, "d.test"));
    // The command itself may still come as one argument, as the stock client allows.
    let r = sb.run(&["zone list"]);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn words_left_over_are_refused_daemonless() {
    let sb = Sandbox::with_log();
    sb.ok("policy import");
    // What `--zone 'b c.test'` becomes once split, as the stock client sends it.
    refused(
        &sb,
        "zone add --zone b c.test --policy default",
        255,
        "too many arguments: c.test",
    );
    refused(
        &sb,
        "zone add --zone d.test --policy default --signerconf /tmp/with space.xml",
        255,
        "too many arguments: space.xml",
    );
    refused(&sb, "zone delete --zone b stray", 255, "too many arguments");
    refused(&sb, "policy import extra words", 255, "too many arguments");
    refused(&sb, "backup list extra", 255, "too many arguments: extra");
    assert!(!has_zone(&sb, "b"));
    // `--` ends the options; what follows is left over too.
    refused(
        &sb,
        "policy import -- more",
        255,
        "too many arguments: more",
    );
    // Commands with their own words keep them.
    sb.ok("backup list");
}

fn assert_refused_left_over(r: &Run) {
    assert_eq!(r.code, 255, "{r:?}");
    assert!(r.err.contains("too many arguments"), "{r:?}");
}

#[test]
fn words_left_over_are_refused_in_the_daemon() {
    let sb = fast_sandbox(false);
    let _d = Daemon::start(&sb, &[]);
    let socket = sb.path("enforcer/enforcer.sock");
    let before = sb.log_bytes();
    // The stock client joins its arguments with spaces: a spaced value arrives split.
    let r = stock(&socket, "zone add --zone b c.test --policy fast");
    assert_refused_left_over(&r);
    let r = sb.sh("zone add --zone b c.test --policy fast");
    assert_refused_left_over(&r);
    assert!(
        before == sb.log_bytes(),
        "a refused command changed the log"
    );
    assert!(!has_zone(&sb, "b"));
    // Our client refuses a spaced argument before it reaches the daemon.
    let r = sb.run(&["zone", "add", "--zone", "b c.test", "--policy", "fast"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        before == sb.log_bytes(),
        "a refused command changed the log"
    );
    sb.ok("zone add --zone e.test --policy fast");
    assert!(has_zone(&sb, "e.test"));
}

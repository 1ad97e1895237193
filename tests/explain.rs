//! `explain --zone Z` end to end on a simulated clock: a KSK rollover driven with
//! `time leap` and the DS commands, where explain must name the timer second the next
//! leap really moves the record at and the exact `key ds-seen` the zone waits for;
//! refusals (exit code, message, log untouched); the same answer through the daemon.

use crate::common::{Sandbox, conf_element, refused, script};
use crate::daemon::support::{Daemon, fast_sandbox};

/// The key tag of the key of `role` in `state` (key list --verbose --parsable).
fn key_tag(sb: &Sandbox, role: &str, state: &str) -> String {
    let list = sb.ok("key list --verbose --parsable").out;
    list.lines()
        .map(|l| l.split(';').collect::<Vec<_>>())
        .find(|f| f.len() == 9 && f[1] == role && f[2] == state)
        .map(|f| f[8].to_string())
        .unwrap_or_else(|| panic!("no {role} in state {state}: {list}"))
}

/// The explain line of `record` in the block of the key with this tag.
fn record_line(explain: &str, tag: &str, record: &str) -> String {
    let block = explain
        .split("\n")
        .skip_while(|l| !l.contains(&format!(", keytag {tag},")))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect::<Vec<_>>();
    block
        .iter()
        .find(|l| l.trim_start().starts_with(&format!("{record} ")))
        .map(|l| l.to_string())
        .unwrap_or_else(|| panic!("no {record} of keytag {tag} in:\n{explain}"))
}

/// The `at …` time of explain's first line.
fn explained_at(explain: &str) -> String {
    let first = explain.lines().next().unwrap_or_default();
    let at = first.split(", at ").nth(1).expect("header");
    at.trim_end_matches(" (times are UTC)").to_string()
}

/// A default-policy zone whose first KSK is active (DS omnipresent).
fn active_zone() -> Sandbox {
    let sb = Sandbox::with_token();
    sb.ok("policy import");
    sb.ok("zone add --zone example.com --policy default");
    sb.ok("time leap");
    sb.ok("time leap");
    let tag = key_tag(&sb, "KSK", "ready");
    // No DS hook configured: the ds-submit task marked the DS submitted (as 2.1.12).
    sb.ok(&format!("key ds-seen --zone example.com --keytag {tag}"));
    sb.ok("time leap");
    let e = sb.ok("explain --zone example.com").out;
    assert!(
        record_line(&e, &tag, "DS").ends_with("omnipresent: settled (at its goal)"),
        "{e}"
    );
    sb
}

#[test]
fn explain_follows_a_ksk_rollover_to_the_ds_seen_it_waits_for() {
    let sb = active_zone();
    let old = key_tag(&sb, "KSK", "active");
    sb.ok("key rollover --zone example.com --keytype KSK");
    let new = key_tag(&sb, "KSK", "publish");
    let before = sb.log_bytes();
    let e = sb.ok("explain --zone example.com").out;
    assert!(before == sb.log_bytes(), "explain wrote to the log");
    // The new DNSKEY waits for its publish interval; the printed second is where the
    // next leap goes and where the record moves.
    let dnskey = record_line(&e, &new, "DNSKEY");
    assert!(
        dnskey.contains("rumoured -> omnipresent: timer: may move at "),
        "{e}"
    );
    let expiry = dnskey
        .split("may move at ")
        .nth(1)
        .and_then(|r| r.split(" (").next())
        .expect("expiry")
        .to_string();
    assert!(
        dnskey.contains(
            "+ 50400 s: DNSKEY TTL 3600 + zone propagation delay 43200 + publish safety 3600"
        ),
        "{dnskey}"
    );
    assert!(
        e.contains(&format!("Next run: {expiry} (in 50400 s)")),
        "{e}"
    );
    // The old DS may not leave while it is the only DS (rule 1), the new DS not before
    // its DNSKEY is omnipresent (the roll type).
    let ds_old = record_line(&e, &old, "DS");
    assert!(
        ds_old.contains("validity rule 1 (a DS exists) would break; waits for KSK #")
            && ds_old.ends_with("DS rumoured"),
        "{ds_old}"
    );
    assert!(
        record_line(&e, &new, "DS").contains(
            "roll-type order: the DS is introduced only once this key's DNSKEY is omnipresent"
        ),
        "{e}"
    );
    sb.ok("time leap");
    let e = sb.ok("explain --zone example.com").out;
    assert_eq!(explained_at(&e), expiry);
    assert!(
        record_line(&e, &new, "DNSKEY").ends_with("DNSKEY      omnipresent: settled (at its goal)"),
        "{e}"
    );
    // The new DS is requested and, no hook being configured, marked submitted by the
    // ds-submit task (as 2.1.12); explain names exactly the ds-seen the zone waits for.
    let list = sb.ok("key list --verbose").out;
    assert!(list.contains("waiting for ds-seen"), "{list}");
    assert_eq!(key_tag(&sb, "KSK", "ready"), new);
    let e = sb.ok("explain --zone example.com").out;
    let ds = record_line(&e, &new, "DS");
    assert!(
        ds.contains(&format!(
            "rumoured -> omnipresent: waits for the operator: key ds-seen --zone example.com --keytag {new} "
        )),
        "{ds}"
    );
    assert!(
        e.contains(&format!(
            "Waiting for the operator: key ds-seen --zone example.com --keytag {new}\n"
        )),
        "{e}"
    );
    assert!(
        !e.contains(&format!("key ds-seen --zone example.com --keytag {old}")),
        "{e}"
    );
    // After ds-seen the DS waits for its interval, counted from the command.
    sb.ok(&format!("key ds-seen --zone example.com --keytag {new}"));
    let e = sb.ok("explain --zone example.com").out;
    assert!(
        record_line(&e, &new, "DS").contains("timer: may move at ")
            && record_line(&e, &new, "DS").contains("+ 13599 s: DS TTL 3600"),
        "{e}"
    );
}

#[test]
fn explain_refuses_bad_input_and_leaves_the_log_alone() {
    let sb = Sandbox::with_token();
    sb.ok("policy import");
    sb.ok("zone add --zone example.com --policy default");
    let r = refused(&sb, "explain", 255, "expected option --zone <zone>");
    assert!(r.out.starts_with("Usage:\n\nexplain\n"), "{r:?}");
    refused(
        &sb,
        "explain --zone nosuch.example",
        1,
        "Unable to find zone nosuch.example",
    );
    refused(&sb, "explain --zone", 255, "unknown arguments");
    refused(&sb, "explain --bogus", 255, "unknown arguments");
    let r = sb.ok("explain -z EXAMPLE.COM.");
    assert!(
        r.out
            .starts_with("Zone example.com, policy default, at 2025-01-01 00:00:00"),
        "{r:?}"
    );
    let r = sb.ok("explain --help");
    assert!(
        r.out
            .contains("Explain why the keys of a zone are where they are"),
        "{r:?}"
    );
}

#[test]
fn explain_through_the_daemon_answers_as_daemonless() {
    let sb = fast_sandbox(false);
    let mut d = Daemon::start(&sb, &[]);
    sb.ok("zone add --zone example.com --policy fast");
    let through = sb.ok("explain --zone example.com");
    assert!(
        through
            .out
            .starts_with("Zone example.com, policy fast, at "),
        "{through:?}"
    );
    assert!(through.out.contains("Next run: "), "{through:?}");
    let r = sb.sh("explain --zone nosuch.example");
    assert_eq!(
        (r.code, r.err.as_str()),
        (1, "Unable to find zone nosuch.example\n")
    );
    assert_eq!(sb.sh("stop").code, 0);
    assert_eq!(d.wait(), Some(0), "{}", d.log());
    assert_eq!(sb.ok("explain --zone example.com"), through);
}

#[test]
fn explain_names_a_failed_ds_hook_and_its_retry_as_the_next_event() {
    let sb = Sandbox::with_token();
    let hook = script(&sb, "submit", "cat > /dev/null; exit 1");
    conf_element(
        &sb,
        &format!("<DelegationSignerSubmitCommand>{hook}</DelegationSignerSubmitCommand>"),
    );
    sb.ok("policy import");
    sb.ok("zone add --zone example.com --policy default");
    sb.ok("time leap");
    sb.ok("time leap");
    let tag = key_tag(&sb, "KSK", "ready");
    let e = sb.ok("explain --zone example.com").out;
    let ds = record_line(&e, &tag, "DS");
    assert!(
        ds.contains(
            "rumoured -> omnipresent: waits for the DS submission: the ds-submit task runs \
             DelegationSignerSubmitCommand; its last try failed, next try at "
        ),
        "{ds}"
    );
    // The hook is configured: the operator's ds-submit would not stand in for it.
    assert!(!e.contains("Waiting for the operator"), "{e}");
    let retry = ds
        .split("next try at ")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .expect("retry time")
        .to_string();
    assert!(
        e.contains(&format!(
            "Next event: {retry} (in 60 s): the DS task tries again (ds-submit for KSK #"
        )),
        "{e}"
    );
    // The hook recovers; the next leap is the retry, and the DS then waits for ds-seen.
    script(&sb, "submit", "cat > /dev/null; exit 0");
    sb.ok("time leap");
    let e = sb.ok("explain --zone example.com").out;
    assert_eq!(explained_at(&e), retry);
    assert!(
        e.contains(&format!(
            "Waiting for the operator: key ds-seen --zone example.com --keytag {tag}\n"
        )),
        "{e}"
    );
}

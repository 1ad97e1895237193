//! The enforcer end to end with a real SoftHSM2 token and a simulated clock: the
//! signconf it writes (checked with xmllint against signconf.rng), the signer's zone
//! list, the signer notify, DS hooks that fail and are retried, and the refusals of
//! the enforcer commands (exit code, message, log untouched).

use crate::common::{Sandbox, conf_element, refused, script};
use std::process::Command;

/// A token sandbox whose signer notify runs `notify` (a program).
fn sandbox(notify: &str) -> Sandbox {
    let mut sb = Sandbox::with_token();
    sb.env.push(("KASP_SIGNER_COMMAND".into(), notify.into()));
    sb
}

fn xmllint(schema: &str, file: &std::path::Path) -> std::process::Output {
    Command::new("xmllint")
        .args(["--noout", "--relaxng", schema])
        .arg(file)
        .output()
        .expect("xmllint (Debian package libxml2-utils)")
}

#[test]
fn signconf_is_written_valid_and_announced() {
    let mut sb = sandbox("/bin/true");
    sb.ok("policy import");
    sb.ok("zone add --zone example.com --policy default");
    let signconf = sb.path("signconf/example.com.xml");
    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../engine/schemas/signconf.rng"
    );
    let v = xmllint(schema, &signconf);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    let text = std::fs::read_to_string(&signconf).unwrap();
    assert_eq!(text.matches("<Key>").count(), 2, "{text}");
    // The signer's zone list names the zone and its signconf.
    let zones = std::fs::read_to_string(sb.path("enforcer/zones.xml")).unwrap();
    assert!(zones.contains("example.com") && zones.contains("signconf/example.com.xml"));
    let log = sb.ok("log show --zone example.com").out;
    assert!(log.contains("signconf written to"), "{log}");
    assert!(log.contains("signer notified"), "{log}");
    // `signconf` rewrites it on request; a failing notify is recorded, not fatal.
    sb.env.retain(|(k, _)| k != "KASP_SIGNER_COMMAND");
    sb.env
        .push(("KASP_SIGNER_COMMAND".into(), "/bin/false".into()));
    sb.ok("signconf");
    let log = sb.ok("log show --zone example.com").out;
    assert!(log.contains("signer notify failed"), "{log}");
}

#[test]
fn a_signconf_request_cut_short_is_finished_by_the_next_run() {
    use kasp_events::{Access, Actor, EventLog, NewEvent, SignconfRequested, Timestamp};
    let sb = sandbox("/bin/true");
    sb.ok("policy import");
    sb.ok("zone add --zone example.com --policy default");
    // `signconf` records the request before it writes.
    sb.ok("signconf");
    let log = sb.ok("log show").out;
    let request = log.find("Signconf requested for all zones");
    let written = log.rfind("signconf written to");
    assert!(request.is_some() && request < written, "{log}");
    // A `signconf` killed after its request and its first writes, before recording
    // them: the request is in the log, the file is not the one recorded.
    let signconf = sb.path("signconf/example.com.xml");
    let text = std::fs::read_to_string(&signconf).unwrap();
    std::fs::write(&signconf, "half-written").unwrap();
    let mut events = EventLog::open(&sb.log_path(), Access::ReadWrite).unwrap();
    let request = NewEvent {
        at: Timestamp(1_735_689_600),
        actor: Actor::Operator("test".into()),
        cause: "signconf".into(),
        event: SignconfRequested { zones: None }.into(),
    };
    events
        .append(events.head(), vec![request], |_| None)
        .unwrap();
    drop(events);
    let before = sb.ok("log show --zone example.com").out;
    // The next run (here a flush of another zone's name) writes it again.
    sb.ok("enforce --zone other.example");
    assert_eq!(std::fs::read_to_string(&signconf).unwrap(), text);
    let after = sb.ok("log show --zone example.com").out;
    assert_eq!(
        after.matches("signconf written to").count(),
        before.matches("signconf written to").count() + 1,
        "{after}"
    );
}

#[test]
fn a_failing_ds_hook_keeps_the_key_and_is_retried() {
    let sb = sandbox("/bin/true");
    let calls = sb.path("ds-calls.log").display().to_string();
    let hook = script(&sb, "submit", &format!("cat >> {calls}; exit 1"));
    conf_element(
        &sb,
        &format!("<DelegationSignerSubmitCommand>{hook}</DelegationSignerSubmitCommand>"),
    );
    sb.ok("policy import");
    sb.ok("zone add --zone example.com --policy default");
    // 14 h: DNSKEYs omnipresent; 36 h: the DS goes rumoured and the submit task runs.
    sb.ok("time leap");
    sb.ok("time leap");
    let keys = sb.ok("key list --verbose").out;
    assert!(keys.contains("waiting for ds-submit"), "{keys}");
    let log = sb.ok("log show").out;
    assert!(log.contains("DS submit hook failed"), "{log}");
    let queue = sb.ok("queue").out;
    assert!(
        queue.contains("I will ds-submit zone example.com"),
        "{queue}"
    );
    assert!(
        std::fs::read_to_string(&calls)
            .unwrap()
            .contains("DNSKEY 257")
    );
    // The hook recovers: the retry moves the key on.
    script(&sb, "submit", &format!("cat >> {calls}; exit 0"));
    sb.ok("time leap");
    let keys = sb.ok("key list --verbose").out;
    assert!(keys.contains("waiting for ds-seen"), "{keys}");
    let log = sb.ok("log show").out;
    assert!(
        log.contains("DS submit -> submitted (DS task, ran "),
        "{log}"
    );
}

/// No DS hook configured (OpenDNSSEC's stock conf.xml): as 2.1.12, the ds-submit task
/// marks the DS submitted all the same (corner F13-no-ds-commands), so `key ds-submit`
/// finds nothing and `key ds-seen` finds the KSK.
#[test]
fn a_missing_ds_hook_marks_the_ds_submitted_as_opendnssec_does() {
    let sb = sandbox("/bin/true");
    sb.ok("policy import");
    sb.ok("zone add --zone example.com --policy default");
    sb.ok("time leap");
    sb.ok("time leap");
    let keys = sb.ok("key list --verbose").out;
    assert!(keys.contains("waiting for ds-seen"), "{keys}");
    let log = sb.ok("log show").out;
    assert!(log.contains("DS submit -> submitted (DS task)"), "{log}");
    assert!(!log.contains("hook failed"), "{log}");
    let tag = key_tag(&sb, "KSK");
    let r = sb.sh(&format!("key ds-submit --zone example.com --keytag {tag}"));
    assert_eq!(r.code, 11, "{r:?}");
    let r = sb.ok(&format!("key ds-seen --zone example.com --keytag {tag}"));
    assert_eq!(r.out, "1 KSK matches found.\n1 KSKs changed.\n");
    let r = sb.sh(&format!("key ds-seen --zone example.com --keytag {tag}"));
    assert_eq!(r.code, 11, "{r:?}");
}

fn key_tag(sb: &Sandbox, role: &str) -> String {
    let list = sb.ok("key list --verbose --parsable").out;
    list.lines()
        .map(|l| l.split(';').collect::<Vec<_>>())
        .find(|f| f.len() == 9 && f[1] == role)
        .map(|f| f[8].to_string())
        .expect("key in list")
}

#[test]
fn enforcer_commands_refuse_bad_input_and_leave_the_log_alone() {
    let sb = sandbox("/bin/true");
    sb.ok("policy import");
    sb.ok("zone add --zone example.com --policy default");
    refused(
        &sb,
        "time leap --time tomorrow",
        255,
        "could not convert 'tomorrow'",
    );
    refused(
        &sb,
        "key ds-seen --zone nosuch.example --keytag 1",
        255,
        "Unable to find a zone named",
    );
    refused(
        &sb,
        "key ds-seen --zone example.com",
        255,
        "expected --zone and either",
    );
    refused(
        &sb,
        "key ds-seen --zone example.com --keytag 70000",
        1,
        "for --keytag is invalid",
    );
    refused(
        &sb,
        "key ds-gone --zone example.com --cka_id 00",
        255,
        "CKA_ID 00 can not be found!",
    );
    refused(
        &sb,
        "key rollover --policy nosuch",
        255,
        "unknown policy nosuch",
    );
    refused(
        &sb,
        "key rollover --zone example.com --keytype XSK",
        1,
        "given keytype \"XSK\" invalid",
    );
    refused(
        &sb,
        "key rollover",
        255,
        "expected either --zone <zone> or --policy <policy> option",
    );
    refused(
        &sb,
        "rollover list --zone nosuch.example",
        1,
        "zone 'nosuch.example' not found",
    );
    refused(
        &sb,
        "key list --keystate active --all",
        255,
        "cannot be given together",
    );
    refused(&sb, "key purge", 255, "expected either --zone or --policy");
    refused(
        &sb,
        "key purge --zone nosuch.example",
        255,
        "unknown zone nosuch.example",
    );
    refused(&sb, "enforce --bogus", 255, "unknown arguments");
}

#[test]
fn time_leap_needs_a_simulated_clock() {
    let sb = Sandbox::new();
    sb.ok("setup");
    refused(&sb, "time leap", 1, "simulated clock");
    refused(
        &sb,
        "time leap --time 2031-01-01-00:00:00",
        1,
        "setup --testing",
    );
}

/// The epoch seconds `queue` says it is now.
fn queue_now(sb: &Sandbox) -> i64 {
    let out = sb.ok("queue").out;
    let line = out.lines().find(|l| l.starts_with("It is now ")).unwrap();
    let (_, secs) = line.split_once(" (").unwrap();
    secs.split_whitespace().next().unwrap().parse().unwrap()
}

/// A log set up for testing keeps OpenDNSSEC's clock (common/duration.c `time_now`): the
/// system clock until the first `time leap`, then the time it leapt to, which stands
/// until the next leap.
#[test]
fn a_testing_log_runs_on_the_system_clock_until_a_leap_stops_it_there() {
    let sb = Sandbox::new();
    refused(
        &sb,
        "setup --testing --simulated-time 2025-01-01T00:00:00Z",
        2,
        "exclude",
    );
    let r = sb.ok("setup --testing");
    assert!(
        r.out
            .contains("system clock until a time leap, for testing"),
        "{r:?}"
    );
    let system = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };
    let first = queue_now(&sb);
    assert!(
        (first - system()).abs() <= 2,
        "{first} is not the system time"
    );
    // The clock must pass a second boundary: waiting is what is tested here.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert!(
        queue_now(&sb) > first,
        "the clock runs before the first leap"
    );
    let r = sb.ok("time leap --time 2031-01-01-00:00:00");
    assert!(r.out.contains("Leaping to time"), "{r:?}");
    assert_eq!(queue_now(&sb), 1_924_992_000);
    // A second of the system clock passes: the leapt clock must not follow it.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(
        queue_now(&sb),
        1_924_992_000,
        "the clock stands after a leap"
    );
    sb.ok("time leap --time 2031-01-02-00:00:00");
    assert_eq!(queue_now(&sb), 1_924_992_000 + 86_400);
    let shown = sb.ok("log show").out;
    assert!(shown.contains("for testing"), "{shown}");
}

#[test]
fn key_rollover_rolls_and_rollover_list_shows_it() {
    let sb = sandbox("/bin/true");
    sb.ok("policy import");
    sb.ok("zone add --zone example.com --policy default");
    let r = sb.ok("key rollover --zone example.com --keytype ZSK");
    assert_eq!(r.out, "rolling ZSK for zone example.com\n");
    let keys = sb.ok("key list --debug").out;
    assert_eq!(keys.matches("ZSK").count(), 2, "{keys}");
    let r = sb.ok("rollover list --zone example.com");
    assert!(
        r.out
            .starts_with("Keys:\nZone:                           Keytype: Rollover expected:")
    );
    let r = sb.ok("key rollover --policy lab");
    assert_eq!(r.out, "No zones on policy lab\nNo keys to be rolled\n");
}

#[test]
fn policy_resalt_reaches_the_signconf_at_once() {
    let sb = sandbox("/bin/true");
    sb.ok("policy import");
    sb.ok("zone add --zone example.com --policy default");
    let salt = |sb: &Sandbox| {
        let text = std::fs::read_to_string(sb.path("signconf/example.com.xml")).unwrap();
        let at = text.find("<Salt>").expect("salt") + 6;
        text[at..at + 16].to_string()
    };
    let before = salt(&sb);
    sb.ok("policy resalt");
    assert_ne!(salt(&sb), before);
}

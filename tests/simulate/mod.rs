//! What-if and the timeline picture on a real token and a simulated clock: `simulate`
//! lists the same record transitions that then happen when the log is leapt forward
//! (a ZSK rollover with the DS left alone, a KSK rollover with the DS answered at once),
//! never changes the log, answers the same through the daemon; `zone timeline` draws
//! the zone's history as an SVG whose spans match the log; bad input is refused.

mod timeline;

use crate::common::{Sandbox, refused, script};

pub(crate) const ZONE: &str = "example.com";
pub(crate) const DAY: i64 = 86_400;

/// One record transition: (time, key id, record, from, to), in the words of `simulate`.
pub(crate) type Transition = (String, u64, String, String, String);

/// A token sandbox with DS submit/retract hooks that succeed, the stock policies and
/// the zone, leapt until nothing is left to do for 30 days, answering the DS commands
/// as soon as a key waits for one.
pub(crate) fn settled_sandbox() -> Sandbox {
    let mut sb = Sandbox::with_token();
    sb.env
        .push(("KASP_SIGNER_COMMAND".into(), "/bin/true".into()));
    let hook = script(&sb, "ds-hook", "cat > /dev/null; exit 0");
    let conf = std::fs::read_to_string(sb.conf()).unwrap().replacen(
        "<AutomaticKeyGenerationPeriod>",
        &format!(
            "<DelegationSignerSubmitCommand>{hook}</DelegationSignerSubmitCommand>\n\
             \t\t<DelegationSignerRetractCommand>{hook}</DelegationSignerRetractCommand>\n\
             \t\t<AutomaticKeyGenerationPeriod>"
        ),
        1,
    );
    std::fs::write(sb.conf(), conf).unwrap();
    sb.ok("policy import");
    sb.ok(&format!("zone add --zone {ZONE} --policy default"));
    let start = now(&sb);
    advance(&sb, start + 30 * DAY, true);
    sb
}

/// The enforcer's now (`queue`).
pub(crate) fn now(sb: &Sandbox) -> i64 {
    let q = sb.ok("queue").out;
    let line = q.lines().find(|l| l.starts_with("It is now")).unwrap();
    epoch_in(line).unwrap()
}

/// The `(N seconds since epoch)` of a line.
fn epoch_in(line: &str) -> Option<i64> {
    let open = line.rfind('(')?;
    line[open + 1..].split(' ').next()?.parse().ok()
}

/// When `time leap` would go next: `None` without tasks; now when due at once.
fn next_task(sb: &Sandbox) -> Option<i64> {
    let q = sb.ok("queue").out;
    let line = q.lines().find(|l| l.starts_with("Next task scheduled"))?;
    if line.contains("immediately") {
        return Some(now(sb));
    }
    epoch_in(line)
}

/// The DS commands keys of the zone wait for, as (command, key tag).
pub(crate) fn waiting(sb: &Sandbox) -> Vec<(&'static str, String)> {
    let list = sb.ok("key list --verbose --parsable").out;
    list.lines()
        .map(|l| l.split(';').collect::<Vec<_>>())
        .filter(|f| f.len() == 9 && f[0] == ZONE)
        .filter_map(|f| {
            let command = match f[3] {
                "waiting for ds-submit" => "ds-submit",
                "waiting for ds-seen" => "ds-seen",
                "waiting for ds-retract" => "ds-retract",
                "waiting for ds-gone" => "ds-gone",
                _ => return None,
            };
            Some((command, f[8].to_string()))
        })
        .collect()
}

/// Leaps task by task while the next task is due at or before `horizon`; with
/// `answer`, gives the DS commands keys wait for before each leap.
pub(crate) fn advance(sb: &Sandbox, horizon: i64, answer: bool) {
    for _ in 0..2000 {
        if answer {
            for _ in 0..16 {
                let Some((command, tag)) = waiting(sb).into_iter().next() else {
                    break;
                };
                sb.ok(&format!("key {command} --zone {ZONE} --keytag {tag}"));
            }
        }
        match next_task(sb) {
            Some(t) if t <= horizon => {
                sb.ok("time leap");
            }
            _ => return,
        }
    }
    panic!("the clock never passed the horizon");
}

/// The `record` lines of a `simulate` report.
pub(crate) fn simulated_transitions(report: &str) -> Vec<Transition> {
    report
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // <time> record #<id> <role> <tag> <RECORD> <from> -> <to>
            (f.len() == 9 && f[1] == "record" && f[7] == "->").then(|| {
                (
                    f[0].to_string(),
                    f[2].trim_start_matches('#').parse().unwrap(),
                    f[5].to_string(),
                    f[6].to_string(),
                    f[8].to_string(),
                )
            })
        })
        .collect()
}

fn record_word(serde: &str) -> String {
    match serde {
        "Ds" => "DS",
        "Dnskey" => "DNSKEY",
        "RrsigDnskey" => "RRSIGDNSKEY",
        "Rrsig" => "RRSIG",
        other => panic!("record type {other}"),
    }
    .to_string()
}

fn state_word(serde: &str) -> String {
    match serde {
        "Na" => "NA".to_string(),
        other => other.to_ascii_lowercase(),
    }
}

/// The log as JSON records.
fn export(sb: &Sandbox) -> Vec<serde_json::Value> {
    sb.ok("log export --jsonl")
        .out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The zone's record transitions in the log from record `from_seq` on.
pub(crate) fn logged_transitions(sb: &Sandbox, from_seq: u64) -> Vec<Transition> {
    let mut v = Vec::new();
    for r in export(sb) {
        if r["seq"].as_u64().unwrap() < from_seq
            || r["kind"] != "ZoneEnforced"
            || r["event"]["zone"] != ZONE
        {
            continue;
        }
        let Some(ts) = r["event"]["state_machine"]["transitions"].as_array() else {
            continue;
        };
        for t in ts {
            v.push((
                r["at"].as_str().unwrap().to_string(),
                t["key"].as_u64().unwrap(),
                record_word(t["record"].as_str().unwrap()),
                state_word(t["from"].as_str().unwrap()),
                state_word(t["to"].as_str().unwrap()),
            ));
        }
    }
    v
}

pub(crate) fn next_seq(sb: &Sandbox) -> u64 {
    export(sb).len() as u64
}

/// A settled zone that went through a KSK rollover (the DS answered at once).
fn after_ksk_rollover() -> Sandbox {
    let sb = settled_sandbox();
    sb.ok(&format!("key rollover --zone {ZONE} --keytype KSK"));
    let t = now(&sb);
    advance(&sb, t + 40 * DAY, true);
    assert!(waiting(&sb).is_empty(), "{:?}", waiting(&sb));
    sb
}

#[test]
fn a_simulated_zsk_rollover_is_what_then_happens() {
    let sb = after_ksk_rollover();
    let list = sb.ok("key list --verbose").out;
    assert_eq!(list.matches("KSK").count(), 2, "old and new KSK: {list}");
    let (report, simulated) = simulate_zsk_rollover(&sb);
    // The same report again, byte for byte.
    let again = sb.ok(&format!("simulate -z {ZONE} -r zsk -u P120D")).out;
    assert_eq!(report, again);
    assert!(
        report.contains(&format!(
            "change   key rollover --zone {ZONE} --keytype ZSK"
        )),
        "{report}"
    );
    assert!(report.contains("signconf +#"), "{report}");
    // Now for real, to the same horizon.
    assert_eq!(simulated, zsk_rollover_for_real(&sb), "{report}");
}

/// `simulate --rollover ZSK --until P120D`: the report and its transitions (at least
/// six); the log is left as it was.
pub(crate) fn simulate_zsk_rollover(sb: &Sandbox) -> (String, Vec<Transition>) {
    let before = sb.log_bytes();
    let report = sb
        .ok(&format!(
            "simulate --zone {ZONE} --rollover ZSK --until P120D"
        ))
        .out;
    assert!(before == sb.log_bytes(), "simulate changed the log");
    let simulated = simulated_transitions(&report);
    assert!(simulated.len() >= 6, "{report}");
    (report, simulated)
}

/// `key rollover --keytype ZSK`, then leaps to 120 days on (no DS answered): the
/// transitions the log records.
pub(crate) fn zsk_rollover_for_real(sb: &Sandbox) -> Vec<Transition> {
    let start = now(sb);
    let seq = next_seq(sb);
    sb.ok(&format!("key rollover --zone {ZONE} --keytype ZSK"));
    advance(sb, start + 120 * DAY, false);
    logged_transitions(sb, seq)
}

#[test]
fn a_simulated_ksk_rollover_with_ds_answers_is_what_then_happens() {
    let sb = settled_sandbox();
    let before = sb.log_bytes();
    let report = sb
        .ok(&format!(
            "simulate --zone {ZONE} --rollover KSK --ds auto --until P120D"
        ))
        .out;
    assert!(before == sb.log_bytes(), "simulate changed the log");
    assert!(
        report.contains("operator key ds-seen --zone example.com --keytag"),
        "{report}"
    );
    assert!(report.contains("operator key ds-gone"), "{report}");
    assert!(
        report.contains("Operator actions still needed: none"),
        "{report}"
    );
    // Manual answers: the new KSK waits for ds-seen, listed with its earliest time.
    let manual = sb
        .ok(&format!(
            "simulate --zone {ZONE} --rollover KSK --until P120D"
        ))
        .out;
    assert!(
        manual.contains(" action   key ds-seen --zone example.com --keytag "),
        "{manual}"
    );
    assert!(!manual.contains("operator key"), "{manual}");
    let simulated = simulated_transitions(&report);
    assert!(simulated.len() >= 8, "{report}");

    let start = now(&sb);
    let seq = next_seq(&sb);
    sb.ok(&format!("key rollover --zone {ZONE} --keytype KSK"));
    advance(&sb, start + 120 * DAY, true);
    let real = logged_transitions(&sb, seq);
    assert_eq!(simulated, real, "{report}");
}

#[test]
fn a_simulated_rollover_without_ds_hooks_submits_as_time_leap_does() {
    // No DS hooks: as in OpenDNSSEC 2.1.12 the ds-submit task marks the DS submitted
    // all the same; the KSK waits for ds-seen, in the simulation as in the real run.
    let mut sb = Sandbox::with_token();
    sb.env
        .push(("KASP_SIGNER_COMMAND".into(), "/bin/true".into()));
    sb.ok("policy import");
    sb.ok(&format!("zone add --zone {ZONE} --policy default"));
    sb.ok("time leap");
    sb.ok("time leap");
    assert_eq!(waiting(&sb).first().map(|w| w.0), Some("ds-seen"));
    let report = sb
        .ok(&format!(
            "simulate --zone {ZONE} --rollover ZSK --until P100D"
        ))
        .out;
    assert_eq!(report.matches(" ds-hook  ").count(), 0, "{report}");
    assert!(
        report.contains("Operator actions still needed:\n  key ds-seen --zone example.com"),
        "{report}"
    );
    let simulated = simulated_transitions(&report);
    assert!(simulated.len() >= 6, "{report}");
    let start = now(&sb);
    let seq = next_seq(&sb);
    sb.ok(&format!("key rollover --zone {ZONE} --keytype ZSK"));
    advance(&sb, start + 100 * DAY, false);
    assert_eq!(simulated, logged_transitions(&sb, seq), "{report}");
}

#[test]
fn simulate_and_timeline_refuse_bad_input_and_leave_the_log_alone() {
    let sb = settled_sandbox();
    let z = format!("--zone {ZONE}");
    refused(
        &sb,
        "simulate --zone nope.example --until P1D",
        1,
        "zone nope.example not found",
    );
    refused(&sb, &format!("simulate {z}"), 2, "expected option --until");
    refused(&sb, "simulate --until P1D", 2, "expected option --zone");
    refused(
        &sb,
        &format!("simulate {z} --until soon"),
        2,
        "invalid duration 'soon'",
    );
    refused(
        &sb,
        &format!("simulate {z} --until P1D --rollover XSK"),
        2,
        "invalid key type 'XSK'",
    );
    refused(
        &sb,
        &format!("simulate {z} --until P1D --ds maybe"),
        2,
        "invalid value 'maybe' for --ds",
    );
    refused(
        &sb,
        &format!("simulate {z} --until P1D --policy default"),
        2,
        "go together",
    );
    let missing = sb.path("missing.xml");
    refused(
        &sb,
        &format!(
            "simulate {z} --until P1D --policy-file {} --policy default",
            missing.display()
        ),
        4,
        "cannot read",
    );
    let bad = sb.path("bad.xml");
    std::fs::write(&bad, "<KASP><Policy/>").unwrap();
    refused(
        &sb,
        &format!(
            "simulate {z} --until P1D --policy-file {} --policy default",
            bad.display()
        ),
        2,
        "is not a valid kasp.xml",
    );
    let kasp = sb.path("kasp.xml");
    refused(
        &sb,
        &format!(
            "simulate {z} --until P1D --policy-file {} --policy nosuch",
            kasp.display()
        ),
        2,
        "policy nosuch is not in",
    );
    refused(
        &sb,
        &format!("simulate {z} --until P1D --bogus"),
        255,
        "unknown arguments",
    );
    // zone timeline.
    let svg = sb.path("out.svg");
    refused(
        &sb,
        &format!("zone timeline --zone nope.example --svg {}", svg.display()),
        1,
        "zone nope.example not found",
    );
    refused(
        &sb,
        &format!("zone timeline {z}"),
        2,
        "expected option --svg",
    );
    refused(
        &sb,
        &format!("zone timeline {z} --svg {} --until never", svg.display()),
        2,
        "invalid duration 'never'",
    );
    assert!(!svg.exists());
    let unwritable = sb.path("no/such/dir/out.svg");
    refused(
        &sb,
        &format!("zone timeline {z} --svg {}", unwritable.display()),
        4,
        "cannot write",
    );
    assert!(!sb.path("no").exists());
    // A policy change from another kasp.xml: a ZSK lifetime of 30 days rolls the ZSK.
    let other = sb.path("other-kasp.xml");
    let text = std::fs::read_to_string(&kasp).unwrap().replacen(
        "<Lifetime>P90D</Lifetime>",
        "<Lifetime>P30D</Lifetime>",
        1,
    );
    std::fs::write(&other, text).unwrap();
    let before = sb.log_bytes();
    let r = sb.ok(&format!(
        "simulate {z} --until P40D --policy-file {} --policy default",
        other.display()
    ));
    assert!(before == sb.log_bytes());
    assert!(
        r.out.contains("change   policy import of policy default"),
        "{}",
        r.out
    );
    assert!(r.out.contains(" introduced\n"), "{}", r.out);
}

#[test]
fn simulate_and_timeline_answer_through_the_daemon() {
    use crate::daemon::support::Daemon;
    let sb = settled_sandbox();
    let line = format!("simulate --zone {ZONE} --rollover ZSK --until P60D");
    let daemonless = sb.ok(&line).out;
    let svg = sb.path("daemon.svg");
    let d = Daemon::start(&sb, &[]);
    // The daemon enforces every zone once at start-up, as OpenDNSSEC does; a command
    // its one writer answers after it (commands run there in turn) marks its end. Not
    // `queue`: the reads are answered from the view the writer last published
    // (crates/cli/src/daemon/reader.rs), which may be from before the start-up run.
    sb.ok(&line);
    let before = sb.log_bytes();
    let through = sb.ok(&line);
    assert_eq!(through.out, daemonless, "{}", d.log());
    let r = sb.ok(&format!(
        "zone timeline --zone {ZONE} --svg {}",
        svg.display()
    ));
    assert!(r.out.contains("written to"), "{r:?}");
    roxmltree::Document::parse(&std::fs::read_to_string(&svg).unwrap()).unwrap();
    // The daemon's working directory is not the operator's: relative paths refused.
    let r = sb.sh(&format!("zone timeline --zone {ZONE} --svg relative.svg"));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.err.contains("absolute path"), "{r:?}");
    assert!(
        before == sb.log_bytes(),
        "the daemon's simulate changed the log"
    );
    drop(d);
}

//! What-if and the timeline picture on a real token and a simulated clock: `simulate`
//! lists the same record transitions that then happen when the log is leapt forward
//! (a ZSK rollover with the DS left alone, a KSK rollover with the DS answered at once),
//! never changes the log, answers the same through the daemon; `zone timeline` draws
//! the zone's history as an SVG whose spans match the log; bad input is refused.

use crate::common::{Sandbox, refused};
use std::collections::BTreeMap;

const ZONE: &str = "example.com";
const DAY: i64 = 86_400;

/// One record transition: (time, key id, record, from, to), in the words of `simulate`.
type Transition = (String, u64, String, String, String);

fn script(sb: &Sandbox, name: &str, body: &str) -> String {
    let path = sb.path(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    let mut perm = std::fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&path, perm).unwrap();
    path.display().to_string()
}

/// A token sandbox with DS submit/retract hooks that succeed, the stock policies and
/// the zone, leapt until nothing is left to do for 30 days, answering the DS commands
/// as soon as a key waits for one.
fn settled_sandbox() -> Sandbox {
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
fn now(sb: &Sandbox) -> i64 {
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
fn waiting(sb: &Sandbox) -> Vec<(&'static str, String)> {
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
fn advance(sb: &Sandbox, horizon: i64, answer: bool) {
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
fn simulated_transitions(report: &str) -> Vec<Transition> {
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
fn logged_transitions(sb: &Sandbox, from_seq: u64) -> Vec<Transition> {
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

fn next_seq(sb: &Sandbox) -> u64 {
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
    let before = sb.log_bytes();
    let report = sb
        .ok(&format!(
            "simulate --zone {ZONE} --rollover ZSK --until P120D"
        ))
        .out;
    assert!(before == sb.log_bytes(), "simulate changed the log");
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
    let simulated = simulated_transitions(&report);
    assert!(simulated.len() >= 6, "{report}");

    // Now for real, to the same horizon.
    let start = now(&sb);
    let seq = next_seq(&sb);
    sb.ok(&format!("key rollover --zone {ZONE} --keytype ZSK"));
    advance(&sb, start + 120 * DAY, false);
    let real = logged_transitions(&sb, seq);
    assert_eq!(simulated, real, "{report}");
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
fn a_simulated_rollover_follows_the_failing_ds_task_retries() {
    // No DS hooks: the KSK waits for ds-submit, the task fails and is retried with a
    // back-off; the simulation leaps through the same retries as `time leap`.
    let mut sb = Sandbox::with_token();
    sb.env
        .push(("KASP_SIGNER_COMMAND".into(), "/bin/true".into()));
    sb.ok("policy import");
    sb.ok(&format!("zone add --zone {ZONE} --policy default"));
    sb.ok("time leap");
    sb.ok("time leap");
    assert_eq!(waiting(&sb).first().map(|w| w.0), Some("ds-submit"));
    let report = sb
        .ok(&format!(
            "simulate --zone {ZONE} --rollover ZSK --until P100D"
        ))
        .out;
    assert_eq!(
        report.matches(" ds-hook  ").count(),
        1,
        "retries listed once: {report}"
    );
    assert!(
        report.contains("Operator actions still needed:\n  key ds-submit --zone example.com"),
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

/// The spans of one lane: (state, start, end) with `end` "open" at the right edge.
type Lane = Vec<(String, i64, String)>;

#[test]
fn the_timeline_picture_matches_the_log_and_marks_now() {
    let sb = after_ksk_rollover();
    let svg_path = sb.path("timeline.svg");
    let before = sb.log_bytes();
    let r = sb.ok(&format!(
        "zone timeline --zone {ZONE} --svg {} --until P30D",
        svg_path.display()
    ));
    assert!(
        r.out.starts_with("Timeline of zone example.com written to"),
        "{r:?}"
    );
    assert!(before == sb.log_bytes(), "zone timeline changed the log");
    let text = std::fs::read_to_string(&svg_path).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("valid XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let num =
        |n: roxmltree::Node<'_, '_>, a: &str| -> i64 { n.attribute(a).unwrap().parse().unwrap() };
    let (from, to, now_at) = (
        num(root, "data-from"),
        num(root, "data-to"),
        num(root, "data-now"),
    );
    assert_eq!(now_at, now(&sb));
    assert_eq!(to, now_at + 30 * DAY);
    assert!(from < now_at);
    // "now" at its x.
    let marker = doc
        .descendants()
        .find(|n| n.attribute("id") == Some("now"))
        .expect("now marker");
    assert_eq!(num(marker, "data-time"), now_at);
    let x = num(marker, "x1");
    let expected = 200 + (now_at - from) * (1180 - 200) / (to - from);
    assert_eq!(x, expected);
    // One row per key the zone ever had.
    let rows: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("key"))
        .collect();
    let ids: Vec<u64> = rows
        .iter()
        .map(|r| r.attribute("data-key").unwrap().parse().unwrap())
        .collect();
    let mut logged_ids: Vec<u64> = export(&sb)
        .iter()
        .filter(|r| r["kind"] == "ZoneEnforced")
        .flat_map(|r| {
            r["event"]["new_keys"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|k| k["id"].as_u64().unwrap())
        .collect();
    logged_ids.sort();
    // Keys introduced in the simulated future come after the logged ones.
    assert_eq!(&ids[..logged_ids.len()], &logged_ids[..], "{ids:?}");
    // Per lane: spans in order, not overlapping; the past ones are the log's states.
    let mut lanes: BTreeMap<(u64, String), Lane> = BTreeMap::new();
    for (row, id) in rows.iter().zip(&ids) {
        for span in row
            .descendants()
            .filter(|n| n.attribute("class") == Some("span"))
        {
            lanes
                .entry((*id, span.attribute("data-record").unwrap().to_string()))
                .or_default()
                .push((
                    span.attribute("data-state").unwrap().to_string(),
                    num(span, "data-start"),
                    span.attribute("data-end").unwrap().to_string(),
                ));
        }
    }
    assert_eq!(lanes.len(), ids.len() * 4);
    for (lane, spans) in &lanes {
        for w in spans.windows(2) {
            let end: i64 = w[0]
                .2
                .parse()
                .unwrap_or_else(|_| panic!("{lane:?} {spans:?}"));
            assert!(w[0].1 < end && end <= w[1].1, "{lane:?} {spans:?}");
            assert_ne!(w[0].0, w[1].0, "{lane:?} {spans:?}");
        }
        if let Some(last) = spans.last() {
            assert!(last.2 == "open" || last.2.parse::<i64>().unwrap() <= to);
        }
    }
    // The log's transitions, per lane: the states at each moment (the last at a time).
    let mut logged: BTreeMap<(u64, String), Vec<(i64, String)>> = BTreeMap::new();
    let mut created: BTreeMap<u64, i64> = BTreeMap::new();
    for r in export(&sb).iter().filter(|r| r["kind"] == "ZoneEnforced") {
        let at = r["at_epoch"].as_i64().unwrap();
        for k in r["event"]["state_machine"]["created_states"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            created.insert(k.as_u64().unwrap(), at);
        }
        for t in r["event"]["state_machine"]["transitions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let lane = logged
                .entry((
                    t["key"].as_u64().unwrap(),
                    record_word(t["record"].as_str().unwrap()),
                ))
                .or_default();
            if lane.is_empty() {
                let key = t["key"].as_u64().unwrap();
                lane.push((created[&key], state_word(t["from"].as_str().unwrap())));
            }
            let to_state = state_word(t["to"].as_str().unwrap());
            if lane.last().is_some_and(|(t0, _)| *t0 == at) {
                lane.pop();
            }
            if lane.last().map(|(_, s)| s) != Some(&to_state) {
                lane.push((at, to_state));
            }
        }
    }
    assert!(!logged.is_empty());
    for (lane, states) in &logged {
        let past: Vec<&String> = lanes[lane]
            .iter()
            .filter(|(_, start, _)| *start <= now_at)
            .map(|(s, _, _)| s)
            .collect();
        let want: Vec<&String> = states.iter().map(|(_, s)| s).collect();
        assert_eq!(past, want, "{lane:?}");
        // Each logged change starts a span at its time (the first: the key's creation).
        for (at, state) in states.iter().skip(1) {
            assert!(
                lanes[lane]
                    .iter()
                    .any(|(s, start, _)| s == state && start == at),
                "{lane:?} {state} at {at}: {:?}",
                lanes[lane]
            );
        }
    }
    // Deterministic: the same picture again.
    sb.ok(&format!(
        "zone timeline --zone {ZONE} --svg {} --until P30D",
        svg_path.display()
    ));
    assert_eq!(std::fs::read_to_string(&svg_path).unwrap(), text);
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

//! Recorded histories as tests (fixtures/histories/README.md): every log recorded from
//! a conformance scenario or a long random run is replayed with the current code, and
//! every decision the enforcer recorded in it is made again from the recorded inputs
//! at the recorded time ([`rederive`]). Any difference fails with the seq, the
//! recorded decision and the new one ([`report`]). The fixtures are copied to a
//! temporary directory first and only read there; a recorded history is never
//! regenerated to make this test pass.
//!
//! Besides the decisions, each history must verify (`log verify`), end at the head
//! its inputs file recorded, and fold to the same state record by record as the
//! engine's `fold` (which starts from the newest stored snapshot when there is one),
//! and a stored snapshot must equal the state folded up to its seq.

mod rederive;
mod report;

use kasp_events::{Access, EventLog, LogError, Record, Seq};
use kasp_projector::PROJECTION_VERSION;
use kasp_projector::scheduler::plan::PlanConf;
use kasp_tools::recorded::{Inputs, inputs_path};
use rederive::{Walk, walk};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn histories_dir() -> PathBuf {
    repo().join("fixtures/histories")
}

/// Every recorded history, by name.
fn histories() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(histories_dir())
        .expect("fixtures/histories")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "redb"))
        .collect();
    v.sort();
    v
}

fn name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `accepted.tsv`: per history, the seq from which a deliberate change of behaviour makes
/// decisions differ (fixtures/histories/README.md); decisions from there on are not
/// compared.
fn accepted() -> Result<Vec<(String, u64)>, String> {
    match std::fs::read_to_string(histories_dir().join("accepted.tsv")) {
        Ok(text) => parse_accepted(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("accepted.tsv: {e}")),
    }
}

/// `name<TAB>seq<TAB>reason` lines (`#` comments); a reason is required.
fn parse_accepted(text: &str) -> Result<Vec<(String, u64)>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.splitn(3, '\t').collect();
            match f[..] {
                [name, seq, reason] if !reason.trim().is_empty() => seq
                    .parse()
                    .map(|seq| (name.to_string(), seq))
                    .map_err(|_| format!("accepted.tsv: '{l}': '{seq}' is no seq")),
                _ => Err(format!(
                    "accepted.tsv: '{l}' is not name<TAB>seq<TAB>reason"
                )),
            }
        })
        .collect()
}

/// A history opened from a temporary copy: its inputs, records and the log.
struct Opened {
    inputs: Inputs,
    records: Vec<Record>,
    /// Seqs of `ZoneEnforced` records stored as version 1 (before `no_key`).
    before_no_key: std::collections::BTreeSet<u64>,
    log: EventLog,
    _dir: tempfile::TempDir,
}

fn open(path: &Path) -> Result<Opened, String> {
    let inputs = std::fs::read_to_string(inputs_path(path))
        .map_err(|e| format!("{}: {e}", inputs_path(path).display()))
        .and_then(|t| Inputs::parse(&t))?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let copy = dir.path().join("events.redb");
    std::fs::copy(path, &copy).map_err(|e| format!("cannot copy {}: {e}", path.display()))?;
    let log = EventLog::open(&copy, Access::ReadOnly).map_err(|e| e.to_string())?;
    let mut records = Vec::new();
    log.for_each(Seq(0), |s| {
        records.push(s.record);
        Ok::<(), LogError>(())
    })
    .map_err(|e| e.to_string())?;
    let mut before_no_key = std::collections::BTreeSet::new();
    log.for_each_raw(Seq(0), |seq, bytes| {
        if let Ok((kind, 1)) = kasp_events::codec::stored_kind_version(bytes)
            && kind == "ZoneEnforced"
        {
            before_no_key.insert(seq);
        }
        Ok::<(), LogError>(())
    })
    .map_err(|e| e.to_string())?;
    Ok(Opened {
        inputs,
        records,
        before_no_key,
        log,
        _dir: dir,
    })
}

/// Checks one history; `Err` is the failure report.
fn check(path: &Path) -> Result<String, String> {
    let h = open(path).map_err(|e| format!("history {}: {e}", name(path)))?;
    let mut problems = Vec::new();
    match h.log.verify() {
        Ok(head) if (head.seq.0, head.hash.to_string()) == h.inputs.head => {}
        Ok(head) => problems.push(format!(
            "the log ends at {} {}, its inputs file says {} {}",
            head.seq, head.hash, h.inputs.head.0, h.inputs.head.1
        )),
        Err(e) => problems.push(format!("log verify: {e}")),
    }
    let snapshot = h.log.latest_snapshot().map_err(|e| e.to_string())?;
    let snapshot_at = snapshot
        .as_ref()
        .filter(|s| s.version == PROJECTION_VERSION)
        .map(|s| s.seq.0);
    let w: Walk = walk(&h.records, h.inputs.conf, snapshot_at, &h.before_no_key);
    let (folded, used) = kasp_engine::replay::fold(&h.log).map_err(|e| e.to_string())?;
    if folded != w.state {
        problems.push(format!(
            "the engine's fold (from snapshot {used:?}) differs from the record-by-record fold"
        ));
    }
    if let (Some(s), Some(at)) = (&snapshot, snapshot_at) {
        let stored = kasp_events::codec::decode_value::<kasp_projector::State>(&s.bytes);
        if stored.ok().as_ref() != w.at_snapshot.as_ref() {
            problems.push(format!(
                "the snapshot stored at seq {at} differs from the state folded up to it"
            ));
        }
    }
    let cut = accepted()?
        .into_iter()
        .filter(|(n, _)| *n == name(path))
        .map(|(_, seq)| seq)
        .min();
    let differences: Vec<_> = w
        .differences
        .iter()
        .filter(|d| cut.is_none_or(|c| d.seq < c))
        .collect();
    let t = &w.tally;
    let summary = format!(
        "{}: {} records, {} scheduler runs ({} decisions) re-derived, {} empty runs, {} effects{}{}",
        name(path),
        t.records,
        t.runs,
        t.decisions,
        t.empty_runs,
        t.effects,
        match snapshot_at {
            Some(s) => format!(", snapshot at {s} checked"),
            None => String::new(),
        },
        match cut {
            Some(c) => format!(", compared up to seq {c} (accepted.tsv)"),
            None => String::new(),
        }
    );
    if problems.is_empty() && differences.is_empty() {
        return Ok(summary);
    }
    let mut report = format!(
        "history {} ({}; recorded by {}): {} difference(s)\n",
        name(path),
        h.inputs.source,
        h.inputs.recorded_by,
        differences.len() + problems.len()
    );
    for p in problems {
        report.push_str(&format!("{p}\n"));
    }
    for d in differences.iter().take(10) {
        report.push_str(&format!("{d}\n"));
    }
    if differences.len() > 10 {
        report.push_str(&format!("… and {} more\n", differences.len() - 10));
    }
    Err(report)
}

/// Every recorded history: every recorded decision is made again, identically.
#[test]
fn recorded_decisions_are_made_again_identically() {
    let all = histories();
    assert!(!all.is_empty(), "no histories in fixtures/histories");
    let mut failures = Vec::new();
    for path in &all {
        match check(path) {
            Ok(summary) => eprintln!("{summary}"),
            Err(report) => failures.push(report),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} recorded histories differ from the current code \
         (a recorded history is never regenerated to make this pass; see fixtures/histories/README.md):\n\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

/// Every conformance scenario has its recorded history, and there are long random runs.
#[test]
fn every_conformance_scenario_has_a_history() {
    let have: Vec<String> = histories().iter().map(|p| name(p)).collect();
    for dir in ["scenarios", "scenarios-extra", "scenarios-more"] {
        let d = repo().join("fixtures/conformance").join(dir);
        for e in std::fs::read_dir(&d).expect("scenario directory") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "scn") {
                assert!(
                    have.contains(&name(&p)),
                    "{} has no recorded history: record it with scripts/record-histories",
                    p.display()
                );
            }
        }
    }
    assert!(
        have.iter().any(|n| n.starts_with("random-")),
        "no long random run recorded"
    );
}

#[test]
fn accepted_lines_need_a_seq_and_a_reason() {
    let ok = "# history\tseq\treason\nb-ksk-rollover\t41\tKSK rolls start a day later (#123)\n";
    assert_eq!(
        parse_accepted(ok),
        Ok(vec![("b-ksk-rollover".to_string(), 41)])
    );
    for bad in [
        "b-ksk-rollover\t41\n",
        "b-ksk-rollover\t41\t \n",
        "b\tx\treason\n",
    ] {
        assert!(parse_accepted(bad).is_err(), "{bad:?}");
    }
    // The file itself, when there is one, reads.
    accepted().unwrap();
}

// ---- the test can fail -----------------------------------------------------------

/// A scenario history with its records, for tampering in memory.
fn records_of(history: &str) -> (Vec<Record>, PlanConf, std::collections::BTreeSet<u64>) {
    let h = open(&histories_dir().join(format!("{history}.redb"))).expect("open the history");
    (h.records, h.inputs.conf, h.before_no_key)
}

/// Seq of the first scheduler `ZoneEnforced` with a transition, after `from`.
fn enforced_with_transition(records: &[Record], from: usize) -> usize {
    records
        .iter()
        .enumerate()
        .skip(from)
        .find(|(_, r)| match &r.event {
            kasp_events::Event::ZoneEnforced(e) => e
                .state_machine
                .as_ref()
                .is_some_and(|sm| !sm.transitions.is_empty()),
            _ => false,
        })
        .map(|(i, _)| i)
        .expect("a run with a transition")
}

#[test]
fn a_tampered_transition_is_reported_with_its_seq() {
    let (mut records, conf, before) = records_of("b-ksk-rollover");
    assert!(walk(&records, conf, None, &before).differences.is_empty());
    let i = enforced_with_transition(&records, 30);
    let seq = records[i].seq.0;
    let kasp_events::Event::ZoneEnforced(e) = &mut records[i].event else {
        unreachable!()
    };
    let t = &mut e.state_machine.as_mut().expect("state machine").transitions[0];
    let (was, now) = (t.to, kasp_events::RecordState::Hidden);
    assert_ne!(was, now);
    t.to = now;
    let w = walk(&records, conf, None, &before);
    let first = w.differences.first().expect("the tampering is found");
    assert_eq!(first.seq, seq, "{first}");
    let text = first.to_string();
    assert!(text.starts_with(&format!("seq {seq} (")), "{text}");
    assert!(text.contains(&format!("-> {}", now.as_str())), "{text}");
    assert!(text.contains(&format!("-> {}", was.as_str())), "{text}");
    let marked = |sign: char, line: String| {
        text.lines()
            .any(|l| l.trim_start().starts_with(sign) && l.trim_end().ends_with(&line))
    };
    assert!(marked('-', format!("to: {now:?},")), "{text}");
    assert!(marked('+', format!("to: {was:?},")), "{text}");
}

#[test]
fn a_tampered_ttl_window_is_reported_though_the_line_looks_alike() {
    let (mut records, conf, before) = records_of("a-default-zsk-rollover");
    let i = enforced_with_transition(&records, 10);
    let seq = records[i].seq.0;
    let kasp_events::Event::ZoneEnforced(e) = &mut records[i].event else {
        unreachable!()
    };
    e.state_machine.as_mut().expect("state machine").ttl_windows[0].0 += 1;
    let w = walk(&records, conf, None, &before);
    let first = w.differences.first().expect("the tampering is found");
    assert_eq!(first.seq, seq, "{first}");
    assert!(first.to_string().contains("ttl_windows"), "{first}");
}

#[test]
fn a_dropped_run_and_a_changed_salt_are_reported() {
    let (records, conf, before) = records_of("b-ksk-rollover");
    // Drop the first scheduler run after a `time leap`: that leap then decided nothing.
    let i = records
        .iter()
        .position(|r| matches!(r.event, kasp_events::Event::ClockAdvanced(_)))
        .expect("a time leap")
        + 1;
    assert!(matches!(
        records[i].event,
        kasp_events::Event::ZoneEnforced(_)
    ));
    let mut dropped = records.clone();
    dropped.remove(i);
    let w = walk(&dropped, conf, None, &before);
    let first = w.differences.first().expect("the missing run is found");
    assert_eq!(first.seq, dropped[i].seq.0, "{first}");
    assert!(first.what.contains("decided nothing"), "{first}");

    // A salt the scheduler drew that the current code would not draw then: moved to
    // another policy is refused; changed in length is refused; both name the seq.
    let j = records
        .iter()
        .position(|r| {
            r.actor == kasp_events::Actor::Scheduler
                && matches!(r.event, kasp_events::Event::SaltChanged(_))
        })
        .expect("a scheduled resalt");
    let mut salted = records.clone();
    let kasp_events::Event::SaltChanged(s) = &mut salted[j].event else {
        unreachable!()
    };
    s.salt.push_str("00");
    let w = walk(&salted, conf, None, &before);
    let first = w.differences.first().expect("the bad salt is found");
    assert_eq!(first.seq, records[j].seq.0, "{first}");
}

#[test]
fn the_recorded_conf_matters() {
    let (records, conf, before) = records_of("r-rollover-notification");
    assert_ne!(
        conf,
        PlanConf::default(),
        "the history has a RolloverNotification"
    );
    assert!(walk(&records, conf, None, &before).differences.is_empty());
    let w = walk(&records, PlanConf::default(), None, &before);
    let first = w
        .differences
        .first()
        .expect("without it, a decision differs");
    assert!(first.what.contains("differs"), "{first}");
}

//! The walk: fold a recorded log record by record with the current projector, and at
//! every recorded decision of the enforcer make that decision again — on the state
//! just before it, at its recorded time, with its recorded inputs — and compare.
//!
//! What is re-derived:
//!
//! * **Scheduler runs** (`RunDue`): a record by the `scheduler` actor holding a
//!   `ZoneEnforced` or `SaltChanged` starts a batch. `decide_enforcer(RunDue)` runs
//!   on the state before it at its time, with the salts the batch recorded (random
//!   bytes are an input; a policy the current code finds due but the batch did not
//!   resalt gets a placeholder salt, so the difference shows) and the `PlanConf` of the
//!   history's inputs. Its events must equal the next records one by one.
//! * **Runs that decided nothing**: after `ClockAdvanced` (`time leap`) and
//!   `EnforceRequested` (`enforce` and the commands that flush) the scheduler always
//!   runs, after the command's own records and the automatic key generation. When the
//!   record after those is no scheduler decision, the recorded run decided nothing, and
//!   so must the current code (simulated-clock logs, where the run's time is the clock).
//! * **The effects' decisions**: a DS task's `DsStateChanged`/`DsHookFailed` must be a
//!   change `due_for_parent` asks for; a `KeyMaterialDeleted` by the scheduler may only
//!   name material being destroyed; a scheduler's `SignconfWritten` only a zone whose
//!   signconf was needed; `time leap` without `--time` must go to the next task.
//!
//! Records are folded as recorded whatever the outcome, so one difference does not
//! hide the next.

use super::report::Difference;
use kasp_events::{
    Actor, DsTrigger, Event, KeyMaterialDeleted, PolicyName, Record, SignconfWritten, Timestamp,
};
use kasp_projector::State;
use kasp_projector::decide::enforcer::{EnforcerCommand, decide_enforcer};
use kasp_projector::enforcer::ds::due_for_parent;
use kasp_projector::scheduler::plan::PlanConf;
use kasp_projector::scheduler::resalt::due_for_salt;

/// What a walk looked at.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub records: usize,
    /// Scheduler runs re-derived, and the events in them compared.
    pub runs: usize,
    pub decisions: usize,
    /// Runs that decided nothing, checked to decide nothing still.
    pub empty_runs: usize,
    /// Effects and `time leap` targets checked.
    pub effects: usize,
}

/// The result of a walk: the state after the last record (and after `snapshot_at`,
/// when asked), what was looked at, and every difference.
#[derive(Debug)]
pub struct Walk {
    pub state: State,
    pub at_snapshot: Option<State>,
    pub tally: Tally,
    pub differences: Vec<Difference>,
}

/// What the checks add to as the walk goes.
#[derive(Debug, Default)]
struct Found {
    tally: Tally,
    differences: Vec<Difference>,
    /// Seqs of `ZoneEnforced` records stored as version 1, before `no_key`: the current
    /// code's decision is compared without it.
    before_no_key: std::collections::BTreeSet<u64>,
}

/// Walks `records` (the whole log from seq 0); `before_no_key`: the seqs of
/// `ZoneEnforced` records stored before the event carried `no_key` (version 1).
pub fn walk(
    records: &[Record],
    conf: PlanConf,
    snapshot_at: Option<u64>,
    before_no_key: &std::collections::BTreeSet<u64>,
) -> Walk {
    let mut state = State::default();
    let mut at_snapshot = None;
    let mut w = Found {
        before_no_key: before_no_key.clone(),
        ..Found::default()
    };
    // A `time leap` or flush whose scheduler run has not been seen yet.
    let mut awaiting_run: Option<&Record> = None;
    let mut i = 0;
    while i < records.len() {
        let r = &records[i];
        let n = if is_run_decision(r) {
            awaiting_run = None;
            rederive_run(&state, records, i, conf, &mut w)
        } else {
            if let Some(anchor) = awaiting_run
                && !is_key_generation(&r.event)
                && !same_command(anchor, r)
            {
                let keygen_waiting = queues_generation_for_all(anchor);
                awaiting_run = None;
                expect_empty_run(&state, r, Some(r), keygen_waiting, conf, &mut w);
            }
            check_effect(&state, r, &mut w);
            if matches!(
                r.event,
                Event::ClockAdvanced(_) | Event::EnforceRequested(_)
            ) {
                awaiting_run = Some(r);
            }
            1
        };
        for rec in &records[i..i + n] {
            state.apply(rec);
            if Some(rec.seq.0) == snapshot_at {
                at_snapshot = Some(state.clone());
            }
        }
        w.tally.records += n;
        i += n;
    }
    if let Some(anchor) = awaiting_run
        && let Some(last) = records.last()
    {
        let keygen_waiting = queues_generation_for_all(anchor);
        expect_empty_run(&state, last, None, keygen_waiting, conf, &mut w);
    }
    Walk {
        state,
        at_snapshot,
        tally: w.tally,
        differences: w.differences,
    }
}

/// Whether the scheduler's run after `r` had 2.1.12's generation for every policy
/// waiting: `r` is the last record of `policy import` (and its full flush) or `update
/// all` (the shell's `run_due_with(Some(All))`), not one of the key generation that
/// follows. `zonelist import` carries its generation out before its flush
/// (commands/enforce.rs, `generate_all_first_flush_and_run`). The histories assume
/// automatic key generation.
fn queues_generation_for_all(r: &Record) -> bool {
    matches!(r.actor, Actor::Import(_))
        && !is_key_generation(&r.event)
        && !r.cause.starts_with("zonelist import")
}

/// A record of a scheduler run: an enforcer run or a salt the scheduler drew.
fn is_run_decision(r: &Record) -> bool {
    r.actor == Actor::Scheduler && matches!(r.event, Event::ZoneEnforced(_) | Event::SaltChanged(_))
}

/// Whether `r` is one of the records the command of `anchor` appended itself (the
/// scheduler runs after them).
fn same_command(anchor: &Record, r: &Record) -> bool {
    r.actor != Actor::Scheduler
        && r.actor == anchor.actor
        && r.cause == anchor.cause
        && r.at == anchor.at
}

/// The automatic key generation that comes before the scheduler's run.
fn is_key_generation(e: &Event) -> bool {
    matches!(
        e,
        Event::KeyGenerationStarted(_) | Event::KeyGenerated(_) | Event::KeyGenerationAbandoned(_)
    )
}

/// How many records from `i` on belong to the run that starts there as recorded: run
/// decisions with the same time and cause.
fn recorded_run_len(records: &[Record], i: usize) -> usize {
    let first = &records[i];
    records[i..]
        .iter()
        .take_while(|r| is_run_decision(r) && r.at == first.at && r.cause == first.cause)
        .count()
}

/// The salts the scheduler drew: those the run recorded, and a placeholder for every
/// policy the current code finds due that the run did not resalt.
fn salts(state: &State, run: &[Record], now: Timestamp) -> Vec<(PolicyName, String)> {
    let mut salts: Vec<(PolicyName, String)> = run
        .iter()
        .filter_map(|r| match &r.event {
            Event::SaltChanged(s) => Some((s.policy.clone(), s.salt.clone())),
            _ => None,
        })
        .collect();
    for (policy, length) in due_for_salt(state, now, false) {
        if !salts.iter().any(|(p, _)| *p == policy) {
            salts.push((policy, "00".repeat(usize::from(length))));
        }
    }
    salts
}

/// Re-derives the run starting at `records[i]`; returns how many records it covers.
fn rederive_run(
    state: &State,
    records: &[Record],
    i: usize,
    conf: PlanConf,
    w: &mut Found,
) -> usize {
    let first = &records[i];
    let recorded = recorded_run_len(records, i);
    w.tally.runs += 1;
    if state.simulated() && state.now(first.at) != first.at {
        w.differences.push(Difference::new(
            first,
            "the scheduler run is recorded at another time than the log's clock",
            format!("at {}", first.at),
            format!("clock at {}", state.now(first.at)),
        ));
    }
    let salts = salts(state, &records[i..i + recorded], first.at);
    let keygen = Some(i > 0 && queues_generation_for_all(&records[i - 1]));
    let command = EnforcerCommand::RunDue {
        salts,
        conf,
        keygen,
    };
    let derived = match decide_enforcer(state, &command, first.at) {
        Ok(d) => d.events,
        Err(rejection) => {
            w.differences.push(Difference::new(
                first,
                "the current code refuses the scheduler run",
                first.event.to_string(),
                format!("refused: {}", rejection.message),
            ));
            return recorded;
        }
    };
    if derived.is_empty() {
        w.differences.push(Difference::new(
            first,
            "the current code decides nothing where the scheduler decided",
            first.event.to_string(),
            "nothing".to_string(),
        ));
        return recorded;
    }
    let mut same = true;
    for (k, event) in derived.iter().enumerate() {
        w.tally.decisions += 1;
        match records.get(i + k).filter(|_| k < recorded) {
            Some(r) if r.event == *event => {}
            Some(r) if w.before_no_key.contains(&r.seq.0) && r.event == without_no_key(event) => {}
            Some(r) => {
                same = false;
                w.differences.push(Difference::events(r, &r.event, event));
            }
            None => {
                same = false;
                let at = records.get(i + k).unwrap_or(&records[i + recorded - 1]);
                w.differences.push(Difference::new(
                    at,
                    "the current code decides more in this scheduler run",
                    "nothing more".to_string(),
                    event.to_string(),
                ));
            }
        }
    }
    if same {
        return derived.len();
    }
    for r in &records[i + derived.len().min(recorded)..i + recorded] {
        w.differences.push(Difference::new(
            r,
            "the current code does not make this decision",
            r.event.to_string(),
            "nothing".to_string(),
        ));
    }
    recorded
}

/// The scheduler ran after `anchor`'s command and recorded nothing (`next` is the
/// record after it, if any): the current code must decide nothing either.
/// `keygen_waiting`: the command was an import, whose generation for every policy
/// waits in the queue (and the zones that sort after it with it).
fn expect_empty_run(
    state: &State,
    anchor: &Record,
    next: Option<&Record>,
    keygen_waiting: bool,
    conf: PlanConf,
    w: &mut Found,
) {
    if !state.simulated() {
        return;
    }
    let now = state.now(anchor.at);
    let command = EnforcerCommand::RunDue {
        salts: salts(state, &[], now),
        conf,
        keygen: Some(keygen_waiting),
    };
    w.tally.empty_runs += 1;
    let derived = match decide_enforcer(state, &command, now) {
        Ok(d) => d.events,
        Err(rejection) => {
            w.differences.push(Difference::new(
                next.unwrap_or(anchor),
                "the current code refuses a scheduler run that decided nothing",
                "nothing".to_string(),
                format!("refused: {}", rejection.message),
            ));
            return;
        }
    };
    for event in derived {
        let (r, what) = match next {
            Some(r) => (r, format!("nothing (the next record is: {})", r.event)),
            None => (anchor, "nothing (the log ends)".to_string()),
        };
        w.differences.push(Difference::new(
            r,
            "the current code decides where the scheduler run decided nothing",
            what,
            event.to_string(),
        ));
    }
}

/// Checks an effect the scheduler carried out, or a `time leap` target, against the
/// state before it.
fn check_effect(state: &State, r: &Record, w: &mut Found) {
    let scheduler = r.actor == Actor::Scheduler;
    let problem = match &r.event {
        Event::DsStateChanged(e) if e.trigger == DsTrigger::Task => {
            ds_due(state, r, &e.zone, e.key, Some((e.from, e.to)))
        }
        Event::DsHookFailed(e) if scheduler => ds_due(state, r, &e.zone, e.key, None),
        Event::KeyMaterialDeleted(KeyMaterialDeleted { locators }) if scheduler => locators
            .iter()
            .find(|l| !state.pool.keys.get(l).is_some_and(|k| k.destroying))
            .map(|l| format!("material {l} is not being destroyed")),
        Event::SignconfWritten(SignconfWritten { zone, .. }) if scheduler => {
            match state.zone(zone) {
                Some(z) if z.signconf_needed => None,
                _ => Some(format!("the signconf of {zone} was not needed")),
            }
        }
        Event::ClockAdvanced(e) if r.cause == "time leap" => {
            let next = kasp_cli::commands::next_leap(state).map(|t| t.max(e.from));
            (next != Some(e.to)).then(|| match next {
                Some(t) => format!("the next task is at {t}"),
                None => "no task is scheduled".to_string(),
            })
        }
        // Enforcer runs are the scheduler's alone; one by another actor would escape
        // the re-derivation.
        Event::ZoneEnforced(_) => Some(format!(
            "an enforcer run recorded by {}, not by the scheduler",
            r.actor
        )),
        _ => return,
    };
    w.tally.effects += 1;
    if let Some(derived) = problem {
        w.differences.push(Difference::new(
            r,
            "the current code would not carry out this effect",
            r.event.to_string(),
            derived,
        ));
    }
}

/// Whether the DS task of `zone` is due for `key` (with this change, when given).
fn ds_due(
    state: &State,
    r: &Record,
    zone: &kasp_events::ZoneName,
    key: kasp_events::KeyId,
    change: Option<(kasp_events::DsAtParent, kasp_events::DsAtParent)>,
) -> Option<String> {
    let Some(z) = state.zone(zone) else {
        return Some(format!("zone {zone} does not exist"));
    };
    if z.ds_retry.is_some_and(|t| t > r.at) {
        return Some(format!(
            "the DS task of {zone} is not due before {:?}",
            z.ds_retry
        ));
    }
    let due = due_for_parent(z.config.name.as_str(), &z.model);
    let found = due
        .submit
        .iter()
        .chain(&due.retract)
        .any(|c| c.key == key && change.is_none_or(|(f, t)| c.from == f && c.to == t));
    (!found).then(|| format!("the DS task of {zone} has no such change for key {key}"))
}

/// `event` as a `ZoneEnforced` version 1 record holds it: without the roles short of a key.
fn without_no_key(event: &Event) -> Event {
    match event {
        Event::ZoneEnforced(e) => Event::ZoneEnforced(kasp_events::ZoneEnforced {
            no_key: Vec::new(),
            ..e.clone()
        }),
        other => other.clone(),
    }
}

//! The enforcer over random jumps of the system clock, through the clamp the shell uses
//! (crates/projector/src/clock.rs): each reading goes through a `SteadyClock` (a process's
//! view of the clock, reset when the daemon starts again) and `State::reading` (the log's
//! time), and nothing runs while the clock is behind the log's last record, as
//! crates/engine/src/due.rs does.
//!
//! The clock is set back by up to three days and right again at random, never ahead of
//! the real time (a clock set ahead is believed: crates/projector/src/clock.rs), and the
//! daemon starts again now and then (on a right clock: a process that starts on a clock
//! behind the real time but not behind the log cannot tell). Then, in real time, no key
//! record changes state before the policy allows: the real time since the record's last
//! change is at least what the timing formula required (its earliest time less its last
//! change). And the log's time never goes back, whatever the clock does.

use crate::safety::{arb_policy, ds, fold, operator_ds, start};
use kasp_events::{DsAtParent, Event, KeyId, Timestamp};
use kasp_projector::State;
use kasp_projector::clock::{Reading, SteadyClock};
use kasp_projector::scheduler::plan::{PlanConf, plan_runs};
use kasp_projector::testgen::zn;
use proptest::prelude::*;
use std::collections::BTreeMap;

const DAY: u32 = 86_400;

/// Between two readings: how much real time passes, how far behind the real time the
/// clock then is (0: right), whether the daemon starts again.
#[derive(Debug, Clone)]
struct Step {
    passes: u32,
    behind: u32,
    restart: bool,
}

fn arb_step() -> impl Strategy<Value = Step> {
    (
        prop_oneof![3 => 60u32..7200, 2 => 7200u32..2 * DAY],
        prop_oneof![1 => Just(0u32), 1 => 60u32..3 * DAY],
        prop::bool::weighted(0.1),
    )
        .prop_map(|(passes, behind, restart)| Step {
            passes,
            behind,
            restart,
        })
}

/// When, in real time, each key record last changed state.
type Changed = BTreeMap<(KeyId, usize), i64>;

/// Runs what is due at `now` (real time `real`) until nothing is, as the shell does, with
/// the operator confirming every DS submitted; checks every transition against the real
/// time since its record's last change.
fn run_due(
    state: &mut State,
    now: Timestamp,
    real: i64,
    changed: &mut Changed,
) -> Result<(), TestCaseError> {
    for _ in 0..8 {
        let before = state.zone(&zn("example.com")).map(|z| z.model.clone());
        let runs = plan_runs(state, now, PlanConf::default());
        let mut events = Vec::new();
        for e in runs.iter().filter_map(|r| r.event.clone()) {
            for t in e.state_machine.iter().flat_map(|sm| &sm.transitions) {
                let last = before
                    .as_ref()
                    .and_then(|m| m.key(t.key))
                    .filter(|k| k.states_created)
                    .map_or(now, |k| k.records.get(t.record).last_change);
                let required = t.rule.earliest.0 - last.0;
                let since = changed
                    .get(&(t.key, t.record.index()))
                    .map_or(0, |at| real - at);
                prop_assert!(
                    since >= required,
                    "{t:?} came {since} s after its record's last change in real time, \
                     {required} s required (log time {now}, real {real})"
                );
                changed.insert((t.key, t.record.index()), real);
            }
            events.push(Event::ZoneEnforced(e));
        }
        fold(state, &events, now);
        // Records whose states were created in this run changed now.
        let z = state.zone(&zn("example.com")).expect("zone");
        for k in z.model.keys.iter().filter(|k| k.states_created) {
            for r in 0..4 {
                changed.entry((k.id, r)).or_insert(real);
            }
        }
        let mut tasks: Vec<Event> = z
            .model
            .keys
            .iter()
            .filter_map(|k| {
                let to = match k.ds_at_parent {
                    DsAtParent::Submit => DsAtParent::Submitted,
                    DsAtParent::Retract => DsAtParent::Retracted,
                    _ => return None,
                };
                Some(ds(k.id, k.ds_at_parent, to, kasp_events::DsTrigger::Task))
            })
            .collect();
        tasks.extend(operator_ds(state, DsAtParent::Submitted, DsAtParent::Seen));
        tasks.extend(operator_ds(
            state,
            DsAtParent::Retracted,
            DsAtParent::Unsubmitted,
        ));
        if tasks.is_empty() && events.is_empty() {
            return Ok(());
        }
        fold(state, &tasks, now);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn no_record_changes_earlier_than_the_policy_allows_in_real_time(
        p in arb_policy(),
        steps in prop::collection::vec(arb_step(), 1..80),
    ) {
        let mut state = start(&p);
        let mut real = state.last_at.expect("a log").0;
        // The process's monotonic clock counts from its start.
        let mut clock = SteadyClock::new();
        let mut started = real;
        let mut changed = Changed::new();
        // The daemon's first run, on a right clock.
        let system = clock.read(real * 1000, 0);
        let now = state.reading(system).time();
        run_due(&mut state, now, real, &mut changed)?;
        for step in steps {
            real += i64::from(step.passes);
            let wall = real - i64::from(step.behind);
            if step.restart && step.behind == 0 {
                clock = SteadyClock::new();
                started = real;
            }
            let system = clock.read(wall * 1000, (real - started) * 1000);
            let log_before = state.last_at;
            match state.reading(system) {
                // crates/engine/src/due.rs: nothing runs.
                Reading::Behind { log, .. } => prop_assert_eq!(Some(log), log_before),
                Reading::Now(now) => {
                    prop_assert!(Some(now) >= log_before, "the log's time went back");
                    run_due(&mut state, now, real, &mut changed)?;
                }
            }
        }
    }

    /// Without a daemon every command is a new process, which cannot know how far behind
    /// the clock is; still the log's time never goes back, and nothing runs while the
    /// clock is behind the last record.
    #[test]
    fn the_logs_time_never_goes_back_for_commands_without_a_daemon(
        p in arb_policy(),
        steps in prop::collection::vec(arb_step(), 1..40),
        ahead in prop::collection::vec(0u32..3 * DAY, 40),
    ) {
        let mut state = start(&p);
        let mut real = state.last_at.expect("a log").0;
        let mut changed = Changed::new();
        run_due(&mut state, Timestamp(real), real, &mut changed)?;
        for (i, step) in steps.iter().enumerate() {
            real += i64::from(step.passes);
            // Set back, or ahead, at random.
            let wall = real - i64::from(step.behind) + i64::from(ahead[i % ahead.len()]) * i64::from(step.restart);
            let system = SteadyClock::new().read(wall * 1000, 0);
            let before = state.last_at;
            let reading = state.reading(system);
            prop_assert!(Some(reading.time()) >= before, "the log's time went back");
            // A command is recorded at the log's time.
            let flush = kasp_projector::decide::enforcer::decide_enforcer(
                &state,
                &kasp_projector::decide::enforcer::EnforcerCommand::Flush { zones: None },
                reading.time(),
            )
            .expect("flush")
            .events;
            fold(&mut state, &flush, reading.time());
            if let Reading::Now(now) = reading {
                // Real time is not the test here (see the comment of this module): in
                // the log's own time no record changes before the policy allows.
                run_due(&mut state, now, now.0, &mut changed)?;
            }
            prop_assert!(state.last_at >= before);
        }
    }
}

//! Safety properties of the enforcer over random policies (every roll type, random
//! lifetimes and TTLs), random operator actions (ds-seen, ds-gone, rollover, enforce)
//! and random time leaps, run through `plan` and the folded state exactly as the
//! shell does it:
//!
//! (a) a DNSSEC validity rule that holds for a zone keeps holding at every later
//!     instant (no operator action here can break one);
//! (b) no record transition happens before its timing allows: the recorded earliest
//!     time is at or before the run and matches the formula of docs/state-machine.md,
//!     Timing, recomputed from the record's last change, and a record that becomes
//!     omnipresent or hidden waited at least its TTL;
//! (c) planning twice at the same time without new events appends nothing;
//! (d) folding a run's event reproduces the zone the state machine computed live.

use crate::given::given;
use kasp_events::{
    DsAtParent, DsStateChanged, DsTrigger, Event, KeyGenerated, KeyRole, KeySpec, Locator, Policy,
    PolicyKey, RecordState, RecordType, RolloverRequested, Seconds, Timestamp, ZoneAdded,
    ZoneEnforced,
};
use kasp_projector::State;
use kasp_projector::decide::enforcer::{EnforcerCommand, decide_enforcer};
use kasp_projector::enforcer::model::ZoneModel;
use kasp_projector::enforcer::rules::{Eval, RuleKey};
use kasp_projector::enforcer::timing::min_transition_time;
use kasp_projector::scheduler::plan::{PlanConf, plan, plan_runs};
use kasp_projector::testgen::zn;
use kasp_projector::testgen::{policy, zone};
use proptest::prelude::*;

const START: Timestamp = Timestamp(1_735_689_600);
const DAY: u32 = 86_400;

/// What the operator (or the clock) does between runs.
#[derive(Debug, Clone)]
enum Action {
    /// Move the clock to the next scheduled run.
    LeapNext,
    /// Move the clock by this many seconds.
    Wait(u32),
    /// `key ds-seen --all`.
    DsSeen,
    /// `key ds-gone --all`.
    DsGone,
    /// `key rollover --keytype <role>`.
    Rollover(KeyRole),
    /// `enforce`.
    Enforce,
}

fn arb_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => Just(Action::LeapNext),
        2 => (60u32..3 * DAY).prop_map(Action::Wait),
        3 => Just(Action::DsSeen),
        2 => Just(Action::DsGone),
        1 => prop::sample::select(vec![KeyRole::Ksk, KeyRole::Zsk, KeyRole::Csk])
            .prop_map(Action::Rollover),
        1 => Just(Action::Enforce),
    ]
}

/// A policy of random timing with either KSK+ZSK or a CSK, any roll type. Lifetimes
/// are longer than a rollover takes (the signature validity of the stock policy makes
/// a ZSK roll last about 12 days): with shorter ones OpenDNSSEC 2.1 starts the next
/// roll before the previous one ended and piles up keys (state-machine.md Q8), which
/// can break rule 3; `ods-enforcer policy check` territory, not a state machine fault.
pub(crate) fn arb_policy() -> impl Strategy<Value = Policy> {
    (
        any::<bool>(),
        (0u8..8, 0u8..8),
        (20u32..120, 20u32..120),
        (300u32..DAY, 300u32..DAY, 300u32..DAY),
        (0u32..7200, 0u32..7200, 0u32..7200),
        prop::sample::select(vec![8u8, 13]),
    )
        .prop_map(
            |(csk, (m1, m2), (l1, l2), (ttl, ds_ttl, zone_ttl), (prop, reg, safety), alg)| {
                let mut p = policy("default");
                p.keys.ttl = Seconds(ttl);
                p.keys.publish_safety = Seconds(safety);
                p.keys.retire_safety = Seconds(safety);
                p.keys.purge = Seconds(DAY);
                p.parent.ds_ttl = Seconds(ds_ttl);
                p.parent.registration_delay = Seconds(reg);
                p.parent.propagation_delay = Seconds(prop);
                p.zone.propagation_delay = Seconds(prop);
                p.signatures.max_zone_ttl = Seconds(zone_ttl);
                let key = |role, minimize, days: u32| PolicyKey {
                    role,
                    algorithm: alg,
                    bits: if alg == 13 { 256 } else { 2048 },
                    lifetime: Seconds(days * DAY),
                    repository: "SoftHSM".to_string(),
                    standby: 0,
                    manual_rollover: false,
                    rfc5011: false,
                    minimize,
                };
                p.keys.keys = if csk {
                    vec![key(KeyRole::Csk, m1, l1)]
                } else {
                    vec![
                        key(KeyRole::Ksk, m1, l1.max(l2) + 5),
                        key(KeyRole::Zsk, m2, l2),
                    ]
                };
                p
            },
        )
}

/// The log so far: a state with the policy, a zone and plenty of key material.
pub(crate) fn start(p: &Policy) -> State {
    let mut events: Vec<Event> = vec![kasp_events::PolicyCreated { policy: p.clone() }.into()];
    let mut n = 0u8;
    for pk in &p.keys.keys {
        for _ in 0..40 {
            n = n.wrapping_add(1);
            events.push(
                KeyGenerated {
                    locator: Locator([n; 16]),
                    spec: KeySpec {
                        repository: pk.repository.clone(),
                        policy: p.name.clone(),
                        role: pk.role,
                        algorithm: pk.algorithm,
                        bits: pk.bits,
                    },
                    public_key: vec![n, 1, 2, 3, n],
                    backup: kasp_events::BackupState::NotRequired,
                    adopted: false,
                }
                .into(),
            );
        }
    }
    events.push(
        ZoneAdded {
            zone: zone("example.com", p.name.as_str()),
            suspended: false,
        }
        .into(),
    );
    given(events)
}

pub(crate) fn fold(state: &mut State, events: &[Event], at: Timestamp) {
    for e in events {
        state.apply_event(e, at);
    }
}

/// The zone model with the backup flag (refreshed by plan from the pool) cleared.
fn comparable(m: &ZoneModel) -> ZoneModel {
    let mut m = m.clone();
    for k in m.keys.iter_mut() {
        k.backup_pending = false;
    }
    m
}

/// Which of rules 1–3 hold for the zone (one algorithm per generated policy, so any
/// key serves as the subject of rules 2 and 3); none for a zone without keys.
fn rules(m: &ZoneModel) -> [bool; 3] {
    let keys: Vec<RuleKey> = m
        .keys
        .iter()
        .map(|k| RuleKey {
            id: k.id,
            algorithm: k.algorithm,
            states: k.records.states(),
        })
        .collect();
    if keys.is_empty() {
        return [false; 3];
    }
    // The "after" view (docs/state-machine.md, Overlay) with the subject's record
    // unchanged: the overlay is a no-op but the successor clauses are active, as when the
    // rules approved the moves.
    let ev = Eval {
        keys: &keys,
        deps: &m.dependencies,
        subject: 0,
        record: RecordType::Ds,
        next: keys[0].states[RecordType::Ds.index()],
        pretend: true,
    };
    [ev.rule1(), ev.rule2(), ev.rule3()]
}

/// Checks (b) for the transitions of one run against the model before it.
fn check_timing(
    before: &ZoneModel,
    e: &ZoneEnforced,
    p: &Policy,
    at: Timestamp,
) -> Result<(), TestCaseError> {
    let Some(sm) = &e.state_machine else {
        return Ok(());
    };
    let mut model = before.clone();
    for t in &sm.transitions {
        prop_assert!(t.rule.earliest <= at, "{t:?} before its time at {at}");
        // Keys created in this run have their states created at `at`.
        let last = model
            .key(t.key)
            .filter(|k| k.states_created)
            .map(|k| k.records.get(t.record).last_change)
            .unwrap_or(at);
        let earliest = min_transition_time(p, t.record, t.to, last, t.rule.ttl, t.rule.smooth);
        prop_assert_eq!(earliest, t.rule.earliest, "{:?}", t);
        if matches!(t.to, RecordState::Omnipresent | RecordState::Hidden) {
            prop_assert!(
                at.0 - last.0 >= i64::from(t.rule.ttl.0),
                "{t:?} propagated before its TTL ran out (last change {last}, run {at})"
            );
        }
        if let Some(k) = model.keys.iter_mut().find(|k| k.id == t.key) {
            k.records.get_mut(t.record).last_change = at;
        }
    }
    Ok(())
}

/// Runs what is due at `now` until nothing is, as the shell does: plan, fold, DS tasks
/// (hooks succeed), checking (b), (c) and (d) on the way.
fn run_due(state: &mut State, p: &Policy, now: Timestamp) -> Result<(), TestCaseError> {
    for _ in 0..8 {
        let before = state.zone(&zn("example.com")).map(|z| z.model.clone());
        let runs = plan_runs(state, now, PlanConf::default());
        let events: Vec<Event> = runs
            .iter()
            .filter_map(|r| r.event.clone().map(Event::ZoneEnforced))
            .collect();
        for e in &events {
            if let (Event::ZoneEnforced(e), Some(before)) = (e, &before) {
                check_timing(before, e, p, now)?;
            }
        }
        fold(state, &events, now);
        // (d) the folded zone is the zone the state machine computed.
        if let Some(run) = runs.iter().find(|r| r.event.is_some()) {
            let z = state.zone(&zn("example.com")).expect("zone");
            prop_assert_eq!(comparable(&z.model), comparable(&run.outcome.zone));
        }
        // (c) planning again at the same time finds nothing to do.
        prop_assert!(plan(state, now, PlanConf::default()).is_empty());
        let z = state.zone(&zn("example.com")).expect("zone");
        let tasks: Vec<Event> = z
            .model
            .keys
            .iter()
            .filter_map(|k| {
                let to = match k.ds_at_parent {
                    DsAtParent::Submit => DsAtParent::Submitted,
                    DsAtParent::Retract => DsAtParent::Retracted,
                    _ => return None,
                };
                Some(ds(k.id, k.ds_at_parent, to, DsTrigger::Task))
            })
            .collect();
        if tasks.is_empty() {
            return Ok(());
        }
        fold(state, &tasks, now);
    }
    Ok(())
}

pub(crate) fn ds(
    key: kasp_events::KeyId,
    from: DsAtParent,
    to: DsAtParent,
    trigger: DsTrigger,
) -> Event {
    DsStateChanged {
        zone: zn("example.com"),
        key,
        from,
        to,
        trigger,
        hook: None,
        next_change_now: true,
    }
    .into()
}

pub(crate) fn operator_ds(state: &State, from: DsAtParent, to: DsAtParent) -> Vec<Event> {
    let z = state.zone(&zn("example.com")).expect("zone");
    z.model
        .keys
        .iter()
        .filter(|k| k.role != KeyRole::Zsk && k.ds_at_parent == from)
        .map(|k| ds(k.id, from, to, DsTrigger::Command))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_enforcer_keeps_the_safety_properties(
        p in arb_policy(),
        actions in prop::collection::vec(arb_action(), 1..60),
    ) {
        let mut state = start(&p);
        let mut now = START;
        run_due(&mut state, &p, now)?;
        let mut held = rules(&state.zone(&zn("example.com")).expect("zone").model);
        // A rollover the operator asks for in the middle of another one piles up keys
        // like a too short lifetime; (a) holds until then.
        let mut operator_broke = false;
        for action in actions {
            if let Action::Rollover(role) = action {
                let z = state.zone(&zn("example.com")).expect("zone");
                operator_broke |= z.model.keys.iter().any(|k| {
                    k.role == role
                        && !kasp_projector::enforcer::purge::is_dead(k)
                        && (!k.introducing || k.records.states().contains(&RecordState::Rumoured))
                });
            }
            let events: Vec<Event> = match action {
                Action::LeapNext => {
                    let next = state.zone(&zn("example.com")).and_then(|z| z.due);
                    if let Some(t) = next.filter(|t| *t > now) {
                        now = t;
                    }
                    vec![]
                }
                Action::Wait(s) => {
                    now = now.plus(Seconds(s));
                    vec![]
                }
                Action::DsSeen => operator_ds(&state, DsAtParent::Submitted, DsAtParent::Seen),
                Action::DsGone => operator_ds(&state, DsAtParent::Retracted, DsAtParent::Unsubmitted),
                Action::Rollover(role) => vec![RolloverRequested {
                    zone: zn("example.com"),
                    roles: vec![role],
                }
                .into()],
                Action::Enforce => decide_enforcer(
                    &state,
                    &EnforcerCommand::Flush { zones: None },
                    now,
                )
                .expect("flush")
                .events,
            };
            fold(&mut state, &events, now);
            run_due(&mut state, &p, now)?;
            // (a) a rule that held keeps holding.
            let m = &state.zone(&zn("example.com")).expect("zone").model;
            let now_held = rules(m);
            for r in 0..3 {
                if held[r] && !operator_broke {
                    prop_assert!(now_held[r], "rule {} broke at {now} in {m:?}", r + 1);
                }
                held[r] |= now_held[r];
            }
        }
    }
}

//! Tests of the what-if engine, its report and the timeline picture, on states built
//! from events (the stock `default` policy: NSEC3, KSK P1Y, ZSK P90D).

use crate::state::State;
use crate::testgen::{policy, zn, zone};
use crate::whatif::items::Item;
use crate::whatif::report::render_report;
use crate::whatif::simulate::{
    Change, DsAnswers, Request, SimConf, SimError, Simulation, next_leap, next_task, simulate,
};
use crate::whatif::timeline::{Frame, Spans, render_svg};
use kasp_events::{
    DsAtParent, Event, KeyRole, PolicyCreated, RecordState, RecordType, Seconds, Timestamp,
    ZoneAdded,
};

const START: Timestamp = Timestamp(1_735_689_600);
const DAY: u32 = 86_400;

fn fresh() -> State {
    fresh_with("example.com")
}

/// The stock policy `default` and one zone `name` on it.
fn fresh_with(name: &str) -> State {
    let mut s = State::default();
    let events: [Event; 2] = [
        PolicyCreated {
            policy: policy("default"),
        }
        .into(),
        ZoneAdded {
            zone: zone(name, "default"),
            suspended: false,
        }
        .into(),
    ];
    for e in &events {
        s.apply_event(e, START);
    }
    s
}

fn request(changes: Vec<Change>, days: u32, ds: DsAnswers, hooks: bool) -> Request {
    let hook = hooks.then(|| "/bin/true".to_string());
    Request {
        zone: zn("EXAMPLE.com."),
        changes,
        until: Seconds(days * DAY),
        ds,
        conf: SimConf {
            scheduler: crate::scheduler::SchedulerConf {
                key_generation: Some(Seconds(365 * DAY)),
                ds_submit_command: hook.clone(),
                ds_retract_command: hook,
                ..Default::default()
            },
            ..SimConf::default()
        },
    }
}

fn run(state: &State, now: Timestamp, req: &Request) -> Simulation {
    simulate(state, now, req).expect("simulates")
}

fn ksk_ds(sim: &Simulation) -> (DsAtParent, RecordState) {
    let z = sim.state.zone(&zn("example.com")).unwrap();
    let k = z
        .model
        .keys
        .iter()
        .find(|k| k.role == KeyRole::Ksk)
        .unwrap();
    (k.ds_at_parent, k.state(RecordType::Ds))
}

#[test]
fn the_input_is_untouched_and_the_run_is_deterministic() {
    let state = fresh();
    let before = state.clone();
    let req = request(vec![], 30, DsAnswers::Manual, false);
    let a = run(&state, START, &req);
    let b = run(&state, START, &req);
    assert_eq!(state, before);
    assert_eq!(a.events, b.events);
    assert_eq!(a.items, b.items);
    let text = render_report(&a, DsAnswers::Manual, "P30D");
    assert_eq!(text, render_report(&b, DsAnswers::Manual, "P30D"));
    // Folding the simulated events onto the input gives the simulated end state.
    let mut replay = state.clone();
    for (at, e) in &a.events {
        replay.apply_event(e, *at);
    }
    assert_eq!(replay, a.state);
    assert!(a.events.iter().all(|(at, _)| *at >= START && *at <= a.end));
    assert!(a.stopped.is_none());
}

#[test]
fn a_new_zone_gets_keys_and_its_ksk_waits_for_the_operator() {
    let sim = run(
        &fresh(),
        START,
        &request(vec![], 30, DsAnswers::Manual, false),
    );
    let introduced: Vec<KeyRole> = sim
        .items
        .iter()
        .filter_map(|(_, i)| match i {
            Item::KeyIntroduced(k) => Some(k.role),
            _ => None,
        })
        .collect();
    // The pool starts empty (the zone was not added by `zone add`, which tops it up):
    // the first run finds neither key and schedules a generation for each, of which
    // only the ZSK's is left (2.1.12's one queue slot); the ZSK comes first, the KSK
    // with the 60-second retry.
    assert_eq!(introduced, [KeyRole::Zsk, KeyRole::Ksk]);
    // No hook configured: as in OpenDNSSEC 2.1.12 the ds-submit task marks the DS
    // submitted all the same, and the operator's next action is ds-seen.
    let failures = sim
        .items
        .iter()
        .filter(|(_, i)| matches!(i, Item::DsHookFailed { .. }))
        .count();
    assert_eq!(failures, 0, "{:?}", sim.items);
    let actions: Vec<&String> = sim
        .items
        .iter()
        .filter_map(|(_, i)| match i {
            Item::Action { command, .. } => Some(command),
            _ => None,
        })
        .collect();
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert!(actions[0].starts_with("key ds-seen --zone example.com --keytag "));
    assert_eq!(ksk_ds(&sim), (DsAtParent::Submitted, RecordState::Rumoured));
    // Synthetic key material: a year of keys in the pool, none with a real locator.
    assert!(sim.state.pool.keys.len() > 2);
    let text = render_report(&sim, DsAnswers::Manual, "P30D");
    assert!(
        text.contains("Operator actions still needed:\n  key ds-seen"),
        "{text}"
    );
    assert!(text.contains(" record   #2 KSK "), "{text}");
    assert!(text.contains(" signconf +#2 KSK "), "{text}");
}

#[test]
fn with_ds_auto_the_ksk_reaches_the_parent() {
    for hooks in [false, true] {
        let sim = run(
            &fresh(),
            START,
            &request(vec![], 30, DsAnswers::Auto, hooks),
        );
        assert_eq!(
            ksk_ds(&sim),
            (DsAtParent::Seen, RecordState::Omnipresent),
            "hooks {hooks}"
        );
        let answered: Vec<&String> = sim
            .items
            .iter()
            .filter_map(|(_, i)| match i {
                Item::Answered(c) => Some(c),
                _ => None,
            })
            .collect();
        // With or without a hook the task submits; the operator answers ds-seen.
        assert_eq!(answered.len(), 1, "{answered:?}");
        assert!(answered.last().unwrap().starts_with("key ds-seen"));
        assert!(
            !sim.items
                .iter()
                .any(|(_, i)| matches!(i, Item::Action { .. }))
        );
    }
}

#[test]
fn a_zsk_rollover_introduces_a_successor_at_once() {
    let settled = run(&fresh(), START, &request(vec![], 30, DsAnswers::Auto, true));
    let now = settled.end;
    let sim = run(
        &settled.state,
        now,
        &request(
            vec![Change::Rollover(KeyRole::Zsk)],
            60,
            DsAnswers::Manual,
            true,
        ),
    );
    let first: Vec<&Item> = sim
        .items
        .iter()
        .filter(|(at, _)| *at == now)
        .map(|(_, i)| i)
        .collect();
    assert!(matches!(first[0], Item::Change(c) if c.contains("--keytype ZSK")));
    assert!(
        first
            .iter()
            .any(|i| matches!(i, Item::KeyIntroduced(k) if k.role == KeyRole::Zsk)),
        "{first:?}"
    );
    assert!(first.iter().any(|i| matches!(i, Item::KeyRetired(_))));
    // The old ZSK's signatures go, later.
    assert!(sim.items.iter().any(|(at, i)| *at > now
        && matches!(
            i,
            Item::Record {
                record: RecordType::Rrsig,
                to: RecordState::Unretentive,
                ..
            }
        )));
}

#[test]
fn a_policy_change_is_imported_and_the_zone_moved_to_it() {
    let settled = run(&fresh(), START, &request(vec![], 30, DsAnswers::Auto, true));
    let mut lab = policy("lab");
    lab.description = "what if".into();
    let sim = run(
        &settled.state,
        settled.end,
        &request(vec![Change::Policy(lab)], 10, DsAnswers::Auto, true),
    );
    let z = sim.state.zone(&zn("example.com")).unwrap();
    assert_eq!(z.config.policy.as_str(), "lab");
    let changes: Vec<&String> = sim
        .items
        .iter()
        .filter_map(|(_, i)| match i {
            Item::Change(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert!(changes[1].starts_with("zone set-policy"));
}

#[test]
fn an_unknown_zone_is_refused() {
    let mut req = request(vec![], 1, DsAnswers::Manual, false);
    req.zone = zn("nope.example");
    assert_eq!(
        simulate(&fresh(), START, &req).unwrap_err(),
        SimError::UnknownZone("nope.example".into())
    );
}

#[test]
fn the_next_task_is_the_earliest_zone_run_or_resalt() {
    let mut s = fresh();
    assert_eq!(next_task(&s), Some(Timestamp(0)));
    s.zones.values_mut().for_each(|z| z.due = None);
    // The NSEC3 policy never had a salt: due at once (the epoch plus Resalt).
    assert!(next_task(&s).is_some_and(|t| t < START));
    s.policies.clear();
    assert_eq!(next_task(&s), None);
}

#[test]
fn time_leap_also_stops_at_a_task_a_deleted_zone_left() {
    let mut s = fresh();
    s.zones.values_mut().for_each(|z| z.due = None);
    s.policies.clear();
    let left = Timestamp(START.0 + 600);
    s.tasks_left
        .insert("gone.example".into(), (zn("gone.example"), left));
    assert_eq!(next_task(&s), None, "the task does nothing");
    assert_eq!(next_leap(&s, START), Some(left));
    assert_eq!(next_leap(&s, left), None, "it has come");
}

#[test]
fn spans_follow_the_zone_and_skip_moments_without_duration() {
    let sim = run(&fresh(), START, &request(vec![], 30, DsAnswers::Auto, true));
    let mut spans = Spans::default();
    let mut state = fresh();
    spans.observe(START, state.zone(&zn("example.com")).map(|z| &z.model));
    spans.follow(&mut state, &zn("example.com"), &sim.events);
    let keys = spans.keys();
    assert_eq!(keys.len(), 2);
    for k in &keys {
        for lane in &k.lanes {
            assert!(!lane.is_empty());
            for w in lane.windows(2) {
                assert_eq!(w[0].end, Some(w[1].start));
                assert!(w[0].start < w[1].start);
                assert_ne!(w[0].state, w[1].state);
            }
            assert_eq!(lane.last().unwrap().end, None);
        }
    }
    let ksk = keys.iter().find(|k| k.role == KeyRole::Ksk).unwrap();
    let ds: Vec<RecordState> = ksk.lanes[0].iter().map(|s| s.state).collect();
    assert_eq!(
        ds,
        [
            RecordState::Hidden,
            RecordState::Rumoured,
            RecordState::Omnipresent
        ]
    );
    // The zone deleted: every span closes.
    spans.observe(sim.end, None);
    assert!(spans.keys().iter().all(|k| {
        k.lanes
            .iter()
            .all(|l| l.last().unwrap().end == Some(sim.end))
    }));
}

#[test]
fn the_svg_is_well_formed_and_marks_now() {
    let sim = run(&fresh(), START, &request(vec![], 30, DsAnswers::Auto, true));
    let mut spans = Spans::default();
    let mut state = fresh();
    spans.follow(&mut state, &zn("example.com"), &sim.events);
    let name = zn("example.com");
    let now = START.plus(Seconds(10 * DAY));
    let frame = Frame {
        zone: &name,
        from: START,
        to: sim.end,
        now,
    };
    let svg = render_svg(&frame, &spans.keys());
    assert_eq!(svg, render_svg(&frame, &spans.keys()));
    let doc = roxmltree::Document::parse(&svg).expect("well-formed");
    let now_line = doc
        .descendants()
        .find(|n| n.attribute("id") == Some("now"))
        .unwrap();
    assert_eq!(
        now_line.attribute("x1"),
        Some(frame.x(now).to_string().as_str())
    );
    assert_eq!(frame.x(START), 200);
    assert_eq!(frame.x(sim.end), 1180);
    assert_eq!(
        doc.descendants()
            .filter(|n| n.attribute("class") == Some("key"))
            .count(),
        2
    );
    assert_eq!(
        doc.root_element().attribute("data-zone"),
        Some("example.com")
    );
}

/// A resalt due at the same second as a zone sorting before the policy's name runs after
/// it and before the key generation that run queued, as in the shell (crate::scheduler::round).
#[test]
fn a_resalt_due_with_a_zone_sorting_before_the_policy_runs_after_it() {
    let s = fresh_with("a.example");
    let mut req = request(vec![], 1, DsAnswers::Manual, false);
    req.zone = zn("a.example");
    let sim = run(&s, START, &req);
    let at_start: Vec<&str> = sim
        .events
        .iter()
        .filter(|(t, _)| *t == START)
        .filter_map(|(_, e)| match e {
            Event::ZoneEnforced(_) => Some("enforce"),
            Event::SaltChanged(_) => Some("resalt"),
            Event::SignconfWritten(_) => Some("signconf"),
            _ => None,
        })
        .collect();
    // The first run finds the pool empty and writes nothing; it queues a key generation,
    // which sorts after the resalt ("default" < "hsm_key_factory_schedule_generation"):
    // the resalt writes the signconf, then the generation flushes the zone, whose run
    // writes it again.
    assert_eq!(
        at_start,
        ["enforce", "resalt", "signconf", "enforce", "signconf"]
    );
}

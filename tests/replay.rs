//! Replay: a log read back gives the state its writer folded while appending, whether
//! folded from scratch, one record or one batch at a time, or from a snapshot plus
//! the records after it; and a snapshot the binary cannot trust is ignored.
//!
//! Every case writes a real log file in a temporary directory through the engine's
//! `append_folding`, then reopens it read-only and folds it with the engine's `fold`.

use kasp_cli::engine::{SNAPSHOT_EVERY, append_folding, fold};
use kasp_events::testgen::arb_zone_name;
use kasp_events::{
    Access, Actor, Adapter, ClockMode, Event, EventLog, FORMAT, InstanceId, LogCreated, LogError,
    NewEvent, Policy, PolicyName, Seconds, Seq, Timestamp, ZoneConfig, ZoneName, codec,
};
use kasp_projector::decide::{Command, decide};
use kasp_projector::kasp::parse_kasp;
use kasp_projector::{PROJECTION_VERSION, State};
use proptest::prelude::*;
use std::path::PathBuf;

const KASP: &str = include_str!("../fixtures/ods/kasp.xml");

/// The log's creation time; commands run one second apart after it.
const T0: Timestamp = Timestamp(1_735_689_600); // 2025-01-01T00:00:00Z

// ---- a writer like the engine's ------------------------------------------------

/// A log in a temporary directory and the state its writer folded while appending.
struct Writer {
    dir: tempfile::TempDir,
    log: Option<EventLog>,
    state: State,
    /// The newest snapshot (what the engine's `fold` would have used).
    snap: Option<Seq>,
    now: Timestamp,
}

impl Writer {
    fn new() -> Writer {
        let dir = tempfile::tempdir().expect("tempdir");
        let created = LogCreated {
            format: FORMAT,
            instance: InstanceId([7; 16]),
            clock: ClockMode::Simulated { start: T0 },
        };
        let (log, sealed) = EventLog::create(
            &dir.path().join("events.redb"),
            created,
            T0,
            Actor::System,
            "setup",
        )
        .expect("create the log");
        let mut state = State::default();
        state.apply(&sealed.record);
        Writer {
            dir,
            log: Some(log),
            state,
            snap: None,
            now: T0,
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("events.redb")
    }

    /// The read-write handle (reopened if it was closed for a reader).
    fn log(&mut self) -> &mut EventLog {
        let path = self.path();
        self.log
            .get_or_insert_with(|| EventLog::open(&path, Access::ReadWrite).expect("reopen"))
    }

    /// Closes the read-write handle so a reader can open the file.
    fn close(&mut self) {
        self.log = None;
    }

    fn tick(&mut self) -> Timestamp {
        self.now = Timestamp(self.now.0 + 1);
        self.now
    }

    /// Decides `command` against the folded state and appends its events as one batch
    /// (nothing when refused or when nothing changes). Returns the events appended.
    fn run(&mut self, command: &Command) -> Vec<Event> {
        let now = self.tick();
        match decide(&self.state, command, now) {
            Ok(d) => {
                self.append(now, d.events.clone());
                d.events
            }
            Err(_) => Vec::new(),
        }
    }

    /// Appends events at `at` in one transaction through the engine.
    fn append(&mut self, at: Timestamp, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let events = events.into_iter().map(|e| new_event(at, e)).collect();
        let head = self.log().head();
        let log = self.log.as_mut().expect("opened above");
        append_folding(log, head, events, &mut self.state, self.snap).expect("append");
        self.snap = log.latest_snapshot().expect("snapshot").map(|s| s.seq);
    }

    /// The log reopened read-only (the writer's handle is closed first).
    fn reader(&mut self) -> EventLog {
        self.close();
        EventLog::open(&self.path(), Access::ReadOnly).expect("open read-only")
    }
}

fn new_event(at: Timestamp, event: Event) -> NewEvent {
    NewEvent {
        at,
        actor: Actor::Operator("tester".to_string()),
        cause: "replay test".to_string(),
        event,
    }
}

/// Every record from seq 0 folded in order; snapshots are not looked at.
fn full_replay(log: &EventLog) -> State {
    let mut state = State::default();
    log.for_each(Seq(0), |sealed| {
        state.apply(&sealed.record);
        Ok::<(), LogError>(())
    })
    .expect("replay");
    state
}

/// `fold`, which may start from a snapshot.
fn folded(log: &EventLog) -> (State, Option<Seq>) {
    fold(log).expect("fold")
}

// ---- vocabulary ----------------------------------------------------------------

fn pn(name: &str) -> PolicyName {
    PolicyName::new(name).unwrap()
}

fn zn(name: &str) -> ZoneName {
    ZoneName::new(name).unwrap()
}

fn stock() -> Vec<Policy> {
    parse_kasp(KASP, "kasp.xml").expect("the stock kasp.xml parses")
}

fn policy(name: &str) -> Policy {
    stock()
        .into_iter()
        .find(|p| p.name.as_str() == name)
        .unwrap_or_else(|| panic!("no stock policy {name}"))
}

fn renamed(name: &str, new: &str) -> Policy {
    let mut p = policy(name);
    p.name = pn(new);
    p
}

fn changed(mut p: Policy) -> Policy {
    p.description = format!("{} (changed)", p.description);
    p.signatures.resign = Seconds(p.signatures.resign.0 + 60);
    p
}

fn zone(name: &ZoneName, policy: &str) -> ZoneConfig {
    let key = name.key();
    ZoneConfig {
        name: name.clone(),
        policy: pn(policy),
        signconf_path: format!("/var/lib/opendnssec/signconf/{key}.xml"),
        input: Adapter {
            kind: "File".to_string(),
            uri: format!("/var/lib/opendnssec/unsigned/{key}"),
        },
        output: Adapter {
            kind: "DNS".to_string(),
            uri: "/etc/opendnssec/addns.xml".to_string(),
        },
    }
}

// ---- strategies ----------------------------------------------------------------

/// The stock policies, variations of them, and two more names.
fn arb_policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(policy("default")),
        Just(policy("lab")),
        Just(changed(policy("default"))),
        Just(changed(policy("lab"))),
        Just(renamed("lab", "extra")),
        Just(changed(renamed("default", "other"))),
    ]
}

/// Policy lists as kasp.xml gives them (kaspcheck refuses a name twice).
fn arb_policies() -> impl Strategy<Value = Vec<Policy>> {
    prop::collection::vec(arb_policy(), 0..4).prop_map(|policies| {
        let mut seen = std::collections::BTreeSet::new();
        policies
            .into_iter()
            .filter(|p| seen.insert(p.name.clone()))
            .collect()
    })
}

fn arb_policy_name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["default", "lab", "extra", "other", "nosuch"])
}

/// Mostly a handful of names in several spellings, so commands meet each other.
fn arb_name() -> impl Strategy<Value = ZoneName> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "a.example", "A.Example.", "b.example", "c.example.", "d.example",
        ])
        .prop_map(zn),
        1 => arb_zone_name(),
    ]
}

fn arb_zone() -> impl Strategy<Value = ZoneConfig> {
    (arb_name(), arb_policy_name(), any::<bool>()).prop_map(|(name, policy, moved)| {
        let mut z = zone(&name, policy);
        if moved {
            z.signconf_path = format!("/other/{}.xml", name.key());
        }
        z
    })
}

/// Zone lists as zonelist.xml gives them (the parser refuses a name twice).
fn arb_zonelist() -> impl Strategy<Value = Vec<ZoneConfig>> {
    prop::collection::vec(arb_zone(), 0..8).prop_map(|zones| {
        let mut seen = std::collections::BTreeSet::new();
        zones
            .into_iter()
            .filter(|z| seen.insert(z.name.key()))
            .collect()
    })
}

fn arb_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        3 => (arb_policies(), any::<bool>()).prop_map(|(policies, remove_missing)| {
            Command::ImportPolicies { policies, remove_missing }
        }),
        1 => Just(Command::PurgePolicies),
        4 => (arb_zone(), any::<bool>())
            .prop_map(|(zone, suspended)| Command::AddZone { zone, suspended }),
        2 => arb_name().prop_map(|zone| Command::DeleteZone { zone }),
        1 => Just(Command::DeleteAllZones),
        2 => (arb_name(), arb_policy_name())
            .prop_map(|(zone, policy)| Command::SetZonePolicy { zone, policy: pn(policy) }),
        3 => (arb_zonelist(), any::<bool>()).prop_map(|(zones, remove_missing)| {
            Command::ImportZonelist { zones, remove_missing }
        }),
        2 => (arb_policies(), arb_zonelist())
            .prop_map(|(policies, zones)| Command::UpdateAll { policies, zones }),
    ]
}

/// One large zonelist import: `size` fresh zones (named after the batch), with `-r`
/// or not, all on one policy.
#[derive(Debug, Clone)]
struct Bulk {
    size: usize,
    remove_missing: bool,
    policy: &'static str,
}

fn arb_bulk() -> impl Strategy<Value = Bulk> {
    (
        300usize..450,
        any::<bool>(),
        prop::sample::select(vec!["default", "lab"]),
    )
        .prop_map(|(size, remove_missing, policy)| Bulk {
            size,
            remove_missing,
            policy,
        })
}

fn bulk_command(batch: usize, bulk: &Bulk) -> Command {
    let zones = (0..bulk.size)
        .map(|i| zone(&zn(&format!("z{i}.batch{batch}.example")), bulk.policy))
        .collect();
    Command::ImportZonelist {
        zones,
        remove_missing: bulk.remove_missing,
    }
}

/// A writer that has crossed `SNAPSHOT_EVERY` with the stock policies and bulk imports,
/// then ran `tail` (so records follow the newest snapshot).
fn writer_past_a_snapshot(bulks: &[Bulk], tail: &[Command]) -> Writer {
    let mut w = Writer::new();
    w.run(&Command::ImportPolicies {
        policies: stock(),
        remove_missing: false,
    });
    for (batch, bulk) in bulks.iter().enumerate() {
        w.run(&bulk_command(batch, bulk));
    }
    for command in tail {
        w.run(command);
    }
    // Records after the snapshot, including new zones (ids continue from the snapshot).
    let now = w.tick();
    w.append(
        now,
        vec![
            kasp_events::ZoneAdded {
                zone: zone(&zn("after.snapshot.example"), "lab"),
                suspended: true,
            }
            .into(),
        ],
    );
    w
}

// ---- (b) replay equals the state folded while appending ------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// A log read back from scratch gives the state its writer folded batch by batch;
    /// appending one event per transaction instead gives the same log state; and
    /// folding the events in memory (no log) agrees too.
    #[test]
    fn replay_equals_the_state_folded_while_appending(
        commands in prop::collection::vec(arb_command(), 1..30)
    ) {
        // Batches: one append per decision.
        let mut batched = Writer::new();
        // The same events, one append each, at the same times.
        let mut single = Writer::new();
        // The same events, folded in memory only.
        let mut memory = batched.state.clone();
        let import_stock = Command::ImportPolicies { policies: stock(), remove_missing: false };
        let mut appended = 0;
        for command in std::iter::once(&import_stock).chain(&commands) {
            let events = batched.run(command);
            appended += events.len();
            let at = batched.now;
            for e in &events {
                single.append(at, vec![e.clone()]);
                memory.apply_event(e, at);
            }
        }
        let expected = batched.state.clone();
        prop_assert_eq!(expected.last_seq, Some(Seq(appended as u64)));
        prop_assert_eq!(&single.state, &expected);
        memory.last_seq = expected.last_seq;
        prop_assert_eq!(&memory, &expected);

        for w in [&mut batched, &mut single] {
            let log = w.reader();
            prop_assert!(log.verify().is_ok());
            // Short logs: no snapshot, so fold is a full replay.
            let (state, used) = folded(&log);
            prop_assert_eq!(used, None);
            prop_assert_eq!(&state, &expected);
            prop_assert_eq!(&full_replay(&log), &expected);
        }
    }
}

// ---- (c) snapshot plus tail equals a full replay -------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Logs that cross SNAPSHOT_EVERY store a snapshot; `fold` starts from it and
    /// applies the tail, and gets what a replay from record 0 gets.
    #[test]
    fn snapshot_plus_tail_equals_full_replay(
        bulks in prop::collection::vec(arb_bulk(), 4..6),
        tail in prop::collection::vec(arb_command(), 0..12),
    ) {
        let mut w = writer_past_a_snapshot(&bulks, &tail);
        let expected = w.state.clone();
        let log = w.reader();
        let head = log.head().seq;
        prop_assert!(head.0 > SNAPSHOT_EVERY, "only {} records", head);
        let snap = log.latest_snapshot().expect("read").expect("a snapshot");
        prop_assert_eq!(snap.version, PROJECTION_VERSION);
        prop_assert!(snap.seq.0 >= SNAPSHOT_EVERY && snap.seq < head);
        let (state, used) = folded(&log);
        prop_assert_eq!(used, Some(snap.seq));
        prop_assert_eq!(&state, &expected);
        prop_assert_eq!(&full_replay(&log), &expected);
    }
}

/// Appends `events` (one batch) with a snapshot of our own making, and keeps the
/// writer's state folded. `make` gets the seq of the last record of the batch.
fn append_with_snapshot(
    w: &mut Writer,
    events: Vec<Event>,
    make: impl FnOnce(Seq) -> (u32, Vec<u8>),
) -> Seq {
    let at = w.tick();
    let events = events.into_iter().map(|e| new_event(at, e)).collect();
    let log = w.log();
    let head = log.head();
    let sealed = log
        .append(head, events, |sealed| {
            Some(make(sealed.last().expect("a batch").record.seq))
        })
        .expect("append");
    for s in &sealed {
        w.state.apply(&s.record);
    }
    let seq = sealed.last().expect("a batch").record.seq;
    w.snap = Some(seq);
    seq
}

/// A state that is valid to decode and claims to be the state after `seq`, but is
/// not: a snapshot of it that `fold` trusted would lose every zone and policy.
fn misleading(seq: Seq) -> Vec<u8> {
    let mut s = State::default();
    s.last_seq = Some(seq);
    codec::encode_value(&s).expect("encode")
}

fn small_batch(name: &str) -> Vec<Event> {
    vec![
        kasp_events::ZoneAdded {
            zone: zone(&zn(name), "default"),
            suspended: false,
        }
        .into(),
    ]
}

fn big_writer() -> Writer {
    let bulks = [
        Bulk {
            size: 400,
            remove_missing: false,
            policy: "default",
        },
        Bulk {
            size: 400,
            remove_missing: true,
            policy: "lab",
        },
    ];
    writer_past_a_snapshot(&bulks, &[])
}

#[test]
fn a_snapshot_of_the_right_version_is_trusted() {
    // The control for the two tests below: a misleading snapshot with the right
    // version and seq is used as it is (fold does not re-check it against the log).
    let mut w = big_writer();
    let seq = append_with_snapshot(&mut w, small_batch("control.example"), |seq| {
        (PROJECTION_VERSION, misleading(seq))
    });
    let log = w.reader();
    let (state, used) = folded(&log);
    assert_eq!(used, Some(seq));
    assert!(state.zones.is_empty());
    assert_ne!(state, full_replay(&log));
}

#[test]
fn a_snapshot_of_another_projection_version_is_ignored() {
    let mut w = big_writer();
    let good = w.snap.expect("a snapshot of the current version");
    let seq = append_with_snapshot(&mut w, small_batch("next.example"), |seq| {
        (PROJECTION_VERSION + 1, misleading(seq))
    });
    let expected = w.state.clone();
    let log = w.reader();
    let snap = log.latest_snapshot().unwrap().unwrap();
    assert_eq!((snap.seq, snap.version), (seq, PROJECTION_VERSION + 1));
    let (state, used) = folded(&log);
    assert_ne!(used, Some(seq));
    assert!(used.is_none() || used == Some(good), "{used:?}");
    assert_eq!(state, expected);
    assert_eq!(state, full_replay(&log));
    assert_eq!(state.zones.len(), 402, "400, then 400 new with -r, then 2");
}

#[test]
fn a_snapshot_with_garbage_of_the_right_version_is_ignored() {
    for garbage in [
        vec![],
        vec![0xff; 3],
        vec![0xde, 0xad, 0xbe, 0xef, 0x00, 0x01],
        // A good encoding with a byte too many.
        {
            let mut v = codec::encode_value(&State::default()).unwrap();
            v.push(0);
            v
        },
    ] {
        let mut w = big_writer();
        let seq = append_with_snapshot(&mut w, small_batch("next.example"), |_| {
            (PROJECTION_VERSION, garbage.clone())
        });
        let expected = w.state.clone();
        let log = w.reader();
        let snap = log.latest_snapshot().unwrap().unwrap();
        assert_eq!(snap.seq, seq);
        let (state, used) = folded(&log);
        assert_ne!(used, Some(seq), "{garbage:?}");
        assert_eq!(state, expected, "{garbage:?}");
        assert_eq!(state, full_replay(&log), "{garbage:?}");
    }
}

#[test]
fn a_snapshot_that_claims_another_seq_is_ignored() {
    let mut w = big_writer();
    let seq = append_with_snapshot(&mut w, small_batch("next.example"), |seq| {
        (PROJECTION_VERSION, misleading(Seq(seq.0 - 1)))
    });
    let expected = w.state.clone();
    let log = w.reader();
    let (state, used) = folded(&log);
    assert_ne!(used, Some(seq));
    assert_eq!(state, expected);
}

#[test]
fn an_ignored_snapshot_is_replaced_by_the_next_append() {
    // The engine passes the seq of the snapshot `fold` used; when it used none, the
    // next append past SNAPSHOT_EVERY stores a fresh one of the current version.
    let mut w = big_writer();
    append_with_snapshot(&mut w, small_batch("next.example"), |seq| {
        (PROJECTION_VERSION + 1, misleading(seq))
    });
    let log = w.reader();
    let (mut state, used) = folded(&log);
    let head = log.head();
    drop(log);
    let mut log = EventLog::open(&w.path(), Access::ReadWrite).unwrap();
    let at = Timestamp(w.now.0 + 1);
    let events = small_batch("later.example")
        .into_iter()
        .map(|e| new_event(at, e))
        .collect();
    append_folding(&mut log, head, events, &mut state, used).unwrap();
    drop(log);
    let log = EventLog::open(&w.path(), Access::ReadOnly).unwrap();
    let snap = log.latest_snapshot().unwrap().unwrap();
    assert_eq!(snap.seq, log.head().seq);
    assert_eq!(snap.version, PROJECTION_VERSION);
    let (folded_state, used) = folded(&log);
    assert_eq!(used, Some(snap.seq));
    assert_eq!(folded_state, state);
    assert_eq!(folded_state, full_replay(&log));
}

//! Snapshots the binary cannot trust are ignored: another projection version,
//! garbage, or a state that claims another seq; and one of the current version
//! replaces an ignored one at the next append.

use super::strategies::{Bulk, writer_past_a_snapshot};
use super::support::{Writer, folded, full_replay, new_event};
use kasp_engine::session::append_folding;
use kasp_events::{Access, Event, EventLog, Seq, Timestamp, codec};
use kasp_projector::testgen::zone;
use kasp_projector::{PROJECTION_VERSION, State};

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
            zone: zone(name, "default"),
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

#[test]
fn a_bounded_replay_starts_from_a_snapshot_at_or_before_its_target() {
    use kasp_engine::replay::{Until, fold_until};
    let mut w = big_writer();
    let good = w.snap.expect("a snapshot of the current version");
    // A misleading snapshot of the right version later on: a replay to a target at or
    // after it starts from it (proof that snapshots are used), one before it does not.
    let bad = append_with_snapshot(&mut w, small_batch("next.example"), |seq| {
        (PROJECTION_VERSION, misleading(seq))
    });
    let at = w.tick();
    w.append(at, small_batch("later.example"));
    let log = w.reader();
    let scratch = |until| {
        let mut observe = |_: &State, _: &kasp_events::Record| {};
        fold_until(&log, until, Some(&mut observe))
            .unwrap()
            .unwrap()
    };
    let head = log.head().seq;
    for target in [Seq(0), Seq(good.0 - 1), good, Seq(bad.0 - 1)] {
        let r = fold_until(&log, Until::Seq(target), None).unwrap().unwrap();
        assert_eq!(r.last, target);
        assert_eq!(r.state, scratch(Until::Seq(target)).state, "{target}");
    }
    assert_eq!(scratch(Until::Seq(head)).state, full_replay(&log));
    let r = fold_until(&log, Until::Seq(bad), None).unwrap().unwrap();
    assert!(
        r.state.zones.is_empty(),
        "the snapshot at {bad} was not used"
    );
    // A time target: the state of the last record at or before it.
    let t = scratch(Until::Seq(good)).last_at;
    let by_time = fold_until(&log, Until::Time(t), None).unwrap().unwrap();
    assert_eq!(by_time.state, scratch(Until::Time(t)).state);
    assert!(by_time.last >= good);
    // Outside the log: nothing.
    assert!(
        fold_until(&log, Until::Seq(Seq(head.0 + 1)), None)
            .unwrap()
            .is_none()
    );
    assert!(
        fold_until(&log, Until::Time(Timestamp(0)), None)
            .unwrap()
            .is_none()
    );
}

//! `replay` over real log files with a projection of its own (no projector): a fold
//! from a snapshot equals the fold from genesis, `fold_until` stops where it is told,
//! `walk` sees every record; each on a short log (read on this thread) and a long one
//! (read by the pipeline), so both readers give the same answers.

use crate::common::{log_created, new_event};
use kasp_events::replay::{Until, fold, fold_until, walk};
use kasp_events::{
    Actor, EventLog, LogError, Projection, Record, Seq, Timestamp, VerifyOutcome, codec,
};
use serde::{Deserialize, Serialize};
use std::path::Path;

const T0: Timestamp = Timestamp(1_735_689_600);

/// A projection that keeps a digest of everything it folded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Tally {
    last: Option<Seq>,
    records: u64,
    /// Sum of seq × time, so that order and content both count.
    digest: i64,
}

impl Projection for Tally {
    const VERSION: u32 = 7;

    fn apply(&mut self, record: &Record) {
        self.last = Some(record.seq);
        self.records += 1;
        self.digest = self
            .digest
            .wrapping_add((record.seq.0 as i64).wrapping_mul(record.at.0));
    }

    fn last_seq(&self) -> Option<Seq> {
        self.last
    }

    fn clock_leapt_to(&self) -> Option<Timestamp> {
        None
    }
}

/// A log of `n` records after `LogCreated`, appended in two batches, the first stored
/// with a snapshot of `version` (when given), and the records in memory.
fn make_log(path: &Path, n: u64, snapshot: Option<u32>) -> (EventLog, Vec<Record>) {
    let (mut log, sealed) =
        EventLog::create(path, log_created(), T0, Actor::System, "setup").expect("create");
    let mut records = vec![sealed.record];
    let half = n / 2;
    let mut folded = Tally::default();
    folded.apply(&records[0]);
    let first: Vec<_> = (1..=half).map(|i| new_event(i, "first")).collect();
    let sealed = log
        .append(log.head(), first, |sealed| {
            for s in sealed {
                folded.apply(&s.record);
            }
            snapshot.map(|v| (v, codec::encode_value(&folded).unwrap()))
        })
        .expect("append");
    records.extend(sealed.into_iter().map(|s| s.record));
    let rest: Vec<_> = (half + 1..=n).map(|i| new_event(i, "rest")).collect();
    let sealed = log.append(log.head(), rest, |_| None).expect("append");
    records.extend(sealed.into_iter().map(|s| s.record));
    (log, records)
}

fn tally(records: &[Record]) -> Tally {
    let mut t = Tally::default();
    for r in records {
        t.apply(r);
    }
    t
}

#[test]
fn fold_from_a_snapshot_equals_the_fold_from_genesis() {
    for n in [9, 9_000] {
        let dir = tempfile::tempdir().unwrap();
        let (log, records) = make_log(&dir.path().join("events.redb"), n, Some(Tally::VERSION));
        let (state, used) = fold::<Tally>(&log).unwrap();
        assert_eq!(used, Some(Seq(n / 2)), "n = {n}");
        assert_eq!(state, tally(&records), "n = {n}");
        // An observer makes fold_until start from genesis.
        let mut seen = 0;
        let mut observe = |_: &Tally, _: &Record| seen += 1;
        let all = fold_until::<Tally>(&log, Until::Seq(Seq(n)), Some(&mut observe))
            .unwrap()
            .unwrap();
        assert_eq!(seen, n + 1);
        assert_eq!((all.last, &all.state), (Seq(n), &state), "n = {n}");
    }
}

#[test]
fn snapshot_of_another_version_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (log, records) = make_log(&dir.path().join("events.redb"), 9, Some(Tally::VERSION + 1));
    let (state, used) = fold::<Tally>(&log).unwrap();
    assert_eq!(used, None);
    assert_eq!(state, tally(&records));
}

#[test]
fn fold_until_stops_at_its_bound() {
    for n in [9, 9_000] {
        let dir = tempfile::tempdir().unwrap();
        for snapshot in [None, Some(Tally::VERSION)] {
            let path = dir.path().join(format!("events-{snapshot:?}.redb"));
            let (log, records) = make_log(&path, n, snapshot);
            for k in [0, 1, n / 2 - 1, n / 2, n / 2 + 1, n - 1, n] {
                let expected = tally(&records[..=k as usize]);
                let r = fold_until::<Tally>(&log, Until::Seq(Seq(k)), None)
                    .unwrap()
                    .unwrap();
                assert_eq!((r.last, r.last_at), (Seq(k), records[k as usize].at));
                assert_eq!(r.state, expected, "n = {n}, seq {k}");
                let by_time = fold_until::<Tally>(&log, Until::Time(records[k as usize].at), None)
                    .unwrap()
                    .unwrap();
                assert_eq!(by_time.state, expected, "n = {n}, time of seq {k}");
            }
            assert!(
                fold_until::<Tally>(&log, Until::Seq(Seq(n + 1)), None)
                    .unwrap()
                    .is_none()
            );
            assert!(
                fold_until::<Tally>(&log, Until::Time(Timestamp(T0.0 - 1)), None)
                    .unwrap()
                    .is_none()
            );
        }
    }
}

#[test]
fn walk_sees_every_record_in_order() {
    for n in [9, 9_000] {
        let dir = tempfile::tempdir().unwrap();
        let (log, records) = make_log(&dir.path().join("events.redb"), n, None);
        let mut seen = Vec::new();
        walk(&log, |r| seen.push(r.clone())).unwrap();
        assert_eq!(seen, records, "n = {n}");
    }
}

#[test]
fn a_head_beyond_the_records_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.redb");
    let (log, _) = make_log(&path, 9, None);
    assert!(log.verify().is_ok());
    // The head names a record that was never stored (with the hash of the last one).
    let mut head = 10u64.to_le_bytes().to_vec();
    head.extend_from_slice(&log.head().hash.0);
    drop(log);
    let mut b = redb::Builder::new();
    b.set_concurrency_mode(redb::ConcurrencyMode::SingleWriter);
    let db = b.open(&path).unwrap();
    let tx = db.begin_write().unwrap();
    let meta: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
    tx.open_table(meta)
        .unwrap()
        .insert("head", head.as_slice())
        .unwrap();
    tx.commit().unwrap();
    drop(db);
    let log = EventLog::open(&path, kasp_events::Access::ReadOnly).unwrap();
    assert!(matches!(log.verify(), Err(VerifyOutcome::Broken(_))));
    let detail = |e: LogError| match e {
        LogError::Corrupt { detail, .. } => detail,
        other => panic!("{other}"),
    };
    let expected = "record 10: the stored head does not match the records; \
                    run 'ods-enforcer log verify'";
    assert_eq!(detail(fold::<Tally>(&log).unwrap_err()), expected);
    assert_eq!(detail(walk(&log, |_| {}).unwrap_err()), expected);
    assert_eq!(
        detail(fold_until::<Tally>(&log, Until::Time(Timestamp(i64::MAX)), None).unwrap_err()),
        expected
    );
    // A bound before the last record does not reach the head.
    assert!(
        fold_until::<Tally>(&log, Until::Seq(Seq(8)), None)
            .unwrap()
            .is_some()
    );
}

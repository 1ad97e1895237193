//! `EventLog` on real files: create, open, append, conflicts, locks, snapshots.

use crate::common::{log_created, new_event};
use kasp_events::{
    Access, Actor, Event, EventLog, Head, LogError, Sealed, Seq, Snapshot, Timestamp,
};
use std::path::{Path, PathBuf};

const T0: Timestamp = Timestamp(1_735_689_600);

fn create(path: &Path) -> (EventLog, Sealed) {
    EventLog::create(path, log_created(), T0, Actor::System, "setup").expect("create")
}

fn tmp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.redb");
    (dir, path)
}

fn seqs(log: &EventLog, from: u64) -> Vec<u64> {
    let mut out = Vec::new();
    log.for_each(Seq(from), |s| {
        out.push(s.record.seq.0);
        Ok::<(), LogError>(())
    })
    .unwrap();
    out
}

fn no_snapshot(_: &[Sealed]) -> Option<(u32, Vec<u8>)> {
    None
}

#[test]
fn create_then_reopen() {
    let (_dir, path) = tmp();
    let (log, sealed) = create(&path);
    assert_eq!(sealed.record.seq, Seq(0));
    assert!(matches!(sealed.record.event, Event::LogCreated(_)));
    assert_eq!(
        log.head(),
        Head {
            seq: Seq(0),
            hash: sealed.hash
        }
    );
    assert_eq!(log.path(), path);
    drop(log);
    for access in [Access::ReadOnly, Access::ReadWrite] {
        let log = EventLog::open(&path, access).unwrap();
        assert_eq!(log.head().hash, sealed.hash);
        assert_eq!(log.verify().unwrap().hash, sealed.hash);
        let mut records = Vec::new();
        log.for_each(Seq(0), |s| {
            records.push(s);
            Ok::<(), LogError>(())
        })
        .unwrap();
        assert_eq!(records, vec![sealed.clone()]);
        assert_eq!(log.latest_snapshot().unwrap(), None);
    }
}

#[test]
fn create_refuses_an_existing_file() {
    let (_dir, path) = tmp();
    std::fs::write(&path, b"precious data").unwrap();
    let err = EventLog::create(&path, log_created(), T0, Actor::System, "setup").unwrap_err();
    assert!(matches!(err, LogError::Exists { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), b"precious data");

    let (_dir2, path) = tmp();
    let (log, _) = create(&path);
    drop(log);
    let before = std::fs::read(&path).unwrap();
    let err = EventLog::create(&path, log_created(), T0, Actor::System, "setup").unwrap_err();
    assert!(matches!(err, LogError::Exists { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn create_in_a_missing_directory_is_io() {
    let (dir, _) = tmp();
    let path = dir.path().join("no/such/dir/events.redb");
    let err = EventLog::create(&path, log_created(), T0, Actor::System, "setup").unwrap_err();
    assert!(matches!(err, LogError::Io { .. }), "{err:?}");
    assert!(!path.exists());
}

#[test]
fn open_missing_or_directory() {
    let (dir, path) = tmp();
    for access in [Access::ReadOnly, Access::ReadWrite] {
        let err = EventLog::open(&path, access).unwrap_err();
        assert!(matches!(err, LogError::Missing { .. }), "{err:?}");
        assert!(!path.exists(), "open created the file");
        let err = EventLog::open(dir.path(), access).unwrap_err();
        assert!(matches!(err, LogError::Io { .. }), "{err:?}");
    }
}

#[test]
fn append_batches() {
    let (_dir, path) = tmp();
    let (mut log, first) = create(&path);
    let mut all = vec![first];
    for batch in [1usize, 3, 2] {
        let head = log.head();
        let events = (0..batch)
            .map(|i| new_event(all.len() as u64 + i as u64, &format!("batch of {batch}")))
            .collect::<Vec<_>>();
        let sealed = log.append(head, events.clone(), no_snapshot).unwrap();
        assert_eq!(sealed.len(), batch);
        for (i, (s, e)) in sealed.iter().zip(&events).enumerate() {
            assert_eq!(s.record.seq, Seq(head.seq.0 + 1 + i as u64));
            assert_eq!((&s.record.at, &s.record.actor), (&e.at, &e.actor));
            assert_eq!((&s.record.cause, &s.record.event), (&e.cause, &e.event));
        }
        assert_eq!(sealed[0].record.prev, head.hash);
        for w in sealed.windows(2) {
            assert_eq!(w[1].record.prev, w[0].hash);
        }
        let last = sealed.last().unwrap();
        assert_eq!(
            log.head(),
            Head {
                seq: last.record.seq,
                hash: last.hash
            }
        );
        all.extend(sealed);
    }
    assert_eq!(
        log.append(log.head(), Vec::new(), no_snapshot).unwrap(),
        Vec::new()
    );
    assert_eq!(log.verify().unwrap(), log.head());
    let head = log.head();
    drop(log);

    let log = EventLog::open(&path, Access::ReadOnly).unwrap();
    assert_eq!(log.head(), head);
    let mut read = Vec::new();
    log.for_each(Seq(0), |s| {
        read.push(s);
        Ok::<(), LogError>(())
    })
    .unwrap();
    assert_eq!(read, all);
    assert_eq!(seqs(&log, 4), vec![4, 5, 6]);
    assert_eq!(seqs(&log, 6), vec![6]);
    assert_eq!(seqs(&log, 7), Vec::<u64>::new());
    let mut raw = Vec::new();
    log.for_each_raw(Seq(2), |k, bytes| {
        raw.push((k, kasp_events::chain::hash_record(bytes)));
        Ok::<(), LogError>(())
    })
    .unwrap();
    let want: Vec<_> = all[2..].iter().map(|s| (s.record.seq.0, s.hash)).collect();
    assert_eq!(raw, want);
}

#[test]
fn for_each_stops_at_the_callers_error() {
    let (_dir, path) = tmp();
    let (mut log, _) = create(&path);
    let events = (1..=5).map(|n| new_event(n, "x")).collect();
    log.append(log.head(), events, no_snapshot).unwrap();
    let mut visited = Vec::new();
    let r = log.for_each(Seq(1), |s| {
        visited.push(s.record.seq.0);
        if s.record.seq.0 == 3 {
            return Err(LogError::Conflict {
                path: PathBuf::new(),
            });
        }
        Ok(())
    });
    assert!(matches!(r, Err(LogError::Conflict { .. })));
    assert_eq!(visited, vec![1, 2, 3]);
}

#[test]
fn stale_head_is_a_conflict() {
    let (_dir, path) = tmp();
    let (mut log, _) = create(&path);
    let old = log.head();
    log.append(old, vec![new_event(1, "first")], no_snapshot)
        .unwrap();
    let head = log.head();
    let mut called = false;
    let err = log
        .append(old, vec![new_event(2, "stale")], |_| {
            called = true;
            Some((1, vec![1]))
        })
        .unwrap_err();
    assert!(matches!(err, LogError::Conflict { .. }), "{err:?}");
    assert!(!called, "the snapshot closure ran for a refused append");
    assert_eq!(log.head(), head);
    assert_eq!(seqs(&log, 0), vec![0, 1]);
    assert_eq!(log.latest_snapshot().unwrap(), None);
    // A head with the right seq but another hash is stale too.
    let mut forged = head;
    forged.hash.0[0] ^= 1;
    let err = log
        .append(forged, vec![new_event(2, "forged")], no_snapshot)
        .unwrap_err();
    assert!(matches!(err, LogError::Conflict { .. }), "{err:?}");
    drop(log);
    let log = EventLog::open(&path, Access::ReadOnly).unwrap();
    assert_eq!(log.head(), head);
    assert_eq!(seqs(&log, 0), vec![0, 1]);
}

#[test]
fn read_only_handle_cannot_append() {
    let (_dir, path) = tmp();
    drop(create(&path));
    let before = std::fs::read(&path).unwrap();
    let mut log = EventLog::open(&path, Access::ReadOnly).unwrap();
    let err = log
        .append(log.head(), vec![new_event(1, "x")], no_snapshot)
        .unwrap_err();
    assert!(matches!(err, LogError::ReadOnly { .. }), "{err:?}");
    log.verify().unwrap();
    drop(log);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "a read-only handle wrote"
    );
}

/// redb 4.6 locks with open-file-description locks, so a second writer in the same
/// process is refused just like one in another process.
#[test]
fn second_writer_is_locked() {
    let (_dir, path) = tmp();
    let (writer, _) = create(&path);
    let err = EventLog::open(&path, Access::ReadWrite).unwrap_err();
    assert!(matches!(err, LogError::Locked { .. }), "{err:?}");
    drop(writer);
    let writer = EventLog::open(&path, Access::ReadWrite).unwrap();
    let err = EventLog::open(&path, Access::ReadWrite).unwrap_err();
    assert!(matches!(err, LogError::Locked { .. }), "{err:?}");
    drop(writer);
    EventLog::open(&path, Access::ReadWrite).unwrap();
}

#[test]
fn readers_follow_a_writer() {
    let (_dir, path) = tmp();
    let (mut writer, _) = create(&path);
    writer
        .append(writer.head(), vec![new_event(1, "one")], no_snapshot)
        .unwrap();
    let reader = EventLog::open(&path, Access::ReadOnly).unwrap();
    assert_eq!(reader.head(), writer.head());
    let second = EventLog::open(&path, Access::ReadOnly).unwrap();
    assert_eq!(second.head(), writer.head());

    writer
        .append(
            writer.head(),
            vec![new_event(2, "two"), new_event(3, "three")],
            no_snapshot,
        )
        .unwrap();
    // The reader's cached head is from its open; verify and for_each read the file.
    assert_eq!(reader.head().seq, Seq(1));
    assert_eq!(reader.verify().unwrap(), writer.head());
    assert_eq!(seqs(&reader, 0), vec![0, 1, 2, 3]);
    assert_eq!(
        EventLog::open(&path, Access::ReadOnly).unwrap().head(),
        writer.head()
    );

    // A writer can open while readers are open.
    drop(writer);
    let mut writer = EventLog::open(&path, Access::ReadWrite).unwrap();
    writer
        .append(writer.head(), vec![new_event(4, "four")], no_snapshot)
        .unwrap();
    assert_eq!(reader.verify().unwrap(), writer.head());
}

#[test]
fn snapshots_keep_the_newest_two() {
    let (_dir, path) = tmp();
    let (mut log, _) = create(&path);
    assert_eq!(log.latest_snapshot().unwrap(), None);
    for n in 1..=4u64 {
        let events = vec![new_event(2 * n - 1, "a"), new_event(2 * n, "b")];
        let sealed = log
            .append(log.head(), events, |batch| {
                assert_eq!(batch.len(), 2);
                assert_eq!(batch[1].record.seq, Seq(2 * n));
                Some((7 + n as u32, format!("state after {}", 2 * n).into_bytes()))
            })
            .unwrap();
        assert_eq!(sealed.len(), 2);
        let snap = log.latest_snapshot().unwrap().unwrap();
        assert_eq!(
            snap,
            Snapshot {
                seq: Seq(2 * n),
                version: 7 + n as u32,
                bytes: format!("state after {}", 2 * n).into_bytes(),
            }
        );
    }
    // An append without a snapshot keeps the latest one.
    log.append(log.head(), vec![new_event(9, "c")], no_snapshot)
        .unwrap();
    assert_eq!(log.latest_snapshot().unwrap().unwrap().seq, Seq(8));
    // An empty state is a valid snapshot.
    log.append(log.head(), vec![new_event(10, "d")], |_| {
        Some((1, Vec::new()))
    })
    .unwrap();
    let snap = log.latest_snapshot().unwrap().unwrap();
    assert_eq!((snap.seq, snap.version, snap.bytes.len()), (Seq(10), 1, 0));
    drop(log);

    let reader = EventLog::open(&path, Access::ReadOnly).unwrap();
    assert_eq!(reader.latest_snapshot().unwrap().unwrap().seq, Seq(10));
    drop(reader);
    let mut builder = redb::Builder::new();
    builder.set_concurrency_mode(redb::ConcurrencyMode::SingleWriter);
    let db = builder.open_read_only(&path).unwrap();
    use redb::{ReadableDatabase, ReadableTableMetadata};
    let tx = db.begin_read().unwrap();
    let table = tx
        .open_table(redb::TableDefinition::<u64, &[u8]>::new("snapshots"))
        .unwrap();
    assert_eq!(table.len().unwrap(), 2, "more than two snapshots kept");
}

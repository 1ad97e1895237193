//! Replaying the log into state: the newest usable snapshot, then the records after
//! it, each checked against the hash chain.
//!
//! A long replay is a two-stage pipeline: a reader thread reads records from redb and
//! hashes them (blake3), handing over batches of stored bytes; this thread decodes,
//! checks the chain links and applies them, in log order. The split keeps every
//! allocation of a record's decoded values on the thread that also frees them, which
//! matters more for speed than an even split of the work. The result is the same as
//! a plain loop; only the wall time differs.

use kasp_events::chain::hash_record;
use kasp_events::codec::decode_record;
use kasp_events::{
    Event, EventLog, Hash, LogError, Record, Sealed, Seq, Timestamp, VerifyOutcome, codec,
};
use kasp_projector::{PROJECTION_VERSION, State};
use std::sync::mpsc::sync_channel;

/// Records handed from the reader to the folder at a time.
const BATCH: usize = 1024;
/// Batches in flight (bounds memory: at most this many batches wait for the folder).
const IN_FLIGHT: usize = 8;
/// Below this many records the pipeline is not worth a thread.
const PIPELINE_FROM: u64 = 4 * BATCH as u64;

/// Folds a log into state. Returns the state and the seq of the snapshot used (if any).
/// A broken chain, a head that does not match the records, or an undecodable record
/// is an error: a damaged log is refused, never silently used.
pub fn fold(log: &EventLog) -> Result<(State, Option<Seq>), LogError> {
    let (mut state, from, used) = start(log)?;
    let mut prev = if from.0 == 0 {
        Some(Hash::GENESIS)
    } else {
        log.record_hash(Seq(from.0 - 1))?
    };
    let mut step = |sealed: Sealed| -> Result<(), LogError> {
        if prev != Some(sealed.record.prev) {
            return Err(broken(log, sealed.record.seq, "the hash chain is broken"));
        }
        prev = Some(sealed.hash);
        state.apply_owned(sealed.record);
        Ok(())
    };
    let tail = (log.head().seq.0 + 1).saturating_sub(from.0);
    let walked = if tail < PIPELINE_FROM {
        log.for_each(from, &mut step)
    } else {
        pipelined(log, from, &mut step)
    };
    if let Err(e) = walked {
        return Err(pinpoint(log, e));
    }
    if prev != Some(log.head().hash) || state.last_seq != Some(log.head().seq) {
        return Err(broken(
            log,
            log.head().seq,
            "the stored head does not match the records",
        ));
    }
    Ok((state, used))
}

/// The state to start from: a snapshot of this projection version whose bytes decode
/// and whose seq matches, or the empty state.
fn start(log: &EventLog) -> Result<(State, Seq, Option<Seq>), LogError> {
    if let Some(snap) = log.latest_snapshot()?
        && snap.version == PROJECTION_VERSION
        && let Ok(s) = codec::decode_value::<State>(&snap.bytes)
        && s.last_seq == Some(snap.seq)
    {
        return Ok((s, Seq(snap.seq.0 + 1), Some(snap.seq)));
    }
    Ok((State::default(), Seq(0), None))
}

/// A broken link between records n and n+1 is noticed at n+1, but the damage may be
/// in either. On that (rare) path the full `verify` says exactly which record changed.
fn pinpoint(log: &EventLog, e: LogError) -> LogError {
    if !matches!(e, LogError::Corrupt { .. }) {
        return e;
    }
    match log.verify() {
        Err(VerifyOutcome::Broken(v)) => broken(log, v.seq, &v.reason),
        _ => e,
    }
}

fn broken(log: &EventLog, seq: Seq, why: &str) -> LogError {
    LogError::Corrupt {
        path: log.path().to_path_buf(),
        detail: format!("record {seq}: {why}; run 'ods-enforcer log verify'"),
    }
}

/// Stored records read and hashed by the reader: their bytes back to back.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    /// (seq it is stored under, end offset in `bytes`, chain hash).
    records: Vec<(u64, usize, Hash)>,
}

/// Runs `step` on every record from `from` on, reading and hashing on another thread.
fn pipelined(
    log: &EventLog,
    from: Seq,
    step: &mut dyn FnMut(Sealed) -> Result<(), LogError>,
) -> Result<(), LogError> {
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel::<Batch>(IN_FLIGHT);
        let reader = scope.spawn(move || {
            let mut batch = Batch::default();
            let result = log.for_each_raw(from, |seq, bytes| {
                batch.bytes.extend_from_slice(bytes);
                batch
                    .records
                    .push((seq, batch.bytes.len(), hash_record(bytes)));
                if batch.records.len() == BATCH {
                    // The folder hung up: it found an error and reports it.
                    if tx.send(std::mem::take(&mut batch)).is_err() {
                        return Err(Stop::FolderGone);
                    }
                }
                Ok(())
            });
            match result {
                Ok(()) => {
                    let _ = tx.send(batch);
                    Ok(())
                }
                Err(Stop::FolderGone) => Ok(()),
                Err(Stop::Log(e)) => Err(e),
            }
        });
        let folded = rx.iter().try_for_each(|batch| {
            let mut start = 0;
            for &(seq, end, hash) in &batch.records {
                let record = decode_record(&batch.bytes[start..end])
                    .map_err(|e| broken(log, Seq(seq), &e.to_string()))?;
                if record.seq.0 != seq {
                    return Err(broken(log, Seq(seq), "stored under another seq"));
                }
                step(Sealed { record, hash })?;
                start = end;
            }
            Ok(())
        });
        drop(rx);
        let read = reader.join().unwrap_or_else(|_| {
            Err(LogError::Corrupt {
                path: log.path().to_path_buf(),
                detail: "the reader thread failed".to_string(),
            })
        });
        // A read error comes first: it explains a shortened stream.
        read.and(folded)
    })
}

/// Why the reader stopped early.
enum Stop {
    FolderGone,
    Log(LogError),
}

impl From<LogError> for Stop {
    fn from(e: LogError) -> Self {
        Stop::Log(e)
    }
}

/// Where a replay stops: after record `seq`, or at the last record of the moment `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    Seq(Seq),
    /// The longest prefix of the log with no record later than this time; a simulated
    /// clock's leap counts at the time it leaps to (its record carries the time it
    /// leapt from).
    Time(Timestamp),
}

/// Sees the state just before each record of a bounded replay is folded into it.
pub type Observer<'a> = &'a mut dyn FnMut(&State, &Record);

/// The state after a prefix of the log.
#[derive(Debug)]
pub struct Replayed {
    pub state: State,
    /// The last record folded, and its time.
    pub last: Seq,
    pub last_at: Timestamp,
}

/// Whether `record` lies beyond a time target.
fn beyond(record: &Record, t: Timestamp) -> bool {
    record.at > t || matches!(&record.event, Event::ClockAdvanced(c) if c.to > t)
}

/// Replays the log up to `until`, with the same chain checks as [`fold`] (each record
/// links to the one before it; the last one folded is linked to by the next record or
/// is the head). `observe` sees the state just before each record is folded; without
/// it, a stored snapshot at or before the target is used as the starting point.
/// `Ok(None)`: the target lies before the log's first record or beyond its head.
pub fn fold_until(
    log: &EventLog,
    until: Until,
    mut observe: Option<Observer<'_>>,
) -> Result<Option<Replayed>, LogError> {
    let head = log.head();
    if let Until::Seq(s) = until
        && s > head.seq
    {
        return Ok(None);
    }
    let (mut state, mut last) = match observe {
        Some(_) => (State::default(), None),
        None => start_before(log, until)?,
    };
    let from = last.map_or(Seq(0), |(s, _): (Seq, Timestamp)| Seq(s.0 + 1));
    let mut prev = if from.0 == 0 {
        Some(Hash::GENESIS)
    } else {
        log.record_hash(Seq(from.0 - 1))?
    };
    let walked = log.for_each(from, |sealed: Sealed| -> Result<(), Halt> {
        let r = &sealed.record;
        if prev != Some(r.prev) {
            return Err(broken(log, r.seq, "the hash chain is broken").into());
        }
        let stop = match until {
            Until::Seq(s) => r.seq > s,
            Until::Time(t) => beyond(r, t),
        };
        if stop {
            return Err(Halt::Reached);
        }
        prev = Some(sealed.hash);
        last = Some((r.seq, r.at));
        if let Some(f) = observe.as_mut() {
            f(&state, r);
        }
        state.apply_owned(sealed.record);
        Ok(())
    });
    match walked {
        Ok(()) => {
            // Walked to the end: the last record must be the stored head.
            if last.is_some() && (prev != Some(head.hash) || state.last_seq != Some(head.seq)) {
                return Err(broken(
                    log,
                    head.seq,
                    "the stored head does not match the records",
                ));
            }
        }
        Err(Halt::Reached) => {}
        Err(Halt::Log(e)) => return Err(pinpoint(log, e)),
    }
    Ok(last.map(|(last, last_at)| Replayed {
        state,
        last,
        last_at,
    }))
}

/// Why a bounded replay stopped early.
enum Halt {
    Reached,
    Log(LogError),
}

impl From<LogError> for Halt {
    fn from(e: LogError) -> Self {
        Halt::Log(e)
    }
}

/// The state to start a bounded replay from, with its last record and that record's
/// time: a usable snapshot whose last record is not beyond the target (for a time, the
/// snapshot's own record and clock say so), or the empty state.
#[allow(clippy::type_complexity)]
fn start_before(
    log: &EventLog,
    until: Until,
) -> Result<(State, Option<(Seq, Timestamp)>), LogError> {
    let empty = || Ok((State::default(), None));
    let bound = match until {
        Until::Seq(s) => s,
        Until::Time(_) => log.head().seq,
    };
    let Some(snap) = log.snapshot_at_or_before(bound)? else {
        return empty();
    };
    let Ok(s) = codec::decode_value::<State>(&snap.bytes) else {
        return empty();
    };
    if snap.version != PROJECTION_VERSION || s.last_seq != Some(snap.seq) {
        return empty();
    }
    let mut at = None;
    log.for_each(snap.seq, |sealed: Sealed| -> Result<(), Halt> {
        at = Some(sealed.record.at);
        Err(Halt::Reached)
    })
    .or_else(|h| match h {
        Halt::Reached => Ok(()),
        Halt::Log(e) => Err(e),
    })?;
    let Some(at) = at else {
        return empty();
    };
    if let Until::Time(t) = until
        && (at > t || s.clock_now.is_some_and(|c| c > t))
    {
        return empty();
    }
    Ok((s, Some((snap.seq, at))))
}

/// Calls `f` with every record in order, checking the chain as [`fold`] does (each
/// record links to the one before it, the last one is the stored head), without
/// folding state.
pub fn walk(log: &EventLog, mut f: impl FnMut(&Record)) -> Result<(), LogError> {
    let mut prev = Hash::GENESIS;
    let mut last = None;
    let walked = log.for_each(Seq(0), |sealed: Sealed| -> Result<(), LogError> {
        if sealed.record.prev != prev {
            return Err(broken(log, sealed.record.seq, "the hash chain is broken"));
        }
        prev = sealed.hash;
        last = Some(sealed.record.seq);
        f(&sealed.record);
        Ok(())
    });
    walked.map_err(|e| pinpoint(log, e))?;
    let head = log.head();
    if prev != head.hash || last != Some(head.seq) {
        return Err(broken(
            log,
            head.seq,
            "the stored head does not match the records",
        ));
    }
    Ok(())
}

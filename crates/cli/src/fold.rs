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
use kasp_events::{EventLog, Hash, LogError, Sealed, Seq, VerifyOutcome, codec};
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

//! A long walk is a two-stage pipeline: a reader thread reads records from redb and
//! hashes them (blake3), handing over batches of stored bytes; the walking thread
//! decodes them and hands them on, in log order. The split keeps every allocation of a
//! record's decoded values on the thread that also frees them, which matters more for
//! speed than an even split of the work. The result is the same as a plain loop over
//! `EventLog::for_each`; only the wall time differs.

use super::fold::broken;
use crate::chain::hash_record;
use crate::codec::decode_record;
use crate::envelope::{Hash, Sealed};
use crate::ids::Seq;
use crate::log::{EventLog, LogError};
use std::ops::ControlFlow;
use std::sync::mpsc::sync_channel;

/// Records handed from the reader to the walker at a time.
pub(super) const BATCH: usize = 1024;
/// Batches in flight (bounds memory: at most this many batches wait for the walker).
const IN_FLIGHT: usize = 8;

/// Stored records read and hashed by the reader: their bytes back to back.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    /// (seq it is stored under, end offset in `bytes`, chain hash).
    records: Vec<(u64, usize, Hash)>,
}

/// Runs `step` on every record from `from` on, reading and hashing on another thread,
/// until `step` breaks.
pub(super) fn pipelined(
    log: &EventLog,
    from: Seq,
    step: &mut dyn FnMut(Sealed) -> Result<ControlFlow<()>, LogError>,
) -> Result<ControlFlow<()>, LogError> {
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
                    // The walker hung up: it found an error, or the end of its walk.
                    if tx.send(std::mem::take(&mut batch)).is_err() {
                        return Err(Stop::WalkerGone);
                    }
                }
                Ok(())
            });
            match result {
                Ok(()) => {
                    let _ = tx.send(batch);
                    Ok(())
                }
                Err(Stop::WalkerGone) => Ok(()),
                Err(Stop::Log(e)) => Err(e),
            }
        });
        let walked = walk_batches(log, &rx, step);
        drop(rx);
        let read = reader.join().unwrap_or_else(|_| {
            Err(LogError::Corrupt {
                path: log.path().to_path_buf(),
                detail: "the reader thread failed".to_string(),
            })
        });
        match walked {
            // Every record the walk took was read; what the reader met beyond it is
            // not this walk's business.
            Ok(ControlFlow::Break(())) => Ok(ControlFlow::Break(())),
            // A read error comes first: it explains a shortened stream.
            walked => read.and(walked),
        }
    })
}

/// Decodes the batches as they come and runs `step` on each record, until it breaks.
fn walk_batches(
    log: &EventLog,
    rx: &std::sync::mpsc::Receiver<Batch>,
    step: &mut dyn FnMut(Sealed) -> Result<ControlFlow<()>, LogError>,
) -> Result<ControlFlow<()>, LogError> {
    for batch in rx.iter() {
        let mut start = 0;
        for &(seq, end, hash) in &batch.records {
            let record = decode_record(&batch.bytes[start..end])
                .map_err(|e| broken(log, Seq(seq), &e.to_string()))?;
            if record.seq.0 != seq {
                return Err(broken(log, Seq(seq), "stored under another seq"));
            }
            if step(Sealed { record, hash })?.is_break() {
                return Ok(ControlFlow::Break(()));
            }
            start = end;
        }
    }
    Ok(ControlFlow::Continue(()))
}

/// Why the reader stopped early.
enum Stop {
    WalkerGone,
    Log(LogError),
}

impl From<LogError> for Stop {
    fn from(e: LogError) -> Self {
        Stop::Log(e)
    }
}

//! The walk with chain checks over an `EventLog`, and the three replays on it.
//!
//! [`chained`] reads the records from a starting point in order and checks that each
//! links to the one before it ([`Tip`]); what it does with a record that links, and
//! whether it goes on past it, is its caller's. [`fold`], [`fold_until`] and [`walk`]
//! choose the start (a snapshot or genesis), fold or look at the records, and check
//! that a walk that reached the end of the log ended at the stored head.

use super::pipeline::pipelined;
use super::{Observer, Projection, Replayed, Until};
use crate::chain::Tip;
use crate::codec;
use crate::envelope::{Record, Sealed};
use crate::ids::Seq;
use crate::log::{EventLog, LogError, VerifyOutcome};
use crate::time::Timestamp;
use std::ops::ControlFlow;

/// Below this many records to read the pipeline is not worth a thread.
const PIPELINE_FROM: u64 = 4 * super::pipeline::BATCH as u64;

/// Folds a log into state. Returns the state and the seq of the snapshot used (if any).
/// A broken chain, a head that does not match the records, or an undecodable record
/// is an error: a damaged log is refused, never silently used.
pub fn fold<P: Projection>(log: &EventLog) -> Result<(P, Option<Seq>), LogError> {
    let (mut state, from, used) = start::<P>(log)?;
    let (tip, _) = chained(log, from, log.head().seq, |sealed| {
        state.apply_owned(sealed.record);
        ControlFlow::Continue(())
    })?;
    at_head(log, tip, state.last_seq())?;
    Ok((state, used))
}

/// Replays the log up to `until`, with the same chain checks as [`fold`] (each record
/// links to the one before it; the last one folded is linked to by the next record or
/// is the head). `observe` sees the state just before each record is folded; without
/// it, a stored snapshot at or before the target is used as the starting point.
/// `Ok(None)`: the target lies before the log's first record or beyond its head.
pub fn fold_until<P: Projection>(
    log: &EventLog,
    until: Until,
    mut observe: Option<Observer<'_, P>>,
) -> Result<Option<Replayed<P>>, LogError> {
    let head = log.head();
    let to = match until {
        Until::Seq(s) if s > head.seq => return Ok(None),
        Until::Seq(s) => s,
        Until::Time(_) => head.seq,
    };
    let (mut state, mut last) = match observe {
        Some(_) => (P::default(), None),
        None => start_before(log, until)?,
    };
    let from = last.map_or(Seq(0), |(s, _): (Seq, Timestamp)| Seq(s.0 + 1));
    let (tip, stopped) = chained(log, from, to, |sealed| {
        let r = &sealed.record;
        if until.excludes(r) {
            return ControlFlow::Break(());
        }
        last = Some((r.seq, r.at));
        if let Some(f) = observe.as_mut() {
            f(&state, r);
        }
        state.apply_owned(sealed.record);
        ControlFlow::Continue(())
    })?;
    // Walked to the end: the last record must be the stored head.
    if !stopped && last.is_some() {
        at_head(log, tip, state.last_seq())?;
    }
    Ok(last.map(|(last, last_at)| Replayed {
        state,
        last,
        last_at,
    }))
}

/// Calls `f` with every record in order, checking the chain as [`fold`] does (each
/// record links to the one before it, the last one is the stored head), without
/// folding state.
pub fn walk(log: &EventLog, mut f: impl FnMut(&Record)) -> Result<(), LogError> {
    let mut last = None;
    let (tip, _) = chained(log, Seq(0), log.head().seq, |sealed| {
        last = Some(sealed.record.seq);
        f(&sealed.record);
        ControlFlow::Continue(())
    })?;
    at_head(log, tip, last)
}

/// Reads the records from `from` on, up to `to`, and hands each one that links to the
/// one before it to `take` until `take` breaks (on a record it does not take). Records
/// after `to` (at most the head this handle read when it was opened) are another
/// writer's, appended since: they are not part of the log as this handle sees it, and
/// the walk stops before them as if `take` broke. Returns the tip after the last
/// record taken and whether `take` broke off. A record that does not link, or one that
/// cannot be read, is an error, located by the full `verify`.
fn chained(
    log: &EventLog,
    from: Seq,
    to: Seq,
    mut take: impl FnMut(Sealed) -> ControlFlow<()>,
) -> Result<(Tip, bool), LogError> {
    let mut tip = if from.0 == 0 {
        Tip::GENESIS
    } else {
        Tip::after(log.record_hash(Seq(from.0 - 1))?)
    };
    let mut step = |sealed: Sealed| -> Result<ControlFlow<()>, LogError> {
        if sealed.record.seq > to {
            return Ok(ControlFlow::Break(()));
        }
        if !tip.links(&sealed.record) {
            return Err(broken(log, sealed.record.seq, "the hash chain is broken"));
        }
        let hash = sealed.hash;
        let flow = take(sealed);
        if flow.is_continue() {
            tip.advance(hash);
        }
        Ok(flow)
    };
    let walked = if (to.0 + 1).saturating_sub(from.0) < PIPELINE_FROM {
        plain(log, from, &mut step)
    } else {
        pipelined(log, from, &mut step)
    };
    match walked {
        Ok(flow) => Ok((tip, flow.is_break())),
        Err(e) => Err(pinpoint(log, e)),
    }
}

/// Runs `step` on every record from `from` on, on this thread, until it breaks.
fn plain(
    log: &EventLog,
    from: Seq,
    step: &mut impl FnMut(Sealed) -> Result<ControlFlow<()>, LogError>,
) -> Result<ControlFlow<()>, LogError> {
    let walked = log.for_each(from, |sealed| match step(sealed) {
        Ok(ControlFlow::Continue(())) => Ok(()),
        Ok(ControlFlow::Break(())) => Err(Halt::Reached),
        Err(e) => Err(Halt::Log(e)),
    });
    match walked {
        Ok(()) => Ok(ControlFlow::Continue(())),
        Err(Halt::Reached) => Ok(ControlFlow::Break(())),
        Err(Halt::Log(e)) => Err(e),
    }
}

/// Why a walk on this thread stopped early.
enum Halt {
    Reached,
    Log(LogError),
}

impl From<LogError> for Halt {
    fn from(e: LogError) -> Self {
        Halt::Log(e)
    }
}

/// A walk that reached the end of the log must end at the stored head: its tip is the
/// head's hash and its last record the head's seq.
fn at_head(log: &EventLog, tip: Tip, last: Option<Seq>) -> Result<(), LogError> {
    let head = log.head();
    if tip.is_head(head, last) {
        return Ok(());
    }
    Err(broken(
        log,
        head.seq,
        "the stored head does not match the records",
    ))
}

/// The state to start from: a snapshot of this projection version whose bytes decode
/// and whose seq matches, or the empty state.
fn start<P: Projection>(log: &EventLog) -> Result<(P, Seq, Option<Seq>), LogError> {
    // A snapshot beyond the head was stored by a writer since this handle was opened.
    if let Some(snap) = log.latest_snapshot()?
        && snap.seq <= log.head().seq
        && snap.version == P::VERSION
        && let Ok(s) = codec::decode_value::<P>(&snap.bytes)
        && s.last_seq() == Some(snap.seq)
    {
        return Ok((s, Seq(snap.seq.0 + 1), Some(snap.seq)));
    }
    Ok((P::default(), Seq(0), None))
}

/// The state to start a bounded replay from, with its last record and that record's
/// time: a usable snapshot whose last record is not beyond the target (for a time, the
/// snapshot's own record and clock say so), or the empty state.
#[allow(clippy::type_complexity)]
fn start_before<P: Projection>(
    log: &EventLog,
    until: Until,
) -> Result<(P, Option<(Seq, Timestamp)>), LogError> {
    let empty = || Ok((P::default(), None));
    let bound = match until {
        Until::Seq(s) => s,
        Until::Time(_) => log.head().seq,
    };
    let Some(snap) = log.snapshot_at_or_before(bound)? else {
        return empty();
    };
    let Ok(s) = codec::decode_value::<P>(&snap.bytes) else {
        return empty();
    };
    if snap.version != P::VERSION || s.last_seq() != Some(snap.seq) {
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
        && (at > t || s.clock_leapt_to().is_some_and(|c| c > t))
    {
        return empty();
    }
    Ok((s, Some((snap.seq, at))))
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

/// The error a replay reports for damage at record `seq`.
pub(super) fn broken(log: &EventLog, seq: Seq, why: &str) -> LogError {
    LogError::Corrupt {
        path: log.path().to_path_buf(),
        detail: format!("record {seq}: {why}; run 'ods-enforcer log verify'"),
    }
}

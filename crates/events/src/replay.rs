//! Replaying the log into a projection: the newest usable snapshot (or genesis), then
//! the records after it, each checked against the hash chain, up to a bound or to the
//! head.
//!
//! What a record does to state is the projection's business ([`Projection`], which the
//! projector's `State` implements); reading the records in order, checking that each
//! links to the one before it and that the last one is the stored head, and starting
//! from a snapshot is this module's. With the `log` feature, one walk over an
//! `EventLog` does it (`replay/fold.rs`), and three entry points use it: `fold` (to the
//! head, from the newest snapshot), `fold_until` (up to an [`Until`], for time travel)
//! and `walk` (every record, no state). A long walk reads on a second thread
//! (`replay/pipeline.rs`).

use crate::envelope::Record;
use crate::event::Event;
use crate::ids::Seq;
use crate::time::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;

#[cfg(feature = "log")]
mod fold;
#[cfg(feature = "log")]
mod pipeline;
#[cfg(feature = "log")]
pub use fold::{fold, fold_until, walk};

/// State folded from the log, record by record, and stored in snapshots (encoded with
/// [`crate::codec::encode_value`] under [`Projection::VERSION`]).
pub trait Projection: Default + Serialize + DeserializeOwned {
    /// The version stored with a snapshot of this projection: bumped whenever `apply`
    /// or the shape of the state changes, so that a snapshot of another version is
    /// ignored and the state is rebuilt from the log.
    const VERSION: u32;

    /// Folds one record into the state.
    fn apply(&mut self, record: &Record);

    /// Folds one record, taking it (replay moves events instead of cloning them).
    fn apply_owned(&mut self, record: Record) {
        self.apply(&record);
    }

    /// The last record folded; `None` for the empty state.
    fn last_seq(&self) -> Option<Seq>;

    /// The time a `ClockAdvanced` record set the clock to, while it holds (simulated
    /// and testing clocks): a replay up to a time does not start from a snapshot whose
    /// clock is already beyond it.
    fn clock_leapt_to(&self) -> Option<Timestamp>;
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

impl Until {
    /// Whether `record` lies beyond the bound (and so is not folded).
    pub fn excludes(self, record: &Record) -> bool {
        match self {
            Until::Seq(s) => record.seq > s,
            Until::Time(t) => {
                record.at > t || matches!(&record.event, Event::ClockAdvanced(c) if c.to > t)
            }
        }
    }
}

/// Sees the state just before each record of a bounded replay is folded into it.
pub type Observer<'a, P> = &'a mut dyn FnMut(&P, &Record);

/// The state after a prefix of the log.
#[derive(Debug)]
pub struct Replayed<P> {
    pub state: P,
    /// The last record folded, and its time.
    pub last: Seq,
    pub last_at: Timestamp,
}

//! Replaying the log into [`State`]: kasp-events' replay (`crates/events/src/replay.rs`:
//! the newest usable snapshot, then the records after it, each checked against the hash
//! chain), for the projector's state.

use kasp_events::replay;
use kasp_events::{EventLog, LogError, Seq};
use kasp_projector::State;

pub use kasp_events::replay::{Until, walk};

/// Sees the state just before each record of a bounded replay is folded into it.
pub type Observer<'a> = replay::Observer<'a, State>;
/// The state after a prefix of the log.
pub type Replayed = replay::Replayed<State>;

/// Folds a log into state; see [`replay::fold`].
pub fn fold(log: &EventLog) -> Result<(State, Option<Seq>), LogError> {
    replay::fold(log)
}

/// Replays the log up to `until`; see [`replay::fold_until`].
pub fn fold_until(
    log: &EventLog,
    until: Until,
    observe: Option<Observer<'_>>,
) -> Result<Option<Replayed>, LogError> {
    replay::fold_until(log, until, observe)
}

//! The pure core of OpenDNSSEC 2.1's key state machine (`E:updateZone`), after
//! `shared/spec/state-machine.md` §1.3–1.6 and §4.
//!
//! A self-contained model, decoupled from events: [`model::ZoneModel`] holds the keys
//! with their four records, the dependency rows and the TTL windows; the rules
//! ([`rules`], §4.7) and timing ([`timing`], §4.2/§4.8) are pure functions over it, and
//! [`update::update_zone`] runs the fixpoint of §4.3–4.4 (with §4.6, §4.9–4.11).
//!
//! Status (issue 4, in progress): complete and tested as a pure function, not yet fed
//! from the event log nor wired into a `plan`; no command uses it yet.
//!
//! Not here (the caller's job): key creation and retirement (§3, updatePolicy), purge
//! and its dependency clean-up (§5), DS operator commands and tasks (§7), flags and
//! signconf (§6), scheduling of the next run beyond the state machine's own wake-up.
//!
//! Tests: unit tests per file; `tests.rs` replays the §12.3 timeline against the golden
//! trace `a-default-zsk-rollover`; `roll_tests.rs` checks every roll type of §13;
//! `mechanisms_tests.rs` replays the whole §13 verification trace (four zones,
//! overlapping rollovers) snapshot by snapshot.

pub mod model;
pub mod record;
pub mod rules;
pub mod timing;
pub mod update;

#[cfg(test)]
mod mechanisms_tests;
#[cfg(test)]
mod roll_tests;
#[cfg(test)]
mod tests;

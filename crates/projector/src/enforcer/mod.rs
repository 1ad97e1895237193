//! The pure core of OpenDNSSEC 2.1's key state machine (`E:updateZone`), as
//! docs/state-machine.md describes it (sections Data model and State machine).
//!
//! A self-contained model, decoupled from events: [`model::ZoneModel`] holds the keys with
//! their four records, the dependency rows and the TTL windows; the rules ([`rules`]:
//! docs/state-machine.md, Validity rules) and timing ([`timing`]: TTL windows, Timing)
//! are pure functions over it, and [`update::update_zone`] runs the fixpoint (Evaluation
//! order, Gates, Policy approval, Wake-up time, DS side effects, Marking successors).
//!
//! Around it, as pure functions too: [`policy::update_policy`] (Policy step: key creation,
//! retirement and rollover triggers, key material through a [`policy::KeySource`]),
//! [`purge::dead_keys`] (Dead keys and purge) and [`run::run_zone`] (One enforcer run).
//!
//! [`crate::scheduler::plan`] feeds the model from the folded state and records each run as
//! a `ZoneEnforced` event; `state/enforce.rs` folds those facts without running the state
//! machine again. Labels `Q<n>` name the quirks of 2.1 kept on purpose
//! (docs/state-machine.md, Quirks).
//!
//! Read-outs over the model: [`flags`] (Flags and signconf keys: publish/active flags and
//! the signconf key list) and [`keylist`] (Key list states: the human key state and the
//! `key list` formats).
//!
//! DS commands and tasks (DS at the parent) as pure decisions: [`ds`] (which keys change
//! `ds_at_parent`, the command's exact output and exit status, the keys due for the
//! automatic submit/retract tasks); running the hooks is the caller's job.
//!
//! Why records do not move (`explain`): [`explain`] evaluates a zone's records
//! through the state machine's own gates without committing ([`update::Hold`] names
//! the gate) and [`explain_zone`] adds the zone's next run and the command's text.
//!
//! Not here (the caller's job): writing the signconf, manual `key purge`, the task scheduler itself.
//!
//! Tests: unit tests per file; `tests.rs` replays the timeline of docs/state-machine.md,
//! Timeline, against the golden trace `a-default-zsk-rollover`; `policy_tests.rs` checks
//! the Policy step; `run_tests.rs` runs [`run::run_zone`] against the same trace from
//! `zone add` to T+180d; `roll_tests.rs` checks every roll type of Roll types;
//! `keylist_tests.rs` renders `key list` against captured 2.1.12 output;
//! `mechanisms_tests.rs` replays the whole verification trace of Roll types (four zones,
//! overlapping rollovers) snapshot by snapshot.

pub mod ds;
pub mod explain;
pub mod explain_zone;
pub mod flags;
pub mod keylist;
pub mod model;
pub mod policy;
pub mod purge;
pub mod record;
pub mod rules;
pub mod run;
pub mod timing;
pub mod update;

#[cfg(test)]
mod ds_tests;
#[cfg(test)]
mod keylist_tests;
#[cfg(test)]
mod mechanisms_tests;
#[cfg(test)]
mod policy_tests;
#[cfg(test)]
mod roll_tests;
#[cfg(test)]
mod run_tests;
#[cfg(test)]
mod tests;

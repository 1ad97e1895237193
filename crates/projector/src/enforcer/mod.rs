//! The pure core of OpenDNSSEC 2.1's key state machine (`E:updateZone`), after
//! `shared/spec/state-machine.md` §1.3–1.6 and §4.
//!
//! A self-contained model, decoupled from events: [`model::ZoneModel`] holds the keys
//! with their four records, the dependency rows and the TTL windows; the rules
//! ([`rules`], §4.7) and timing ([`timing`], §4.2/§4.8) are pure functions over it, and
//! [`update::update_zone`] runs the fixpoint of §4.3–4.4 (with §4.6, §4.9–4.11).
//!
//! Around it, as pure functions too: [`policy::update_policy`] (§3, key creation,
//! retirement and rollover triggers, key material through a [`policy::KeySource`]),
//! [`purge::dead_keys`] (§5) and [`run::run_zone`] (§2, one enforcer run per zone).
//!
//! Status (issue 4, in progress): complete and tested as pure functions, not yet fed
//! from the event log nor wired into a `plan`; no command uses them yet.
//!
//! Read-outs over the model: [`flags`] (§6, publish/active flags and the signconf key
//! list) and [`keylist`] (§11, human key state and the `key list` formats).
//!
//! DS commands and tasks (§7) as pure decisions: [`ds`] (which keys change
//! `ds_at_parent`, the command's exact output and exit status, the keys due for the
//! automatic submit/retract tasks); running the hooks is the caller's job.
//!
//! Why records do not move (issue 6 `explain`): [`explain`] evaluates a zone's records
//! through the state machine's own gates without committing ([`update::Hold`] names
//! the gate) and [`explain_zone`] adds the zone's next run and the command's text.
//!
//! Not here (the caller's job): writing the signconf, manual `key purge`, the task scheduler itself.
//!
//! Tests: unit tests per file; `tests.rs` replays the §12.3 timeline against the golden
//! trace `a-default-zsk-rollover`; `policy_tests.rs` checks §3; `run_tests.rs` runs
//! [`run::run_zone`] against the same trace from `zone add` to T+180d;
//! `roll_tests.rs` checks every roll type of §13; `keylist_tests.rs` renders `key list`
//! against captured 2.1.12 output; `mechanisms_tests.rs` replays the
//! whole §13 verification trace (four zones, overlapping rollovers) snapshot by
//! snapshot.

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

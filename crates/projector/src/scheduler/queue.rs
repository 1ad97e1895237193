//! The task queue, as OpenDNSSEC's scheduler holds it: enforce tasks of the zones (and
//! those deleted zones left queued), ds-submit / ds-retract retries, NSEC3 resalts, and a
//! key generation a daemon without worker threads holds. `queue` lists it, `time leap`
//! and the what-if leap to its first task, the daemon's timer wakes for it: each asks
//! [`queue`].

use crate::state::State;
use kasp_events::{DsAtParent, Timestamp};

/// One scheduled task: when, what, whose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task<'a> {
    pub at: Timestamp,
    /// OpenDNSSEC's task type: `enforce`, `ds-submit`, `ds-retract`, `resalt`,
    /// `hsmkeygen`.
    pub what: &'static str,
    pub owner: &'a str,
}

/// Every task, unordered. `left_after`: with the enforce tasks deleted zones left queued
/// that have not come at that time ([`State::tasks_left`]; they run and do nothing, so
/// the daemon's timer leaves them out); `queued`: when a key generation waiting in a
/// daemon without worker threads was scheduled.
pub fn queue(
    state: &State,
    left_after: Option<Timestamp>,
    queued: Option<Timestamp>,
) -> impl Iterator<Item = Task<'_>> {
    let generation = queued.map(|at| Task {
        at,
        what: "hsmkeygen",
        owner: crate::scheduler::key_factory::KEYGEN_OWNER,
    });
    let left = left_after
        .into_iter()
        .flat_map(|now| state.tasks_left_after(now))
        .map(|(zone, at)| Task {
            at,
            what: "enforce",
            owner: zone.as_str(),
        });
    let zones = state.zones.values().flat_map(|z| {
        let owner = z.config.name.as_str();
        let enforce = z.due.map(|at| Task {
            at,
            what: "enforce",
            owner,
        });
        let ds = z.ds_retry.into_iter().flat_map(move |at| {
            [
                (DsAtParent::Submit, "ds-submit"),
                (DsAtParent::Retract, "ds-retract"),
            ]
            .into_iter()
            .filter(move |(waiting, _)| z.model.keys.iter().any(|k| k.ds_at_parent == *waiting))
            .map(move |(_, what)| Task { at, what, owner })
        });
        enforce.into_iter().chain(ds)
    });
    let salts = state.policies.values().filter_map(|p| {
        crate::scheduler::resalt::next_resalt(p).map(|at| Task {
            at,
            what: "resalt",
            owner: p.policy.name.as_str(),
        })
    });
    generation.into_iter().chain(left).chain(zones).chain(salts)
}

/// The queue in OpenDNSSEC's order: due time, then owner name, then task type
/// (common/scheduler/task.c `task_compare_time_then_ttuple`; every enforcer task has the
/// same class). A policy's resalt sorts among the zones by the policy's name.
pub fn tasks(state: &State, now: Timestamp, queued: Option<Timestamp>) -> Vec<Task<'_>> {
    let mut v: Vec<Task<'_>> = queue(state, Some(now), queued).collect();
    v.sort_by(|a, b| (a.at, a.owner.as_bytes(), a.what).cmp(&(b.at, b.owner.as_bytes(), b.what)));
    v
}

/// When the daemon must wake for the next task that does something, if any.
pub fn next_task(state: &State) -> Option<Timestamp> {
    queue(state, None, None).map(|t| t.at).min()
}

/// When `time leap` moves the clock to from `now`: the first task of [`tasks`] (a
/// deleted zone's leftover task included).
pub fn next_leap(state: &State, now: Timestamp) -> Option<Timestamp> {
    queue(state, Some(now), None).map(|t| t.at).min()
}

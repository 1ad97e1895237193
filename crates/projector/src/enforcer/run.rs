//! One enforcer run for one zone — docs/state-machine.md, One enforcer run
//! (`perform_enforce`, `E:update`): updatePolicy (docs/state-machine.md, Policy step),
//! removeDeadKeys (docs/state-machine.md, Dead keys and purge), updateZone
//! (docs/state-machine.md, State machine) and the zone's next wake-up as the minimum of the
//! candidates.
//!
//! Not here: the publish/active flags and the signconf (docs/state-machine.md, Flags and
//! signconf keys, derived from the record states), the DS submit/retract tasks
//! (docs/state-machine.md, DS at the parent) and the RolloverNotification log line.

use super::model::{HsmKeyId, ZoneModel};
use super::policy::{KeySource, PolicyOutcome, update_policy};
use super::purge::{PURGE_RETRY, PurgeOutcome, dead_keys};
use super::update::{Transition, update_zone};
use kasp_events::{Policy, Seconds, Timestamp};

/// The key material store as a run needs it: allocation (docs/state-machine.md, Policy step
/// and Key pool) and release (docs/state-machine.md, Dead keys and purge).
pub trait KeyStore: KeySource {
    /// `hsm_key_factory_release_key_id` for each of `released` (state DELETE once no
    /// key_data of any zone references it), then `hsm_key_factory_delete_key`: removes
    /// from the HSM every unreferenced hsm key in state DELETE. Returns how many keys
    /// were removed from the HSM.
    fn release_and_delete(&mut self, released: &[HsmKeyId]) -> usize;
}

/// The result of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// The zone after the run.
    pub zone: ZoneModel,
    /// What updatePolicy decided (already applied to [`zone`](Self::zone)); `None` for
    /// a passthrough policy.
    pub policy: Option<PolicyOutcome>,
    /// What removeDeadKeys decided (applied); `None` when the policy never purges or
    /// the zone had no keys.
    pub purge: Option<PurgeOutcome>,
    /// Keys removed from the HSM by the purge; when non-zero the run ended before the
    /// state machine (Q4).
    pub hsm_deleted: usize,
    /// Record transitions committed by updateZone.
    pub transitions: Vec<Transition>,
    /// The zone's next run; `None` = not rescheduled (-1).
    pub next_wakeup: Option<Timestamp>,
    /// 2.1's `zone_updated`: the run changed the zone row (a roll time set, a roll flag
    /// cleared, a policy without keys, a TTL window renewed, key states created, a
    /// record moved). Only then does 2.1 store the next run as `zone.next_change`, the
    /// time `key list` shows; the task is rescheduled either way.
    pub zone_updated: bool,
}

/// Runs the enforcer once for `zone` under `policy` at `now` (docs/state-machine.md, One
/// enforcer run: 2.1's order). `rollover_notification` is conf.xml's `RolloverNotification`
/// (0 when absent).
///
/// A passthrough policy changes nothing and is not rescheduled. Otherwise the policy
/// step runs, then (if `Keys/Purge` is set and the zone has keys) the purge; if that
/// removed key material from the HSM the run ends at once with a wake-up at
/// `now + 60` (Q4). Then the state machine runs; 2.1's updateZone still sees the keys
/// and dependency rows loaded before the purge deleted them, so the purge's removals
/// are applied after it.
pub fn run_zone(
    zone: &ZoneModel,
    policy: &Policy,
    now: Timestamp,
    rollover_notification: Seconds,
    store: &mut dyn KeyStore,
) -> RunOutcome {
    let mut out = RunOutcome {
        zone: zone.clone(),
        policy: None,
        purge: None,
        hsm_deleted: 0,
        transitions: Vec::new(),
        next_wakeup: None,
        zone_updated: false,
    };
    if policy.passthrough {
        return out;
    }
    let policy_outcome = update_policy(&out.zone, policy, now, store);
    policy_outcome.apply(&mut out.zone);
    out.zone_updated = policy_outcome.allow_unsigned
        || !policy_outcome.next_roll.is_empty()
        || !policy_outcome.cleared_roll.is_empty();
    let mut candidates: Vec<Timestamp> = policy_outcome.next_wakeup().into_iter().collect();
    out.policy = Some(policy_outcome);
    if policy.keys.purge != Seconds(0) && !out.zone.keys.is_empty() {
        let purge = dead_keys(&out.zone, policy, now);
        out.hsm_deleted = store.release_and_delete(&purge.released);
        if out.hsm_deleted > 0 {
            purge.apply(&mut out.zone);
            out.purge = Some(purge);
            out.next_wakeup = Some(now.plus(PURGE_RETRY));
            return out;
        }
        candidates.extend(purge.next_wakeup);
        out.purge = Some(purge);
    }
    let update = update_zone(&out.zone, policy, now);
    out.zone_updated |= update.zone.ttl_windows != out.zone.ttl_windows
        || out.zone.keys.iter().any(|k| !k.states_created)
        || !update.transitions.is_empty();
    out.zone = update.zone;
    out.transitions = update.transitions;
    if let Some(purge) = &out.purge {
        purge.apply(&mut out.zone);
    }
    candidates.extend(update.next_wakeup);
    candidates.extend(notification_wakeup(&out.zone, now, rollover_notification));
    out.next_wakeup = candidates.into_iter().min();
    out
}

/// The RolloverNotification wake-up of docs/state-machine.md, One enforcer run, step 7:
/// `next_ksk_roll - notification` if that roll is set and the time is after `now`, else the
/// same for the CSK.
pub fn notification_wakeup(zone: &ZoneModel, now: Timestamp, notify: Seconds) -> Option<Timestamp> {
    let before = |roll: Option<Timestamp>| {
        roll.filter(|r| r.0 > 0)
            .map(|r| Timestamp(r.0 - notify.as_i64()))
            .filter(|t| *t > now)
    };
    before(zone.next_roll.ksk).or_else(|| before(zone.next_roll.csk))
}

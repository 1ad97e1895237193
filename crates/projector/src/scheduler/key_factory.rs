//! The key factory's plan (OpenDNSSEC's `hsm_key_factory_generate`, state-machine.md
//! docs/state-machine.md, Key pool): for each key of a policy that zones use, enough unused
//! keys in the pool to cover a duration (`AutomaticKeyGenerationPeriod`, or
//! `key generate --duration`). The count is per policy, not per zone. Pure: the shell
//! generates what it returns.

use crate::state::State;
use crate::state::pool::keys_to_cover;
use kasp_events::{KeySpec, PolicyName, Seconds};

/// What one policy key needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyNeed {
    pub spec: KeySpec,
    /// Unused matching keys in the pool.
    pub have: usize,
    /// Keys needed to cover the duration.
    pub target: usize,
    /// Zones that use the policy.
    pub zones: usize,
    /// The period the keys are to cover (`AutomaticKeyGenerationPeriod`).
    pub duration: Seconds,
}

impl KeyNeed {
    /// Keys to generate now.
    pub fn missing(&self) -> usize {
        self.target.saturating_sub(self.have)
    }
}

/// The needs of the given policies, in policy order then key order. Policies that no
/// zone uses, passthrough policies and keys with a zero lifetime need nothing.
pub fn plan(state: &State, policies: &[PolicyName], duration: Seconds) -> Vec<KeyNeed> {
    let mut needs = Vec::new();
    for name in policies {
        let Some(view) = state.policies.get(name) else {
            continue;
        };
        let zones = state.zones_using(name);
        if zones == 0 || view.policy.passthrough {
            continue;
        }
        for key in &view.policy.keys.keys {
            let target = keys_to_cover(duration, key.lifetime);
            if target == 0 {
                continue;
            }
            let spec = KeySpec {
                repository: key.repository.clone(),
                policy: name.clone(),
                role: key.role,
                algorithm: key.algorithm,
                bits: key.bits,
            };
            // Two identical key elements share their pool; count the first once.
            if needs.iter().any(|n: &KeyNeed| n.spec == spec) {
                continue;
            }
            needs.push(KeyNeed {
                have: state.pool.unused_matching(&spec),
                spec,
                target,
                zones,
                duration,
            });
        }
    }
    needs
}

/// The owner name of 2.1.12's key-generation task in its queue
/// (`hsm_key_factory_schedule_generate*` in `hsm_key_factory.c`). Tasks due at the same
/// second run in owner order, so a zone whose name sorts before this one runs before a
/// key generation scheduled for the same second, and one after it waits for it.
pub const KEYGEN_OWNER: &str = "hsm_key_factory_schedule_generation";

/// Whether a task of `zone` due now (its enforce run, its signconf write) waits for a
/// key generation scheduled for the same second: its name sorts after [`KEYGEN_OWNER`].
pub fn waits_for_key_generation(zone: &str) -> bool {
    zone > KEYGEN_OWNER
}

/// A key generation task of 2.1.12's scheduler. Every generation task has the same
/// owner and type, so the queue holds at most one: a generation scheduled while one is
/// waiting replaces what the waiting one will do (common/scheduler/schedule.c
/// `schedule_task` with replace). With one worker thread, busy with the zone runs, the
/// generation waits and only the last one scheduled is carried out; with more, an idle
/// worker takes each one as soon as it is scheduled, so every one is carried out
/// ([`crate::scheduler::plan::PlanConf::generations_run_at_once`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyGenTask {
    /// `hsm_key_factory_get_key` took a key from the pool (`flush` false) or found none
    /// (`flush` true): top up this policy key's pool for `AutomaticKeyGenerationPeriod`;
    /// with `flush`, the policy's zones run again at once afterwards.
    PolicyKey {
        spec: KeySpec,
        lifetime: Seconds,
        flush: bool,
    },
    /// `policy import`, `zonelist import` and `update all` (2.1.12's daemon start too):
    /// top up every policy for `AutomaticKeyGenerationPeriod`, then run every zone
    /// again at once.
    All,
}

impl KeyGenTask {
    /// The zones to run again after a generation that succeeded: `None` for none,
    /// `Some(None)` for every zone, `Some(Some(zones))` for these.
    pub fn flushes(&self, state: &State) -> Option<Option<Vec<kasp_events::ZoneName>>> {
        match self {
            KeyGenTask::PolicyKey { flush: false, .. } => None,
            KeyGenTask::PolicyKey { spec, .. } => Some(Some(
                state
                    .zones_in_order()
                    .into_iter()
                    .filter(|z| z.config.policy == spec.policy)
                    .map(|z| z.config.name.clone())
                    .collect(),
            )),
            KeyGenTask::All => Some(None),
        }
    }
}

/// The zones to run again after the generations `done` (each one's
/// [`KeyGenTask::flushes`]), as one flush: `None` for none, `Some(None)` for every
/// zone, `Some(Some(zones))` for these, in zone order.
pub fn merged_flushes<'a>(
    state: &State,
    done: impl IntoIterator<Item = &'a KeyGenTask>,
) -> Option<Option<Vec<kasp_events::ZoneName>>> {
    let mut named = std::collections::BTreeSet::new();
    let mut any = false;
    for task in done {
        match task.flushes(state) {
            None => {}
            Some(None) => return Some(None),
            Some(Some(zones)) => {
                any = true;
                named.extend(zones);
            }
        }
    }
    any.then(|| {
        Some(
            state
                .zones_in_order()
                .into_iter()
                .map(|z| z.config.name.clone())
                .filter(|z| named.contains(z))
                .collect(),
        )
    })
}

/// What the task generates: [`plan`] over every policy for `All`; for one policy key,
/// enough unused keys of its kind for `period`, if a zone uses its policy
/// (`hsm_key_factory_generate`).
pub fn task_plan(state: &State, task: &KeyGenTask, period: Seconds) -> Vec<KeyNeed> {
    match task {
        KeyGenTask::All => {
            let policies: Vec<PolicyName> = state
                .policies_in_order()
                .into_iter()
                .map(|v| v.policy.name.clone())
                .collect();
            plan(state, &policies, period)
        }
        KeyGenTask::PolicyKey { spec, lifetime, .. } => {
            let zones = state.zones_using(&spec.policy);
            let target = keys_to_cover(period, *lifetime);
            if zones == 0 || target == 0 || !state.policies.contains_key(&spec.policy) {
                return Vec::new();
            }
            vec![KeyNeed {
                have: state.pool.unused_matching(spec),
                spec: spec.clone(),
                target,
                zones,
                duration: period,
            }]
        }
    }
}

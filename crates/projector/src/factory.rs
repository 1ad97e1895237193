//! The key factory's plan (OpenDNSSEC's `hsm_key_factory_generate`, state-machine.md
//! §9): for each key of a policy that zones use, enough unused keys in the pool to
//! cover a duration (`AutomaticKeyGenerationPeriod`, or `key generate --duration`).
//! The count is per policy, not per zone. Pure: the shell generates what it returns.

use crate::pool::keys_to_cover;
use crate::state::State;
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

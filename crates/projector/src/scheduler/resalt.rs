//! NSEC3 salts (docs/state-machine.md, NSEC3 salts, `policy_resalt_task.c:performresalt`):
//! a policy with NSEC3 gets a new random salt of `Salt@length` bytes when its `Resalt`
//! period has passed since the last change (at once if it never had one), or for every
//! NSEC3 policy when the operator forces it (`policy resalt`). The shell draws the random
//! bytes; these functions say which policies are due and check what comes back.

use crate::decide::{Decision, Rejection};
use crate::state::{PolicyView, State};
use kasp_events::{Denial, PolicyName, SaltChanged, Timestamp};

/// The NSEC3 salt length of a policy that can have a salt (NSEC3, not passthrough).
fn salt_length(view: &PolicyView) -> Option<u8> {
    match &view.policy.denial {
        Denial::Nsec3(n) if !view.policy.passthrough => Some(n.salt_length),
        _ => None,
    }
}

/// When the policy's salt is due: last change (or the epoch) plus `Resalt`.
fn due(view: &PolicyView) -> Option<Timestamp> {
    salt_length(view)?;
    let Denial::Nsec3(n) = &view.policy.denial else {
        return None;
    };
    let last = view.salt.as_ref().map_or(Timestamp(0), |(_, t)| *t);
    Some(last.plus(n.resalt))
}

/// Policies that need a new salt at `now` (every NSEC3 policy when `forced`), with the
/// number of random bytes each needs, in policy order.
pub fn due_for_salt(state: &State, now: Timestamp, forced: bool) -> Vec<(PolicyName, u8)> {
    state
        .policies_in_order()
        .into_iter()
        .filter_map(|v| {
            let length = salt_length(v)?;
            let is_due = forced || due(v).is_some_and(|d| now >= d);
            is_due.then(|| (v.policy.name.clone(), length))
        })
        .collect()
}

/// When the next resalt of a policy is due, if it ever is again (`Resalt` 0: never).
pub fn next_resalt(view: &PolicyView) -> Option<Timestamp> {
    match &view.policy.denial {
        Denial::Nsec3(n) if n.resalt.0 > 0 => due(view),
        _ => None,
    }
}

/// Decides new salts drawn by the shell: each must belong to an NSEC3 policy and have
/// that policy's length (two hex digits per byte, lower case).
pub fn decide_resalt(state: &State, salts: &[(PolicyName, String)]) -> Result<Decision, Rejection> {
    let mut d = Decision::default();
    for (policy, salt) in salts {
        let Some(view) = state.policies.get(policy) else {
            return Err(Rejection::refused(format!(
                "Unable to find policy {policy}!"
            )));
        };
        let Some(length) = salt_length(view) else {
            return Err(Rejection::refused(format!(
                "policy {policy} has no NSEC3 salt to change"
            )));
        };
        let well_formed = salt.len() == 2 * usize::from(length)
            && salt
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !well_formed {
            return Err(Rejection::refused(format!(
                "salt for policy {policy} must be {length} bytes of lower-case hex"
            )));
        }
        d.events.push(
            SaltChanged {
                policy: policy.clone(),
                salt: salt.clone(),
            }
            .into(),
        );
    }
    Ok(d)
}

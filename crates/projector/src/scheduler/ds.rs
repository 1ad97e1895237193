//! What the DS tasks and the DS commands share (docs/state-machine.md, DS at the
//! parent): the retry time after a failed hook, 2.1.12's line for a hook that is not
//! configured, and the zones as the DS commands see them. The tasks themselves are the
//! scheduler's (`scheduler/effects.rs`), the commands' decision `decide_ds`. Pure.

use crate::enforcer::ds::DsHook;
use crate::state::State;
use kasp_events::{Seconds, Timestamp};

/// The retry time after `failures` consecutive DS hook failures: one minute,
/// doubling, at most a day.
pub fn ds_retry_after(now: Timestamp, failures: u32) -> Timestamp {
    let delay = 60u32.saturating_mul(1 << failures.min(11)).min(86_400);
    now.plus(Seconds(delay))
}

/// The line 2.1.12 logs (at error) and prints for a DS hook that is not configured:
/// `exec_dnskey_by_id` formats `No "DelegationSigner%sCommand" configured.` with the
/// action in lower case (`submit`, `retract`), as it also does for `key %sed to`.
pub fn not_configured_message(hook: DsHook) -> String {
    let action = match hook {
        DsHook::Submit => "submit",
        DsHook::Retract => "retract",
    };
    format!("No \"DelegationSigner{action}Command\" configured.")
}

/// Runs `f` on the state as the DS commands (`key ds-*`) see it: every zone in zone
/// order with its keys, every key material row as (id, locator text).
pub fn with_ds_world<R>(
    state: &State,
    f: impl FnOnce(&crate::enforcer::ds::DsWorld<'_>) -> R,
) -> R {
    use crate::enforcer::ds::{DsWorld, DsZone};
    use crate::enforcer::model::HsmKeyId;
    let zones: Vec<DsZone<'_>> = state
        .zones_in_order()
        .into_iter()
        .map(|z| DsZone {
            name: z.config.name.as_str(),
            model: &z.model,
        })
        .collect();
    let locator_text: Vec<(HsmKeyId, String)> = state
        .pool
        .by_id
        .iter()
        .map(|(id, l)| (HsmKeyId(*id), l.to_string()))
        .collect();
    let locators: Vec<(HsmKeyId, &str)> =
        locator_text.iter().map(|(h, l)| (*h, l.as_str())).collect();
    f(&DsWorld {
        zones: &zones,
        locators: &locators,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2.1.12's text, action in lower case (`keystate_ds.c:exec_dnskey_by_id`); the
    /// corner F13-no-ds-commands shows the same line in OpenDNSSEC's daemon log.
    #[test]
    fn not_configured_message_is_opendnssecs() {
        assert_eq!(
            not_configured_message(DsHook::Submit),
            "No \"DelegationSignersubmitCommand\" configured."
        );
        assert_eq!(
            not_configured_message(DsHook::Retract),
            "No \"DelegationSignerretractCommand\" configured."
        );
    }
}

//! The automatic ds-submit / ds-retract tasks (docs/state-machine.md, DS at the parent):
//! which keys of which zones have a DS hook to run at `now`, and the event that records
//! each outcome — `DsStateChanged` when the hook ran or none is configured, `DsHookFailed`
//! with its retry time when it failed. Running the hook is the caller's: the shell runs the
//! real program, `simulate` assumes a configured hook succeeds. Pure.
//!
//! With no `DelegationSigner<Submit|Retract>Command` configured (OpenDNSSEC's stock
//! conf.xml has none; operators then submit by hand), the key moves on as in 2.1.12
//! (`keystate_ds.c:exec_dnskey_by_id` logs `No "DelegationSigner…Command" configured.`
//! and `change_keys_from_to` moves the key regardless): the event carries no hook, and
//! the caller logs 2.1's line ([`not_configured_message`]). A configured hook that
//! fails keeps the key where it was (a deliberate difference, README).

use crate::enforcer::ds::{DsHook, due_for_parent};
use crate::enforcer::model::KeyModel;
use crate::state::{State, ZoneView};
use kasp_events::{DsHookFailed, DsStateChanged, DsTrigger, Event, Seconds, Timestamp};

/// The configured commands, `DelegationSigner<Submit|Retract>Command`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DsCommands<'a> {
    pub submit: Option<&'a str>,
    pub retract: Option<&'a str>,
}

/// One hook to run: the zone, the key, which hook and its configured command.
#[derive(Debug, Clone, Copy)]
pub struct HookRun<'a> {
    pub zone: &'a ZoneView,
    pub key: &'a KeyModel,
    pub hook: DsHook,
    pub command: Option<&'a str>,
}

/// The retry time after `failures` consecutive DS hook failures: one minute,
/// doubling, at most a day.
pub fn ds_retry_after(now: Timestamp, failures: u32) -> Timestamp {
    let delay = 60u32.saturating_mul(1 << failures.min(11)).min(86_400);
    now.plus(Seconds(delay))
}

/// The events of the DS tasks due at `now`, in task order: zone name
/// ([`State::zones_in_task_order`]), then a zone's ds-retract task before its
/// ds-submit task (2.1.12's queue orders tasks of one owner due at the same second by
/// type, common/scheduler/task.c: "ds-retract" < "ds-submit"; both come before the
/// zone's next enforce task, "enforce", which the shell runs in its next round, and
/// its signconf task, "signconf", which 2.1.12 runs after them and the shell before
/// them, not compared: the signer's and the hooks' calls are separate records).
/// `run` carries out one hook
/// and says why it failed (`None`: it succeeded). A key without material or a missing
/// command is a failure without asking `run`.
pub fn ds_task_events(
    state: &State,
    now: Timestamp,
    commands: DsCommands<'_>,
    mut run: impl FnMut(HookRun<'_>) -> Option<String>,
) -> Vec<Event> {
    let mut events = Vec::new();
    for zone in state.zones_in_task_order() {
        if zone.ds_retry.is_some_and(|t| t > now) {
            continue;
        }
        let due = due_for_parent(zone.config.name.as_str(), &zone.model);
        for change in due.retract.iter().chain(&due.submit) {
            let (Some(hook), Some(key)) = (change.hook, zone.model.key(change.key)) else {
                continue;
            };
            let (command, element) = match hook {
                DsHook::Submit => (commands.submit, "Submit"),
                DsHook::Retract => (commands.retract, "Retract"),
            };
            let material = key.hsm.and_then(|h| state.pool.by_id(h.0));
            let failure = match (material, command) {
                (None, _) => Some(format!("key {} has no key material", key.id)),
                (Some(_), None) => None,
                (Some(_), Some(_)) => run(HookRun {
                    zone,
                    key,
                    hook,
                    command,
                }),
            };
            events.push(match failure {
                None => DsStateChanged {
                    zone: zone.config.name.clone(),
                    key: key.id,
                    from: change.from,
                    to: change.to,
                    trigger: DsTrigger::Task,
                    hook: command.map(str::to_string),
                    next_change_now: true,
                }
                .into(),
                Some(message) => DsHookFailed {
                    zone: zone.config.name.clone(),
                    key: key.id,
                    hook: element.to_ascii_lowercase(),
                    message,
                    retry_at: ds_retry_after(now, zone.ds_failures),
                }
                .into(),
            });
        }
    }
    events
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

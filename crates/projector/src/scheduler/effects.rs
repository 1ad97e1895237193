//! The effects of the scheduler's decisions as data, and their outcomes checked.
//!
//! After each round the loop asks the state which effects it needs — key material to
//! destroy ([`material_to_destroy`]), signconf files to write ([`signconf_files`]), DS
//! hooks to run ([`ds_tasks_due`]) — has the [`super::World`] carry them out, and
//! records what the world reports as [`Observed`] values through `decide`
//! (`EnforcerCommand::Observed`), which checks each against the state
//! ([`decide_observed`]): material nothing is destroying, a signconf that was not
//! needed or a DS task that is not due is refused rather than recorded.
//!
//! The automatic ds-submit / ds-retract tasks: with no
//! `DelegationSigner<Submit|Retract>Command` configured (OpenDNSSEC's stock conf.xml
//! has none; operators then submit by hand) the key moves on as in 2.1.12
//! (`keystate_ds.c:exec_dnskey_by_id` logs `No "DelegationSigner…Command" configured.`
//! and `change_keys_from_to` moves the key regardless), recorded without a hook; a
//! configured hook that fails keeps the key where it was, with a retry time (a
//! deliberate difference, README "Differences from OpenDNSSEC").

use super::ports::{DsHookCall, MaterialToDestroy, SignconfFile};
use crate::decide::Rejection;
use crate::enforcer::ds::{DsHook, due_for_parent};
use crate::enforcer::model::KeyModel;
use crate::scheduler::ds::{ds_retry_after, not_configured_message};
use crate::state::{State, ZoneView};
use kasp_events::{
    DsHookFailed, DsStateChanged, DsTrigger, Event, KeyId, KeyMaterialDeleted, Locator, RecordType,
    SignconfWritten, Timestamp, ZoneName,
};

/// What the world reports of an effect it carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// The HSM no longer holds this material.
    MaterialDestroyed { locators: Vec<Locator> },
    /// A signconf file was written (and the signer notified, or why not).
    SignconfWritten(SignconfWritten),
    /// The automatic DS task of a key ran.
    DsTask {
        zone: ZoneName,
        key: KeyId,
        outcome: DsTaskOutcome,
    },
}

/// How a DS task went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DsTaskOutcome {
    /// The key moves on: the hook ran (`Some(command)`) or none is configured.
    Moved { hook: Option<String> },
    /// The hook failed, or the key has no material: the key stays, to be retried.
    Failed { message: String },
}

/// What one due DS task needs done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DsWork {
    /// Run the configured hook.
    Call(DsHookCall),
    /// No command configured for this hook: the key moves on (2.1.12).
    NotConfigured(DsHook),
    /// The key has no material to hand to a hook: a failure.
    NoMaterial(String),
}

/// A DS task due: the zone, the key, and what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsTask {
    pub zone: ZoneName,
    pub key: KeyId,
    pub work: DsWork,
}

/// The configured commands, `DelegationSigner<Submit|Retract>Command`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DsCommands<'a> {
    pub submit: Option<&'a str>,
    pub retract: Option<&'a str>,
}

impl<'a> DsCommands<'a> {
    /// The commands conf.xml configures.
    pub fn of(conf: &'a crate::formats::conf::Conf) -> DsCommands<'a> {
        DsCommands {
            submit: conf.enforcer.ds_submit_command.as_deref(),
            retract: conf.enforcer.ds_retract_command.as_deref(),
        }
    }
}

/// Material enforcer runs marked for destruction, in key order.
pub fn material_to_destroy(state: &State) -> Vec<MaterialToDestroy> {
    with_repositories(state, state.pool.destroying())
}

/// `key purge --delete`: the material being destroyed and every unused key in DELETE
/// state.
pub fn material_to_purge(state: &State) -> Vec<MaterialToDestroy> {
    let mut all = state.pool.destroying();
    all.extend(state.pool.deletable().into_iter().map(|k| k.locator));
    with_repositories(state, all)
}

fn with_repositories(state: &State, locators: Vec<Locator>) -> Vec<MaterialToDestroy> {
    locators
        .into_iter()
        .filter_map(|locator| {
            let key = state.pool.keys.get(&locator)?;
            Some(MaterialToDestroy {
                locator,
                repository: key.spec.repository.clone(),
            })
        })
        .collect()
}

/// The signconf files of the zones that need one, in task order, but those sorting
/// after `until` (their turn in the queue comes in a later round,
/// `Outcome::SignconfUntil`); and the zones whose file cannot be rendered.
pub fn signconf_files(state: &State, until: Option<&str>) -> (Vec<SignconfFile>, Vec<String>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for z in state.zones_in_task_order() {
        if !z.signconf_needed || until.is_some_and(|u| z.config.name.as_str() >= u) {
            continue;
        }
        let name = &z.config.name;
        match crate::formats::signconf::zone_signconf(state, z) {
            Some(text) => files.push(SignconfFile {
                zone: name.clone(),
                path: z.config.signconf_path.clone(),
                text,
            }),
            None => errors.push(format!("zone {name}: policy {} not found", z.config.policy)),
        }
    }
    (files, errors)
}

/// The DS tasks due at `now`, in task order: zone name ([`State::zones_in_task_order`]),
/// then a zone's ds-retract task before its ds-submit task (2.1.12's queue orders tasks
/// of one owner due at the same second by type, common/scheduler/task.c: "ds-retract" <
/// "ds-submit"; both come before the zone's next enforce task, "enforce", which the loop
/// runs in its next round, and its signconf task, "signconf", which 2.1.12 runs after
/// them and the loop before them, not compared: the signer's and the hooks' calls are
/// separate records).
pub fn ds_tasks_due(state: &State, now: Timestamp, commands: DsCommands<'_>) -> Vec<DsTask> {
    let mut tasks = Vec::new();
    for zone in state.zones_in_task_order() {
        if zone.ds_retry.is_some_and(|t| t > now) {
            continue;
        }
        let due = due_for_parent(zone.config.name.as_str(), &zone.model);
        for change in due.retract.iter().chain(&due.submit) {
            let (Some(hook), Some(key)) = (change.hook, zone.model.key(change.key)) else {
                continue;
            };
            tasks.push(DsTask {
                zone: zone.config.name.clone(),
                key: key.id,
                work: ds_work(state, zone, key, hook, commands),
            });
        }
    }
    tasks
}

/// What the `hook` of `key` (of `zone`) needs, by the task or by an operator's DS
/// command: the call of its configured command with the key's DNSKEY, or why there is
/// none to make.
pub fn ds_work(
    state: &State,
    zone: &ZoneView,
    key: &KeyModel,
    hook: DsHook,
    commands: DsCommands<'_>,
) -> DsWork {
    let command = match hook {
        DsHook::Submit => commands.submit,
        DsHook::Retract => commands.retract,
    };
    match (key.hsm.and_then(|h| state.pool.by_id(h.0)), command) {
        (None, _) => DsWork::NoMaterial(format!("key {} has no key material", key.id)),
        (Some(_), None) => DsWork::NotConfigured(hook),
        (Some(m), Some(command)) => DsWork::Call(DsHookCall {
            zone: zone.config.name.clone(),
            key: key.id,
            command: command.to_string(),
            owner: format!("{}.", zone.config.name.as_str().trim_end_matches('.')),
            ttl: key.records.get(RecordType::Dnskey).ttl.0,
            algorithm: key.algorithm,
            public_key: m.public_key.clone(),
            locator: m.locator,
        }),
    }
}

/// The line 2.1.12 logs for a DS task that did not run its hook
/// (`ods_log_error_and_printf` from keystate_ds.c, module `keystate_ds_x_cmd`).
pub fn ds_log_line(message: &str) -> String {
    format!("[keystate_ds_x_cmd] {message}")
}

/// The events of effect outcomes, each checked against `state` at `now`.
pub fn decide_observed(
    state: &State,
    now: Timestamp,
    observed: &[Observed],
) -> Result<Vec<Event>, Rejection> {
    let mut events = Vec::with_capacity(observed.len());
    for o in observed {
        events.push(match o {
            Observed::MaterialDestroyed { locators } => {
                let going = |l: &&Locator| {
                    (state.pool.keys.get(l)).is_some_and(|k| k.destroying || k.unused())
                };
                if let Some(l) = locators.iter().find(|l| !going(l)) {
                    return Err(Rejection::refused(format!(
                        "key material {l} is not being destroyed; its deletion is not recorded"
                    )));
                }
                KeyMaterialDeleted {
                    locators: locators.clone(),
                }
                .into()
            }
            Observed::SignconfWritten(written) => {
                if !state.zone(&written.zone).is_some_and(|z| z.signconf_needed) {
                    return Err(Rejection::refused(format!(
                        "the signconf of {} was not needed; its write is not recorded",
                        written.zone
                    )));
                }
                written.clone().into()
            }
            Observed::DsTask { zone, key, outcome } => {
                ds_task_event(state, now, zone, *key, outcome)?
            }
        });
    }
    Ok(events)
}

/// The event of a DS task's outcome, when the task is due.
fn ds_task_event(
    state: &State,
    now: Timestamp,
    zone: &ZoneName,
    key: KeyId,
    outcome: &DsTaskOutcome,
) -> Result<Event, Rejection> {
    let not_due = || {
        Rejection::refused(format!(
            "the DS task of zone {zone} is not due for key {key}; its outcome is not recorded"
        ))
    };
    let z = state.zone(zone).ok_or_else(not_due)?;
    if z.ds_retry.is_some_and(|t| t > now) {
        return Err(not_due());
    }
    let due = due_for_parent(z.config.name.as_str(), &z.model);
    let change = due
        .retract
        .iter()
        .chain(&due.submit)
        .find(|c| c.key == key && c.hook.is_some())
        .ok_or_else(not_due)?;
    Ok(match outcome {
        DsTaskOutcome::Moved { hook } => DsStateChanged {
            zone: z.config.name.clone(),
            key,
            from: change.from,
            to: change.to,
            trigger: DsTrigger::Task,
            hook: hook.clone(),
            next_change_now: true,
        }
        .into(),
        DsTaskOutcome::Failed { message } => DsHookFailed {
            zone: z.config.name.clone(),
            key,
            hook: match change.hook {
                Some(DsHook::Retract) => "retract",
                _ => "submit",
            }
            .to_string(),
            message: message.clone(),
            retry_at: ds_retry_after(now, z.ds_failures),
        }
        .into(),
    })
}

/// The message of a DS task's work that is not a hook call.
pub fn ds_work_message(work: &DsWork) -> Option<String> {
    match work {
        DsWork::Call(_) => None,
        DsWork::NotConfigured(hook) => Some(not_configured_message(*hook)),
        DsWork::NoMaterial(message) => Some(message.clone()),
    }
}

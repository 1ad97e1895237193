//! `key ds-submit | ds-seen | ds-retract | ds-gone`: the operator tells the enforcer
//! what happened at the parent. Which keys change, the exact text and the exit code are
//! [`crate::enforcer::ds::ds_command`]'s; this file says which hooks ds-submit and
//! ds-retract need run first ([`hooks_needed`]) and, once the shell ran them, decides
//! the command with their outcomes ([`decide_ds`]): the events, and the text to print.
//!
//! As in 2.1.12, a hook that is not configured is reported (`error: No
//! "DelegationSignersubmitCommand" configured.`, also logged) and the key moves on.
//! Difference from OpenDNSSEC 2.1: a hook that fails leaves its key where it was (the
//! failure is printed, logged and recorded, with a retry time), and the count line says
//! how many keys did move.

use crate::decide::{Decision, Outcome, Rejection};
use crate::enforcer::ds::{DsArgs, DsChange, DsCommand, DsHook, DsResult, DsStatus, ds_command};
use crate::enforcer::model::KeyModel;
use crate::scheduler::ds::{ds_retry_after, not_configured_message, with_ds_world};
use crate::scheduler::{DsCommands, DsHookCall, DsWork, ds_work};
use crate::state::{State, ZoneView};
use kasp_events::{DsHookFailed, DsStateChanged, DsTrigger, Event, KeyId, Timestamp, ZoneName};

/// A DS command as the operator typed it (options as getopt left them), with the
/// outcomes of the hooks it needed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DsRequest {
    pub zone: Option<String>,
    pub cka_id: Option<String>,
    pub keytag: Option<String>,
    pub all: bool,
    /// One per key that needs a hook ([`hooks_needed`]), in change order.
    pub hooks: Vec<HookReport>,
}

impl DsRequest {
    fn args(&self) -> DsArgs<'_> {
        DsArgs {
            zone: self.zone.as_deref(),
            cka_id: self.cka_id.as_deref(),
            keytag: self.keytag.as_deref(),
            all: self.all,
        }
    }
}

/// A hook a key of the command needs before it moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookNeed {
    pub zone: ZoneName,
    pub key: KeyId,
    pub hook: DsHook,
    /// What to run; `Err` when nothing can be run: no command configured
    /// ([`HookResult::NotConfigured`]) or no key material ([`HookResult::Failed`]).
    pub call: Result<DsHookCall, HookResult>,
}

/// How a hook went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookResult {
    /// The configured command ran and succeeded.
    Ran { command: String },
    /// No command is configured for it.
    NotConfigured,
    /// It failed (or could not be run), and why.
    Failed { reason: String },
}

/// A hook's outcome for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookReport {
    pub zone: ZoneName,
    pub key: KeyId,
    pub result: HookResult,
}

/// What the command printed and asks for after it was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsReport {
    /// Standard output: each hook's line, then the command's text.
    pub stdout: String,
    pub stderr: String,
    pub status: DsStatus,
    /// Lines for the daemon's log (at error): hooks not configured or failed.
    pub log: Vec<String>,
    /// Every zone runs again (the command returned 0).
    pub flush_all: bool,
    /// How many keys moved.
    pub moved: usize,
    /// The zone named by `--zone` had its next change set to now (a key of it moved).
    pub zone_reset: bool,
}

impl DsReport {
    /// Whether the zones whose keys moved run before the flush of every zone (their
    /// signconf left for that flush's run). 2.1.12 flushes the zone of each key it changes
    /// (keystate/keystate_ds.c `change_keys_from_to`), then, after writing the named
    /// zone's next change when the command named one, every zone (keystate_ds_*_cmd.c
    /// `enforce_task_flush_all`). Its idle worker takes the first flushed zone while the
    /// command still writes — further keys, or the named zone's row — so the zone runs
    /// before the flush of every zone, and again in it: seen when the first run ends
    /// early (no key in the pool, purged key material deleted) and the second goes on
    /// (fuzzer seeds 45 and 279). One key moved by `--all` leaves nothing to write
    /// between the two flushes: the flush of every zone is queued first and the zone runs
    /// once (seed 230). (A race in 2.1.12: README, "Differences from OpenDNSSEC".)
    pub fn runs_changed_zones_first(&self) -> bool {
        self.flush_all && (self.moved > 1 || (self.moved == 1 && self.zone_reset))
    }
}

fn result(state: &State, command: DsCommand, request: &DsRequest) -> DsResult {
    with_ds_world(state, |world| ds_command(command, &request.args(), world))
}

/// The zone and the key a change names, when both still exist.
fn changed_key<'s>(state: &'s State, change: &DsChange) -> Option<(&'s ZoneView, &'s KeyModel)> {
    let zone = state.zone(&ZoneName::new(&change.zone).ok()?)?;
    Some((zone, zone.model.key(change.key)?))
}

/// The hooks `command` needs run before it is decided, in change order.
pub fn hooks_needed(
    state: &State,
    command: DsCommand,
    request: &DsRequest,
    commands: DsCommands<'_>,
) -> Vec<HookNeed> {
    let mut needs = Vec::new();
    for change in result(state, command, request).changes {
        let Some(hook) = change.hook else { continue };
        let Some((zone, key)) = changed_key(state, &change) else {
            continue;
        };
        let call = match ds_work(state, zone, key, hook, commands) {
            DsWork::Call(call) => Ok(call),
            DsWork::NotConfigured(_) => Err(HookResult::NotConfigured),
            DsWork::NoMaterial(reason) => Err(HookResult::Failed { reason }),
        };
        needs.push(HookNeed {
            zone: zone.config.name.clone(),
            key: key.id,
            hook,
            call,
        });
    }
    needs
}

/// Decides `command` at `now` with the outcomes of its hooks: each key whose hook ran
/// or is not configured moves (`DsStateChanged`), each whose hook failed stays
/// (`DsHookFailed`). Refused when the keys to change are no longer those the hooks ran
/// for (another command changed them meanwhile).
pub fn decide_ds(
    state: &State,
    command: DsCommand,
    request: &DsRequest,
    now: Timestamp,
) -> Result<Decision, Rejection> {
    let result = result(state, command, request);
    let mut events: Vec<Event> = Vec::new();
    let mut stdout = String::new();
    let mut log = Vec::new();
    let mut failed = 0;
    let mut hooks = request.hooks.iter();
    for change in &result.changes {
        let Some((zone, _)) = changed_key(state, change) else {
            continue;
        };
        let name = zone.config.name.clone();
        let mut hook_ran = None;
        if let Some(hook) = change.hook {
            let report = hooks
                .next()
                .filter(|r| r.zone == name && r.key == change.key)
                .ok_or_else(|| {
                    Rejection::refused(format!(
                        "the keys of zone {name} changed while the DS hooks ran; nothing \
                         was recorded"
                    ))
                })?;
            match &report.result {
                HookResult::Ran { command } => {
                    let verb = match hook {
                        DsHook::Submit => "submited",
                        DsHook::Retract => "retracted",
                    };
                    stdout.push_str(&format!("key {verb} to {command}\n"));
                    hook_ran = Some(command.clone());
                }
                HookResult::NotConfigured => {
                    let message = not_configured_message(hook);
                    stdout.push_str(&format!("error: {message}\n"));
                    log.push(message);
                }
                HookResult::Failed { reason } => {
                    stdout.push_str(&format!("error: {reason}\n"));
                    log.push(reason.clone());
                    failed += 1;
                    let element = match hook {
                        DsHook::Submit => "submit",
                        DsHook::Retract => "retract",
                    };
                    events.push(
                        DsHookFailed {
                            zone: name,
                            key: change.key,
                            hook: element.to_string(),
                            message: reason.clone(),
                            retry_at: ds_retry_after(now, zone.ds_failures),
                        }
                        .into(),
                    );
                    continue;
                }
            }
        }
        events.push(
            DsStateChanged {
                zone: name,
                key: change.key,
                from: change.from,
                to: change.to,
                trigger: DsTrigger::Command,
                hook: hook_ran,
                next_change_now: result.reset_next_change.as_deref() == Some(&change.zone),
            }
            .into(),
        );
    }
    if hooks.next().is_some() {
        return Err(Rejection::refused(
            "the keys changed while the DS hooks ran; nothing was recorded",
        ));
    }
    let mut text = result.stdout.clone();
    if failed > 0 {
        let n = result.changes.len();
        text = text.replace(
            &format!("{n} KSKs changed."),
            &format!("{} KSKs changed.", n - failed),
        );
    }
    stdout.push_str(&text);
    let moved = events
        .iter()
        .filter(|e| matches!(e, Event::DsStateChanged(_)))
        .count();
    Ok(Decision {
        events,
        outcomes: vec![Outcome::Ds(DsReport {
            stdout,
            stderr: result.stderr,
            status: result.status,
            log,
            flush_all: result.flush_all,
            moved,
            zone_reset: result.reset_next_change.is_some() && moved > 0,
        })],
    })
}

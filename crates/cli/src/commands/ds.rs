//! `key ds-submit | ds-seen | ds-retract | ds-gone`: the operator tells the enforcer what
//! happened at the parent (docs/state-machine.md, DS at the parent, docs/cli.md, Key
//! commands). The decision (which keys, the exact text, the exit code) is the projector's
//! `ds_command`; this file runs the hooks of ds-submit / ds-retract, records the changes,
//! and runs the zones again.
//!
//! As in 2.1.12, a hook that is not configured is reported (`error: No
//! "DelegationSignersubmitCommand" configured.`, also logged) and the key moves on.
//! Difference from OpenDNSSEC 2.1: a hook that fails leaves its key where it was (the
//! failure is printed, logged and recorded).

use super::table::CommandSpec;
use super::{Exit, Ran, Shell, enforce};
use crate::dshook::HookOutcome;
use crate::effects::{hook_config, log_hook_error, run_hook};
use crate::engine::system_now;
use crate::getopt::Opt;
use kasp_events::{Actor, DsHookFailed, DsStateChanged, DsTrigger, Event, ZoneName};
use kasp_projector::decide_enforce::EnforcerCommand;
use kasp_projector::ds_tasks::ds_retry_after as retry_after;
use kasp_projector::ds_tasks::{not_configured_message, with_ds_world};
use kasp_projector::enforcer::ds::{DsArgs, DsCommand, DsHook, DsStatus, ds_command};

fn run(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String], cmd: DsCommand) -> Ran {
    let opts = [
        Opt::value("zone", 'z'),
        Opt::value("cka_id", 'k'),
        Opt::value("keytag", 'x'),
        Opt::flag("all", 'a'),
    ];
    let p = shell.opts(spec, args, &opts)?;
    let ctx = shell.ctx()?;
    let actor = Actor::Operator(ctx.user.clone());
    let state = shell.state(&ctx)?;
    let ds_args = DsArgs {
        zone: p.value("zone"),
        cka_id: p.value("cka_id"),
        keytag: p.value("keytag"),
        all: p.has("all"),
    };
    let result = with_ds_world(&state, |world| ds_command(cmd, &ds_args, world));
    let now = state.now(system_now());
    let mut events: Vec<Event> = Vec::new();
    let mut failed = 0;
    for change in &result.changes {
        let Ok(zone_name) = ZoneName::new(&change.zone) else {
            continue;
        };
        let Some(zone) = state.zone(&zone_name) else {
            continue;
        };
        let Some(key) = zone.model.key(change.key) else {
            continue;
        };
        let mut hook_ran = None;
        if let Some(hook) = change.hook {
            let (command, element) = hook_config(&ctx, hook);
            let verb = match hook {
                DsHook::Submit => "submited",
                DsHook::Retract => "retracted",
            };
            match run_hook(&state, zone, key, command) {
                HookOutcome::Ok => {
                    let c = command.unwrap_or_default();
                    shell.out(&format!("key {verb} to {c}\n"));
                    hook_ran = Some(c.to_string());
                }
                HookOutcome::NotConfigured => {
                    let message = not_configured_message(hook);
                    log_hook_error(&message);
                    shell.out(&format!("error: {message}\n"));
                }
                HookOutcome::Failed { reason } => {
                    log_hook_error(&reason);
                    shell.out(&format!("error: {reason}\n"));
                    failed += 1;
                    events.push(
                        DsHookFailed {
                            zone: zone_name.clone(),
                            key: change.key,
                            hook: element.to_ascii_lowercase(),
                            message: reason,
                            retry_at: retry_after(now, zone.ds_failures),
                        }
                        .into(),
                    );
                    continue;
                }
            }
        }
        events.push(
            DsStateChanged {
                zone: zone_name,
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
    let mut stdout = result.stdout.clone();
    if failed > 0 {
        let n = result.changes.len();
        stdout = stdout.replace(
            &format!("{n} KSKs changed."),
            &format!("{} KSKs changed.", n - failed),
        );
    }
    shell.out(&stdout);
    shell.err(&result.stderr);
    let changed = !events.is_empty();
    let moved = events
        .iter()
        .filter(|e| matches!(e, Event::DsStateChanged(_)))
        .count();
    if changed {
        enforce::record(shell, &ctx, &actor, EnforcerCommand::Record { events })?;
    }
    match result.status {
        DsStatus::SyntaxError => Err(Exit(super::syntax_error(shell, spec))),
        DsStatus::Exit(code) => {
            if result.flush_all {
                // 2.1.12 flushes the zone of each key it changes, then every zone
                // (keystate/keystate_ds.c `change_keys_from_to`, then
                // keystate_ds_*_cmd.c `enforce_task_flush_all`). While the command
                // still writes further keys, its idle worker takes the first flushed
                // zone, so with more than one key changed a zone whose key changed runs
                // before the flush of every zone, and again in it: seen when the first
                // run ends early (no key in the pool, purged key material deleted) and
                // the second goes on; its signconf is written once, after both. With one
                // key the flush of every zone is queued first and the zone runs once.
                // (A race in 2.1.12: README, "Differences from OpenDNSSEC".)
                if moved > 1 {
                    enforce::run_due_signconf_later(shell, &ctx, &actor)?;
                }
                enforce::flush_and_run(shell, &ctx, &actor, None)?;
            } else if changed {
                enforce::run_due(shell, &ctx, &actor)?;
            }
            Ok(i32::from(code))
        }
    }
}

pub fn submit(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    run(shell, spec, args, DsCommand::Submit)
}

pub fn seen(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    run(shell, spec, args, DsCommand::Seen)
}

pub fn retract(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    run(shell, spec, args, DsCommand::Retract)
}

pub fn gone(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    run(shell, spec, args, DsCommand::Gone)
}

//! `key ds-submit | ds-seen | ds-retract | ds-gone`: the operator tells the enforcer
//! what happened at the parent (docs/state-machine.md, DS at the parent; docs/cli.md,
//! Key commands). The decision is kasp_projector's `decide_ds`; this file parses the
//! options, runs the hooks the decision needs (ds-submit, ds-retract), records the
//! decision with their outcomes, prints its text, and runs the zones again.

use super::table::CommandSpec;
use super::{Exit, Ran, Shell, enforce};
use crate::getopt::Opt;
use kasp_engine::logger;
use kasp_events::Actor;
use kasp_projector::decide::ds::{DsRequest, HookReport, HookResult, hooks_needed};
use kasp_projector::decide::{Command, Outcome};
use kasp_projector::enforcer::ds::{DsCommand, DsStatus};
use kasp_projector::scheduler::{DsCommands, World, ds_log_line};

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
    let mut request = DsRequest {
        zone: p.value("zone").map(str::to_string),
        cka_id: p.value("cka_id").map(str::to_string),
        keytag: p.value("keytag").map(str::to_string),
        all: p.has("all"),
        hooks: Vec::new(),
    };
    let needs = hooks_needed(&state, cmd, &request, DsCommands::of(&ctx.conf));
    drop(state);
    if !needs.is_empty() {
        let mut results = Vec::new();
        shell.in_world(&ctx, |world| {
            for need in needs {
                let result = match need.call {
                    Ok(call) => match world.run_ds_hook(&call) {
                        Ok(()) => HookResult::Ran {
                            command: call.command,
                        },
                        Err(reason) => HookResult::Failed { reason },
                    },
                    Err(result) => result,
                };
                results.push(HookReport {
                    zone: need.zone,
                    key: need.key,
                    result,
                });
            }
        });
        request.hooks = results;
    }
    let done = ctx
        .run(actor.clone(), &Command::Ds(cmd, request))
        .map_err(|e| enforce::stopped(shell, e))?;
    let changed = !done.decision.events.is_empty();
    let Some(Outcome::Ds(report)) = done.decision.outcomes.into_iter().next() else {
        return Ok(kasp_engine::exit::OK);
    };
    for line in &report.log {
        logger::error(&ds_log_line(line));
    }
    shell.out(&report.stdout);
    shell.err(&report.stderr);
    match report.status {
        DsStatus::SyntaxError => Err(Exit(super::syntax_error(shell, spec))),
        DsStatus::Exit(code) => {
            if report.flush_all {
                if report.runs_changed_zones_first() {
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

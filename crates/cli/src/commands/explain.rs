//! `explain --zone Z`: for every record of every key of a zone, the gate that holds it
//! (operator DS command, roll-type order, validity rule with the records it waits for,
//! timer with its exact second, backup) or that it is settled, then the zone's next
//! run and what it is expected to do. Read-only: never appends to the log. The
//! reasoning is the projector's (`enforcer::explain`, `enforcer::explain_zone`).

use super::table::CommandSpec;
use super::{Ran, Shell};
use crate::getopt::Opt;
use kasp_engine::{exit, system_now};
use kasp_events::ZoneName;
use kasp_projector::enforcer::explain_zone::{ExplainError, explain_zone, render};
use kasp_projector::scheduler::plan::PlanConf;

/// `explain --zone Z`.
pub fn run(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let p = shell.opts(spec, args, &[Opt::value("zone", 'z')])?;
    let Some(name) = p.value("zone").map(str::to_string) else {
        return Err(shell.usage_error(spec, "expected option --zone <zone>"));
    };
    let ctx = shell.ctx()?;
    let state = shell.state(&ctx)?;
    let unknown = |shell: &mut Shell<'_>| Err(shell.refuse(&format!("Unable to find zone {name}")));
    let Ok(zone) = ZoneName::new(&name) else {
        return unknown(shell);
    };
    let conf = PlanConf::from_conf(&ctx.conf);
    let now = state.now(system_now());
    match explain_zone(&state, &zone, now, conf) {
        Ok(mut e) => {
            let hooks = &ctx.conf.enforcer;
            e.hooks = (
                hooks.ds_submit_command.is_some(),
                hooks.ds_retract_command.is_some(),
            );
            shell.out(&render(&e));
            Ok(exit::OK)
        }
        Err(ExplainError::UnknownZone) => unknown(shell),
        Err(ExplainError::UnknownPolicy(p)) => {
            Err(shell.refuse(&format!("Unable to find policy {p} of zone {name}")))
        }
    }
}

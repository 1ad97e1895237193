//! `key rollover` (roll now, docs/cli.md, Key commands, docs/state-machine.md, Zone
//! lifecycle and rollover requests) and `key purge` (remove dead keys now,
//! docs/state-machine.md, Dead keys and purge), with OpenDNSSEC 2.1.12's texts and exit
//! codes.

use super::table::CommandSpec;
use super::{Exit, Ran, Shell, enforce};
use crate::getopt::Opt;
use kasp_engine::exit;
use kasp_events::{Actor, KeyRole, PolicyName, ZoneName};
use kasp_projector::State;
use kasp_projector::decide::enforcer::EnforcerCommand;
use kasp_projector::decide::{Command, Outcome};
use kasp_projector::scheduler::{Observed, World, material_to_purge};

/// The zones named by `--zone` or `--policy`, or the exit after printing why not.
enum Target {
    Zone(ZoneName),
    Policy(PolicyName, Vec<ZoneName>),
}

fn zones_of(state: &State, policy: &PolicyName) -> Vec<ZoneName> {
    state
        .zones_in_order()
        .into_iter()
        .filter(|z| &z.config.policy == policy)
        .map(|z| z.config.name.clone())
        .collect()
}

fn find_policy(state: &State, name: &str) -> Option<PolicyName> {
    PolicyName::new(name)
        .ok()
        .filter(|p| state.policies.contains_key(p))
}

/// `key rollover (--zone Z | --policy P) [--keytype KSK|ZSK|CSK]`.
pub fn rollover(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let opts = [
        Opt::value("zone", 'z'),
        Opt::value("policy", 'p'),
        Opt::value("keytype", 't'),
    ];
    let p = shell.opts(spec, args, &opts)?;
    let (zone, policy) = (p.value("zone"), p.value("policy"));
    if zone.is_some() == policy.is_some() {
        shell.out("expected either --zone <zone> or --policy <policy> option\n");
        return Err(Exit(super::syntax_error(shell, spec)));
    }
    let roles: Vec<KeyRole> = match p.value("keytype") {
        None => vec![KeyRole::Ksk, KeyRole::Zsk, KeyRole::Csk],
        Some(t) => {
            let head: String = t.chars().take(3).collect::<String>().to_ascii_uppercase();
            match head.as_str() {
                "KSK" => vec![KeyRole::Ksk],
                "ZSK" => vec![KeyRole::Zsk],
                "CSK" => vec![KeyRole::Csk],
                _ => {
                    shell.out(&format!("given keytype \"{t}\" invalid\n"));
                    return Ok(1);
                }
            }
        }
    };
    let ctx = shell.ctx()?;
    let actor = Actor::Operator(ctx.user.clone());
    let state = shell.state(&ctx)?;
    let target = if let Some(z) = zone {
        match ZoneName::new(z).ok().filter(|n| state.zone(n).is_some()) {
            Some(n) => Target::Zone(n),
            None => {
                shell.out(&format!("zone {z} not found\n"));
                // OpenDNSSEC flushes every zone after the attempt, failed or not.
                enforce::flush_and_run(shell, &ctx, &actor, None)?;
                return Ok(1);
            }
        }
    } else {
        let name = policy.unwrap_or_default();
        match find_policy(&state, name) {
            Some(pn) => {
                let zones = zones_of(&state, &pn);
                Target::Policy(pn, zones)
            }
            None => {
                shell.err(&format!("unknown policy {name}\n"));
                return Err(Exit(super::syntax_error(shell, spec)));
            }
        }
    };
    let zones = match target {
        Target::Zone(z) => vec![z],
        Target::Policy(p, zones) => {
            if zones.is_empty() {
                shell.out(&format!("No zones on policy {p}\n"));
                shell.out("No keys to be rolled\n");
            }
            zones
        }
    };
    let what = if roles.len() == 1 {
        roles[0].as_str().to_string()
    } else {
        "all keys".to_string()
    };
    for z in &zones {
        shell.out(&format!("rolling {what} for zone {z}\n"));
    }
    if !zones.is_empty() {
        enforce::record(
            shell,
            &ctx,
            &actor,
            EnforcerCommand::Rollover { zones, roles },
        )?;
    }
    enforce::flush_and_run(shell, &ctx, &actor, None)?;
    Ok(exit::OK)
}

/// `key purge (--policy P | --zone Z) [--delete]`.
pub fn purge(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let opts = [
        Opt::value("zone", 'z'),
        Opt::value("policy", 'p'),
        Opt::flag("delete", 'd'),
    ];
    let p = shell.opts(spec, args, &opts)?;
    let (zone, policy) = (p.value("zone"), p.value("policy"));
    if zone.is_some() == policy.is_some() {
        shell.err("expected either --zone or --policy \n");
        return Err(Exit(super::syntax_error(shell, spec)));
    }
    let ctx = shell.ctx()?;
    let actor = Actor::Operator(ctx.user.clone());
    let state = shell.state(&ctx)?;
    let (zones, policy_name) = if let Some(z) = zone {
        match ZoneName::new(z).ok().filter(|n| state.zone(n).is_some()) {
            Some(n) => (vec![n], None),
            None => {
                shell.err(&format!("unknown zone {z}\n"));
                return Err(Exit(super::syntax_error(shell, spec)));
            }
        }
    } else {
        let name = policy.unwrap_or_default();
        match find_policy(&state, name) {
            Some(pn) => (zones_of(&state, &pn), Some(pn)),
            None => {
                shell.err(&format!("unknown policy {name}\n"));
                return Err(Exit(super::syntax_error(shell, spec)));
            }
        }
    };
    if let (true, Some(pn)) = (zones.is_empty(), &policy_name) {
        // OpenDNSSEC stops here: no HSM clean-up either.
        shell.out(&format!("No zones on policy {pn}\n"));
        shell.out("No keys to purge\n");
        return Ok(exit::OK);
    }
    drop(state);
    let purge = EnforcerCommand::Purge {
        zones,
        policy: policy_name,
    };
    let done = ctx
        .run(actor.clone(), &Command::Enforcer(purge))
        .map_err(|e| enforce::stopped(shell, e))?;
    for o in &done.decision.outcomes {
        if let Outcome::Purged { stdout } = o {
            shell.out(stdout);
        }
    }
    if p.has("delete") {
        let material = material_to_purge(&done.state);
        drop(done);
        let mut locators = Vec::new();
        let results = shell.in_world(&ctx, |world| world.destroy(&material));
        for (key, result) in material.iter().zip(results) {
            match result {
                Ok(()) => locators.push(key.locator),
                Err(e) => shell.err(&format!(
                    "warning: cannot delete key {} from the HSM: {e}\n",
                    key.locator
                )),
            }
        }
        if locators.is_empty() {
            shell.out("Found no keys to delete from HSM\n");
        } else {
            shell.out(&format!(
                "Number of keys deleted from HSM is {}\n",
                locators.len()
            ));
            let observed = vec![Observed::MaterialDestroyed { locators }];
            enforce::record(shell, &ctx, &actor, EnforcerCommand::Observed(observed))?;
        }
    } else {
        shell.out("Refrained from deleting keys from HSM\n");
    }
    Ok(exit::OK)
}

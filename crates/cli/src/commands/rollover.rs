//! `key rollover` (roll now, docs/cli.md, Key commands, docs/state-machine.md, Zone
//! lifecycle and rollover requests) and `key purge` (remove dead keys now,
//! docs/state-machine.md, Dead keys and purge), with OpenDNSSEC 2.1.12's texts and exit
//! codes.

use super::table::CommandSpec;
use super::{Exit, Ran, Shell, enforce};
use crate::effects::destroy_now;
use crate::engine::exit;
use crate::getopt::Opt;
use kasp_events::{Actor, Event, KeyRole, KeysPurged, Locator, PolicyName, ZoneName};
use kasp_projector::State;
use kasp_projector::decide_enforce::EnforcerCommand;
use kasp_projector::enforcer::purge::is_dead;
use std::collections::BTreeMap;

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
    let mut events: Vec<Event> = Vec::new();
    let mut refs: BTreeMap<Locator, u32> = BTreeMap::new();
    for name in &zones {
        let Some(z) = state.zone(name) else { continue };
        let mut keys = Vec::new();
        let mut released = Vec::new();
        for k in z.model.keys.iter().filter(|k| is_dead(k)) {
            let material = k.hsm.and_then(|h| state.pool.by_id(h.0));
            let locator = material.map(|m| m.locator.to_string());
            shell.out(&format!(
                "deleting key: {}\n",
                locator.unwrap_or_else(|| "(null)".into())
            ));
            keys.push(k.id);
            if let Some(m) = material {
                let left = refs.entry(m.locator).or_insert(m.refs);
                *left = left.saturating_sub(1);
                if *left == 0 {
                    released.push(m.locator);
                }
            }
        }
        if keys.is_empty() {
            shell.out(&format!("No keys to purge for {name} \n"));
            continue;
        }
        events.push(
            KeysPurged {
                zone: name.clone(),
                keys,
                released,
                policy: policy_name.clone(),
                // OpenDNSSEC's key purge leaves the signconf alone (see the field).
                signconf_needed: false,
            }
            .into(),
        );
    }
    let mut state = state;
    if !events.is_empty() {
        state = enforce::record(shell, &ctx, &actor, EnforcerCommand::Record { events })?;
    }
    if p.has("delete") {
        let (deleted, errors) = destroy_now(&ctx, &state);
        for e in errors {
            shell.err(&format!("warning: {e}\n"));
        }
        match deleted {
            Some(Event::KeyMaterialDeleted(d)) => {
                shell.out(&format!(
                    "Number of keys deleted from HSM is {}\n",
                    d.locators.len()
                ));
                enforce::record(
                    shell,
                    &ctx,
                    &actor,
                    EnforcerCommand::Record {
                        events: vec![Event::KeyMaterialDeleted(d)],
                    },
                )?;
            }
            _ => shell.out("Found no keys to delete from HSM\n"),
        }
    } else {
        shell.out("Refrained from deleting keys from HSM\n");
    }
    Ok(exit::OK)
}

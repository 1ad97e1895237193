//! `zone list`, `zone add`, `zone delete`, `zone set-policy`.

use super::table::CommandSpec;
use super::zonelist::{after_zone_change, update_zonelist_file};
use super::{Shell, parse_opts, syntax_error};
use crate::engine::{RunError, exit};
use crate::getopt::Opt;
use crate::paths::{Paths, check_input, check_output};
use kasp_events::{Actor, Adapter, PolicyName, ZoneConfig, ZoneName};
use kasp_projector::decide::{Command, Outcome};

/// `zone list`.
pub fn list(shell: &mut Shell<'_>, _spec: &CommandSpec, _args: &[String]) -> i32 {
    let ctx = match shell.context() {
        Ok(c) => c,
        Err(f) => return shell.fail(f),
    };
    let state = match ctx.load() {
        Ok((_, s, _)) => s,
        Err(f) => return shell.fail(f),
    };
    shell.out(&format!("Database set to: {}\n", ctx.log_path().display()));
    if state.zones.is_empty() {
        shell.out("No zones in database.\n");
        return exit::OK;
    }
    let now = state.now(crate::engine::system_now());
    shell.out("Zones:\n");
    shell.out(&format!(
        "{:<31} {:<13} {:<26} {:<34}\n",
        "Zone:", "Policy:", "Next change:", "Signer Configuration:"
    ));
    for z in state.zones_in_order() {
        let next = match z.next_change {
            Some(t) if t >= now => t.ctime(),
            Some(_) => "as soon as possible".to_string(),
            None => "no changes scheduled".to_string(),
        };
        let policy = if state.policies.contains_key(&z.config.policy) {
            z.config.policy.as_str()
        } else {
            "NOT_FOUND"
        };
        shell.out(&format!(
            "{:<31} {:<13} {:<26} {:<34}\n",
            z.config.name, policy, next, z.config.signconf_path
        ));
    }
    exit::OK
}

const ADD_OPTS: [Opt; 9] = [
    Opt::value("zone", 'z'),
    Opt::value("policy", 'p'),
    Opt::value("signerconf", 's'),
    Opt::value("in-type", 'j'),
    Opt::value("input", 'i'),
    Opt::value("out-type", 'q'),
    Opt::value("output", 'o'),
    Opt::flag("xml", 'u'),
    Opt::flag("suspend", 'n'),
];

/// `File` or `DNS`, matched without regard to case.
fn adapter_type(t: &str) -> Option<&'static str> {
    if t.eq_ignore_ascii_case("file") {
        Some("File")
    } else if t.eq_ignore_ascii_case("dns") {
        Some("DNS")
    } else {
        None
    }
}

/// `zone add`.
pub fn add(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> i32 {
    let p = match parse_opts(shell, spec, args, &ADD_OPTS) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let Some(zone_text) = p.value("zone") else {
        shell.err("expected option --zone <zone>\n");
        return syntax_error(shell, spec);
    };
    let ctx = match shell.context() {
        Ok(c) => c,
        Err(f) => return shell.fail(f),
    };
    let name = match ZoneName::new(zone_text) {
        Ok(n) => n,
        Err(e) => {
            shell.err(&format!("Unable to add zone, {e}\n"));
            return 1;
        }
    };
    let policy_text = p.value("policy").unwrap_or("default");
    let Ok(policy) = PolicyName::new(policy_text) else {
        shell.err(&format!(
            "Unable to find policy {policy_text} needed for adding the zone!\n"
        ));
        return 1;
    };
    // Existence and policy are checked before anything is printed, as OpenDNSSEC does.
    let state = match ctx.load() {
        Ok((_, s, _)) => s,
        Err(f) => return shell.fail(f),
    };
    if state.zone(&name).is_some() {
        shell.err("Unable to add zone, zone already exists!\n");
        return 1;
    }
    if !state.policies.contains_key(&policy) {
        shell.err(&format!(
            "Unable to find policy {policy} needed for adding the zone!\n"
        ));
        return 1;
    }
    let paths = Paths::new(&ctx);
    let in_type_text = p.value("in-type").unwrap_or("File");
    let Some(in_type) = adapter_type(in_type_text) else {
        shell.err(&format!(
            "Unable to add zone, {in_type_text} is not a valid input type! in_type must be File or DNS.\n"
        ));
        return 1;
    };
    let input = paths.input(name.as_str(), in_type, p.value("input"));
    shell.out(&format!("input is set to {input}. \n"));
    if let Some(w) = check_input(&input, name.as_str()) {
        shell.err(&format!("{w} \n"));
    }
    let out_type_text = p.value("out-type").unwrap_or("File");
    let Some(out_type) = adapter_type(out_type_text) else {
        shell.err(&format!(
            "Unable to add zone, {out_type_text} is not a valid output type! out_type must be File or DNS.\n"
        ));
        return 1;
    };
    let output = paths.output(name.as_str(), out_type, p.value("output"));
    shell.out(&format!("output is set to {output}. \n"));
    if out_type == "DNS"
        && let Some(w) = check_output(&output, name.as_str())
    {
        shell.err(&format!("{w} \n"));
    }
    let zone = ZoneConfig {
        signconf_path: paths.signconf(name.as_str(), p.value("signerconf")),
        name,
        policy,
        input: Adapter {
            kind: in_type.to_string(),
            uri: input,
        },
        output: Adapter {
            kind: out_type.to_string(),
            uri: output,
        },
    };
    let cmd = Command::AddZone {
        zone: zone.clone(),
        suspended: p.has("suspend"),
    };
    let done = match ctx.run(Actor::Operator(ctx.user.clone()), &cmd) {
        Ok(d) => d,
        Err(RunError::Rejected(r)) => {
            shell.err(&format!("{}\n", r.message));
            return 1;
        }
        Err(RunError::Failed(f)) => return shell.fail(f),
    };
    shell.out(&format!("Zone {} added successfully\n", zone.name));
    if p.has("xml") {
        update_zonelist_file(shell, &ctx, |zones| zones.push(zone.clone()));
    }
    after_zone_change(shell, &ctx, &done.state)
}

/// `zone delete --zone <zone> | --all [--xml]`.
pub fn delete(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> i32 {
    let opts = [
        Opt::value("zone", 'z'),
        Opt::flag("all", 'a'),
        Opt::flag("xml", 'u'),
    ];
    let p = match parse_opts(shell, spec, args, &opts) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let all = p.has("all");
    let zone_text = p.value("zone");
    if all == zone_text.is_some() {
        shell.err("expected either --zone <zone> or --all\n");
        return syntax_error(shell, spec);
    }
    let ctx = match shell.context() {
        Ok(c) => c,
        Err(f) => return shell.fail(f),
    };
    let cmd = match zone_text {
        None => Command::DeleteAllZones,
        Some(z) => match ZoneName::new(z) {
            Ok(zone) => Command::DeleteZone { zone },
            Err(_) => {
                shell.err(&format!("Unable to delete zone, zone {z} not found!\n"));
                return 1;
            }
        },
    };
    let done = match ctx.run(Actor::Operator(ctx.user.clone()), &cmd) {
        Ok(d) => d,
        Err(RunError::Rejected(r)) => {
            shell.err(&format!("{}\n", r.message));
            return 1;
        }
        Err(RunError::Failed(f)) => return shell.fail(f),
    };
    let mut deleted = Vec::new();
    for o in &done.decision.outcomes {
        if let Outcome::ZoneDeleted(z) = o {
            crate::paths::retire_signconf(&z.signconf_path);
            shell.out(&format!("Deleted zone {} successfully\n", z.name));
            deleted.push(z.name.key());
        }
    }
    if all {
        shell.out("All zones deleted successfully\n");
    }
    if p.has("xml") {
        if all {
            super::zonelist::export_to_file(shell, &ctx, &done.state);
        } else {
            update_zonelist_file(shell, &ctx, |zones| {
                zones.retain(|z| !deleted.contains(&z.name.key()))
            });
        }
    }
    after_zone_change(shell, &ctx, &done.state)
}

/// `zone set-policy --zone <zone> --policy <policy> [--xml]`.
pub fn set_policy(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> i32 {
    let opts = [
        Opt::value("zone", 'z'),
        Opt::value("policy", 'p'),
        Opt::flag("xml", 'u'),
    ];
    let p = match parse_opts(shell, spec, args, &opts) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let Some(zone_text) = p.value("zone") else {
        shell.err("expected option --zone <zone>\n");
        return syntax_error(shell, spec);
    };
    let Some(policy_text) = p.value("policy") else {
        shell.err("expected option --policy <policy>\n");
        return syntax_error(shell, spec);
    };
    let ctx = match shell.context() {
        Ok(c) => c,
        Err(f) => return shell.fail(f),
    };
    let Ok(zone) = ZoneName::new(zone_text) else {
        shell.err("Unable to update zone, zone does not exist!\n");
        return 1;
    };
    let Ok(policy) = PolicyName::new(policy_text) else {
        shell.err("Unable to update zone, policy does not exist!\n");
        return 1;
    };
    let cmd = Command::SetZonePolicy { zone, policy };
    let done = match ctx.run(Actor::Operator(ctx.user.clone()), &cmd) {
        Ok(d) => d,
        Err(RunError::Rejected(r)) => {
            shell.err(&format!("{}\n", r.message));
            return 1;
        }
        Err(RunError::Failed(f)) => return shell.fail(f),
    };
    match done.decision.outcomes.first() {
        Some(Outcome::ZonePolicySet { zone, policy }) => {
            shell.out(&format!(
                "Zone {zone} policy successfully set to {policy}\n"
            ));
            let (zone, policy) = (zone.clone(), policy.clone());
            if p.has("xml") {
                update_zonelist_file(shell, &ctx, |zones| {
                    for z in zones.iter_mut().filter(|z| z.name.key() == zone.key()) {
                        z.policy = policy.clone();
                    }
                });
            }
            after_zone_change(shell, &ctx, &done.state)
        }
        _ => {
            shell.err("Policy same as before, not updating.\n");
            exit::OK
        }
    }
}

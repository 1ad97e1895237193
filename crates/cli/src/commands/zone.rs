//! `zone list`, `zone add`, `zone delete`, `zone set-policy`.

use super::table::CommandSpec;
use super::zonelist::{after_zone_change, export_to_file, update_zonelist_file};
use super::{Ran, Shell};
use crate::getopt::Opt;
use kasp_engine::exit;
use kasp_engine::paths::{Paths, check_input, check_output, retire_signconf};
use kasp_events::{Actor, Adapter, PolicyName, ZoneConfig, ZoneName};
use kasp_projector::decide::{Command, Outcome, can_add_zone};

/// `zone list [--at M]` (OpenDNSSEC's ignores other words).
pub fn list(shell: &mut Shell<'_>, _spec: &CommandSpec, args: &[String]) -> Ran {
    let (at, _) = super::at::take(shell, args)?;
    let ctx = shell.ctx()?;
    let super::at::View { state, now } = super::at::view(shell, &ctx, at)?;
    shell.out(&format!("Database set to: {}\n", ctx.log_path().display()));
    if state.zones.is_empty() {
        shell.out("No zones in database.\n");
        return Ok(exit::OK);
    }
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
    Ok(exit::OK)
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

/// `zone add`. Output and the order of its checks are OpenDNSSEC's: existence and
/// policy first, then the input adapter (printed), then the output adapter.
pub fn add(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let p = shell.opts(spec, args, &ADD_OPTS)?;
    let Some(zone_text) = p.value("zone") else {
        return Err(shell.usage_error(spec, "expected option --zone <zone>"));
    };
    let ctx = shell.ctx()?;
    let name =
        ZoneName::new(zone_text).map_err(|e| shell.refuse(&format!("Unable to add zone, {e}")))?;
    let policy_text = p.value("policy").unwrap_or("default");
    let unknown_policy = format!("Unable to find policy {policy_text} needed for adding the zone!");
    let policy = PolicyName::new(policy_text).map_err(|_| shell.refuse(&unknown_policy))?;
    let state = shell.state(&ctx)?;
    can_add_zone(&state, &name, &policy).map_err(|r| shell.refuse(&r.message))?;
    // Hold no reference to the shared state across an append: the append then folds
    // into it instead of copying it (hundreds of ms at 100,000 zones).
    drop(state);
    let paths = Paths::new(&ctx);
    let in_type_text = p.value("in-type").unwrap_or("File");
    let in_type = adapter_type(in_type_text).ok_or_else(|| {
        shell.refuse(&format!(
            "Unable to add zone, {in_type_text} is not a valid input type! in_type must be File or DNS."
        ))
    })?;
    let input = paths.input(name.as_str(), in_type, p.value("input"));
    shell.out(&format!("input is set to {input}. \n"));
    if let Some(w) = check_input(&input, name.as_str()) {
        shell.err(&format!("{w} \n"));
    }
    let out_type_text = p.value("out-type").unwrap_or("File");
    let out_type = adapter_type(out_type_text).ok_or_else(|| {
        shell.refuse(&format!(
            "Unable to add zone, {out_type_text} is not a valid output type! out_type must be File or DNS."
        ))
    })?;
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
    let actor = Actor::Operator(ctx.user.clone());
    let done = shell.commit(spec, &ctx, actor.clone(), &cmd)?;
    shell.out(&format!("Zone {} added successfully\n", zone.name));
    if p.has("xml") {
        update_zonelist_file(shell, &ctx, ("zone_add_cmd", false), |zones| {
            zones.push(zone.clone())
        });
    }
    let code = after_zone_change(shell, &ctx, &done.state, "zone_add_cmd");
    if !p.has("suspend") {
        // 2.1.12's zone add tops up the pool of the zone's policy before it answers
        // (`hsm_key_factory_generate_policy`), then schedules the zone's first run.
        drop(done);
        super::keys::policy_top_up(shell, &ctx, &zone.policy, &actor);
        super::enforce::run_due(shell, &ctx, &actor)?;
    }
    Ok(code)
}

/// `zone delete --zone <zone> | --all [--xml]`.
pub fn delete(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let opts = [
        Opt::value("zone", 'z'),
        Opt::flag("all", 'a'),
        Opt::flag("xml", 'u'),
    ];
    let p = shell.opts(spec, args, &opts)?;
    let all = p.has("all");
    let zone_text = p.value("zone");
    if all == zone_text.is_some() {
        return Err(shell.usage_error(spec, "expected either --zone <zone> or --all"));
    }
    let ctx = shell.ctx()?;
    let cmd = match zone_text {
        None => Command::DeleteAllZones,
        Some(z) => Command::DeleteZone {
            zone: ZoneName::new(z).map_err(|_| {
                shell.refuse(&format!("Unable to delete zone, zone {z} not found!"))
            })?,
        },
    };
    let done = shell.commit(spec, &ctx, Actor::Operator(ctx.user.clone()), &cmd)?;
    let mut deleted = Vec::new();
    for o in &done.decision.outcomes {
        if let Outcome::ZoneDeleted(z) = o {
            retire_signconf(&z.signconf_path);
            shell.out(&format!("Deleted zone {} successfully\n", z.name));
            deleted.push(z.name.key());
        }
    }
    if all {
        shell.out("All zones deleted successfully\n");
    }
    if p.has("xml") {
        if all {
            export_to_file(shell, &ctx, &done.state, "zone_del_cmd");
        } else {
            update_zonelist_file(shell, &ctx, ("zone_del_cmd", false), |zones| {
                zones.retain(|z| !deleted.contains(&z.name.key()))
            });
        }
    }
    Ok(after_zone_change(shell, &ctx, &done.state, "zone_del_cmd"))
}

/// `zone set-policy --zone <zone> --policy <policy> [--xml]`.
pub fn set_policy(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let opts = [
        Opt::value("zone", 'z'),
        Opt::value("policy", 'p'),
        Opt::flag("xml", 'u'),
    ];
    let p = shell.opts(spec, args, &opts)?;
    let Some(zone_text) = p.value("zone") else {
        return Err(shell.usage_error(spec, "expected option --zone <zone>"));
    };
    let Some(policy_text) = p.value("policy") else {
        return Err(shell.usage_error(spec, "expected option --policy <policy>"));
    };
    let ctx = shell.ctx()?;
    let zone = ZoneName::new(zone_text)
        .map_err(|_| shell.refuse("Unable to update zone, zone does not exist!"))?;
    let policy = PolicyName::new(policy_text)
        .map_err(|_| shell.refuse("Unable to update zone, policy does not exist!"))?;
    let cmd = Command::SetZonePolicy { zone, policy };
    let done = shell.commit(spec, &ctx, Actor::Operator(ctx.user.clone()), &cmd)?;
    let Some(Outcome::ZonePolicySet { zone, policy }) = done.decision.outcomes.first() else {
        shell.err("Policy same as before, not updating.\n");
        return Ok(exit::OK);
    };
    shell.out(&format!(
        "Zone {zone} policy successfully set to {policy}\n"
    ));
    if p.has("xml") {
        update_zonelist_file(shell, &ctx, ("zone_set_policy_cmd", true), |zones| {
            for z in zones.iter_mut().filter(|z| z.name.key() == zone.key()) {
                z.policy = policy.clone();
            }
        });
    }
    Ok(after_zone_change(
        shell,
        &ctx,
        &done.state,
        "zone_set_policy_cmd",
    ))
}

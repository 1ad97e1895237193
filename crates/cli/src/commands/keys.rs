//! `key generate`, and the key-pool top-up of `zone add`.

use super::table::CommandSpec;
use super::{Exit, Ran, Shell};
use crate::getopt::Opt;
use kasp_engine::{Session, exit};
use kasp_events::{Actor, PolicyName, Seconds};
use kasp_projector::formats::duration::parse_seconds;
use kasp_projector::scheduler::key_factory::plan;

/// `key generate (--policy P | --all) [--duration D]`: pre-generates the keys the
/// policies need for D (default `AutomaticKeyGenerationPeriod`). OpenDNSSEC schedules a
/// task and says so; kasp-ledger generates before it answers, with the same text.
pub fn generate_cmd(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let opts = [
        Opt::value("duration", 'd'),
        Opt::value("policy", 'p'),
        Opt::flag("all", 'a'),
    ];
    let p = shell.opts(spec, args, &opts)?;
    let ctx = shell.ctx()?;
    let duration = match p.value("duration") {
        None => ctx.conf.enforcer.automatic_key_generation_period,
        Some(d) => match parse_seconds(d) {
            Ok(s) if s.0 > 0 => s,
            _ => return Err(shell.refuse("Error parsing the specified duration!")),
        },
    };
    let state = shell.state(&ctx)?;
    let policies: Vec<PolicyName> = if p.has("all") {
        state
            .policies_in_order()
            .into_iter()
            .map(|v| v.policy.name.clone())
            .collect()
    } else if let Some(name) = p.value("policy") {
        match PolicyName::new(name)
            .ok()
            .filter(|n| state.policies.contains_key(n))
        {
            Some(n) => vec![n],
            None => return Err(shell.refuse(&format!("Unable to find policy {name}!"))),
        }
    } else {
        return Err(shell.refuse("Either --all or --policy needs to be given!"));
    };
    shell.out("Key generation task scheduled.\n");
    let actor = Actor::Operator(ctx.user.clone());
    top_up(shell, &ctx, &policies, duration, &actor)?;
    // 2.1.12's generation task re-enforces the zones of the policies it served.
    let zones: Vec<_> = state
        .zones_in_order()
        .into_iter()
        .filter(|z| policies.contains(&z.config.policy))
        .map(|z| z.config.name.clone())
        .collect();
    if !zones.is_empty() {
        super::enforce::flush_and_run(shell, &ctx, &actor, Some(zones))?;
    }
    Ok(exit::OK)
}

/// Generates the keys `policies` miss for `duration`, telling the operator what it does.
pub fn top_up(
    shell: &mut Shell<'_>,
    ctx: &Session,
    policies: &[PolicyName],
    duration: Seconds,
    actor: &Actor,
) -> Result<usize, Exit> {
    let mut journal = kasp_engine::world::LogJournal { ctx };
    let made = shell.in_world(ctx, |world| {
        kasp_projector::scheduler::generate_keys(
            &mut journal,
            world,
            |s| plan(s, policies, duration),
            actor,
        )
    });
    made.map_err(|e| super::enforce::stopped(shell, e))
}

/// `zone add`: top up the pool of the zone's policy for `AutomaticKeyGenerationPeriod`,
/// unless key generation is manual (2.1.12's zone add does this before it answers). A
/// failure is reported as a warning — the command itself went through — and the zone's
/// first run, finding no key, schedules a generation and retries after 60 seconds.
pub fn policy_top_up(shell: &mut Shell<'_>, ctx: &Session, policy: &PolicyName, actor: &Actor) {
    if ctx.conf.enforcer.manual_key_generation {
        return;
    }
    let duration = ctx.conf.enforcer.automatic_key_generation_period;
    if top_up(shell, ctx, std::slice::from_ref(policy), duration, actor).is_err() {
        shell.err(
            "WARNING: key generation did not complete; the key pool will be topped up \
             by the next 'key generate' or enforcer run.\n",
        );
    }
}

//! `simulate`: what a change would do to a zone, run on a copy of its state on a
//! simulated clock (the projector's `simulate`). Reads the log, never appends to it,
//! daemonless and through the daemon alike.
//!
//! Exit codes: 0 done; 1 unknown zone or a change the decisions refuse; 2 bad option
//! values (duration, key type, DS mode, policy file contents, policy not in the file);
//! 4 the policy file cannot be read; 255 unknown options (OpenDNSSEC's syntax error).

use super::table::CommandSpec;
use super::{Exit, Ran, Shell};
use crate::getopt::Opt;
use kasp_engine::files::read_text;
use kasp_engine::{Session, exit, system_now};
use kasp_events::{KeyRole, Policy, PolicyName, Seconds, ZoneName};
use kasp_projector::State;
use kasp_projector::formats::duration::parse_seconds;
use kasp_projector::whatif::report::render_report;
use kasp_projector::whatif::simulate::{Change, DsAnswers, Request, SimConf, SimError, simulate};
use std::path::Path;

/// The conf.xml settings the enforcer loop reads.
pub fn sim_conf(ctx: &Session) -> SimConf {
    SimConf {
        scheduler: kasp_projector::scheduler::SchedulerConf::from_conf(&ctx.conf),
        require_backup: ctx
            .conf
            .repositories
            .iter()
            .filter(|r| r.require_backup)
            .map(|r| r.name.clone())
            .collect(),
    }
}

/// `--until <duration>` (required) or its default.
pub fn until_opt(
    shell: &mut Shell<'_>,
    value: Option<&str>,
    default: Option<&str>,
) -> Result<(Seconds, String), Exit> {
    let Some(text) = value.or(default) else {
        return Err(shell.misuse("expected option --until <duration> (e.g. P120D)"));
    };
    match parse_seconds(text) {
        Ok(s) => Ok((s, text.to_string())),
        Err(e) => Err(shell.misuse(format!(
            "invalid duration '{text}' for --until: {e} (e.g. P120D, PT12H)"
        ))),
    }
}

/// `--ds auto|manual` (default manual).
pub fn ds_opt(shell: &mut Shell<'_>, value: Option<&str>) -> Result<DsAnswers, Exit> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("manual") => Ok(DsAnswers::Manual),
        Some("auto") => Ok(DsAnswers::Auto),
        Some(_) => Err(shell.misuse(format!(
            "invalid value '{}' for --ds: expected auto or manual",
            value.unwrap_or_default()
        ))),
    }
}

/// The zone named by `--zone`, as the state spells it; refused (exit 1) when unknown.
pub fn find_zone(shell: &mut Shell<'_>, state: &State, text: &str) -> Result<ZoneName, Exit> {
    match ZoneName::new(text).ok().and_then(|n| state.zone(&n)) {
        Some(z) => Ok(z.config.name.clone()),
        None => Err(shell.refuse(&format!("zone {text} not found"))),
    }
}

/// `simulate --zone Z --until D [--rollover KSK|ZSK|CSK] [--policy-file F --policy P]
/// [--ds auto|manual]`.
pub fn run(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let opts = [
        Opt::value("zone", 'z'),
        Opt::value("until", 'u'),
        Opt::value("rollover", 'r'),
        Opt::value("policy-file", 'f'),
        Opt::value("policy", 'p'),
        Opt::value("ds", 'd'),
    ];
    let p = shell.opts(spec, args, &opts)?;
    let Some(zone_text) = p.value("zone") else {
        return Err(shell.misuse("expected option --zone <zone>"));
    };
    let (until, until_text) = until_opt(shell, p.value("until"), None)?;
    let role = match p.value("rollover").map(str::to_ascii_uppercase).as_deref() {
        None => None,
        Some("KSK") => Some(KeyRole::Ksk),
        Some("ZSK") => Some(KeyRole::Zsk),
        Some("CSK") => Some(KeyRole::Csk),
        Some(_) => {
            let given = p.value("rollover").unwrap_or_default();
            return Err(shell.misuse(format!(
                "invalid key type '{given}' for --rollover: expected KSK, ZSK or CSK"
            )));
        }
    };
    let ds = ds_opt(shell, p.value("ds"))?;
    let policy_args = (p.value("policy-file"), p.value("policy"));
    if policy_args.0.is_some() != policy_args.1.is_some() {
        return Err(shell.misuse("--policy-file and --policy go together"));
    }
    let ctx = shell.ctx()?;
    let state = shell.state(&ctx)?;
    let zone = find_zone(shell, &state, zone_text)?;
    let mut changes = Vec::new();
    if let (Some(file), Some(name)) = policy_args {
        changes.push(Change::Policy(policy_from_file(shell, &ctx, file, name)?));
    }
    if let Some(role) = role {
        changes.push(Change::Rollover(role));
    }
    let request = Request {
        zone,
        changes,
        until,
        ds,
        conf: sim_conf(&ctx),
    };
    let now = state.now(system_now());
    match simulate(&state, now, &request) {
        Ok(sim) => {
            shell.out(&render_report(&sim, ds, &until_text));
            Ok(exit::OK)
        }
        Err(SimError::UnknownZone(z)) => Err(shell.refuse(&format!("zone {z} not found"))),
        Err(SimError::Refused(why)) => Err(shell.refuse(&why)),
    }
}

/// Policy `name` of the kasp.xml at `file`, checked as `policy import` checks the
/// configured one (schema, then kaspcheck errors).
fn policy_from_file(
    shell: &mut Shell<'_>,
    ctx: &Session,
    file: &str,
    name: &str,
) -> Result<Policy, Exit> {
    let text = read_text(Path::new(file)).map_err(|e| {
        shell.err(&format!("error: {e}\n"));
        Exit(exit::ENVIRONMENT)
    })?;
    let checked = super::policy::checked_kasp(ctx, &text, file);
    let policies = match checked {
        Ok(p) => p,
        Err(reasons) => {
            shell.err(&format!("{reasons}\n"));
            return Err(shell.misuse(format!("{file} is not a valid kasp.xml")));
        }
    };
    let wanted = PolicyName::new(name).ok();
    match policies
        .into_iter()
        .find(|p| Some(&p.name) == wanted.as_ref())
    {
        Some(p) => Ok(p),
        None => Err(shell.misuse(format!("policy {name} is not in {file}"))),
    }
}

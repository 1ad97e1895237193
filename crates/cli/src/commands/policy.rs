//! `policy list`, `policy export`, `policy import`, `policy purge`.

use super::table::CommandSpec;
use super::{Exit, Ran, Shell};
use crate::getopt::Opt;
use kasp_engine::config::check_schema;
use kasp_engine::files::read_text;
use kasp_engine::schema::Schema;
use kasp_engine::{Session, exit};
use kasp_events::{Actor, Policy, PolicyName};
use kasp_projector::decide::enforcer::EnforcerCommand;
use kasp_projector::decide::{Command, Outcome};
use kasp_projector::formats::kasp::{export_kasp, parse_kasp_detailed};
use kasp_projector::formats::kaspcheck::{Severity, check_kasp, duplicate_keys};
use std::path::Path;

/// `policy list`.
pub fn list(shell: &mut Shell<'_>, _spec: &CommandSpec, _args: &[String]) -> Ran {
    let ctx = shell.ctx()?;
    let state = shell.state(&ctx)?;
    shell.out(&format!("{:<31} {:<48}\n", "Policy:", "Description:"));
    for p in state.policies_in_order() {
        shell.out(&format!(
            "{:<31} {:<48}\n",
            p.policy.name, p.policy.description
        ));
    }
    Ok(exit::OK)
}

/// `policy export --policy <p> | --all [--at M]`.
pub fn export(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let (at, args) = super::at::take(shell, args)?;
    let p = shell.opts(
        spec,
        &args,
        &[Opt::value("policy", 'p'), Opt::flag("all", 'a')],
    )?;
    let ctx = shell.ctx()?;
    let state = super::at::view(shell, &ctx, at)?.state;
    let policies: Vec<&Policy> = if p.has("all") {
        state
            .policies_in_order()
            .into_iter()
            .map(|v| &v.policy)
            .collect()
    } else if let Some(name) = p.value("policy") {
        let found = PolicyName::new(name)
            .ok()
            .and_then(|n| state.policies.get(&n));
        match found {
            Some(v) => vec![&v.policy],
            None => return Err(shell.refuse(&format!("Unable to find policy {name}!"))),
        }
    } else {
        return Err(shell.refuse("Either --all or --policy needs to be given!"));
    };
    shell.out(&export_kasp(&policies));
    Ok(exit::OK)
}

/// The policies of kasp.xml text `file` once it is valid against kasp.rng and passes
/// kaspcheck without errors (for the repositories of conf.xml); else the reasons.
pub(super) fn checked_kasp(ctx: &Session, text: &str, file: &str) -> Result<Vec<Policy>, String> {
    check_schema(text, file, Schema::Kasp)?;
    let parsed = parse_kasp_detailed(text, file).map_err(|e| e.to_string())?;
    let repos = ctx.conf.repository_names();
    let errors: Vec<String> = check_kasp(&parsed, &repos, file)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.to_string())
        .collect();
    if errors.is_empty() {
        Ok(parsed.policies)
    } else {
        Err(errors.join("\n"))
    }
}

/// Reads, validates and checks the configured kasp.xml. On failure prints the
/// reasons, then OpenDNSSEC's message.
pub fn read_policies(shell: &mut Shell<'_>, ctx: &Session) -> Result<Vec<Policy>, Exit> {
    let file = ctx.conf.policy_file.clone();
    let checked = read_text(Path::new(&file)).and_then(|text| checked_kasp(ctx, &text, &file));
    match checked {
        Ok(policies) if duplicate_keys(&policies).is_some() => {
            Err(shell.refuse("Duplicated Policy Key elements in KASP XML is not allowed!"))
        }
        Ok(policies) => Ok(policies),
        Err(reasons) => {
            shell.err(&format!("{reasons}\n"));
            Err(shell.refuse(
                "Unable to validate the KASP XML, please run ods-kaspcheck for more details!",
            ))
        }
    }
}

/// Prints what an import did to each policy; returns whether any item failed.
pub fn print_policy_outcomes(shell: &mut Shell<'_>, outcomes: &[Outcome]) -> bool {
    let mut failed = false;
    for o in outcomes {
        match o {
            Outcome::PolicyCreated(p) => shell.out(&format!("Created policy {p} successfully\n")),
            Outcome::PolicyUpdated(p) => shell.out(&format!("Updated policy {p} successfully\n")),
            Outcome::PolicyUpToDate(p) => shell.out(&format!("Policy {p} already up-to-date\n")),
            Outcome::PolicyDeleted(p) => shell.out(&format!("Deleted policy {p} successfully\n")),
            Outcome::PolicyInUse(p) => {
                failed = true;
                shell.err(&format!(
                    "Unable to delete policy {p}, there are still zones using this policy!\n"
                ));
            }
            Outcome::PolicyHasKeys(p) => {
                failed = true;
                shell.err(&format!(
                    "Unable to delete policy {p}, there are still hsm keys using this policy!\n"
                ));
            }
            _ => {}
        }
    }
    failed
}

/// `policy import [--remove-missing-policies]`.
pub fn import(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let p = shell.opts(spec, args, &[Opt::flag("remove-missing-policies", 'r')])?;
    let ctx = shell.ctx()?;
    let policies = read_policies(shell, &ctx)?;
    let cmd = Command::ImportPolicies {
        policies,
        remove_missing: p.has("remove-missing-policies"),
    };
    let actor = Actor::Import(ctx.user.clone());
    let done = shell.commit(spec, &ctx, actor.clone(), &cmd)?;
    let failed = print_policy_outcomes(shell, &done.decision.outcomes);
    if failed {
        shell.err(DATABASE_ERROR_HELP);
    }
    // Once the policies are processed, whatever changed, OpenDNSSEC schedules a signconf
    // task for every zone (policy/policy_import.c, signconf_task_flush_all), and that
    // task always writes the file and notifies the signer.
    super::enforce::record(
        shell,
        &ctx,
        &actor,
        EnforcerCommand::RequestSignconf { zones: None },
    )?;
    // A successful import then schedules key generation for every policy and flushes
    // every zone (policy/policy_import_cmd.c); a failed one only when it created or
    // updated a policy, through the key generation it schedules, which flushes every
    // zone when it is done (hsm_key_factory.c, hsm_key_factory_generate_all_cb) — never
    // with ManualKeyGeneration. OpenDNSSEC also schedules a resalt (new NSEC3 policies
    // get their first salt at once).
    let changed = done
        .decision
        .outcomes
        .iter()
        .any(|o| matches!(o, Outcome::PolicyCreated(_) | Outcome::PolicyUpdated(_)));
    drop(done);
    super::enforce::import_flush_and_run(shell, &ctx, &actor, changed, !failed)?;
    Ok(if failed { 1 } else { exit::OK })
}

/// What OpenDNSSEC adds after a `policy import` that failed to change the database
/// (policy/policy_import_cmd.c, database_error_help).
const DATABASE_ERROR_HELP: &str = "\nThe information in the database may have been changed during KASP update and caused an update error, try rerunning policy import. If the problem persists please check logs and database setup and after correcting the problem rerun policy import.\n";

/// `policy resalt`: a new salt for every NSEC3 policy, now.
pub fn resalt_cmd(shell: &mut Shell<'_>, spec: &CommandSpec, _args: &[String]) -> Ran {
    let ctx = shell.ctx()?;
    let state = shell.state(&ctx)?;
    let actor = Actor::Operator(ctx.user.clone());
    // Prints nothing, as OpenDNSSEC's resalt task.
    let salts = super::enforce::draw_salts(shell, &state)?;
    if !salts.is_empty() {
        shell.commit(spec, &ctx, actor.clone(), &Command::Resalt { salts })?;
    }
    // The new salts reach the signer at once, as 2.1's resalt task flushes the
    // signconf of the policies' zones.
    super::enforce::run_due(shell, &ctx, &actor)?;
    Ok(exit::OK)
}

/// `policy purge`: deletes every policy that no zone uses.
pub fn purge(shell: &mut Shell<'_>, spec: &CommandSpec, _args: &[String]) -> Ran {
    let ctx = shell.ctx()?;
    let actor = Actor::Operator(ctx.user.clone());
    let done = shell.commit(spec, &ctx, actor, &Command::PurgePolicies)?;
    shell.out("Purging policies\n");
    for o in &done.decision.outcomes {
        if let Outcome::PolicyPurged(p) = o {
            shell.out(&format!("No zones on policy {p}; purging...\n"));
        }
    }
    Ok(exit::OK)
}

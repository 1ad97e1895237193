//! `policy list`, `policy export`, `policy import`, `policy purge`.

use super::table::CommandSpec;
use super::{Shell, parse_opts};
use crate::config::check_schema;
use crate::engine::{Context, RunError, exit};
use crate::files::read_text;
use crate::getopt::Opt;
use crate::schema::Schema;
use kasp_events::{Actor, Policy, PolicyName};
use kasp_projector::decide::{Command, Outcome};
use kasp_projector::kasp::{export_kasp, parse_kasp_detailed};
use kasp_projector::kaspcheck::{Severity, check_kasp, duplicate_keys};
use std::path::Path;

/// `policy list`.
pub fn list(shell: &mut Shell<'_>, _spec: &CommandSpec, _args: &[String]) -> i32 {
    let ctx = match shell.context() {
        Ok(c) => c,
        Err(f) => return shell.fail(f),
    };
    let state = match ctx.load() {
        Ok((_, s, _)) => s,
        Err(f) => return shell.fail(f),
    };
    shell.out(&format!("{:<31} {:<48}\n", "Policy:", "Description:"));
    for p in state.policies_in_order() {
        shell.out(&format!(
            "{:<31} {:<48}\n",
            p.policy.name, p.policy.description
        ));
    }
    exit::OK
}

/// `policy export --policy <p> | --all`.
pub fn export(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> i32 {
    let opts = [Opt::value("policy", 'p'), Opt::flag("all", 'a')];
    let p = match parse_opts(shell, spec, args, &opts) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let ctx = match shell.context() {
        Ok(c) => c,
        Err(f) => return shell.fail(f),
    };
    let state = match ctx.load() {
        Ok((_, s, _)) => s,
        Err(f) => return shell.fail(f),
    };
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
            None => {
                shell.err(&format!("Unable to find policy {name}!\n"));
                return 1;
            }
        }
    } else {
        shell.err("Either --all or --policy needs to be given!\n");
        return 1;
    };
    shell.out(&export_kasp(&policies));
    exit::OK
}

const INVALID_KASP: &str =
    "Unable to validate the KASP XML, please run ods-kaspcheck for more details!\n";

/// Reads, validates and checks the configured kasp.xml. On failure prints the
/// reasons and OpenDNSSEC's message, and returns the exit code.
pub fn read_policies(shell: &mut Shell<'_>, ctx: &Context) -> Result<Vec<Policy>, i32> {
    let path = Path::new(&ctx.conf.policy_file);
    let file = ctx.conf.policy_file.clone();
    let problems: Vec<String> = match read_text(path) {
        Err(e) => vec![e],
        Ok(text) => match check_schema(&text, &file, Schema::Kasp) {
            Err(e) => vec![e],
            Ok(()) => match parse_kasp_detailed(&text, &file) {
                Err(e) => vec![e.to_string()],
                Ok(parsed) => {
                    let repos: Vec<&str> = ctx
                        .conf
                        .repositories
                        .iter()
                        .map(|r| r.name.as_str())
                        .collect();
                    let errors: Vec<String> = check_kasp(&parsed, &repos, &file)
                        .into_iter()
                        .filter(|f| f.severity == Severity::Error)
                        .map(|f| f.message)
                        .collect();
                    if errors.is_empty() {
                        if duplicate_keys(&parsed.policies).is_some() {
                            shell.err(
                                "Duplicated Policy Key elements in KASP XML is not allowed!\n",
                            );
                            return Err(1);
                        }
                        return Ok(parsed.policies);
                    }
                    errors
                }
            },
        },
    };
    for p in problems {
        shell.err(&format!("{p}\n"));
    }
    shell.err(INVALID_KASP);
    Err(1)
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
            _ => {}
        }
    }
    failed
}

/// `policy import [--remove-missing-policies]`.
pub fn import(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> i32 {
    let opts = [Opt::flag("remove-missing-policies", 'r')];
    let p = match parse_opts(shell, spec, args, &opts) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let ctx = match shell.context() {
        Ok(c) => c,
        Err(f) => return shell.fail(f),
    };
    let policies = match read_policies(shell, &ctx) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let cmd = Command::ImportPolicies {
        policies,
        remove_missing: p.has("remove-missing-policies"),
    };
    match ctx.run(Actor::Import(ctx.user.clone()), &cmd) {
        Ok(done) => {
            if print_policy_outcomes(shell, &done.decision.outcomes) {
                1
            } else {
                exit::OK
            }
        }
        Err(RunError::Rejected(r)) => {
            shell.err(&format!("{}\n", r.message));
            1
        }
        Err(RunError::Failed(f)) => shell.fail(f),
    }
}

/// `policy purge`: deletes every policy that no zone uses.
pub fn purge(shell: &mut Shell<'_>, _spec: &CommandSpec, _args: &[String]) -> i32 {
    let ctx = match shell.context() {
        Ok(c) => c,
        Err(f) => return shell.fail(f),
    };
    match ctx.run(Actor::Operator(ctx.user.clone()), &Command::PurgePolicies) {
        Ok(done) => {
            shell.out("Purging policies\n");
            for o in &done.decision.outcomes {
                if let Outcome::PolicyPurged(p) = o {
                    shell.out(&format!("No zones on policy {p}; purging...\n"));
                }
            }
            exit::OK
        }
        Err(RunError::Rejected(r)) => {
            shell.err(&format!("{}\n", r.message));
            1
        }
        Err(RunError::Failed(f)) => shell.fail(f),
    }
}

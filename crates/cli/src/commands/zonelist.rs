//! `zonelist export`, `zonelist import`, `update all`, and the zone-list files every
//! zone command keeps current: the operator's `ZoneListFile` (with `--xml`) and the
//! internal `<WorkingDirectory>/zones.xml` the signer reads.

use super::hsm::repository_infos;
use super::policy::{print_policy_outcomes, read_policies};
use super::table::CommandSpec;
use super::{Exit, Ran, Shell};
use crate::getopt::Opt;
use kasp_engine::config::check_schema;
use kasp_engine::files::{Readers, read_text, write_atomic};
use kasp_engine::logger;
use kasp_engine::paths::check_input;
use kasp_engine::schema::Schema;
use kasp_engine::{Session, exit};
use kasp_events::{Actor, ZoneConfig};
use kasp_projector::State;
use kasp_projector::decide::{Command, Outcome};
use kasp_projector::formats::zonelist::{export_zonelist, parse_zonelist};
use std::path::Path;

fn zones_of(state: &State) -> Vec<&ZoneConfig> {
    state
        .zones_in_order()
        .into_iter()
        .map(|z| &z.config)
        .collect()
}

/// Rewrites the internal zone list after a change. Returns the command's exit code.
pub fn after_zone_change(shell: &mut Shell<'_>, ctx: &Session, state: &State, module: &str) -> i32 {
    let path = ctx.internal_zonelist();
    // OpenDNSSEC's daemon log lines (docs/daemon-log.md): the import "exports" it.
    let verb = if module == "zonelist_import_cmd" {
        ("exported successfully", "export failed")
    } else {
        ("updated successfully", "update failed")
    };
    match write_atomic(
        &path,
        &export_zonelist(&zones_of(state), false),
        Readers::Group,
    ) {
        Ok(()) => {
            logger::msg(&format!("[{module}] internal zonelist {}", verb.0));
            exit::OK
        }
        Err(e) => {
            logger::error(&format!("[{module}] internal zonelist {}", verb.1));
            shell.err(&format!(
                "Unable to update the internal zonelist {}, updates will not reach the Signer!\n",
                path.display()
            ));
            shell.err(&format!("error: {e}\n"));
            1
        }
    }
}

/// Writes the whole zone list to `ZoneListFile` (`zonelist export`, `zone delete --all --xml`).
/// `module` names the command in the daemon log line (OpenDNSSEC's `[<module>] zonelist
/// exported to F successfully`, docs/daemon-log.md).
pub fn export_to_file(shell: &mut Shell<'_>, ctx: &Session, state: &State, module: &str) -> bool {
    let file = &ctx.conf.zonelist_file;
    match write_atomic(
        Path::new(file),
        &export_zonelist(&zones_of(state), true),
        Readers::Group,
    ) {
        Ok(()) => {
            logger::msg(&format!(
                "[{module}] zonelist exported to {file} successfully"
            ));
            shell.out(&format!("Exported zonelist to {file} successfully\n"));
            true
        }
        Err(e) => {
            logger::error(&format!("[{module}] zonelist exported to {file} failed"));
            shell.err(&format!("Exported zonelist to {file} failed!\n"));
            shell.err(&format!("error: {e}\n"));
            false
        }
    }
}

/// Applies `change` to the zones of `ZoneListFile` and writes it back (`--xml`).
/// `log` is the daemon log line's module and whether OpenDNSSEC calls it an export
/// (`zone set-policy`) or an update (`zone add`, `zone delete`).
pub fn update_zonelist_file(
    shell: &mut Shell<'_>,
    ctx: &Session,
    log: (&str, bool),
    change: impl FnOnce(&mut Vec<ZoneConfig>),
) -> bool {
    let (module, exported) = log;
    let file = ctx.conf.zonelist_file.clone();
    let result = (|| {
        let mut zones = match read_text(Path::new(&file)) {
            Ok(text) => parse_zonelist(&text, &file).map_err(|e| e.to_string())?,
            Err(_) if !Path::new(&file).exists() => Vec::new(),
            Err(e) => return Err(e),
        };
        change(&mut zones);
        let refs: Vec<&ZoneConfig> = zones.iter().collect();
        write_atomic(
            Path::new(&file),
            &export_zonelist(&refs, true),
            Readers::Group,
        )
    })();
    match result {
        Ok(()) => {
            logger::msg(&if exported {
                format!("[{module}] zonelist exported to {file} successfully")
            } else {
                format!("[{module}] zonelist {file} updated successfully")
            });
            shell.out(&format!("Zonelist {file} updated successfully\n"));
            true
        }
        Err(e) => {
            logger::error(&if exported {
                format!("[{module}] zonelist exported to {file} failed")
            } else {
                format!("[{module}] zonelist {file} updated failed")
            });
            shell.err(&format!("Zonelist {file} update failed!\n"));
            shell.err(&format!("error: {e}\n"));
            false
        }
    }
}

/// `zonelist export`.
pub fn export(shell: &mut Shell<'_>, _spec: &CommandSpec, _args: &[String]) -> Ran {
    let ctx = shell.ctx()?;
    let state = shell.state(&ctx)?;
    Ok(
        if export_to_file(shell, &ctx, &state, "zonelist_export_cmd") {
            exit::OK
        } else {
            1
        },
    )
}

/// Reads, validates and parses a zonelist.xml.
fn load_zonelist(file: &str) -> Result<Vec<ZoneConfig>, String> {
    let text = read_text(Path::new(file))?;
    check_schema(&text, file, Schema::Zonelist)?;
    parse_zonelist(&text, file).map_err(|e| e.to_string())
}

/// Prints what a zonelist import did; returns whether any item failed.
fn print_zone_outcomes(shell: &mut Shell<'_>, outcomes: &[Outcome]) -> bool {
    let mut failed = false;
    for o in outcomes {
        match o {
            Outcome::ZoneCreated(z) => {
                shell.out(&format!("Zone {} created successfully\n", z.name));
                if z.input.kind == "File"
                    && let Some(w) = check_input(&z.input.uri, z.name.as_str())
                {
                    shell.err(&format!("{w}\n"));
                }
            }
            Outcome::ZoneUpdated(z) => shell.out(&format!("Updated zone {z} successfully\n")),
            Outcome::ZoneUpToDate(z) => shell.out(&format!("Zone {z} already up-to-date\n")),
            // Unlike `zone delete`, 2.1.12's import leaves the signconf where it is.
            Outcome::ZoneDeleted(z) => {
                shell.out(&format!("Deleted zone {} successfully\n", z.name))
            }
            Outcome::ZoneUnknownPolicy { zone, policy } => {
                failed = true;
                shell.err(&format!(
                    "Unable to find policy {policy} needed for adding the zone {zone}!\n"
                ));
            }
            _ => {}
        }
    }
    failed
}

/// The exit code after an import: 1 if an item failed or the internal zone list could
/// not be rewritten. `always_export`: rewrite the internal zone list even when nothing
/// changed (`update all`, see README).
fn finish_import(
    shell: &mut Shell<'_>,
    ctx: &Session,
    done: &kasp_engine::Committed,
    failed: bool,
    always_export: bool,
) -> i32 {
    // An import that created, updated and deleted nothing is "no change" for
    // OpenDNSSEC (keystate/zonelist_import_cmd.c, ZONELIST_IMPORT_NO_CHANGE): the
    // internal zone list is neither exported nor its export logged. (2.1.12 also counts
    // an import that only deleted zones as no change, leaving the signer's zone list
    // naming them; kasp-ledger rewrites it then, see README.)
    let changed = done.decision.outcomes.iter().any(|o| {
        matches!(
            o,
            Outcome::ZoneCreated(_) | Outcome::ZoneUpdated(_) | Outcome::ZoneDeleted(_)
        )
    });
    let written = !(changed || always_export)
        || after_zone_change(shell, ctx, &done.state, "zonelist_import_cmd") == exit::OK;
    if failed || !written { 1 } else { exit::OK }
}

/// `zonelist import [--remove-missing-zones] [--file <path>]`.
pub fn import(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let opts = [
        Opt::flag("remove-missing-zones", 'r'),
        Opt::value("file", 'f'),
    ];
    let p = shell.opts(spec, args, &opts)?;
    let ctx = shell.ctx()?;
    let file = p
        .value("file")
        .map(str::to_string)
        .unwrap_or_else(|| ctx.conf.zonelist_file.clone());
    let zones = load_zonelist(&file).map_err(|e| {
        shell.err(&format!("{e}\n"));
        shell.refuse("Unable to validate the zonelist XML!")
    })?;
    let cmd = Command::ImportZonelist {
        zones,
        remove_missing: p.has("remove-missing-zones"),
    };
    let actor = Actor::Import(ctx.user.clone());
    let done = shell.commit(spec, &ctx, actor.clone(), &cmd)?;
    let failed = print_zone_outcomes(shell, &done.decision.outcomes);
    let code = finish_import(shell, &ctx, &done, failed, false);
    if zones_changed(&done.decision.outcomes) {
        drop(done);
        super::enforce::generate_all_first_flush_and_run(shell, &ctx, &actor)?;
    }
    Ok(code)
}

/// Whether an import created or updated a zone: only then does 2.1.12 generate keys
/// and flush the zones (an import that only deleted zones counts as "no change").
fn zones_changed(outcomes: &[Outcome]) -> bool {
    outcomes
        .iter()
        .any(|o| matches!(o, Outcome::ZoneCreated(_) | Outcome::ZoneUpdated(_)))
}

/// OpenDNSSEC's `update all` failure line (stdout) for the first file that failed.
fn inconsistent(shell: &mut Shell<'_>, file: &str) -> Exit {
    shell.out(&format!(
        "error: Unable to validate '{file}' consistency.\n"
    ));
    Exit(exit::REFUSED)
}

/// `update all`: checks conf.xml, kasp.xml and zonelist.xml, then imports policies and
/// zones (without removing anything) in one transaction.
pub fn update_all(shell: &mut Shell<'_>, spec: &CommandSpec, _args: &[String]) -> Ran {
    let conf_file = shell.conf_path.display().to_string();
    let ctx = shell
        .ctx_from_disk()
        .map_err(|_| inconsistent(shell, &conf_file))?;
    let policy_file = ctx.conf.policy_file.clone();
    let policies = read_policies(shell, &ctx).map_err(|_| inconsistent(shell, &policy_file))?;
    let file = ctx.conf.zonelist_file.clone();
    let zones = load_zonelist(&file).map_err(|e| {
        shell.err(&format!("{e}\n"));
        inconsistent(shell, &file)
    })?;
    let cmd = Command::UpdateAll {
        policies,
        zones,
        repositories: repository_infos(&ctx),
    };
    let actor = Actor::Import(ctx.user.clone());
    let done = shell.commit(spec, &ctx, actor.clone(), &cmd)?;
    let mut failed = print_policy_outcomes(shell, &done.decision.outcomes);
    failed |= print_zone_outcomes(shell, &done.decision.outcomes);
    let code = finish_import(shell, &ctx, &done, failed, true);
    if !done.sealed.is_empty() {
        // 2.1.12's update all calls the imports but not their commands' flush: only the
        // key generation for every policy is queued, and it runs every zone after it.
        super::enforce::run_due_with(
            shell,
            &ctx,
            &actor,
            Some(kasp_projector::scheduler::key_factory::KeyGenTask::All),
        )?;
    }
    Ok(code)
}

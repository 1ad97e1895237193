//! `setup [--simulated-time <t> | --testing] [--import-ods [--write-signconf]]`: creates
//! the event log (kasp-ledger's counterpart of `ods-enforcer-db-setup`, but it never erases
//! an existing log), empty or, with `--import-ods`, holding the state of the OpenDNSSEC 2.1
//! installation conf.xml describes (crates/engine/src/ods_import/mod.rs).
//!
//! The clock is fixed here for the log's life: the system clock (production), a
//! simulated clock (`--simulated-time`), or, with `--testing`, OpenDNSSEC's own clock:
//! the system clock until the first `time leap`, then the time it leapt to
//! (`ClockMode::Testing`, for test suites written against OpenDNSSEC, which leap a
//! daemon that started on the system clock).

use super::table::CommandSpec;
use super::{Exit, Ran, Shell};
use crate::getopt::Opt;
use kasp_engine::{Failure, exit, system_now};
use kasp_events::{Actor, ClockMode, EventLog, FORMAT, InstanceId, LogCreated, Timestamp};
use std::path::Path;

/// A new log's instance id: 16 random bytes from the kernel.
pub(super) fn random_instance() -> Result<InstanceId, Failure> {
    let b = kasp_engine::random::bytes(16)?;
    let mut id = [0u8; 16];
    id.copy_from_slice(&b);
    Ok(InstanceId(id))
}

pub fn run(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let p = shell.opts(
        spec,
        args,
        &[
            Opt::value("simulated-time", 't'),
            Opt::flag("testing", 'T'),
            Opt::flag("import-ods", 'i'),
            Opt::flag("write-signconf", 'w'),
        ],
    )?;
    if p.has("write-signconf") && !p.has("import-ods") {
        shell.err("error: --write-signconf goes with --import-ods\n");
        return Err(Exit(exit::USAGE));
    }
    let clock = match p.value("simulated-time") {
        None if p.has("testing") => ClockMode::Testing,
        None => ClockMode::System,
        Some(_) if p.has("testing") => {
            shell.err("error: --simulated-time and --testing exclude each other\n");
            return Err(Exit(exit::USAGE));
        }
        Some(t) => ClockMode::Simulated {
            start: Timestamp::parse(t).map_err(|e| {
                shell.err(&format!("error: {e}\n"));
                Exit(exit::USAGE)
            })?,
        },
    };
    let ctx = shell.ctx()?;
    let wd = Path::new(&ctx.conf.enforcer.working_directory);
    if !wd.is_dir() {
        return Err(shell.fail(Failure::env(format!(
            "the enforcer working directory {} does not exist or is not a directory",
            wd.display()
        ))));
    }
    let instance = random_instance().map_err(|f| shell.fail(f))?;
    let at = match clock {
        ClockMode::Simulated { start } => start,
        ClockMode::System | ClockMode::Testing => system_now(),
    };
    let created = LogCreated {
        format: FORMAT,
        instance,
        clock,
    };
    let path = ctx.log_path();
    let actor = Actor::Operator(ctx.user.clone());
    if p.has("import-ods") {
        import_ods(shell, &ctx, created, at, p.has("write-signconf"))?;
    } else {
        EventLog::create(&path, created, at, actor, &ctx.line).map_err(|e| shell.fail(e.into()))?;
    }
    let clock_text = match clock {
        ClockMode::System => "system clock".to_string(),
        ClockMode::Simulated { start } => format!("simulated clock starting at {start}"),
        ClockMode::Testing => "system clock until a time leap, for testing".to_string(),
    };
    shell.out(&format!(
        "Created event log {} (instance {instance}, {clock_text}).\n",
        path.display()
    ));
    Ok(exit::OK)
}

/// `--import-ods`: reads and checks OpenDNSSEC's database, then creates the log with its
/// state, all or nothing.
fn import_ods(
    shell: &mut Shell<'_>,
    ctx: &kasp_engine::Session,
    created: LogCreated,
    at: Timestamp,
    write_signconfs: bool,
) -> Result<(), Exit> {
    use kasp_engine::ods_import::{ImportOptions, prepare};
    let path = ctx.log_path();
    if path.exists() {
        return Err(shell.fail(kasp_events::LogError::Exists { path }.into()));
    }
    // The import is of a moment: an enforcer still running would go on from it alone.
    let socket = std::path::Path::new(&ctx.conf.enforcer.socket_file);
    if crate::remote::answers(socket, std::time::Duration::from_secs(2)) {
        return Err(shell.fail(kasp_engine::Failure::refused(format!(
            "an enforcer answers on {}: stop OpenDNSSEC's enforcer before the import \
             (ods-enforcer stop); to compare with it while it runs, use 'shadow'",
            socket.display()
        ))));
    }
    let options = ImportOptions {
        write_signconfs,
        ..ImportOptions::default()
    };
    let import = prepare(&ctx.conf, &ctx.conf_path, &mut ctx.repositories(), &options)
        .map_err(|f| shell.fail(f))?;
    for w in &import.warnings {
        shell.err(&format!("warning: {w}\n"));
    }
    let actor = Actor::Operator(ctx.user.clone());
    let genesis = import
        .events
        .into_iter()
        .map(|event| kasp_events::NewEvent {
            at,
            actor: actor.clone(),
            cause: ctx.line.clone(),
            event,
        })
        .collect();
    EventLog::create_with_genesis(&path, created, at, actor, &ctx.line, genesis)
        .map_err(|e| shell.fail(e.into()))?;
    let s = &import.snapshot;
    shell.out(&format!(
        "Imported OpenDNSSEC's {} database {} (schema version {}, digest {}): {} policies, \
         {} zones, {} zone keys, {} HSM keys.\n",
        import.datastore.as_str(),
        import.location,
        s.version.version,
        s.digest,
        s.policies.len(),
        s.zones.len(),
        s.key_data.len(),
        s.hsm_keys.len()
    ));
    Ok(())
}

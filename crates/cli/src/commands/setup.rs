//! `setup [--simulated-time <t>]`: creates the event log (kasp-ledger's counterpart of
//! `ods-enforcer-db-setup`, but it never erases an existing log).

use super::table::CommandSpec;
use super::{Shell, parse_opts};
use crate::engine::{Failure, exit, system_now};
use crate::getopt::Opt;
use kasp_events::{Actor, ClockMode, EventLog, FORMAT, InstanceId, LogCreated, Timestamp};
use std::io::Read;
use std::path::Path;

/// 16 random bytes from the kernel.
fn random_instance() -> Result<InstanceId, Failure> {
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(|e| Failure::env(format!("cannot read /dev/urandom: {e}")))?;
    Ok(InstanceId(b))
}

pub fn run(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> i32 {
    let opts = [Opt::value("simulated-time", 't')];
    let p = match parse_opts(shell, spec, args, &opts) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let clock = match p.value("simulated-time") {
        None => ClockMode::System,
        Some(t) => match Timestamp::parse(t) {
            Ok(start) => ClockMode::Simulated { start },
            Err(e) => {
                shell.err(&format!("error: {e}\n"));
                return exit::USAGE;
            }
        },
    };
    let ctx = match shell.context() {
        Ok(c) => c,
        Err(f) => return shell.fail(f),
    };
    let wd = Path::new(&ctx.conf.enforcer.working_directory);
    if !wd.is_dir() {
        return shell.fail(Failure::env(format!(
            "the enforcer working directory {} does not exist or is not a directory",
            wd.display()
        )));
    }
    let instance = match random_instance() {
        Ok(i) => i,
        Err(f) => return shell.fail(f),
    };
    let at = match clock {
        ClockMode::Simulated { start } => start,
        ClockMode::System => system_now(),
    };
    let created = LogCreated {
        format: FORMAT,
        instance,
        clock,
    };
    let path = ctx.log_path();
    match EventLog::create(
        &path,
        created,
        at,
        Actor::Operator(ctx.user.clone()),
        &ctx.line,
    ) {
        Ok(_) => {
            let clock_text = match clock {
                ClockMode::System => "system clock".to_string(),
                ClockMode::Simulated { start } => format!("simulated clock starting at {start}"),
            };
            shell.out(&format!(
                "Created event log {} (instance {instance}, {clock_text}).\n",
                path.display()
            ));
            exit::OK
        }
        Err(e) => shell.fail(e.into()),
    }
}

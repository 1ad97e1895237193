//! `shadow [--log <file>] [--once] [--interval <seconds>]`: kasp-ledger beside a running
//! OpenDNSSEC 2.1, following its database read-only and comparing, at every change it
//! sees, OpenDNSSEC's decisions with its own (crates/engine/src/ods_import/shadow.rs).
//! Each divergence is printed as it is found and recorded in the shadow log
//! (`<WorkingDirectory>/shadow.redb` unless `--log` names another), a kasp-ledger log of
//! its own holding every state seen and every comparison.
//!
//! Exit codes: with `--once`, 0 when OpenDNSSEC and kasp-ledger agree (or nothing
//! changed), 1 when a divergence was found; without it the command looks every
//! `--interval` seconds (default 60) until it is stopped. 2 bad option values; 1 the
//! database cannot be imported (as `setup --import-ods`); 4 the database or the HSM
//! cannot be read.

use super::table::CommandSpec;
use super::{Ran, Shell};
use crate::getopt::Opt;
use kasp_engine::ods_import::shadow::{Look, Looker, look};
use kasp_engine::{exit, system_now};
use kasp_events::Actor;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `--interval` without a value.
const DEFAULT_INTERVAL: u64 = 60;

pub fn run(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let p = shell.opts(
        spec,
        args,
        &[
            Opt::value("log", 'l'),
            Opt::flag("once", 'o'),
            Opt::value("interval", 'i'),
        ],
    )?;
    let interval = match p.value("interval") {
        None => DEFAULT_INTERVAL,
        Some(v) => match v.parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(shell.misuse(format!(
                    "invalid value '{v}' for --interval: expected a number of seconds above 0"
                )));
            }
        },
    };
    let ctx = shell.ctx()?;
    let log_path = match p.value("log") {
        Some(l) if Path::new(l).is_absolute() => PathBuf::from(l),
        Some(l) => {
            return Err(shell.misuse(format!("--log {l}: expected an absolute path")));
        }
        None => Path::new(&ctx.conf.enforcer.working_directory).join("shadow.redb"),
    };
    let instance = super::setup::random_instance().map_err(|f| shell.fail(f))?;
    let once = p.has("once");
    let mut diverged = false;
    loop {
        let who = Looker {
            actor: Actor::Operator(ctx.user.clone()),
            cause: ctx.line.clone(),
            now: system_now(),
            instance,
        };
        let seen = look(
            &ctx.conf,
            &ctx.conf_path,
            &mut ctx.repositories(),
            &log_path,
            &who,
        )
        .map_err(|f| shell.fail(f))?;
        match seen {
            Look::Started { digest, zones } => shell.out(&format!(
                "Shadowing OpenDNSSEC's database (digest {digest}, {zones} zones); shadow log {}\n",
                log_path.display()
            )),
            Look::Unchanged { digest } => {
                if once {
                    shell.out(&format!(
                        "No change in OpenDNSSEC's database since the last look (digest {digest})\n"
                    ));
                }
            }
            Look::Changed { digest, comparison } => {
                shell.out(&format!(
                    "OpenDNSSEC's database changed (digest {digest}): {} zone(s) compared, {} \
                     divergence(s)\n",
                    comparison.zones.len(),
                    comparison.divergences.len()
                ));
                for d in &comparison.divergences {
                    shell.out(&format!("divergence: {d}\n"));
                }
                for n in &comparison.not_compared {
                    shell.out(&format!("not compared: {n}\n"));
                }
                diverged |= !comparison.divergences.is_empty();
            }
        }
        if once {
            break;
        }
        std::thread::sleep(Duration::from_secs(interval));
    }
    Ok(if diverged { exit::REFUSED } else { exit::OK })
}

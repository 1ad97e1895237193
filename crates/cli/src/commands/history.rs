//! `zone history`, `key history`: a zone's or a key's facts from the log as a
//! timeline, one line per fact, oldest first, with time, actor and cause (the pure
//! formatter is `kasp_projector::readouts::history`). Read-only; the whole chain is checked on
//! the way.

use super::table::CommandSpec;
use super::{Ran, Shell};
use crate::getopt::Opt;
use kasp_engine::replay::walk;
use kasp_engine::{Session, exit};
use kasp_events::{Locator, Record, ZoneName};
use kasp_projector::readouts::history::{Subject, TagSearch, Timeline};
use std::collections::BTreeSet;

/// Feeds every record of the log to `f` (chain checked).
fn each_record(
    shell: &mut Shell<'_>,
    ctx: &Session,
    f: impl FnMut(&Record),
) -> Result<(), super::Exit> {
    let log = ctx.reader().map_err(|e| shell.fail(e))?;
    let walked = walk(&log, f);
    drop(log);
    walked.map_err(|e| shell.fail(e.into()))
}

/// `zone history --zone Z`.
pub fn zone_history(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let p = shell.opts(spec, args, &[Opt::value("zone", 'z')])?;
    let Some(text) = p.value("zone") else {
        return Err(shell.misuse("expected option --zone <zone>"));
    };
    let zone = ZoneName::new(text).map_err(|e| shell.misuse(e))?;
    let ctx = shell.ctx()?;
    let mut timeline = Timeline::new(Subject::Zone(zone.clone()));
    each_record(shell, &ctx, |r| timeline.record(r))?;
    if !timeline.found() {
        return Err(shell.refuse(&format!("zone {zone} is not in the event log")));
    }
    shell.out(&timeline.render());
    Ok(exit::OK)
}

/// `key history (--keytag T --zone Z | --cka_id C)`.
pub fn key_history(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let opts = [
        Opt::value("zone", 'z'),
        Opt::value("keytag", 'x'),
        Opt::value("cka_id", 'k'),
    ];
    let p = shell.opts(spec, args, &opts)?;
    let ctx = shell.ctx()?;
    let (locators, what) = match (p.value("keytag"), p.value("cka_id")) {
        (Some(tag), None) => {
            let Some(zone) = p.value("zone") else {
                return Err(shell.misuse("--keytag needs --zone <zone>"));
            };
            let zone = ZoneName::new(zone).map_err(|e| shell.misuse(e))?;
            let tag: u16 = tag.parse().map_err(|_| {
                shell.misuse(format!("invalid key tag '{tag}': expected 0 to 65535"))
            })?;
            let mut search = TagSearch::new(zone.clone(), tag);
            each_record(shell, &ctx, |r| search.record(r))?;
            (search.found, format!("with keytag {tag} in zone {zone}"))
        }
        (None, Some(cka_id)) => {
            let l = Locator::parse(cka_id).map_err(|e| shell.misuse(e))?;
            (BTreeSet::from([l]), format!("with CKA_ID {l}"))
        }
        _ => {
            return Err(shell
                .misuse("expected either --keytag <keytag> --zone <zone> or --cka_id <CKA_ID>"));
        }
    };
    let mut timeline = Timeline::new(Subject::Keys(locators.clone()));
    if !locators.is_empty() {
        each_record(shell, &ctx, |r| timeline.record(r))?;
    }
    if !timeline.found() {
        return Err(shell.refuse(&format!("no key {what} is in the event log")));
    }
    shell.out(&timeline.render());
    Ok(exit::OK)
}

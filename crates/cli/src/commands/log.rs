//! `log show`: the log as evidence (`log verify` is in `verify.rs`, `log export` in
//! `export.rs`).

use super::table::CommandSpec;
use super::{Exit, Ran, Shell};
use crate::getopt::Opt;
use kasp_engine::exit;
use kasp_events::{EventLog, LogError, Sealed, Seq, Timestamp, ZoneName};

/// Runs `f` on the log (the daemon's, or opened read-only).
pub(super) fn with_log(
    shell: &mut Shell<'_>,
    f: impl FnOnce(&mut Shell<'_>, &EventLog) -> Ran,
) -> Ran {
    let ctx = shell.ctx()?;
    let log = ctx.reader().map_err(|e| shell.fail(e))?;
    f(shell, &log)
}

pub(super) fn time_opt(shell: &mut Shell<'_>, v: Option<&str>) -> Result<Option<Timestamp>, Exit> {
    v.map(Timestamp::parse)
        .transpose()
        .map_err(|e| shell.misuse(e))
}

/// The JSON summary line of `log show --json`.
fn summary_json(s: &Sealed) -> serde_json::Value {
    let r = &s.record;
    serde_json::json!({
        "seq": r.seq.0,
        "at": r.at.to_string(),
        "actor": r.actor.to_string(),
        "cause": r.cause,
        "kind": r.event.kind(),
        "summary": r.event.to_string(),
    })
}

/// `log show [--zone Z] [--since T] [--until T] [--json]`.
pub fn show(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let opts = [
        Opt::value("zone", 'z'),
        Opt::value("since", 's'),
        Opt::value("until", 'u'),
        Opt::flag("json", 'j'),
    ];
    let p = shell.opts(spec, args, &opts)?;
    let since = time_opt(shell, p.value("since"))?;
    let until = time_opt(shell, p.value("until"))?;
    let zone = p
        .value("zone")
        .map(ZoneName::new)
        .transpose()
        .map_err(|e| shell.misuse(e))?
        .map(|z| z.key());
    let json = p.has("json");
    with_log(shell, |shell, log| {
        let result = log.for_each(Seq(0), |s| {
            let r = &s.record;
            if since.is_some_and(|t| r.at < t) || until.is_some_and(|t| r.at > t) {
                return Ok(());
            }
            if let Some(z) = &zone
                && r.event.zone().map(ZoneName::key).as_ref() != Some(z)
            {
                return Ok(());
            }
            if json {
                shell.out(&format!("{}\n", summary_json(&s)));
            } else {
                shell.out(&format!(
                    "{:>6} {} {} {:?} {}\n",
                    r.seq, r.at, r.actor, r.cause, r.event
                ));
            }
            Ok::<(), LogError>(())
        });
        result.map_err(|e| shell.fail(e.into()))?;
        Ok(exit::OK)
    })
}

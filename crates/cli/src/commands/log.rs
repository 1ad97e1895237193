//! `log verify`, `log show`, `log export`: the log as evidence.

use super::table::CommandSpec;
use super::{Exit, Ran, Shell};
use crate::engine::exit;
use crate::getopt::Opt;
use kasp_events::{EventLog, LogError, Sealed, Seq, Timestamp, VerifyOutcome, ZoneName};

/// Runs `f` on the log (the daemon's, or opened read-only).
fn with_log(shell: &mut Shell<'_>, f: impl FnOnce(&mut Shell<'_>, &EventLog) -> Ran) -> Ran {
    let ctx = shell.ctx()?;
    let log = ctx.reader().map_err(|e| shell.fail(e))?;
    f(shell, &log)
}

/// `log verify`: walks the chain; exit 0 with the head, or 3 naming the first bad record.
pub fn verify(shell: &mut Shell<'_>, _spec: &CommandSpec, _args: &[String]) -> Ran {
    with_log(shell, |shell, log| match log.verify() {
        Ok(head) => {
            shell.out(&format!(
                "Event log {} verified: {} records, chain intact.\nHead: seq {} hash {}\n",
                log.path().display(),
                head.seq.0 + 1,
                head.seq,
                head.hash
            ));
            Ok(exit::OK)
        }
        Err(VerifyOutcome::Broken(e)) => {
            shell.err(&format!(
                "Event log {} FAILED verification at record {}: {}\n",
                log.path().display(),
                e.seq,
                e.reason
            ));
            Err(Exit(exit::INTEGRITY))
        }
        Err(VerifyOutcome::Log(e)) => Err(shell.fail(e.into())),
    })
}

/// A usage error of kasp-ledger's own commands: message, exit 2.
fn usage(shell: &mut Shell<'_>, e: impl std::fmt::Display) -> Exit {
    shell.err(&format!("error: {e}\n"));
    Exit(exit::USAGE)
}

fn time_opt(shell: &mut Shell<'_>, v: Option<&str>) -> Result<Option<Timestamp>, Exit> {
    v.map(Timestamp::parse)
        .transpose()
        .map_err(|e| usage(shell, e))
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
        .map_err(|e| usage(shell, e))?
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

/// One record as the documented JSON of `log export --jsonl`.
pub fn record_json(s: &Sealed) -> serde_json::Value {
    let r = &s.record;
    let body = serde_json::to_value(&r.event)
        .ok()
        .and_then(|mut v| v.get_mut("body").map(serde_json::Value::take))
        .unwrap_or(serde_json::Value::Null);
    serde_json::json!({
        "seq": r.seq.0,
        "prev": r.prev.to_string(),
        "hash": s.hash.to_string(),
        "at": r.at.to_string(),
        "at_epoch": r.at.0,
        "actor": r.actor.to_string(),
        "cause": r.cause,
        "kind": r.event.kind(),
        "version": r.event.version(),
        "event": body,
    })
}

/// `log export --jsonl`.
pub fn export(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let p = shell.opts(spec, args, &[Opt::flag("jsonl", 'l')])?;
    if !p.has("jsonl") {
        return Err(shell.usage_error(spec, "expected option --jsonl (the only export format)"));
    }
    with_log(shell, |shell, log| {
        let result = log.for_each(Seq(0), |s| {
            shell.out(&format!("{}\n", record_json(&s)));
            Ok::<(), LogError>(())
        });
        result.map_err(|e| shell.fail(e.into()))?;
        Ok(exit::OK)
    })
}

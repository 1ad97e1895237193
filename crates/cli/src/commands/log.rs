//! `log verify`, `log show`, `log export`: the log as evidence.

use super::table::CommandSpec;
use super::{Shell, parse_opts};
use crate::engine::{Failure, exit};
use crate::getopt::Opt;
use kasp_events::{Access, EventLog, LogError, Sealed, Seq, Timestamp, VerifyOutcome, ZoneName};

fn open(shell: &mut Shell<'_>) -> Result<EventLog, i32> {
    let ctx = shell.context().map_err(|f| shell.fail(f))?;
    EventLog::open(&ctx.log_path(), Access::ReadOnly).map_err(|e| shell.fail(e.into()))
}

/// `log verify`: walks the chain; exit 0 with the head, or 3 naming the first bad record.
pub fn verify(shell: &mut Shell<'_>, _spec: &CommandSpec, _args: &[String]) -> i32 {
    let log = match open(shell) {
        Ok(l) => l,
        Err(code) => return code,
    };
    match log.verify() {
        Ok(head) => {
            shell.out(&format!(
                "Event log {} verified: {} records, chain intact.\nHead: seq {} hash {}\n",
                log.path().display(),
                head.seq.0 + 1,
                head.seq,
                head.hash
            ));
            exit::OK
        }
        Err(VerifyOutcome::Broken(e)) => {
            shell.err(&format!(
                "Event log {} FAILED verification at record {}: {}\n",
                log.path().display(),
                e.seq,
                e.reason
            ));
            exit::INTEGRITY
        }
        Err(VerifyOutcome::Log(e)) => shell.fail(e.into()),
    }
}

fn time_opt(shell: &mut Shell<'_>, v: Option<&str>) -> Result<Option<Timestamp>, i32> {
    match v.map(Timestamp::parse) {
        None => Ok(None),
        Some(Ok(t)) => Ok(Some(t)),
        Some(Err(e)) => {
            shell.err(&format!("error: {e}\n"));
            Err(exit::USAGE)
        }
    }
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
pub fn show(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> i32 {
    let opts = [
        Opt::value("zone", 'z'),
        Opt::value("since", 's'),
        Opt::value("until", 'u'),
        Opt::flag("json", 'j'),
    ];
    let p = match parse_opts(shell, spec, args, &opts) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let (since, until) = match (
        time_opt(shell, p.value("since")),
        time_opt(shell, p.value("until")),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(c), _) | (_, Err(c)) => return c,
    };
    let zone = match p.value("zone").map(ZoneName::new) {
        None => None,
        Some(Ok(z)) => Some(z.key()),
        Some(Err(e)) => {
            shell.err(&format!("error: {e}\n"));
            return exit::USAGE;
        }
    };
    let json = p.has("json");
    let log = match open(shell) {
        Ok(l) => l,
        Err(code) => return code,
    };
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
    match result {
        Ok(()) => exit::OK,
        Err(e) => shell.fail(Failure::from(e)),
    }
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
pub fn export(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> i32 {
    let p = match parse_opts(shell, spec, args, &[Opt::flag("jsonl", 'l')]) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if !p.has("jsonl") {
        shell.err("expected option --jsonl (the only export format)\n");
        return super::syntax_error(shell, spec);
    }
    let log = match open(shell) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let result = log.for_each(Seq(0), |s| {
        shell.out(&format!("{}\n", record_json(&s)));
        Ok::<(), LogError>(())
    });
    match result {
        Ok(()) => exit::OK,
        Err(e) => shell.fail(Failure::from(e)),
    }
}

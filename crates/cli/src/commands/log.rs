//! `log show`: the log as evidence (`log verify` is in `verify.rs`, `log export` in
//! `export.rs`).

use super::table::CommandSpec;
use super::{Exit, Ran, Shell};
use crate::getopt::Opt;
use kasp_engine::{Failure, exit};
use kasp_events::chain::Tip;
use kasp_events::{EventLog, LogError, Sealed, Seq, Timestamp, VerifyOutcome, ZoneName};

/// Runs `f` on the log (the daemon's, or opened read-only).
pub(super) fn with_log(
    shell: &mut Shell<'_>,
    f: impl FnOnce(&mut Shell<'_>, &EventLog) -> Ran,
) -> Ran {
    let ctx = shell.ctx()?;
    let log = ctx.reader().map_err(|e| shell.fail(e))?;
    f(shell, &log)
}

/// Runs `f` on another log than the enforcer's, `file` (a shadow log, made by `shadow`),
/// opened read-only.
fn with_log_file(
    shell: &mut Shell<'_>,
    file: &str,
    f: impl FnOnce(&mut Shell<'_>, &EventLog) -> Ran,
) -> Ran {
    if !std::path::Path::new(file).is_absolute() {
        return Err(shell.misuse(format!("--file {file}: expected an absolute path")));
    }
    let log = EventLog::open(std::path::Path::new(file), kasp_events::Access::ReadOnly)
        .map_err(|e| shell.fail(e.into()))?;
    f(shell, &log)
}

/// Why a stream of the log stopped early.
enum Stopped {
    /// The hash chain does not link at the record handed over next.
    Broken,
    Log(LogError),
}

impl From<LogError> for Stopped {
    fn from(e: LogError) -> Self {
        Stopped::Log(e)
    }
}

/// The first damaged record of `log` and what is wrong with it (`log verify`'s check).
fn first_damage(log: &EventLog, noticed: Seq) -> (Seq, String) {
    match log.verify() {
        Err(VerifyOutcome::Broken(e)) => (e.seq, e.reason),
        Err(VerifyOutcome::Log(e)) => (noticed, e.to_string()),
        Ok(_) => (noticed, "the hash chain is broken".to_string()),
    }
}

/// Streams every record of `log` from the first, the hash chain checked as it goes (`log
/// show`, `log export`): a record is handed to `f` only once the next one links to it,
/// and the last once it is the stored head, so whatever is printed verifies. At the first
/// break the stream stops with exit 3, naming the first damaged record and the last good
/// one; with `no_verify` every record is handed over all the same, those from the first
/// damaged one on with `unverified` set (and one warning on stderr).
pub(super) fn stream(
    shell: &mut Shell<'_>,
    log: &EventLog,
    no_verify: bool,
    mut f: impl FnMut(&mut Shell<'_>, &Sealed, bool),
) -> Result<(), Exit> {
    let mut tip = Tip::GENESIS;
    let mut pending: Option<Sealed> = None;
    let mut damaged: Option<Seq> = None;
    let warn = |shell: &mut Shell<'_>, seq: Seq, reason: &str| {
        shell.err(&format!(
            "warning: the hash chain of {} is broken at record {seq}: {reason}; the records \
             from it on are shown unverified (marked)\n",
            log.path().display()
        ));
    };
    let walked = log.for_each(Seq(0), |s| {
        if damaged.is_none() && !tip.links(&s.record) {
            if !no_verify {
                return Err(Stopped::Broken);
            }
            let (seq, reason) = first_damage(log, s.record.seq);
            warn(shell, seq, &reason);
            damaged = Some(seq);
        }
        if let Some(p) = pending.take() {
            let unverified = damaged.is_some_and(|d| p.record.seq >= d);
            f(shell, &p, unverified);
        }
        tip.advance(s.hash);
        pending = Some(s);
        Ok::<(), Stopped>(())
    });
    let last = pending.as_ref().map(|p| p.record.seq);
    let broken = match walked {
        Ok(()) if damaged.is_none() && !tip.is_head(log.head(), last) => true,
        Ok(()) => false,
        Err(Stopped::Broken) => true,
        Err(Stopped::Log(e)) => return Err(shell.fail(e.into())),
    };
    if broken && !no_verify {
        let noticed = last.map_or(Seq(0), |l| Seq(l.0 + 1));
        let (seq, reason) = first_damage(log, noticed);
        if let Some(p) = pending.take().filter(|p| p.record.seq < seq) {
            f(shell, &p, false);
        }
        let good = match seq.0 {
            0 => "none".to_string(),
            n => format!("record {}", n - 1),
        };
        return Err(shell.fail(Failure::integrity(format!(
            "the event log {} is damaged at record {seq}: {reason}; the records before it \
             are shown (the last good one: {good}); `log verify` checks the whole log, \
             --no-verify shows every record anyway",
            log.path().display()
        ))));
    }
    if broken
        && damaged.is_none()
        && let Some(l) = last
    {
        let (seq, reason) = first_damage(log, l);
        warn(shell, seq, &reason);
        damaged = Some(seq);
    }
    if let Some(p) = pending {
        let unverified = damaged.is_some_and(|d| p.record.seq >= d);
        f(shell, &p, unverified);
    }
    Ok(())
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

/// `log show [--zone Z] [--since T] [--until T] [--json] [--no-verify] [--file F]`. With
/// `--no-verify` the records from a break in the hash chain on are marked: `!` before the
/// seq, `"unverified": true` in JSON. `--file` shows another log (a shadow log).
pub fn show(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let opts = [
        Opt::value("zone", 'z'),
        Opt::value("since", 's'),
        Opt::value("until", 'u'),
        Opt::flag("json", 'j'),
        Opt::flag("no-verify", 'n'),
        Opt::value("file", 'f'),
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
    let no_verify = p.has("no-verify");
    let file = p.value("file").map(str::to_string);
    let body = |shell: &mut Shell<'_>, log: &EventLog| {
        stream(shell, log, no_verify, |shell, s, unverified| {
            let r = &s.record;
            if since.is_some_and(|t| r.at < t) || until.is_some_and(|t| r.at > t) {
                return;
            }
            if let Some(z) = &zone
                && r.event.zone().map(ZoneName::key).as_ref() != Some(z)
            {
                return;
            }
            if json {
                let mut line = summary_json(s);
                if unverified {
                    line["unverified"] = serde_json::Value::Bool(true);
                }
                shell.out(&format!("{line}\n"));
            } else {
                let seq = if unverified {
                    format!("!{:>5}", r.seq)
                } else {
                    format!("{:>6}", r.seq)
                };
                shell.out(&format!(
                    "{seq} {} {} {:?} {}\n",
                    r.at, r.actor, r.cause, r.event
                ));
            }
        })?;
        Ok(exit::OK)
    };
    match file {
        Some(f) => with_log_file(shell, &f, body),
        None => with_log(shell, body),
    }
}

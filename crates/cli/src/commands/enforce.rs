//! The enforcer's commands — `enforce`, `signconf`, `queue`, `time leap` — and the
//! printing wrappers the other commands run what is due through (kasp_engine::due runs
//! it: the scheduler's loop over the session's log and the real world).

use super::table::CommandSpec;
use super::{Exit, Ran, Shell};
use crate::getopt::Opt;
use kasp_engine::due;
use kasp_engine::{RunError, Session, exit, system_now};
use kasp_events::{Actor, PolicyName, Timestamp, ZoneName};
use kasp_projector::State;
use kasp_projector::decide::enforcer::EnforcerCommand;
use kasp_projector::scheduler::key_factory::KeyGenTask;
use kasp_projector::scheduler::{self, Observed};

/// Decides and records an enforcer command; failures are printed.
pub fn record(
    shell: &mut Shell<'_>,
    ctx: &Session,
    actor: &Actor,
    command: EnforcerCommand,
) -> Result<std::sync::Arc<State>, Exit> {
    due::record(ctx, actor, command).map_err(|e| stopped(shell, e))
}

/// Random salts for every NSEC3 policy (`policy resalt` uses them all; the scheduler's
/// decision only those that are due).
pub fn draw_salts(shell: &mut Shell<'_>, state: &State) -> Result<Vec<(PolicyName, String)>, Exit> {
    scheduler::draw_salts(state, |n| kasp_engine::random::hex(usize::from(n)))
        .map_err(|f| shell.fail(f))
}

/// Maps a scheduler error to the command's exit, printing it.
pub fn stopped(shell: &mut Shell<'_>, e: RunError) -> Exit {
    match e {
        RunError::Rejected(r) => shell.refuse(&r.message),
        RunError::Failed(f) => shell.fail(f),
    }
}

/// Runs `f` (kasp_engine::due), then prints the warnings it gathered and the error it
/// stopped with.
fn reporting<T>(
    shell: &mut Shell<'_>,
    f: impl FnOnce(&mut due::Warnings) -> Result<T, RunError>,
) -> Result<T, Exit> {
    let mut warnings = Vec::new();
    let result = f(&mut warnings);
    for w in warnings {
        shell.err(&w);
    }
    result.map_err(|e| stopped(shell, e))
}

/// Runs every task due now and its effects (kasp_engine::due::run_due).
pub fn run_due(
    shell: &mut Shell<'_>,
    ctx: &Session,
    operator: &Actor,
) -> Result<std::sync::Arc<State>, Exit> {
    reporting(shell, |w| due::run_due(ctx, operator, w))
}

/// Runs every task due now with `waiting` as the key generation the command scheduled
/// (kasp_engine::due::run_due_with).
pub fn run_due_with(
    shell: &mut Shell<'_>,
    ctx: &Session,
    operator: &Actor,
    waiting: Option<KeyGenTask>,
) -> Result<std::sync::Arc<State>, Exit> {
    reporting(shell, |w| due::run_due_with(ctx, operator, waiting, w))
}

/// Runs what is due now with its signconf writes left for a later run
/// (kasp_engine::due::run_due_signconf_later).
pub fn run_due_signconf_later(
    shell: &mut Shell<'_>,
    ctx: &Session,
    operator: &Actor,
) -> Result<std::sync::Arc<State>, Exit> {
    reporting(shell, |w| due::run_due_signconf_later(ctx, operator, w))
}

/// Flushes `zones` (all when `None`) and runs what is due.
pub fn flush_and_run(
    shell: &mut Shell<'_>,
    ctx: &Session,
    actor: &Actor,
    zones: Option<Vec<ZoneName>>,
) -> Result<std::sync::Arc<State>, Exit> {
    reporting(shell, |w| due::flush_and_run(ctx, actor, zones, w))
}

/// After `policy import` (kasp_engine::due::import_flush_and_run).
pub fn import_flush_and_run(
    shell: &mut Shell<'_>,
    ctx: &Session,
    actor: &Actor,
    generation: bool,
    flush: bool,
) -> Result<std::sync::Arc<State>, Exit> {
    reporting(shell, |w| {
        due::import_flush_and_run(ctx, actor, generation, flush, w)
    })
}

/// After `zonelist import` changed a zone (kasp_engine::due::generate_all_first_flush_and_run).
pub fn generate_all_first_flush_and_run(
    shell: &mut Shell<'_>,
    ctx: &Session,
    actor: &Actor,
) -> Result<std::sync::Arc<State>, Exit> {
    reporting(shell, |w| {
        due::generate_all_first_flush_and_run(ctx, actor, w)
    })
}

/// `enforce [--zone Z]`: runs the zone (all zones) now. No output.
pub fn enforce_cmd(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let p = shell.opts(spec, args, &[Opt::value("zone", 'z')])?;
    let ctx = shell.ctx()?;
    let actor = Actor::Operator(ctx.user.clone());
    // OpenDNSSEC does not check the name; an unknown zone flushes nothing.
    let zones = p
        .value("zone")
        .map(|z| ZoneName::new(z).map(|z| vec![z]).unwrap_or_default());
    flush_and_run(shell, &ctx, &actor, zones)?;
    Ok(exit::OK)
}

/// `signconf`: writes the signconf of every zone now. No output. The request is
/// recorded first (every zone's signconf "needed"), so that a write cut short by a
/// crash is finished by the next run rather than left on disk unrecorded.
///
/// `signconf --at M [--zone Z]` (kasp-ledger's) prints the signconf as it was instead.
pub fn signconf_cmd(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    if let (Some(moment), rest) = super::at::take(shell, args)? {
        return super::at::signconf(shell, spec, moment, &rest);
    }
    let ctx = shell.ctx()?;
    let actor = Actor::Operator(ctx.user.clone());
    let state = record(
        shell,
        &ctx,
        &actor,
        EnforcerCommand::RequestSignconf { zones: None },
    )?;
    let (files, errors) = scheduler::signconf_files(&state, None);
    drop(state);
    for e in errors {
        shell.err(&format!("warning: {e}\n"));
    }
    let mut written = Vec::new();
    for result in kasp_engine::signconf::write_signconfs(files) {
        match result {
            Ok(w) => written.push(Observed::SignconfWritten(w)),
            Err(e) => shell.err(&format!("warning: {e}\n")),
        }
    }
    if !written.is_empty() {
        record(shell, &ctx, &actor, EnforcerCommand::Observed(written))?;
    }
    Ok(exit::OK)
}

/// The time of the next task that does something, if any (the daemon does not wake for
/// the tasks deleted zones left, which do nothing): kasp_projector::scheduler::next_task.
pub fn next_task(state: &State) -> Option<Timestamp> {
    scheduler::next_task(state)
}

/// Where `time leap` without `--time` moves the clock: the first task of the queue.
pub fn next_leap(state: &State) -> Option<Timestamp> {
    scheduler::next_leap(state, state.now(system_now()))
}

fn count_line(n: usize) -> String {
    if n == 1 {
        "There is 1 task scheduled.\n".to_string()
    } else {
        format!("There are {n} tasks scheduled.\n")
    }
}

/// `queue`: the scheduled tasks, in OpenDNSSEC's words.
pub fn queue_cmd(shell: &mut Shell<'_>, _spec: &CommandSpec, _args: &[String]) -> Ran {
    let ctx = shell.ctx()?;
    let state = shell.state(&ctx)?;
    let now = state.now(system_now());
    let queued = held_queue(&ctx, &state);
    let tasks = scheduler::tasks(&state, now, queued);
    shell.out("All worker threads idle.\n");
    shell.out(&count_line(tasks.len()));
    shell.out(&format!(
        "It is now {} ({} seconds since epoch)\n",
        now.ctime(),
        now.0
    ));
    if let Some(first) = tasks.first() {
        if first.at > now {
            shell.out(&format!(
                "Next task scheduled {} ({} seconds since epoch)\n",
                first.at.ctime(),
                first.at.0
            ));
        } else {
            shell.out("Next task scheduled immediately\n");
        }
    }
    for t in &tasks {
        let at = t.at.max(now);
        shell.out(&format!(
            "On {} I will {} zone {}\n",
            at.ctime(),
            t.what,
            t.owner
        ));
    }
    Ok(exit::OK)
}

/// `time leap [--time YYYY-MM-DD-HH:MM:SS] [--attach]`: on a log with a simulated clock
/// or one set up for testing, moves the clock to the next task (or to the given time) and
/// runs what is due then. A testing log's clock then stands at that time, as
/// OpenDNSSEC's does. With no worker threads (kasp_engine::due::holds_tasks) the leap only moves the
/// clock, and `--attach` performs the tasks ([`leap_attached`]).
pub fn time_leap_cmd(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let p = shell.opts(
        spec,
        args,
        &[Opt::value("time", 't'), Opt::flag("attach", 'a')],
    )?;
    let ctx = shell.ctx()?;
    let actor = Actor::Operator(ctx.user.clone());
    let state = shell.state(&ctx)?;
    if !state.leaps_allowed() {
        return Err(shell.refuse(kasp_projector::decide::enforcer::NO_LEAPS));
    }
    let now = state.now(system_now());
    let target = match p.value("time") {
        Some(t) => match parse_leap_time(t) {
            Some(ts) => {
                shell.out(&format!("Using {t} parameter value as time to leap to\n"));
                Some(ts)
            }
            None => {
                shell.err(&format!(
                    "Time leap: Error - could not convert '{t}' to a time. \
                     Format is YYYY-MM-DD-HH:MM:SS \n"
                ));
                return Err(Exit(super::syntax_error(shell, spec)));
            }
        },
        None => None,
    };
    // A time before the log's clock: 2.1.12 ignores `--time` and leaps to the first task
    // (daemon/time_leap_cmd.c overwrites it with schedule_info), so kasp-ledger, which
    // honours a later time, does the same with an earlier one; the clock never goes back.
    let target = match target {
        Some(t) if t < now => {
            kasp_engine::logger::warning(&format!(
                "Time leap: {} is before the clock ({}); leaping to the first task instead",
                t.ctime(),
                now.ctime()
            ));
            None
        }
        t => t,
    };
    let held = due::session_holds_tasks(&ctx, &state);
    let queued = held_queue(&ctx, &state);
    // OpenDNSSEC's time leap always says "There are N tasks scheduled." (queue agrees in
    // number: count_line).
    let tasks = scheduler::tasks(&state, now, queued).len();
    shell.out(&format!("There are {tasks} tasks scheduled.\n"));
    shell.out(&format!(
        "It is now       {} ({} seconds since epoch)\n",
        now.ctime(),
        now.0
    ));
    if held && p.has("attach") {
        drop(state);
        leap_attached(shell, &ctx, &actor, target)?;
        return Ok(exit::OK);
    }
    let Some(to) = target.or_else(|| first_task(&state, queued)) else {
        shell.out("No tasks in queue. Not able to leap.\n");
        return Ok(exit::OK);
    };
    drop(state);
    leap_to(shell, &ctx, &actor, to)?;
    shell.out("Waking up workers\n");
    if !tasks_held_now(shell, &ctx)? {
        run_due(shell, &ctx, &actor)?;
    }
    Ok(exit::OK)
}

/// When the key generation queued in a daemon without worker threads was scheduled, if
/// the daemon holds its tasks.
fn held_queue(ctx: &Session, state: &State) -> Option<Timestamp> {
    due::session_holds_tasks(ctx, state)
        .then(|| due::queued_at(ctx))
        .flatten()
}

/// The time of the first task: [`next_leap`], or a queued key generation before it.
fn first_task(state: &State, queued: Option<Timestamp>) -> Option<Timestamp> {
    match (next_leap(state), queued) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Whether the daemon running the command holds its tasks (kasp_engine::due).
fn tasks_held_now(shell: &mut Shell<'_>, ctx: &Session) -> Result<bool, Exit> {
    let state = shell.state(ctx)?;
    Ok(due::session_holds_tasks(ctx, &state))
}

/// Moves the clock to `to` (not back: a task due earlier runs at the current time),
/// saying so as OpenDNSSEC does, and logs it.
fn leap_to(shell: &mut Shell<'_>, ctx: &Session, actor: &Actor, to: Timestamp) -> Result<(), Exit> {
    let now = shell.state(ctx)?.now(system_now());
    let to = to.max(now);
    shell.out(&format!(
        "Leaping to time {} ({} seconds since epoch)\n",
        to.ctime(),
        to.0
    ));
    record(shell, ctx, actor, EnforcerCommand::Leap { to })?;
    // OpenDNSSEC's daemon log line (daemon/time_leap_cmd.c, docs/daemon-log.md).
    kasp_engine::logger::msg(&format!("Time leap: Leaping to time {}", to.ctime()));
    Ok(())
}

/// At most this many leaps in one `time leap --attach` (each performs what is due).
const MAX_ATTACHED_LEAPS: usize = 10_000;

/// `time leap --attach` with no worker threads (enforcer/src/daemon/time_leap_cmd.c):
/// leaps to the first task and performs it, again and again, until a zone's enforce
/// task has been performed and the next task lies in the future. 2.1.12 performs one
/// task a leap; kasp-ledger performs every task due at the time it leapt to (each says
/// "Leaping to time" in 2.1.12, once here) — the tasks it would take next at that same
/// second. With `--time`, 2.1.12 performs every queued task whatever its due time and
/// never stops while an enforce task reschedules itself; kasp-ledger leaps to that time
/// and performs what is due by then.
fn leap_attached(
    shell: &mut Shell<'_>,
    ctx: &Session,
    actor: &Actor,
    fixed: Option<Timestamp>,
) -> Result<(), Exit> {
    let mut processed_enforce = false;
    for _ in 0..MAX_ATTACHED_LEAPS {
        let state = shell.state(ctx)?;
        let now = state.now(system_now());
        let Some(at) = fixed.or_else(|| first_task(&state, due::queued_at(ctx))) else {
            shell.out("No tasks in queue. Not able to leap.\n");
            break;
        };
        if processed_enforce && (fixed.is_some() || at > now) {
            break;
        }
        let to = at.max(now);
        processed_enforce |= !kasp_projector::scheduler::plan::due_zones(&state, to).is_empty()
            || state.tasks_left.values().any(|(_, due)| *due <= to);
        drop(state);
        leap_to(shell, ctx, actor, to)?;
        let waiting = ctx.take_queued_generation(to);
        reporting(shell, |w| due::perform_due(ctx, actor, waiting, true, w))?;
        if fixed.is_some() {
            break;
        }
    }
    Ok(())
}

/// `YYYY-MM-DD-HH:MM:SS` (UTC).
fn parse_leap_time(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'-'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let n = |r: std::ops::Range<usize>| text.get(r)?.parse::<u32>().ok();
    Timestamp::from_civil(
        i64::from(n(0..4)?),
        n(5..7)?,
        n(8..10)?,
        n(11..13)?,
        n(14..16)?,
        n(17..19)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leap_times_parse_strictly() {
        assert_eq!(
            parse_leap_time("2025-01-01-14:00:00"),
            Some(Timestamp(1_735_689_600 + 50_400))
        );
        for bad in ["2025-01-01 14:00:00", "2025-13-01-00:00:00", "tomorrow", ""] {
            assert_eq!(parse_leap_time(bad), None, "{bad}");
        }
    }
}

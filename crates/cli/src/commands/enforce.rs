//! The enforcer's scheduler as the command line and the daemon run it, and its
//! commands: `enforce`, `signconf`, `queue`, `time leap`.
//!
//! [`run_due`] runs the scheduler's loop (kasp_projector::scheduler::run_due) over the
//! event log and the real world (crates/engine/src/world.rs) at the end of every command
//! that changes what is due; here is what each command schedules before it, and how a
//! daemon without worker threads holds the tasks for `time leap --attach`.

use super::table::CommandSpec;
use super::{Exit, Ran, Shell};
use crate::getopt::Opt;
use kasp_engine::world::LogJournal;
use kasp_engine::{RunError, Session, exit, system_now};
use kasp_events::{Actor, PolicyName, Timestamp, ZoneName};
use kasp_projector::State;
use kasp_projector::decide::Command;
use kasp_projector::decide::enforcer::EnforcerCommand;
use kasp_projector::scheduler::key_factory::KeyGenTask;
use kasp_projector::scheduler::{self, Due, Observed, SchedulerConf};

/// Decides and records an enforcer command; failures are printed.
pub fn record(
    shell: &mut Shell<'_>,
    ctx: &Session,
    actor: &Actor,
    command: EnforcerCommand,
) -> Result<std::sync::Arc<State>, Exit> {
    match ctx.run(actor.clone(), &Command::Enforcer(command)) {
        Ok(done) => Ok(done.state),
        Err(RunError::Rejected(r)) => Err(shell.refuse(&r.message)),
        Err(RunError::Failed(f)) => Err(shell.fail(f)),
    }
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

/// Runs every task due now and its effects (see [`run_due_with`]); no key generation
/// waits at the start.
pub fn run_due(
    shell: &mut Shell<'_>,
    ctx: &Session,
    operator: &Actor,
) -> Result<std::sync::Arc<State>, Exit> {
    run_due_with(shell, ctx, operator, None)
}

/// Runs every task due now and its effects (see the module text), with 2.1.12's key
/// generation task: `waiting` is the generation the command scheduled (`policy
/// import`, `zonelist import`, `update all`), and each run that takes a key from
/// the pool or finds none schedules one (see [`kasp_projector::scheduler::key_factory::KeyGenTask`]).
/// With one worker thread (conf.xml `WorkerThreads` 0 or 1) each one replaces the
/// waiting one, which is carried out between the zones that run before it and those
/// that run after it (name order), then the zones it names run again. With more, an
/// idle worker takes each generation as soon as it is scheduled
/// ([`PlanConf::generations_run_at_once`]): `waiting` is carried out first, and after
/// each round every generation its runs scheduled, in order, then the zones they name
/// run again. Problems with effects are printed as warnings: the
/// decisions stay recorded and the effects are retried by the next run. The
/// scheduler's decisions and their effects are recorded with the actor `scheduler` and
/// the triggering command line as their cause; key generation keeps the operator's
/// name, as for `zone add`.
///
/// With no worker threads (see [`tasks_held`]) nothing runs: the tasks stay queued
/// (zones due, `waiting` in the daemon's queue) for `time leap --attach`.
pub fn run_due_with(
    shell: &mut Shell<'_>,
    ctx: &Session,
    operator: &Actor,
    waiting: Option<KeyGenTask>,
) -> Result<std::sync::Arc<State>, Exit> {
    let state = shell.state(ctx)?;
    if let Some(host) = tasks_held(shell, ctx, &state) {
        if let Some(task) = waiting.filter(|_| !ctx.conf.enforcer.manual_key_generation) {
            host.queue_generation(state.now(system_now()), task);
        }
        return Ok(state);
    }
    drop(state);
    perform_due(shell, ctx, operator, waiting, true)
}

/// With `<WorkerThreads>0</WorkerThreads>`, 2.1.12's daemon runs no task by itself: the
/// tasks commands schedule wait in its queue until `time leap --attach` performs them
/// (enforcer/src/daemon/time_leap_cmd.c). kasp-ledger's daemon does the same on a log
/// that may leap (set up for testing or on a simulated clock); on a production log,
/// where nothing could ever run them, it runs them as with one worker thread (logged
/// at start-up). Daemonless commands always run what is due. The daemon's host when
/// tasks are held.
pub fn tasks_held(
    shell: &Shell<'_>,
    ctx: &Session,
    state: &State,
) -> Option<std::rc::Rc<crate::host::Host>> {
    shell.host.clone().filter(|_| holds_tasks(&ctx.conf, state))
}

/// Whether a daemon with configuration `conf` holds the tasks of the log in `state`
/// for `time leap --attach` ([`tasks_held`]).
pub fn holds_tasks(conf: &kasp_projector::formats::conf::Conf, state: &State) -> bool {
    conf.enforcer.worker_threads == 0 && state.leaps_allowed()
}

/// Runs what is due now with its signconf writes left for a later run: the zones run
/// again at once (a flush of every zone follows), and 2.1.12 runs a zone's signconf task
/// after its enforce task ('enforce' < 'signconf'), so the two runs write one signconf.
/// The DS tasks ('ds-retract', 'ds-submit' < 'enforce') are carried out.
pub fn run_due_signconf_later(
    shell: &mut Shell<'_>,
    ctx: &Session,
    operator: &Actor,
) -> Result<std::sync::Arc<State>, Exit> {
    let state = shell.state(ctx)?;
    if tasks_held(shell, ctx, &state).is_some() {
        return Ok(state);
    }
    drop(state);
    perform_due(shell, ctx, operator, None, false)
}

/// Runs what is due now (see [`run_due_with`]), held tasks too; `signconfs`: whether
/// the signconf files are written (see [`run_due_signconf_later`]).
fn perform_due(
    shell: &mut Shell<'_>,
    ctx: &Session,
    operator: &Actor,
    waiting: Option<KeyGenTask>,
    signconfs: bool,
) -> Result<std::sync::Arc<State>, Exit> {
    let conf = SchedulerConf::from_conf(&ctx.conf);
    let due = Due { waiting, signconfs };
    let mut journal = LogJournal { ctx };
    let done = shell.in_world(ctx, |world| {
        scheduler::run_due(&mut journal, world, &conf, operator, due)
    });
    done.map_err(|e| stopped(shell, e))
}

/// Carries out a key generation outside the loop (a zone list import's, before its
/// flush), with its warning when it fails.
fn generate_now(
    shell: &mut Shell<'_>,
    ctx: &Session,
    state: &State,
    task: &KeyGenTask,
    operator: &Actor,
) {
    let conf = SchedulerConf::from_conf(&ctx.conf);
    let mut journal = LogJournal { ctx };
    shell.in_world(ctx, |world| {
        scheduler::generate_waiting(&mut journal, world, &conf, state, task, operator)
    });
}

/// Flushes `zones` (all when `None`) and runs what is due.
pub fn flush_and_run(
    shell: &mut Shell<'_>,
    ctx: &Session,
    actor: &Actor,
    zones: Option<Vec<ZoneName>>,
) -> Result<std::sync::Arc<State>, Exit> {
    record(shell, ctx, actor, EnforcerCommand::Flush { zones })?;
    run_due(shell, ctx, actor)
}

/// After `policy import`: 2.1.12 queues a signconf task for every zone, then (when a
/// policy was created or updated, unless key generation is manual) a generation for
/// every policy (policy/policy_import.c), then flushes every zone when the import
/// succeeded (policy/policy_import_cmd.c); a generation flushes every zone when it is
/// done. Its worker, busy with the signconf tasks, then takes the generation in name
/// order among the zones (see [`run_due_with`]). (Now and then 2.1.12's worker wakes
/// before the generation and the flush are queued and writes the first zone's signconf
/// on its own, a race: TESTING.md, "Differential fuzzing against OpenDNSSEC", lists it.)
pub fn import_flush_and_run(
    shell: &mut Shell<'_>,
    ctx: &Session,
    actor: &Actor,
    generation: bool,
    flush: bool,
) -> Result<std::sync::Arc<State>, Exit> {
    let generation = generation && !ctx.conf.enforcer.manual_key_generation;
    if flush {
        record(shell, ctx, actor, EnforcerCommand::Flush { zones: None })?;
    }
    run_due_with(shell, ctx, actor, generation.then_some(KeyGenTask::All))
}

/// After `zonelist import` changed a zone: 2.1.12 queues a generation for every policy
/// (unless key generation is manual), exports its internal zone list, then flushes
/// every zone. Its worker, idle during a zone list import, takes the generation as soon
/// as it is queued, before the flush makes the zones due: the generation comes first and
/// every zone runs after it, once (corner I10-zonelist-remove-moved-zone: a zone's
/// 60-second retry after deleting key material is not run over by a second run). A
/// `policy import` differs: the signconf tasks it queues first keep the worker busy, so
/// its generation waits in name order among the flushed zones
/// ([`import_flush_and_run`]).
pub fn generate_all_first_flush_and_run(
    shell: &mut Shell<'_>,
    ctx: &Session,
    actor: &Actor,
) -> Result<std::sync::Arc<State>, Exit> {
    if !ctx.conf.enforcer.manual_key_generation {
        let state = shell.state(ctx)?;
        match tasks_held(shell, ctx, &state) {
            Some(host) => host.queue_generation(state.now(system_now()), KeyGenTask::All),
            None => generate_now(shell, ctx, &state, &KeyGenTask::All, actor),
        }
    }
    flush_and_run(shell, ctx, actor, None)
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
    let queued = tasks_held(shell, &ctx, &state).and_then(|h| queued_at(&h));
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
/// OpenDNSSEC's does. With no worker threads ([`tasks_held`]) the leap only moves the
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
    let held = tasks_held(shell, &ctx, &state);
    let queued = held.as_ref().and_then(|h| queued_at(h));
    // OpenDNSSEC's time leap always says "There are N tasks scheduled." (queue agrees in
    // number: count_line).
    let tasks = scheduler::tasks(&state, now, queued).len();
    shell.out(&format!("There are {tasks} tasks scheduled.\n"));
    shell.out(&format!(
        "It is now       {} ({} seconds since epoch)\n",
        now.ctime(),
        now.0
    ));
    if let Some(host) = held.filter(|_| p.has("attach")) {
        drop(state);
        leap_attached(shell, &ctx, &actor, &host, target)?;
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

/// When the key generation queued in a daemon without worker threads was scheduled.
fn queued_at(host: &crate::host::Host) -> Option<Timestamp> {
    host.queued_generation.borrow().as_ref().map(|(at, _)| *at)
}

/// The time of the first task: [`next_leap`], or a queued key generation before it.
fn first_task(state: &State, queued: Option<Timestamp>) -> Option<Timestamp> {
    match (next_leap(state), queued) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Whether the daemon running the command holds its tasks ([`tasks_held`]).
fn tasks_held_now(shell: &mut Shell<'_>, ctx: &Session) -> Result<bool, Exit> {
    let state = shell.state(ctx)?;
    Ok(tasks_held(shell, ctx, &state).is_some())
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
    host: &crate::host::Host,
    fixed: Option<Timestamp>,
) -> Result<(), Exit> {
    let mut processed_enforce = false;
    for _ in 0..MAX_ATTACHED_LEAPS {
        let state = shell.state(ctx)?;
        let now = state.now(system_now());
        let Some(at) = fixed.or_else(|| first_task(&state, queued_at(host))) else {
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
        let waiting = {
            let mut queued = host.queued_generation.borrow_mut();
            match queued.take() {
                Some((t, task)) if t <= to => Some(task),
                other => {
                    *queued = other;
                    None
                }
            }
        };
        perform_due(shell, ctx, actor, waiting, true)?;
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

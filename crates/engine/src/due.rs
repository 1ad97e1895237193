//! Running what is due, as each command and the daemon's timer ask for it: the
//! scheduler's loop (kasp_projector::scheduler::run_due) over the session's log and the
//! real world (crates/engine/src/world.rs), with what each kind of command schedules
//! before it, and how a daemon without worker threads holds the tasks for `time leap
//! --attach`.
//!
//! Every function returns the state after it, or why it stopped; what the effects had
//! to tell the operator is added to `warnings`, in order, for the caller to print (a
//! command's stderr, the daemon's log).

use crate::RunError;
use crate::session::Session;
use crate::system_now;
use crate::world::{LogJournal, RealWorld};
use kasp_events::{Actor, Timestamp, ZoneName};
use kasp_projector::State;
use kasp_projector::clock::Reading;
use kasp_projector::decide::Command;
use kasp_projector::decide::enforcer::EnforcerCommand;
use kasp_projector::formats::conf::Conf;
use kasp_projector::scheduler::key_factory::KeyGenTask;
use kasp_projector::scheduler::{self, Due, SchedulerConf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Warnings to tell the operator, in order.
pub type Warnings = Vec<String>;

/// Decides and records an enforcer command as `actor`.
pub fn record(
    session: &Session,
    actor: &Actor,
    command: EnforcerCommand,
) -> Result<Arc<State>, RunError> {
    Ok(session
        .run(actor.clone(), &Command::Enforcer(command))?
        .state)
}

/// Runs `f` in the real world of `session`, keeping what it had to say.
pub fn in_world<R>(
    session: &Session,
    warnings: &mut Warnings,
    f: impl FnOnce(&mut RealWorld<'_>) -> R,
) -> R {
    let mut world = RealWorld::new(session);
    let result = f(&mut world);
    warnings.extend(world.warnings());
    result
}

/// Runs every task due now and its effects; no key generation waits at the start.
pub fn run_due(
    session: &Session,
    operator: &Actor,
    warnings: &mut Warnings,
) -> Result<Arc<State>, RunError> {
    run_due_with(session, operator, None, warnings)
}

/// Runs every task due now and its effects (kasp_projector::scheduler::run_due), with
/// `waiting` as the key generation the command scheduled (`policy import`, `zonelist
/// import`, `update all`). The scheduler's decisions and their effects are recorded with
/// the actor `scheduler` and the session's line as their cause; key generation keeps the
/// operator's name, as for `zone add`.
///
/// With no worker threads (see [`holds_tasks`]) nothing runs: the tasks stay queued
/// (zones due, `waiting` in the daemon's queue) for `time leap --attach`.
pub fn run_due_with(
    session: &Session,
    operator: &Actor,
    waiting: Option<KeyGenTask>,
    warnings: &mut Warnings,
) -> Result<Arc<State>, RunError> {
    let state = session.load()?.1;
    if session_holds_tasks(session, &state) {
        if let Some(task) = waiting.filter(|_| !session.conf.enforcer.manual_key_generation) {
            session.queue_generation(state.now(system_now()), task);
        }
        return Ok(state);
    }
    drop(state);
    perform_due(session, operator, waiting, true, warnings)
}

/// With `<WorkerThreads>0</WorkerThreads>`, 2.1.12's daemon runs no task by itself: the
/// tasks commands schedule wait in its queue until `time leap --attach` performs them
/// (enforcer/src/daemon/time_leap_cmd.c). kasp-ledger's daemon does the same on a log
/// that may leap (set up for testing or on a simulated clock); on a production log,
/// where nothing could ever run them, it runs them as with one worker thread (logged at
/// start-up). Daemonless commands always run what is due.
pub fn holds_tasks(conf: &Conf, state: &State) -> bool {
    conf.enforcer.worker_threads == 0 && state.leaps_allowed()
}

/// Whether the daemon running `session` holds its tasks ([`holds_tasks`]).
pub fn session_holds_tasks(session: &Session, state: &State) -> bool {
    session.is_in_daemon() && holds_tasks(&session.conf, state)
}

/// Runs what is due now with its signconf writes left for a later run: the zones run
/// again at once (a flush of every zone follows), and 2.1.12 runs a zone's signconf task
/// after its enforce task ('enforce' < 'signconf'), so the two runs write one signconf.
/// The DS tasks ('ds-retract', 'ds-submit' < 'enforce') are carried out.
pub fn run_due_signconf_later(
    session: &Session,
    operator: &Actor,
    warnings: &mut Warnings,
) -> Result<Arc<State>, RunError> {
    let state = session.load()?.1;
    if session_holds_tasks(session, &state) {
        return Ok(state);
    }
    drop(state);
    perform_due(session, operator, None, false, warnings)
}

/// Runs what is due now, held tasks too; `signconfs`: whether the signconf files are
/// written (see [`run_due_signconf_later`]). From its first append on the run has the
/// log to itself ([`Session::exclusively_once_it_appends`]) as the daemon's single
/// writer has: daemonless runs one after another, never two of them carrying out the
/// same effects (a signconf, a DS hook, a key's destruction) and recording them twice.
pub fn perform_due(
    session: &Session,
    operator: &Actor,
    waiting: Option<KeyGenTask>,
    signconfs: bool,
    warnings: &mut Warnings,
) -> Result<Arc<State>, RunError> {
    let state = session.load()?.1;
    if let Reading::Behind { system, log } = state.reading(system_now()) {
        clock_behind(system, log, warnings);
        return Ok(state);
    }
    drop(state);
    let conf = SchedulerConf::from_conf(&session.conf);
    let due = Due { waiting, signconfs };
    let mut journal = LogJournal { ctx: session };
    session.exclusively_once_it_appends(|| {
        in_world(session, warnings, |world| {
            scheduler::run_due(&mut journal, world, &conf, operator, due)
        })
    })
}

/// The system clock is behind the log's last record (kasp_projector::clock): nothing is
/// run, and the operator is told once per last record (the daemon's timer asks again).
fn clock_behind(system: Timestamp, log: Timestamp, warnings: &mut Warnings) {
    static TOLD: AtomicI64 = AtomicI64::new(i64::MIN);
    if TOLD.swap(log.0, Ordering::Relaxed) == log.0 {
        return;
    }
    warnings.push(format!(
        "the system clock ({}) is behind the event log's last record ({}): the enforcer \
         does not run until the clock reaches it; commands are recorded at the log's time",
        system, log
    ));
}

/// Flushes `zones` (all when `None`) and runs what is due.
pub fn flush_and_run(
    session: &Session,
    actor: &Actor,
    zones: Option<Vec<ZoneName>>,
    warnings: &mut Warnings,
) -> Result<Arc<State>, RunError> {
    record(session, actor, EnforcerCommand::Flush { zones })?;
    run_due(session, actor, warnings)
}

/// After `policy import`: 2.1.12 queues a signconf task for every zone, then (when a
/// policy was created or updated, unless key generation is manual) a generation for
/// every policy (policy/policy_import.c), then flushes every zone when the import
/// succeeded (policy/policy_import_cmd.c); a generation flushes every zone when it is
/// done. Its worker, busy with the signconf tasks, then takes the generation in name
/// order among the zones (kasp_projector::scheduler::run_due). (Now and then 2.1.12's
/// worker wakes before the generation and the flush are queued and writes the first
/// zone's signconf on its own, a race: README, "Differences from OpenDNSSEC".)
pub fn import_flush_and_run(
    session: &Session,
    actor: &Actor,
    generation: bool,
    flush: bool,
    warnings: &mut Warnings,
) -> Result<Arc<State>, RunError> {
    let generation = generation && !session.conf.enforcer.manual_key_generation;
    if flush {
        record(session, actor, EnforcerCommand::Flush { zones: None })?;
    }
    run_due_with(
        session,
        actor,
        generation.then_some(KeyGenTask::All),
        warnings,
    )
}

/// After `zonelist import` changed a zone, and at the daemon's start: 2.1.12 queues a
/// generation for every policy (unless key generation is manual), then flushes every
/// zone. Its worker, idle, takes the generation as soon as it is queued, before the flush
/// makes the zones due: the generation comes first and every zone runs after it, once
/// (corner I10-zonelist-remove-moved-zone: a zone's 60-second retry after deleting key
/// material is not run over by a second run). A `policy import` differs: the signconf
/// tasks it queues first keep the worker busy, so its generation waits in name order
/// among the flushed zones ([`import_flush_and_run`]).
pub fn generate_all_first_flush_and_run(
    session: &Session,
    actor: &Actor,
    warnings: &mut Warnings,
) -> Result<Arc<State>, RunError> {
    if !session.conf.enforcer.manual_key_generation {
        let state = session.load()?.1;
        if session_holds_tasks(session, &state) {
            session.queue_generation(state.now(system_now()), KeyGenTask::All);
        } else {
            drop(state);
            let conf = SchedulerConf::from_conf(&session.conf);
            let mut journal = LogJournal { ctx: session };
            in_world(session, warnings, |world| {
                scheduler::generate_waiting(&mut journal, world, &conf, &KeyGenTask::All, actor)
            });
        }
    }
    flush_and_run(session, actor, None, warnings)
}

/// When the key generation queued in a daemon without worker threads was scheduled.
pub fn queued_at(session: &Session) -> Option<Timestamp> {
    session.queued_generation().map(|(at, _)| at)
}

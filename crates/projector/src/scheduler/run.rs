//! The enforcer loop: what OpenDNSSEC's worker threads do with the task queue, done at
//! once whenever something is due — by a command that changed what is due, the
//! daemon's timer, `time leap`, or the what-if.
//!
//! Record the decisions of every due task (NSEC3 salts, enforcer runs), then carry out
//! their effects and record those (key material destroyed, signconf files and the
//! signer notify, the DS hook tasks); a DS change makes its zone due again at the same
//! time, so this repeats until nothing is left to do at `now`. A policy's resalt due at
//! the same second as zone runs takes its place among them by name, as in 2.1.12's
//! queue: the round stops before it, and the next one starts with it
//! ([`crate::scheduler::round`]).

use super::effects::{
    DsCommands, DsTaskOutcome, DsWork, Observed, ds_log_line, ds_tasks_due, ds_work_message,
    material_to_destroy, signconf_files,
};
use super::keys::{generate_keys, resolve_pending};
use super::ports::{DsHookCall, Journal, World};
use crate::decide::enforcer::EnforcerCommand;
use crate::decide::{Command, Outcome};
use crate::scheduler::key_factory::{KEYGEN_OWNER, KeyGenTask, merged_flushes, task_plan};
use crate::scheduler::plan::PlanConf;
use crate::scheduler::resalt::due_for_salt;
use crate::state::State;
use kasp_events::{Actor, PolicyName, Seconds, Timestamp};
use std::sync::Arc;

/// At most this many decide/effect rounds per call that a DS change starts (it re-runs
/// its zone).
const MAX_DS_ROUNDS: usize = 8;
/// At most this many rounds per call in all: a key generation that runs zones again
/// starts one too, and with a short pool each may satisfy only a few zones (2.1.12's
/// worker loops likewise, all in the same second).
const MAX_ROUNDS: usize = 1024;

/// The conf.xml settings the loop reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchedulerConf {
    pub plan: PlanConf,
    /// `AutomaticKeyGenerationPeriod`; `None` with `ManualKeyGeneration`.
    pub key_generation: Option<Seconds>,
    /// `DelegationSignerSubmitCommand` / `DelegationSignerRetractCommand`.
    pub ds_submit_command: Option<String>,
    pub ds_retract_command: Option<String>,
}

impl SchedulerConf {
    pub fn from_conf(conf: &crate::formats::conf::Conf) -> SchedulerConf {
        let e = &conf.enforcer;
        SchedulerConf {
            plan: PlanConf::from_conf(conf),
            key_generation: (!e.manual_key_generation).then_some(e.automatic_key_generation_period),
            ds_submit_command: e.ds_submit_command.clone(),
            ds_retract_command: e.ds_retract_command.clone(),
        }
    }

    /// The DS hooks' configured commands.
    pub fn ds_commands(&self) -> DsCommands<'_> {
        DsCommands {
            submit: self.ds_submit_command.as_deref(),
            retract: self.ds_retract_command.as_deref(),
        }
    }
}

/// How one call of [`run_due`] runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Due {
    /// The key generation the command scheduled (`policy import`, `zonelist import`,
    /// `update all`), if any.
    pub waiting: Option<KeyGenTask>,
    /// Whether signconf files are written; `false` leaves them "needed" for the next
    /// run (a DS command moving several keys, crates/cli/src/commands/ds.rs).
    pub signconfs: bool,
}

/// Random salts for every NSEC3 policy (`policy resalt` uses them all; the scheduler's
/// decision only those that are due).
/// `salt` draws one of the given length.
pub fn draw_salts<E>(
    state: &State,
    mut salt: impl FnMut(u8) -> Result<String, E>,
) -> Result<Vec<(PolicyName, String)>, E> {
    let mut salts = Vec::new();
    for (policy, length) in due_for_salt(state, Timestamp(i64::MAX), true) {
        salts.push((policy, salt(length)?));
    }
    Ok(salts)
}

/// Runs every task due now and its effects, with 2.1.12's key generation task:
/// `due.waiting` is the generation the command scheduled, and each run that takes a key
/// from the pool or finds none schedules one ([`KeyGenTask`]). With one worker thread
/// (conf.xml `WorkerThreads` 0 or 1) each one replaces the waiting one, which is carried
/// out between the zones that run before it and those that run after it (name order),
/// then the zones it names run again. With more, an idle worker takes each generation
/// as soon as it is scheduled ([`PlanConf::generations_run_at_once`]): `waiting` is
/// carried out first, and after each round every generation its runs scheduled, in
/// order, then the zones they name run again. Problems with effects are warnings: the
/// decisions stay recorded and the effects are retried by the next run. The
/// scheduler's decisions and their effects are recorded with the actor `scheduler`;
/// key generation keeps `operator`, as for `zone add`. Ends with the interval
/// checkpoint, when one is due.
pub fn run_due<J: Journal, W: World<Error = J::Error>>(
    journal: &mut J,
    world: &mut W,
    conf: &SchedulerConf,
    operator: &Actor,
    due: Due,
) -> Result<Arc<State>, J::Error> {
    let actor = &Actor::Scheduler;
    let manual = conf.key_generation.is_none();
    let at_once = conf.plan.generations_run_at_once();
    let mut waiting = if manual { None } else { due.waiting };
    let mut state = journal.state()?;
    // A generation an interrupted run left without an outcome is resolved first
    // (adopted or abandoned), whether or not a generation is queued now. One another
    // process is carrying out is over when resolve_pending has the journal to itself.
    if !state.pool.pending.is_empty() {
        drop(state);
        match resolve_pending(journal, world, operator) {
            Ok(Some(resolved)) => state = resolved,
            Ok(None) => state = journal.state()?,
            Err(e) => {
                state = journal.state()?;
                world.report(&e);
                world.warn(
                    "WARNING: an interrupted key generation could not be resolved; the next \
                     run tries again.\n",
                );
            }
        }
    }
    // An idle worker takes the command's generation before the zones it flushed run.
    if at_once && let Some(task) = waiting.take() {
        drop(state);
        state = generate_and_flush(journal, world, conf, [task], operator)?.0;
    }
    let mut ds_rounds = 0;
    for _ in 0..MAX_ROUNDS {
        let salts = draw_salts(&state, |n| world.salt(n))?;
        let keygen = (!manual).then_some(waiting.is_some());
        // Let go of the old state first: the append then folds into the journal's state
        // without copying it.
        drop(state);
        let run = EnforcerCommand::RunDue {
            salts,
            conf: conf.plan,
            keygen,
        };
        let done = journal.record(actor, &Command::Enforcer(run))?;
        let mut more = false;
        let mut until = None;
        let mut scheduled = Vec::new();
        for o in &done.decision.outcomes {
            match o {
                Outcome::KeyGenerationScheduled(task) if at_once => scheduled.push(task.clone()),
                Outcome::KeyGenerationScheduled(task) => waiting = Some(task.clone()),
                Outcome::MoreDueNow => more = true,
                Outcome::SignconfUntil(owner) => until = Some(owner.clone()),
                _ => {}
            }
        }
        state = done.state;
        // The signconf tasks of the zones after a waiting key generation, or after the
        // resalt the round stopped before, wait with their enforce runs.
        let generation = waiting.as_ref().map(|_| KEYGEN_OWNER);
        let until = until.as_deref().into_iter().chain(generation).min();
        let (observed, moved) = carry_out(journal, world, conf, &state, due.signconfs, until);
        let mut again = moved;
        if again {
            ds_rounds += 1;
            again = ds_rounds < MAX_DS_ROUNDS;
        }
        // A resalt (and the zones after it) waits for this round's effects.
        again |= more;
        if !observed.is_empty() {
            drop(state);
            let record = Command::Enforcer(EnforcerCommand::Observed(observed));
            state = journal.record(actor, &record)?.state;
        }
        // Generations idle workers took while the round ran: every one, in order.
        if !scheduled.is_empty() {
            drop(state);
            let flushed;
            (state, flushed) = generate_and_flush(journal, world, conf, scheduled, operator)?;
            again |= flushed;
        }
        // A generation scheduled by zones that run before a resalt waits for the next
        // round, which decides with it in the queue (`crate::scheduler::round`).
        if !more && let Some(task) = waiting.take() {
            // Zones left for after the generation, or named by its flush, run next.
            again = true;
            if generate_waiting(journal, world, conf, &task, operator)
                && let Some(zones) = task.flushes(&state)
            {
                drop(state);
                let flush = Command::Enforcer(EnforcerCommand::Flush { zones });
                state = journal.record(actor, &flush)?.state;
            } else {
                drop(state);
                state = journal.state()?;
            }
        }
        if !again {
            break;
        }
    }
    drop(state);
    world.interval_checkpoint();
    journal.state()
}

/// Carries out the effects the state asks for after a round — key material to destroy,
/// signconf files to write (when `signconfs`, but those after `until`), the DS tasks due
/// — and gives back what the world reports, and whether a DS task moved a key.
fn carry_out<J: Journal, W: World<Error = J::Error>>(
    journal: &mut J,
    world: &mut W,
    conf: &SchedulerConf,
    state: &State,
    signconfs: bool,
    until: Option<&str>,
) -> (Vec<Observed>, bool) {
    let now = journal.now(state);
    let mut observed = Vec::new();
    let destroy = material_to_destroy(state);
    if !destroy.is_empty() {
        let mut locators = Vec::new();
        for (key, result) in destroy.iter().zip(world.destroy(&destroy)) {
            match result {
                Ok(()) => locators.push(key.locator),
                Err(e) => world.warn(&format!(
                    "warning: cannot delete key {} from the HSM: {e}\n",
                    key.locator
                )),
            }
        }
        if !locators.is_empty() {
            observed.push(Observed::MaterialDestroyed { locators });
        }
    }
    if signconfs {
        let (files, errors) = signconf_files(state, until);
        for e in errors {
            world.warn(&format!("warning: {e}\n"));
        }
        if !files.is_empty() {
            for result in world.write_signconfs(state, files) {
                match result {
                    Ok(written) => observed.push(Observed::SignconfWritten(written)),
                    Err(e) => world.warn(&format!("warning: {e}\n")),
                }
            }
        }
    }
    let mut moved = false;
    let tasks = ds_tasks_due(state, now, conf.ds_commands());
    // The hooks first (side by side in the real world), then their outcomes in the
    // order of the tasks.
    let calls: Vec<&DsHookCall> = tasks
        .iter()
        .filter_map(|task| match &task.work {
            DsWork::Call(call) => Some(call),
            _ => None,
        })
        .collect();
    let mut hook_results = world.run_ds_hooks(&calls).into_iter();
    for task in tasks {
        let outcome = match &task.work {
            DsWork::Call(call) => match hook_results
                .next()
                .unwrap_or_else(|| Err("the DS hook was not run".to_string()))
            {
                Ok(()) => DsTaskOutcome::Moved {
                    hook: Some(call.command.clone()),
                },
                Err(message) => DsTaskOutcome::Failed { message },
            },
            DsWork::NotConfigured(_) => DsTaskOutcome::Moved { hook: None },
            DsWork::NoMaterial(message) => DsTaskOutcome::Failed {
                message: message.clone(),
            },
        };
        let logged = match &outcome {
            DsTaskOutcome::Failed { message } => Some(message.clone()),
            DsTaskOutcome::Moved { .. } => ds_work_message(&task.work),
        };
        if let Some(message) = logged {
            world.log(super::ports::LogLevel::Error, &ds_log_line(&message));
        }
        moved |= matches!(outcome, DsTaskOutcome::Moved { .. });
        observed.push(Observed::DsTask {
            zone: task.zone,
            key: task.key,
            outcome,
        });
    }
    (observed, moved)
}

/// Carries out `tasks` in order (idle workers' generations,
/// [`PlanConf::generations_run_at_once`]), then runs again the zones the ones that
/// succeeded name, at once (one flush); the state after, and whether zones were flushed.
fn generate_and_flush<J: Journal, W: World<Error = J::Error>>(
    journal: &mut J,
    world: &mut W,
    conf: &SchedulerConf,
    tasks: impl IntoIterator<Item = KeyGenTask>,
    operator: &Actor,
) -> Result<(Arc<State>, bool), J::Error> {
    let mut done = Vec::new();
    for task in tasks {
        if generate_waiting(journal, world, conf, &task, operator) {
            done.push(task);
        }
    }
    let state = journal.state()?;
    match merged_flushes(&state, &done) {
        Some(zones) => {
            drop(state);
            let flush = Command::Enforcer(EnforcerCommand::Flush { zones });
            Ok((journal.record(&Actor::Scheduler, &flush)?.state, true))
        }
        None => Ok((state, false)),
    }
}

/// Carries out a waiting key generation (2.1.12's `hsm_key_factory_generate*_cb`);
/// whether it succeeded (only then are zones run again). A failure is reported as a
/// warning: the command itself went through, and the pool is topped up by a later
/// generation (a zone that found no key schedules one at its 60-second retry).
pub fn generate_waiting<J: Journal, W: World<Error = J::Error>>(
    journal: &mut J,
    world: &mut W,
    conf: &SchedulerConf,
    task: &KeyGenTask,
    operator: &Actor,
) -> bool {
    let Some(period) = conf.key_generation else {
        return true;
    };
    match generate_keys(journal, world, |s| task_plan(s, task, period), operator) {
        Ok(_) => true,
        Err(e) => {
            world.report(&e);
            world.warn(
                "WARNING: key generation did not complete; the key pool will be topped up \
                 by a later key generation.\n",
            );
            false
        }
    }
}

//! What-if (`simulate`): runs the enforcer on a copy of the state, on a simulated clock,
//! and reports what would happen to one zone.
//!
//! The engine does what the shell's enforcer loop does (`run_due` in the cli's
//! `commands/enforce.rs`, and `time leap` without `--time`), through the same
//! decisions, with every side effect replaced by its expected outcome:
//!
//! - key generation as 2.1.12 queues it (`zone add` tops up its policy, each run
//!   schedules one for the keys it takes or misses, an import one for every policy;
//!   the key factory's plan; keys get
//!   synthetic, deterministic locators and public keys, recorded through
//!   `KeyGenerationStarted` / `KeyGenerated`, so key ids and pool ids follow the real
//!   run's; key tags differ, as they come from the public key);
//! - `RunDue` with the same [`PlanConf`] and deterministic salts;
//! - key material destruction succeeds; signconf files are "written" (the text is
//!   rendered and compared with the previous one);
//! - the ds-submit / ds-retract tasks: a configured hook is assumed to succeed; with
//!   none configured the DS is marked submitted (retracted) all the same, as the shell
//!   does (and OpenDNSSEC 2.1.12);
//! - with [`DsAnswers::Auto`] the operator's DS commands (`key ds-submit|ds-seen|
//!   ds-retract|ds-gone --zone Z --keytag T`) are answered for the simulated zone as
//!   soon as a key waits for one; with [`DsAnswers::Manual`] they are listed as
//!   operator actions with their earliest time and the keys keep waiting.
//!
//! Then the clock moves to the next task (zone runs, DS retries, resalts) until the
//! horizon. Pure: the caller's state is cloned, nothing is appended anywhere.

use crate::decide::{Command, Outcome, decide};
use crate::decide_enforce::EnforcerCommand;
use crate::enforce_plan::PlanConf;
use crate::enforcer::ds::DsCommand;
use crate::factory::KeyGenTask;
use crate::resalt::next_resalt;
use crate::simulate_items::{Item, Observer};
use crate::state::State;
use kasp_events::{
    DsAtParent, Event, KeyMaterialDeleted, KeyRole, Policy, Seconds, Timestamp, ZoneName,
};
use std::collections::BTreeSet;

/// Decide/effect rounds per run, as the shell's `run_due`: in all, and started by a DS
/// change.
const MAX_ROUNDS: usize = 1024;
const MAX_DS_ROUNDS: usize = 8;
/// Operator answers per moment (a key can wait for at most one command at a time).
const MAX_ANSWERS: usize = 64;
/// Consecutive scheduler steps at one moment before the simulation gives up.
const MAX_STALLED: usize = 64;
/// Scheduler steps in all.
const MAX_STEPS: usize = 200_000;

/// conf.xml settings the enforcer loop reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimConf {
    pub plan: PlanConf,
    /// `AutomaticKeyGenerationPeriod`; `None` with `ManualKeyGeneration`.
    pub key_generation: Option<Seconds>,
    /// `DelegationSignerSubmitCommand` / `DelegationSignerRetractCommand`.
    pub ds_submit_command: Option<String>,
    pub ds_retract_command: Option<String>,
    /// Repositories with `RequireBackup`.
    pub require_backup: BTreeSet<String>,
}

/// Who answers the DS commands the operator must give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsAnswers {
    /// The simulation gives them as soon as a key of the zone waits for one.
    Auto,
    /// Nobody: they are listed as operator actions.
    Manual,
}

/// A change to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `policy import` of this policy (from another kasp.xml), then `zone set-policy`
    /// to it when the zone uses another, then `enforce --zone Z`.
    Policy(Policy),
    /// `key rollover --zone Z --keytype <role>`.
    Rollover(KeyRole),
}

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub zone: ZoneName,
    pub changes: Vec<Change>,
    /// How far from `now`.
    pub until: Seconds,
    pub ds: DsAnswers,
    pub conf: SimConf,
}

/// Why a simulation could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("zone {0} not found")]
    UnknownZone(String),
    /// A decision refused the change (OpenDNSSEC's text).
    #[error("{0}")]
    Refused(String),
}

/// The result: the simulated events and what they mean for the zone.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The zone as the state spells it.
    pub zone: ZoneName,
    pub start: Timestamp,
    pub end: Timestamp,
    /// The state before anything was simulated.
    pub initial: State,
    /// The state at the end.
    pub state: State,
    /// Every simulated event with its time, in order (a log that was never written).
    pub events: Vec<(Timestamp, Event)>,
    /// The zone's timeline, oldest first.
    pub items: Vec<(Timestamp, Item)>,
    /// Set when the simulation stopped before the horizon, and why.
    pub stopped: Option<String>,
}

/// Runs a simulation from `state` at `now`.
pub fn simulate(state: &State, now: Timestamp, req: &Request) -> Result<Simulation, SimError> {
    let Some(zone) = state.zone(&req.zone) else {
        return Err(SimError::UnknownZone(req.zone.to_string()));
    };
    let name = zone.config.name.clone();
    let end = now.plus(req.until);
    let mut sim = Sim {
        state: state.clone(),
        now,
        events: Vec::new(),
        observer: Observer::new(state, &name),
        req,
        zone: name.clone(),
        serial: 0,
    };
    for change in &req.changes {
        sim.change(change)?;
    }
    sim.operator_answers()?;
    let stopped = sim.run_until(end)?;
    let items = sim.observer.finish(&sim.state);
    Ok(Simulation {
        zone: name,
        start: now,
        end,
        initial: state.clone(),
        state: sim.state,
        events: sim.events,
        items,
        stopped,
    })
}

/// When `time leap` would move the clock to: the earliest of the zones' enforce tasks,
/// the DS retries of zones with keys in submit or retract, and the resalts (the
/// shell's task queue).
pub fn next_task(state: &State) -> Option<Timestamp> {
    let zones = state.zones.values().flat_map(|z| {
        let waiting = z
            .model
            .keys
            .iter()
            .any(|k| matches!(k.ds_at_parent, DsAtParent::Submit | DsAtParent::Retract));
        [z.due, z.ds_retry.filter(|_| waiting)]
    });
    let salts = state.policies.values().map(next_resalt);
    zones.chain(salts).flatten().min()
}

/// When `time leap` moves the clock to from `now`: [`next_task`], or the earlier due
/// time of an enforce task a deleted zone left queued ([`State::tasks_left`]), which
/// runs and does nothing (the daemon need not wake for it).
pub fn next_leap(state: &State, now: Timestamp) -> Option<Timestamp> {
    let left = state.tasks_left_after(now).map(|(_, due)| due);
    next_task(state).into_iter().chain(left).min()
}

pub use crate::ds_tasks::ds_retry_after;

/// The simulation under way (its effects are in `simulate_effects`).
pub(crate) struct Sim<'a> {
    pub(crate) state: State,
    pub(crate) now: Timestamp,
    pub(crate) events: Vec<(Timestamp, Event)>,
    pub(crate) observer: Observer,
    pub(crate) req: &'a Request,
    pub(crate) zone: ZoneName,
    /// Counter for synthetic locators and salts.
    pub(crate) serial: u64,
}

impl Sim<'_> {
    /// Decides `command` at the current time and folds its events.
    pub(crate) fn run(&mut self, command: Command) -> Result<(), SimError> {
        let d =
            decide(&self.state, &command, self.now).map_err(|r| SimError::Refused(r.message))?;
        self.append(d.events);
        Ok(())
    }

    pub(crate) fn enforcer(&mut self, command: EnforcerCommand) -> Result<(), SimError> {
        self.run(Command::Enforcer(command))
    }

    fn append(&mut self, events: Vec<Event>) {
        for e in events {
            self.state.apply_event(&e, self.now);
            self.observer.after(&self.state, self.now, &e);
            self.events.push((self.now, e));
        }
    }

    fn change(&mut self, change: &Change) -> Result<(), SimError> {
        let zone = self.zone.clone();
        match change {
            Change::Policy(policy) => {
                self.observer.push(
                    self.now,
                    Item::Change(format!("policy import of policy {}", policy.name)),
                );
                let import = Command::ImportPolicies {
                    policies: vec![policy.clone()],
                    remove_missing: false,
                };
                let d = decide(&self.state, &import, self.now)
                    .map_err(|r| SimError::Refused(r.message))?;
                if !d.events.is_empty() {
                    self.append(d.events);
                    self.enforcer(EnforcerCommand::Flush { zones: None })?;
                    self.run_due_with(Some(KeyGenTask::All))?;
                }
                let on = self.state.zone(&zone).map(|z| z.config.policy.clone());
                if on.as_ref() != Some(&policy.name) {
                    self.observer.push(
                        self.now,
                        Item::Change(format!(
                            "zone set-policy --zone {zone} --policy {}",
                            policy.name
                        )),
                    );
                    self.run(Command::SetZonePolicy {
                        zone: zone.clone(),
                        policy: policy.name.clone(),
                    })?;
                }
                self.observer
                    .push(self.now, Item::Change(format!("enforce --zone {zone}")));
                self.enforcer(EnforcerCommand::Flush {
                    zones: Some(vec![zone]),
                })?;
                self.run_due()
            }
            Change::Rollover(role) => {
                self.observer.push(
                    self.now,
                    Item::Change(format!(
                        "key rollover --zone {zone} --keytype {}",
                        role.as_str()
                    )),
                );
                self.enforcer(EnforcerCommand::Rollover {
                    zones: vec![zone],
                    roles: vec![*role],
                })?;
                self.enforcer(EnforcerCommand::Flush { zones: None })?;
                self.run_due()
            }
        }
    }

    /// Leaps from task to task until the next one lies beyond `end`.
    fn run_until(&mut self, end: Timestamp) -> Result<Option<String>, SimError> {
        let mut stalled = 0;
        for _ in 0..MAX_STEPS {
            let Some(next) = next_leap(&self.state, self.now) else {
                return Ok(None);
            };
            let to = next.max(self.now);
            if to > end {
                return Ok(None);
            }
            if to == self.now {
                stalled += 1;
                if stalled > MAX_STALLED {
                    return Ok(Some(format!(
                        "the scheduler makes no progress at {}",
                        self.now
                    )));
                }
            } else {
                stalled = 0;
            }
            self.now = to;
            self.run_due()?;
            self.operator_answers()?;
        }
        Ok(Some(format!(
            "more than {MAX_STEPS} scheduler steps before {end}"
        )))
    }

    /// The shell's `run_due` (`run_due_with`): rounds of RunDue and their effects,
    /// each followed by the key generation the runs scheduled (or `waiting`) and the
    /// flush it asks for; with two or more worker threads, `waiting` first and every
    /// generation the runs scheduled ([`PlanConf::generations_run_at_once`]).
    pub(crate) fn run_due_with(&mut self, waiting: Option<KeyGenTask>) -> Result<(), SimError> {
        let manual = self.req.conf.key_generation.is_none();
        let at_once = self.req.conf.plan.generations_run_at_once();
        let mut waiting = if manual { None } else { waiting };
        if at_once && let Some(task) = waiting.take() {
            self.generate_and_flush(&[task])?;
        }
        let mut ds_rounds = 0;
        for _ in 0..MAX_ROUNDS {
            let salts = self.salts();
            let conf = self.req.conf.plan;
            let keygen = (!manual).then_some(waiting.is_some());
            let d = decide(
                &self.state,
                &Command::Enforcer(EnforcerCommand::RunDue {
                    salts,
                    conf,
                    keygen,
                }),
                self.now,
            )
            .map_err(|r| SimError::Refused(r.message))?;
            self.append(d.events);
            let mut more = false;
            let mut until = None;
            let mut scheduled = Vec::new();
            for o in d.outcomes {
                match o {
                    Outcome::KeyGenerationScheduled(task) if at_once => scheduled.push(task),
                    Outcome::KeyGenerationScheduled(task) => waiting = Some(task),
                    Outcome::MoreDueNow => more = true,
                    Outcome::SignconfUntil(owner) => until = Some(owner),
                    _ => {}
                }
            }
            let mut facts: Vec<Event> = Vec::new();
            let destroying = self.state.pool.destroying();
            if !destroying.is_empty() {
                facts.push(
                    KeyMaterialDeleted {
                        locators: destroying,
                    }
                    .into(),
                );
            }
            let generation = waiting.as_ref().map(|_| crate::factory::KEYGEN_OWNER);
            let until = until.as_deref().into_iter().chain(generation).min();
            facts.extend(self.signconfs(until));
            let ds = self.ds_tasks();
            let mut again = ds.iter().any(|e| matches!(e, Event::DsStateChanged(_)));
            if again {
                ds_rounds += 1;
                again = ds_rounds < MAX_DS_ROUNDS;
            }
            again |= more;
            facts.extend(ds);
            if !facts.is_empty() {
                self.enforcer(EnforcerCommand::Record { events: facts })?;
            }
            if !scheduled.is_empty() {
                again |= self.generate_and_flush(&scheduled)?;
            }
            if !more && let Some(task) = waiting.take() {
                again = true;
                self.generate(&task)?;
                if let Some(zones) = task.flushes(&self.state) {
                    self.enforcer(EnforcerCommand::Flush { zones })?;
                }
            }
            if !again {
                break;
            }
        }
        Ok(())
    }

    /// Carries out `tasks` in order, then flushes the zones they name (once); whether
    /// it flushed any.
    fn generate_and_flush(&mut self, tasks: &[KeyGenTask]) -> Result<bool, SimError> {
        for task in tasks {
            self.generate(task)?;
        }
        match crate::factory::merged_flushes(&self.state, tasks) {
            Some(zones) => {
                self.enforcer(EnforcerCommand::Flush { zones })?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// [`Self::run_due_with`] with no key generation waiting.
    pub(crate) fn run_due(&mut self) -> Result<(), SimError> {
        self.run_due_with(None)
    }

    /// The operator's DS commands for the simulated zone: answered (auto) or listed.
    fn operator_answers(&mut self) -> Result<(), SimError> {
        for _ in 0..MAX_ANSWERS {
            let Some((command, key_tag)) = self.first_waiting() else {
                return Ok(());
            };
            if self.req.ds == DsAnswers::Manual {
                let waiting = self.observer.waiting(&self.state, &self.zone);
                for w in waiting {
                    self.observer.announce(self.now, w);
                }
                return Ok(());
            }
            if !self.answer(command, key_tag)? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// The first key of the zone that waits for an operator's DS command.
    fn first_waiting(&self) -> Option<(DsCommand, u16)> {
        let zone = self.state.zone(&self.zone)?;
        zone.model
            .keys
            .iter()
            .find_map(|k| waiting_for(k.ds_at_parent).map(|c| (c, k.key_tag)))
    }
}

/// The operator command a key waits for, if any.
pub fn waiting_for(ds: DsAtParent) -> Option<DsCommand> {
    match ds {
        DsAtParent::Submit => Some(DsCommand::Submit),
        DsAtParent::Submitted => Some(DsCommand::Seen),
        DsAtParent::Retract => Some(DsCommand::Retract),
        DsAtParent::Retracted => Some(DsCommand::Gone),
        DsAtParent::Unsubmitted | DsAtParent::Seen => None,
    }
}

//! What-if (`simulate`): runs the enforcer on a copy of the state, on a simulated clock,
//! and reports what would happen to one zone.
//!
//! It runs the scheduler's own loop ([`crate::scheduler::run_due`], and leaps as `time
//! leap` without `--time` does) over a journal and a world in memory
//! (`whatif/ports.rs`), so through the same decisions, with every side effect replaced
//! by its expected outcome:
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

use crate::decide::Command;
use crate::decide::enforcer::EnforcerCommand;
use crate::enforcer::ds::DsCommand;
use crate::scheduler::key_factory::KeyGenTask;
use crate::scheduler::{Due, SchedulerConf, run_due};
use crate::state::State;
use crate::whatif::items::{Item, Observer};
use crate::whatif::ports::{SimJournal, SimWorld};
use kasp_events::{Actor, DsAtParent, Event, KeyRole, Policy, Seconds, Timestamp, ZoneName};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Operator answers per moment (a key can wait for at most one command at a time).
const MAX_ANSWERS: usize = 64;
/// Consecutive scheduler steps at one moment before the simulation gives up.
const MAX_STALLED: usize = 64;
/// Scheduler steps in all.
const MAX_STEPS: usize = 200_000;

/// conf.xml settings the what-if reads: the scheduler's, and the repositories with
/// `RequireBackup`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimConf {
    pub scheduler: SchedulerConf,
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
        journal: SimJournal {
            state: Arc::new(state.clone()),
            now,
            events: Vec::new(),
            observer: Observer::new(state, &name),
        },
        world: SimWorld {
            conf: &req.conf,
            serial: 0,
        },
        req,
        zone: name.clone(),
    };
    for change in &req.changes {
        sim.change(change)?;
    }
    sim.operator_answers()?;
    let stopped = sim.run_until(end)?;
    let journal = sim.journal;
    let items = journal.observer.finish(&journal.state);
    Ok(Simulation {
        zone: name,
        start: now,
        end,
        initial: state.clone(),
        state: Arc::unwrap_or_clone(journal.state),
        events: journal.events,
        items,
        stopped,
    })
}

pub use crate::scheduler::{next_leap, next_task};

pub use crate::scheduler::ds::ds_retry_after;

/// The simulation under way: the scheduler's journal and world in memory
/// (`whatif/ports.rs`), the request and the zone it follows.
pub(crate) struct Sim<'a> {
    pub(crate) journal: SimJournal,
    pub(crate) world: SimWorld<'a>,
    pub(crate) req: &'a Request,
    pub(crate) zone: ZoneName,
}

impl Sim<'_> {
    /// Decides `command` at the current time and folds its events.
    pub(crate) fn run(&mut self, command: Command) -> Result<(), SimError> {
        self.journal.decide(&command).map(drop)
    }

    pub(crate) fn enforcer(&mut self, command: EnforcerCommand) -> Result<(), SimError> {
        self.run(Command::Enforcer(command))
    }

    fn state(&self) -> &State {
        &self.journal.state
    }

    fn push(&mut self, item: Item) {
        self.journal.observer.push(self.journal.now, item);
    }

    fn change(&mut self, change: &Change) -> Result<(), SimError> {
        let zone = self.zone.clone();
        match change {
            Change::Policy(policy) => {
                self.push(Item::Change(format!(
                    "policy import of policy {}",
                    policy.name
                )));
                let import = Command::ImportPolicies {
                    policies: vec![policy.clone()],
                    remove_missing: false,
                };
                if !self.journal.decide(&import)?.events.is_empty() {
                    self.enforcer(EnforcerCommand::Flush { zones: None })?;
                    self.run_due_with(Some(KeyGenTask::All))?;
                }
                let on = self.state().zone(&zone).map(|z| z.config.policy.clone());
                if on.as_ref() != Some(&policy.name) {
                    self.push(Item::Change(format!(
                        "zone set-policy --zone {zone} --policy {}",
                        policy.name
                    )));
                    self.run(Command::SetZonePolicy {
                        zone: zone.clone(),
                        policy: policy.name.clone(),
                    })?;
                }
                self.push(Item::Change(format!("enforce --zone {zone}")));
                self.enforcer(EnforcerCommand::Flush {
                    zones: Some(vec![zone]),
                })?;
                self.run_due()
            }
            Change::Rollover(role) => {
                self.push(Item::Change(format!(
                    "key rollover --zone {zone} --keytype {}",
                    role.as_str()
                )));
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
            let now = self.journal.now;
            let Some(next) = next_leap(self.state(), now) else {
                return Ok(None);
            };
            let to = next.max(now);
            if to > end {
                return Ok(None);
            }
            if to == now {
                stalled += 1;
                if stalled > MAX_STALLED {
                    return Ok(Some(format!("the scheduler makes no progress at {now}")));
                }
            } else {
                stalled = 0;
            }
            self.journal.now = to;
            self.run_due()?;
            self.operator_answers()?;
        }
        Ok(Some(format!(
            "more than {MAX_STEPS} scheduler steps before {end}"
        )))
    }

    /// The scheduler's loop ([`run_due`]) on the simulated journal and world.
    fn run_loop(&mut self, due: Due) -> Result<(), SimError> {
        let conf = &self.req.conf.scheduler;
        run_due(
            &mut self.journal,
            &mut self.world,
            conf,
            &Actor::Scheduler,
            due,
        )
        .map(drop)
    }

    /// What is due, with `waiting` as the key generation the change scheduled.
    pub(crate) fn run_due_with(&mut self, waiting: Option<KeyGenTask>) -> Result<(), SimError> {
        self.run_loop(Due {
            waiting,
            signconfs: true,
        })
    }

    /// What is due, with the signconf files left for the run that follows (a DS
    /// command's changed zones before its flush of every zone).
    pub(crate) fn run_due_signconf_later(&mut self) -> Result<(), SimError> {
        self.run_loop(Due {
            waiting: None,
            signconfs: false,
        })
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
                let waiting = self.journal.observer.waiting(self.state(), &self.zone);
                for w in waiting {
                    self.journal.observer.announce(self.journal.now, w);
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
        let zone = self.state().zone(&self.zone)?;
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

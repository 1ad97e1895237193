//! What-if (`simulate`): runs the enforcer on a copy of the state, on a simulated clock,
//! and reports what would happen to one zone.
//!
//! The engine does what the shell's enforcer loop does (`run_due` in the cli's
//! `commands/enforce.rs`, and `time leap` without `--time`), through the same
//! decisions, with every side effect replaced by its expected outcome:
//!
//! - key top-up before and after the rounds (the key factory's plan; keys get
//!   synthetic, deterministic locators and public keys, recorded through
//!   `KeyGenerationStarted` / `KeyGenerated`, so key ids and pool ids follow the real
//!   run's; key tags differ, as they come from the public key);
//! - `RunDue` with the same [`PlanConf`] and deterministic salts;
//! - key material destruction succeeds; signconf files are "written" (the text is
//!   rendered and compared with the previous one);
//! - the ds-submit / ds-retract tasks: a configured hook is assumed to succeed, a
//!   missing one is recorded as failed and retried as the shell does;
//! - with [`DsAnswers::Auto`] the operator's DS commands (`key ds-submit|ds-seen|
//!   ds-retract|ds-gone --zone Z --keytag T`) are answered for the simulated zone as
//!   soon as a key waits for one; with [`DsAnswers::Manual`] they are listed as
//!   operator actions with their earliest time and the keys keep waiting.
//!
//! Then the clock moves to the next task (zone runs, DS retries, resalts) until the
//! horizon. Pure: the caller's state is cloned, nothing is appended anywhere.

use crate::decide::{Command, decide};
use crate::decide_enforce::EnforcerCommand;
use crate::decide_keys::KeyCommand;
use crate::enforce_plan::PlanConf;
use crate::enforcer::ds::{
    DsArgs, DsCommand, DsHook, DsStatus, DsWorld, DsZone, ds_command, due_for_parent,
};
use crate::enforcer::model::HsmKeyId;
use crate::resalt::{due_for_salt, next_resalt};
use crate::simulate_items::{Item, Observer};
use crate::state::State;
use kasp_events::{
    DsAtParent, DsHookFailed, DsStateChanged, DsTrigger, Event, KeyMaterialDeleted, KeyRole,
    Locator, Policy, Seconds, SignconfWritten, Timestamp, ZoneName,
};
use std::collections::BTreeSet;

/// Decide/effect rounds per run, as the shell's `run_due`.
const MAX_ROUNDS: usize = 8;
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

/// The retry time after `failures` consecutive DS hook failures: one minute,
/// doubling, at most a day (the shell's `effects::retry_after`).
pub fn ds_retry_after(now: Timestamp, failures: u32) -> Timestamp {
    let delay = 60u32.saturating_mul(1 << failures.min(11)).min(86_400);
    now.plus(Seconds(delay))
}

struct Sim<'a> {
    state: State,
    now: Timestamp,
    events: Vec<(Timestamp, Event)>,
    observer: Observer,
    req: &'a Request,
    zone: ZoneName,
    /// Counter for synthetic locators and salts.
    serial: u64,
}

impl Sim<'_> {
    /// Decides `command` at the current time and folds its events.
    fn run(&mut self, command: Command) -> Result<(), SimError> {
        let d =
            decide(&self.state, &command, self.now).map_err(|r| SimError::Refused(r.message))?;
        self.append(d.events);
        Ok(())
    }

    fn enforcer(&mut self, command: EnforcerCommand) -> Result<(), SimError> {
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
                    self.run_due()?;
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
            let Some(next) = next_task(&self.state) else {
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

    /// The shell's `run_due`: top-up, rounds of RunDue and their effects, top-up.
    fn run_due(&mut self) -> Result<(), SimError> {
        self.top_up()?;
        for _ in 0..MAX_ROUNDS {
            let salts = self.salts();
            let conf = self.req.conf.plan;
            self.enforcer(EnforcerCommand::RunDue { salts, conf })?;
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
            facts.extend(self.signconfs());
            let ds = self.ds_tasks();
            let again = ds.iter().any(|e| matches!(e, Event::DsStateChanged(_)));
            facts.extend(ds);
            if facts.is_empty() {
                break;
            }
            self.enforcer(EnforcerCommand::Record { events: facts })?;
            if !again {
                break;
            }
        }
        self.top_up()
    }

    /// Deterministic salts for every NSEC3 policy (the decision uses the due ones).
    fn salts(&mut self) -> Vec<(kasp_events::PolicyName, String)> {
        let mut salts = Vec::new();
        for (policy, length) in due_for_salt(&self.state, Timestamp(i64::MAX), true) {
            self.serial += 1;
            let byte = (self.serial % 256) as u8;
            let salt: String = (0..length).map(|_| format!("{byte:02x}")).collect();
            salts.push((policy, salt));
        }
        salts
    }

    /// `SignconfWritten` for every zone that needs a signconf.
    fn signconfs(&self) -> Vec<Event> {
        self.state
            .zones_in_order()
            .into_iter()
            .filter(|z| z.signconf_needed)
            .map(|z| {
                let digest = crate::simulate_items::signconf_text(&self.state, z)
                    .map(|t| crate::simulate_items::digest(&t))
                    .unwrap_or_default();
                SignconfWritten {
                    zone: z.config.name.clone(),
                    path: z.config.signconf_path.clone(),
                    digest,
                    notify: Ok(()),
                }
                .into()
            })
            .collect()
    }

    /// The ds-submit / ds-retract tasks (the shell's `effects::ds_tasks`).
    fn ds_tasks(&self) -> Vec<Event> {
        let mut events = Vec::new();
        let conf = &self.req.conf;
        for zone in self.state.zones_in_order() {
            if zone.ds_retry.is_some_and(|t| t > self.now) {
                continue;
            }
            let due = due_for_parent(zone.config.name.as_str(), &zone.model);
            for change in due.submit.iter().chain(&due.retract) {
                let (Some(hook), Some(key)) = (change.hook, zone.model.key(change.key)) else {
                    continue;
                };
                let (command, element) = match hook {
                    DsHook::Submit => (&conf.ds_submit_command, "Submit"),
                    DsHook::Retract => (&conf.ds_retract_command, "Retract"),
                };
                let material = key.hsm.and_then(|h| self.state.pool.by_id(h.0));
                let failure = match (material, command) {
                    (None, _) => Some(format!("key {} has no key material", key.id)),
                    (Some(_), None) => Some(format!(
                        "No \"DelegationSigner{element}Command\" configured."
                    )),
                    (Some(_), Some(_)) => None,
                };
                events.push(match failure {
                    None => DsStateChanged {
                        zone: zone.config.name.clone(),
                        key: key.id,
                        from: change.from,
                        to: change.to,
                        trigger: DsTrigger::Task,
                        hook: command.clone(),
                    }
                    .into(),
                    Some(message) => DsHookFailed {
                        zone: zone.config.name.clone(),
                        key: key.id,
                        hook: element.to_ascii_lowercase(),
                        message,
                        retry_at: ds_retry_after(self.now, zone.ds_failures),
                    }
                    .into(),
                });
            }
        }
        events
    }

    /// The automatic key top-up (the shell's `keys::automatic_top_up`).
    fn top_up(&mut self) -> Result<(), SimError> {
        let Some(period) = self.req.conf.key_generation else {
            return Ok(());
        };
        let policies: Vec<_> = self
            .state
            .policies_in_order()
            .into_iter()
            .map(|v| v.policy.name.clone())
            .collect();
        let needs = crate::factory::plan(&self.state, &policies, period);
        for need in needs.iter().filter(|n| n.missing() > 0) {
            let keys: Vec<(Locator, kasp_events::KeySpec)> = (0..need.missing())
                .map(|_| (self.fresh_locator(), need.spec.clone()))
                .collect();
            self.run(Command::Keys(KeyCommand::StartGeneration {
                keys: keys.clone(),
            }))?;
            let require_backup = self.req.conf.require_backup.contains(&need.spec.repository);
            let outcomes = keys
                .iter()
                .map(|(locator, _)| KeyCommand::Generated {
                    locator: *locator,
                    public_key: synthetic_public_key(locator),
                    require_backup,
                    adopted: false,
                })
                .collect();
            self.run(Command::Keys(KeyCommand::Batch(outcomes)))?;
        }
        Ok(())
    }

    /// A locator no key or generation of the pool uses.
    fn fresh_locator(&mut self) -> Locator {
        loop {
            self.serial += 1;
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(b"kasp-sim");
            bytes[8..].copy_from_slice(&self.serial.to_be_bytes());
            let l = Locator(bytes);
            if !self.state.pool.keys.contains_key(&l) && !self.state.pool.pending.contains_key(&l) {
                return l;
            }
        }
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

    /// `key <command> --zone Z --keytag T` as the shell's `ds.rs` runs it (a configured
    /// hook succeeds). Whether anything changed.
    fn answer(&mut self, command: DsCommand, key_tag: u16) -> Result<bool, SimError> {
        let zone_text = self.zone.to_string();
        let tag_text = key_tag.to_string();
        let result = {
            let zones: Vec<DsZone<'_>> = self
                .state
                .zones_in_order()
                .into_iter()
                .map(|z| DsZone {
                    name: z.config.name.as_str(),
                    model: &z.model,
                })
                .collect();
            let locator_text: Vec<(HsmKeyId, String)> = self
                .state
                .pool
                .by_id
                .iter()
                .map(|(id, l)| (HsmKeyId(*id), l.to_string()))
                .collect();
            let locators: Vec<(HsmKeyId, &str)> =
                locator_text.iter().map(|(h, l)| (*h, l.as_str())).collect();
            let world = DsWorld {
                zones: &zones,
                locators: &locators,
            };
            let args = DsArgs {
                zone: Some(&zone_text),
                keytag: Some(&tag_text),
                ..DsArgs::default()
            };
            ds_command(command, &args, &world)
        };
        self.observer.push(
            self.now,
            Item::Answered(format!(
                "{} --zone {} --keytag {}",
                command.name(),
                self.zone,
                key_tag
            )),
        );
        let conf = &self.req.conf;
        let events: Vec<Event> = result
            .changes
            .iter()
            .filter_map(|c| {
                let zone = ZoneName::new(&c.zone).ok()?;
                let hook = match c.hook {
                    Some(DsHook::Submit) => conf.ds_submit_command.clone(),
                    Some(DsHook::Retract) => conf.ds_retract_command.clone(),
                    None => None,
                };
                Some(
                    DsStateChanged {
                        zone,
                        key: c.key,
                        from: c.from,
                        to: c.to,
                        trigger: DsTrigger::Command,
                        hook,
                    }
                    .into(),
                )
            })
            .collect();
        let changed = !events.is_empty();
        if changed {
            self.enforcer(EnforcerCommand::Record { events })?;
        }
        if result.status == DsStatus::Exit(0) && result.flush_all {
            self.enforcer(EnforcerCommand::Flush { zones: None })?;
            self.run_due()?;
        } else if changed {
            self.run_due()?;
        }
        Ok(changed)
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

/// A stand-in DNSKEY public key, fixed by the locator (only the key tag depends on it).
fn synthetic_public_key(locator: &Locator) -> Vec<u8> {
    let mut key = vec![3, 1, 0, 1];
    let mut x: u64 = 0xcbf2_9ce4_8422_2325;
    for b in locator.0 {
        x = (x ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    for _ in 0..8 {
        x = (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        key.extend_from_slice(&x.to_be_bytes());
    }
    key
}

//! The views folded from the log: what the enforcer knows at a given record.
//!
//! `apply` copies facts out of events. It never checks rules (that was `decide`'s job
//! before the event was appended) and never fails: an event that refers to something
//! missing is a no-op for that part, so replay of any valid chain always completes.

pub(crate) mod enforce;
pub mod pool;
mod takeover;

use crate::enforcer::model::ZoneModel;
use crate::state::pool::KeyPool;
use kasp_events::{
    ClockMode, Event, InstanceId, Policy, PolicyName, Record, Seq, Timestamp, ZoneConfig, ZoneName,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bump whenever `apply` or the shape of `State` changes: stored snapshots with another
/// version are ignored and the state is rebuilt from the log.
pub const PROJECTION_VERSION: u32 = 11;

/// A policy as the views hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyView {
    /// Creation order (OpenDNSSEC lists policies in database order).
    pub id: u64,
    pub policy: Policy,
    pub created: Timestamp,
    pub updated: Timestamp,
    /// The current NSEC3 salt (lower-case hex) and when it was set; `None` until the
    /// first resalt.
    pub salt: Option<(String, Timestamp)>,
}

/// A zone as the views hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneView {
    /// Creation order (OpenDNSSEC lists zones in database order).
    pub id: u64,
    pub config: ZoneConfig,
    /// When the enforcer should next look at the zone; `None` when nothing is scheduled
    /// (a suspended zone). `Some(Timestamp(0))` means as soon as possible.
    /// `zone.next_change` as 2.1 stores and shows it (`key list`, `zone list`).
    pub next_change: Option<Timestamp>,
    /// When the zone's enforce task is due (the scheduler's queue); `None` = no task.
    /// Usually equal to `next_change`, but a run that changed nothing reschedules the
    /// task without storing the time (2.1's `zone_updated`).
    pub due: Option<Timestamp>,
    pub added: Timestamp,
    /// The zone's keys as the state machine sees them (docs/state-machine.md, Zone, Keys,
    /// Records and Successor relations).
    pub model: ZoneModel,
    /// The signconf must be (re)written (`signconf_needs_writing`).
    pub signconf_needed: bool,
    /// A failed DS hook is retried at this time.
    pub ds_retry: Option<Timestamp>,
    /// Consecutive DS hook failures (for the retry back-off).
    pub ds_failures: u32,
}

/// Everything the enforcer knows, folded from the log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The last record applied.
    pub last_seq: Option<Seq>,
    pub instance: Option<InstanceId>,
    pub clock: Option<ClockMode>,
    /// Policies by name.
    pub policies: BTreeMap<PolicyName, PolicyView>,
    /// Zones by [`ZoneName::key`].
    pub zones: BTreeMap<String, ZoneView>,
    /// HSM keys, generations in flight, repositories.
    pub pool: KeyPool,
    /// The clock as `time leap` last set it (simulated and testing clocks).
    pub clock_now: Option<Timestamp>,
    /// The latest time a record carries: the log's time never goes back before it on
    /// the system clock ([`State::reading`]).
    pub last_at: Option<Timestamp>,
    /// Audit keys, the checkpoint interval and the last signed checkpoint.
    pub audit: crate::decide::audit::AuditView,
    /// Enforce tasks deleted zones left queued (`ZoneTaskLeft`), by [`ZoneName::key`]:
    /// the name and the due time. One that is due has run (and done nothing); it is
    /// dropped when a simulated clock passes it or a zone of that name is added.
    pub tasks_left: BTreeMap<String, (ZoneName, Timestamp)>,
    /// The digest of the OpenDNSSEC database state last imported (`OdsImported`), in a
    /// log made by `setup --import-ods` or a shadow log.
    pub ods_digest: Option<String>,
    next_id: u64,
    /// Next free zone key id.
    pub(crate) next_key_id: u64,
}

/// Replay (`kasp_events::replay`) folds the log into State and snapshots it.
impl kasp_events::Projection for State {
    const VERSION: u32 = PROJECTION_VERSION;

    fn apply(&mut self, record: &Record) {
        State::apply(self, record);
    }

    fn apply_owned(&mut self, record: Record) {
        State::apply_owned(self, record);
    }

    fn last_seq(&self) -> Option<Seq> {
        self.last_seq
    }

    fn clock_leapt_to(&self) -> Option<Timestamp> {
        self.clock_now
    }
}

impl State {
    /// Folds one record into the views.
    pub fn apply(&mut self, record: &Record) {
        self.last_seq = Some(record.seq);
        self.apply_event(&record.event, record.at);
    }

    /// Folds one record, taking it (replay moves events instead of cloning them).
    pub fn apply_owned(&mut self, record: Record) {
        self.last_seq = Some(record.seq);
        self.apply_event_owned(record.event, record.at);
    }

    /// Folds one event that happened at `at` (also used by `decide` to look ahead
    /// within a compound command).
    pub fn apply_event(&mut self, event: &Event, at: Timestamp) {
        self.apply_event_owned(event.clone(), at);
    }

    /// Folds one event, taking it.
    pub fn apply_event_owned(&mut self, event: Event, at: Timestamp) {
        self.last_at = self.last_at.max(Some(at));
        match event {
            Event::LogCreated(e) => {
                self.instance = Some(e.instance);
                self.clock = Some(e.clock);
            }
            Event::PolicyCreated(e) => self.add_policy(e.policy, None, at),
            Event::PolicyUpdated(e) => {
                self.mark_signconf(&e.policy.name);
                if let Some(v) = self.policies.get_mut(&e.policy.name) {
                    v.policy = e.policy;
                    v.updated = at;
                }
            }
            Event::SaltChanged(e) => {
                self.mark_signconf(&e.policy);
                if let Some(v) = self.policies.get_mut(&e.policy) {
                    v.salt = Some((e.salt, at));
                }
            }
            Event::PolicyDeleted(e) => {
                self.policies.remove(&e.name);
            }
            Event::ZoneAdded(e) => {
                // 2.1's schedule_task merges the new zone's task with a left one.
                self.tasks_left.remove(&e.zone.name.key());
                let id = self.take_id();
                self.zones.insert(
                    e.zone.name.key(),
                    ZoneView {
                        id,
                        config: e.zone,
                        next_change: if e.suspended {
                            None
                        } else {
                            Some(Timestamp(0))
                        },
                        due: if e.suspended {
                            None
                        } else {
                            Some(Timestamp(0))
                        },
                        added: at,
                        model: ZoneModel::empty(),
                        signconf_needed: false,
                        ds_retry: None,
                        ds_failures: 0,
                    },
                );
            }
            Event::ZoneUpdated(e) => {
                if let Some(z) = self.zones.get_mut(&e.zone.name.key()) {
                    z.config = e.zone;
                }
            }
            Event::ZonePolicyChanged(e) => {
                if let Some(z) = self.zones.get_mut(&e.zone.key()) {
                    z.config.policy = e.to;
                }
            }
            Event::ZoneDeleted(e) => {
                if let Some(z) = self.zones.remove(&e.zone.key()) {
                    self.release_keys(&z.model);
                }
            }
            Event::ZoneTaskLeft(e) => {
                self.tasks_left.insert(e.zone.key(), (e.zone, e.due));
            }
            e @ (Event::ZoneEnforced(_)
            | Event::DsStateChanged(_)
            | Event::DsHookFailed(_)
            | Event::RolloverRequested(_)
            | Event::EnforceRequested(_)
            | Event::SignconfRequested(_)
            | Event::SignconfWritten(_)
            | Event::KeyMaterialDeleted(_)
            | Event::KeysPurged(_)
            | Event::KeyImported(_)
            | Event::ClockAdvanced(_)
            | Event::ClockReleased(_)) => self.apply_enforcer(e, at),
            e @ (Event::KeyGenerationStarted(_)
            | Event::KeyGenerated(_)
            | Event::KeyGenerationAbandoned(_)
            | Event::BackupPrepared(_)
            | Event::BackupCommitted(_)
            | Event::BackupRolledBack(_)
            | Event::RepositoriesConfigured(_)) => self.pool.apply(e, at),
            Event::OdsImported(e) => {
                self.start_import();
                self.ods_digest = Some(e.digest);
            }
            Event::OdsShadowed(_) => {}
            e @ (Event::OdsPolicyImported(_)
            | Event::OdsHsmKeyImported(_)
            | Event::OdsZoneImported(_)) => self.apply_takeover(e, at),
            e @ (Event::AuditKeyConfigured(_)
            | Event::CheckpointIntervalSet(_)
            | Event::Checkpoint(_)) => {
                let seq = self.last_seq.unwrap_or(Seq(0));
                self.audit.apply(e, seq, at)
            }
        }
    }

    /// A new policy, next in creation order, with its salt if it has one.
    fn add_policy(&mut self, policy: Policy, salt: Option<(String, Timestamp)>, at: Timestamp) {
        let id = self.take_id();
        self.policies.insert(
            policy.name.clone(),
            PolicyView {
                id,
                policy,
                created: at,
                updated: at,
                salt,
            },
        );
    }

    fn take_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The id the next new zone key gets (what an enforcer run would take next).
    pub fn next_key_id(&self) -> kasp_events::KeyId {
        kasp_events::KeyId(self.next_key_id.max(1))
    }

    /// The zone with this name (letter case and a trailing dot do not matter).
    pub fn zone(&self, name: &ZoneName) -> Option<&ZoneView> {
        self.zones.get(&name.key())
    }

    /// Policies in database (creation) order.
    pub fn policies_in_order(&self) -> Vec<&PolicyView> {
        let mut v: Vec<_> = self.policies.values().collect();
        v.sort_by_key(|p| p.id);
        v
    }

    /// Zones in database (creation) order.
    pub fn zones_in_order(&self) -> Vec<&ZoneView> {
        let mut v: Vec<_> = self.zones.values().collect();
        v.sort_by_key(|z| z.id);
        v
    }

    /// The due times of the enforce tasks deleted zones left queued that have not
    /// come at `now`, with the zone names.
    pub fn tasks_left_after(&self, now: Timestamp) -> impl Iterator<Item = (&ZoneName, Timestamp)> {
        self.tasks_left
            .values()
            .filter(move |(_, due)| *due > now)
            .map(|(zone, due)| (zone, *due))
    }

    /// Zones in the order OpenDNSSEC's scheduler runs their tasks due at the same
    /// second: by owner name, compared byte by byte (`strcmp` in common/scheduler/
    /// task.c `cmp_ttuple`, the tie-break of `task_compare_time_then_ttuple`). The
    /// signconf and DS tasks a run schedules are due at once with the same owner, so
    /// they too follow this order.
    pub fn zones_in_task_order(&self) -> Vec<&ZoneView> {
        let mut v: Vec<_> = self.zones.values().collect();
        v.sort_by(|a, b| a.config.name.as_str().cmp(b.config.name.as_str()));
        v
    }

    /// How many zones use a policy.
    pub fn zones_using(&self, policy: &PolicyName) -> usize {
        self.zones
            .values()
            .filter(|z| &z.config.policy == policy)
            .count()
    }

    /// The enforcer's notion of now for this log: the simulated clock if the log has
    /// one; on a testing log the time of the last leap, or the given system time before
    /// any; else the given system time, or the last record's time while the system clock
    /// is behind it.
    pub fn now(&self, system: Timestamp) -> Timestamp {
        self.reading(system).time()
    }

    /// [`State::now`], saying whether the system clock is behind the log: on the system
    /// clock (a production log) the log's time never goes back before its last record
    /// (crates/projector/src/clock.rs). A testing log's clock goes back to the system
    /// clock when its daemon starts again, as OpenDNSSEC's does.
    pub fn reading(&self, system: Timestamp) -> crate::clock::Reading {
        use crate::clock::Reading;
        match self.clock {
            Some(ClockMode::Simulated { start }) => Reading::Now(self.clock_now.unwrap_or(start)),
            Some(ClockMode::Testing) => Reading::Now(self.clock_now.unwrap_or(system)),
            _ => match self.last_at {
                Some(log) if system < log => Reading::Behind { system, log },
                _ => Reading::Now(system),
            },
        }
    }

    /// Whether the log runs on a simulated clock.
    pub fn simulated(&self) -> bool {
        matches!(self.clock, Some(ClockMode::Simulated { .. }))
    }

    /// Whether `time leap` (and `ods-enforcerd --set-time`) may move this log's clock:
    /// a simulated clock, or a log set up for testing. Never a production log.
    pub fn leaps_allowed(&self) -> bool {
        matches!(
            self.clock,
            Some(ClockMode::Simulated { .. } | ClockMode::Testing)
        )
    }

    /// Whether the clock stands still between leaps: a simulated clock, or a testing
    /// log after its first leap (as OpenDNSSEC's clock after `time leap`).
    pub fn clock_stopped(&self) -> bool {
        match self.clock {
            Some(ClockMode::Simulated { .. }) => true,
            Some(ClockMode::Testing) => self.clock_now.is_some(),
            _ => false,
        }
    }

    /// The zone with state key `key` (lower-case name), mutably.
    pub(crate) fn zone_mut(&mut self, name: &ZoneName) -> Option<&mut ZoneView> {
        self.zones.get_mut(&name.key())
    }

    fn mark_signconf(&mut self, policy: &PolicyName) {
        for z in self.zones.values_mut() {
            if &z.config.policy == policy {
                z.signconf_needed = true;
            }
        }
    }

    /// Drops the references of a removed zone's keys to their material
    /// (docs/state-machine.md, Zone lifecycle and rollover requests).
    fn release_keys(&mut self, model: &ZoneModel) {
        for k in &model.keys {
            if let Some(l) = k.hsm.and_then(|h| self.pool.by_id.get(&h.0).copied()) {
                self.pool.drop_ref(&l);
            }
        }
    }
}

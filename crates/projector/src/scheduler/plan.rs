//! `plan(state, now)`: the enforcer runs that are due, as events (docs/state-machine.md,
//! One enforcer run).
//!
//! Every zone whose next run has come is run once at `now` ([`run_zone`]) in the
//! order of OpenDNSSEC's task queue (due time, then zone name: [`due_zones`]), against the key pool as the earlier runs of
//! the same plan left it, so two zones never get the same unused key. Each run is one
//! [`ZoneEnforced`] event, or nothing when it would change nothing at all — so planning
//! twice at the same time without new events in between appends nothing. With
//! automatic key generation and one worker thread, a zone that sorts after a key
//! generation waiting in the queue is left for the plan after it ([`plan_runs_queued`]).
//!
//! Pure: no clock, no I/O. The caller appends the events and then carries out their
//! effects (signconf, key material destruction, DS hooks).

use crate::enforcer::model::{HsmKeyId, KeyId, ZoneModel, has_ksk};
use crate::enforcer::policy::{Allocated, KeySource, Material};
use crate::enforcer::record::RecordType;
use crate::enforcer::run::{KeyStore, RunOutcome, run_zone};
use crate::scheduler::key_factory::{KEYGEN_OWNER, KeyGenTask};
use crate::state::enforce::next_roll_array;
use crate::state::pool::{HsmKeyUse, HsmKeyView, KeyPool};
use crate::state::{State, ZoneView};
use kasp_events::{
    Event, KeyDependency, KeySpec, Locator, NewZoneKey, Policy, PolicyKey, RecordTransition,
    Seconds, StateMachineRun, Timestamp, TransitionRule, ZoneEnforced,
};
use std::collections::{BTreeMap, BTreeSet};

/// conf.xml settings a run reads (docs/state-machine.md, Configuration).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanConf {
    /// `Enforcer/RolloverNotification` (0 when absent).
    pub rollover_notification: Seconds,
    /// `Enforcer/WorkerThreads`: how 2.1.12's scheduler carries out the key generations
    /// the runs schedule ([`PlanConf::generations_run_at_once`]). 0 (the default here)
    /// counts as 1.
    pub worker_threads: u32,
}

impl PlanConf {
    /// The settings of a conf.xml.
    pub fn from_conf(conf: &crate::formats::conf::Conf) -> PlanConf {
        PlanConf {
            rollover_notification: conf.enforcer.rollover_notification.unwrap_or_default(),
            worker_threads: conf.enforcer.worker_threads,
        }
    }

    /// Whether a key generation is carried out as soon as a run schedules it. With one
    /// worker thread (or none), the worker is busy with the zone runs: the generation
    /// waits in the queue, one at a time, each one scheduled replacing the waiting one
    /// ([`KeyGenTask`]). With two or more, an idle worker takes each generation the
    /// moment it is scheduled (`hsm_key_factory_schedule_generate*` signals the
    /// scheduler, common/scheduler/schedule.c `schedule_task`), so none is ever queued to
    /// be replaced: every generation scheduled is carried out, in the order scheduled,
    /// and none holds back the zones that sort after it.
    pub fn generations_run_at_once(&self) -> bool {
        self.worker_threads >= 2
    }
}

/// The zones due at `now`, in run order: OpenDNSSEC's queue pops the task due first,
/// and of tasks due at the same second the one whose owner name sorts first
/// ([`State::zones_in_task_order`]). The order matters when a run changes what the
/// next one finds, e.g. the first run deletes released key material and retries
/// 60 s later while the others run normally.
pub fn due_zones(state: &State, now: Timestamp) -> Vec<&ZoneView> {
    let mut due: Vec<&ZoneView> = state
        .zones_in_task_order()
        .into_iter()
        .filter(|z| z.due.is_some_and(|t| t <= now))
        .collect();
    // Stable: zones due at the same second keep their name order.
    due.sort_by_key(|z| z.due);
    due
}

/// One planned run: the event and the outcome it records (for tests and reports).
#[derive(Debug, Clone)]
pub struct PlannedRun {
    pub event: Option<ZoneEnforced>,
    pub outcome: RunOutcome,
}

/// The events of every run due at `now`.
pub fn plan(state: &State, now: Timestamp, conf: PlanConf) -> Vec<Event> {
    plan_runs(state, now, conf)
        .into_iter()
        .filter_map(|r| r.event.map(Event::ZoneEnforced))
        .collect()
}

/// [`plan`] with the outcome of every run.
pub fn plan_runs(state: &State, now: Timestamp, conf: PlanConf) -> Vec<PlannedRun> {
    plan_runs_queued(state, now, conf, None).0
}

/// The events of the runs due at `now` with 2.1.12's key-generation task in the queue
/// (`keygen`: `None` when key generation is manual, else whether a generation is
/// already waiting), and the generations to carry out (see [`plan_runs_queued`]).
/// `until`: the owner name of another task due now (a policy's resalt) that the zones
/// sorting after it wait for ([`after_owner`]).
pub fn plan_queued(
    state: &State,
    now: Timestamp,
    conf: PlanConf,
    keygen: Option<bool>,
    until: Option<&str>,
) -> (Vec<Event>, Vec<KeyGenTask>) {
    let (runs, scheduled) = plan_runs_until(state, now, conf, keygen, until);
    let events = runs
        .into_iter()
        .filter_map(|r| r.event.map(Event::ZoneEnforced))
        .collect();
    (events, scheduled)
}

/// The runs due at `now`, in order. With automatic key generation (`keygen` is
/// `Some(waiting)`), every key a run takes from the pool or fails to find schedules a
/// generation for that policy key ([`PlanConf::generations_run_at_once`]):
///
/// - with one worker thread, it replaces the one waiting (2.1.12's one queue slot,
///   [`KeyGenTask`]); while a generation waits, a zone due now whose name sorts after
///   [`KEYGEN_OWNER`] is left for the next plan, as 2.1.12 runs the generation first.
///   Returns the runs and the generation scheduled last, if any;
/// - with two or more, an idle worker carries out each one: no zone waits (not even
///   for a generation `keygen` says is waiting), and the runs are returned with every
///   generation they scheduled, in order. 2.1.12 merges two generation tasks (same
///   owner and type) only while one is still queued, which an idle worker never leaves
///   it, so none is merged.
pub fn plan_runs_queued(
    state: &State,
    now: Timestamp,
    conf: PlanConf,
    keygen: Option<bool>,
) -> (Vec<PlannedRun>, Vec<KeyGenTask>) {
    plan_runs_until(state, now, conf, keygen, None)
}

/// [`plan_runs_queued`], leaving also the zones that wait for the task of owner
/// `until` (see [`plan_queued`]) for a later plan.
fn plan_runs_until(
    state: &State,
    now: Timestamp,
    conf: PlanConf,
    keygen: Option<bool>,
    until: Option<&str>,
) -> (Vec<PlannedRun>, Vec<KeyGenTask>) {
    let mut store = PlanStore::new(&state.pool, state.next_key_id);
    let at_once = conf.generations_run_at_once();
    let mut waiting = keygen == Some(true) && !at_once;
    let mut scheduled = Vec::new();
    let mut runs = Vec::new();
    for zone in due_zones(state, now) {
        if waiting && after_owner(zone, now, KEYGEN_OWNER) {
            continue;
        }
        if until.is_some_and(|owner| after_owner(zone, now, owner)) {
            continue;
        }
        store.scheduled.clear();
        if let Some(run) = run_one(state, zone, now, conf, &mut store) {
            runs.push(run);
        }
        if keygen.is_none() {
            continue;
        }
        if at_once {
            scheduled.append(&mut store.scheduled);
        } else if let Some(last) = store.scheduled.pop() {
            waiting = true;
            scheduled = vec![last];
        }
    }
    (runs, scheduled)
}

/// Whether 2.1.12 runs the zone's enforce task after another task due at `now` whose
/// owner is `owner` (a key generation, a policy's resalt): the zone is due at the same
/// second (a flushed zone is due at the moment of the flush, which is now) and its name
/// sorts after the owner (common/scheduler/task.c `task_compare_time_then_ttuple`:
/// time, owner name, then task type, where "enforce" sorts before "hsmkeygen" and
/// "resalt", so a zone named like the owner runs first).
pub fn after_owner(zone: &ZoneView, now: Timestamp, owner: &str) -> bool {
    matches!(zone.due, Some(t) if t == now || t == Timestamp(0))
        && zone.config.name.as_str() > owner
}

/// The run of one zone at `now` (due or not) as [`plan_runs`] would make it if no
/// other zone ran before it in the same plan; `None` if the zone's policy is missing.
/// For previews (`explain`): nothing is appended.
pub fn plan_zone(
    state: &State,
    zone: &ZoneView,
    now: Timestamp,
    conf: PlanConf,
) -> Option<PlannedRun> {
    let mut store = PlanStore::new(&state.pool, state.next_key_id);
    run_one(state, zone, now, conf, &mut store)
}

fn run_one(
    state: &State,
    zone: &ZoneView,
    now: Timestamp,
    conf: PlanConf,
    store: &mut PlanStore<'_>,
) -> Option<PlannedRun> {
    let view = state.policies.get(&zone.config.policy)?;
    store.policy = Some(view.policy.name.clone());
    let model = with_backup(&zone.model, &state.pool);
    let first_key = store.next_key;
    store.released.clear();
    store.destroyed.clear();
    let outcome = run_zone(&model, &view.policy, now, conf.rollover_notification, store);
    let event = to_event(zone, &model, &view.policy, &outcome, store, now, first_key);
    Some(PlannedRun { event, outcome })
}

/// The zone's keys with their backup gate from the pool (docs/state-machine.md, Gates,
/// gate 6).
fn with_backup(model: &ZoneModel, pool: &KeyPool) -> ZoneModel {
    let mut m = model.clone();
    for k in m.keys.iter_mut() {
        k.backup_pending = k
            .hsm
            .and_then(|h| pool.by_id(h.0))
            .is_some_and(|v| !v.backup.usable());
    }
    m
}

fn to_event(
    zone: &ZoneView,
    before: &ZoneModel,
    policy: &Policy,
    out: &RunOutcome,
    store: &PlanStore<'_>,
    now: Timestamp,
    first_key: u64,
) -> Option<ZoneEnforced> {
    let new_keys: Vec<NewZoneKey> = out
        .policy
        .iter()
        .flat_map(|p| p.new_keys.iter())
        .filter_map(|k| {
            let locator = store.locator(k.hsm?)?;
            Some(NewZoneKey {
                id: k.id,
                locator,
                role: k.role,
                algorithm: k.algorithm,
                key_tag: k.key_tag,
                minimize: k.minimize,
                shared: policy.keys.share_keys,
            })
        })
        .collect();
    debug_assert!(new_keys.iter().all(|k| k.id.0 >= first_key));
    let retired = out
        .policy
        .as_ref()
        .map(|p| p.retired.clone())
        .unwrap_or_default();
    let state_machine = (out.policy.is_some() && out.hsm_deleted == 0).then(|| {
        let created_states: Vec<KeyId> = before
            .keys
            .iter()
            .filter(|k| !k.states_created)
            .map(|k| k.id)
            .chain(new_keys.iter().map(|k| k.id))
            .collect();
        let w = out.zone.ttl_windows;
        StateMachineRun {
            ttl_windows: [w.ds, w.dnskey, w.rrsig],
            created_states,
            initial_ttls: RecordType::ALL.map(|t| w.ttl(policy, t, now)),
            transitions: out
                .transitions
                .iter()
                .map(|t| RecordTransition {
                    key: t.key,
                    record: t.record,
                    from: t.from,
                    to: t.to,
                    rule: TransitionRule {
                        earliest: t.earliest,
                        ttl: t.ttl,
                        smooth: t.smooth,
                        unsigned: policy.keys.keys.is_empty(),
                    },
                    ds_at_parent: t.ds_at_parent,
                    successors: t.successors.clone(),
                })
                .collect(),
        }
    });
    let (purged, purged_dependencies) = match &out.purge {
        Some(p) => (
            p.removed.clone(),
            p.removed_dependencies
                .iter()
                .map(|d| KeyDependency {
                    from: d.from,
                    to: d.to,
                    record: d.record,
                })
                .collect(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let signconf_needed = policy.passthrough
        || state_machine.as_ref().is_some_and(|sm| {
            !sm.created_states.is_empty()
                || !sm.transitions.is_empty()
                || policy.keys.keys.is_empty()
        });
    let event = ZoneEnforced {
        zone: zone.config.name.clone(),
        new_keys,
        retired,
        next_roll: next_roll_array(&out.zone),
        roll_cleared: out
            .policy
            .as_ref()
            .map(|p| p.cleared_roll.clone())
            .unwrap_or_default(),
        state_machine,
        purged,
        purged_dependencies,
        released: store.released.clone(),
        destroyed: store.destroyed.clone(),
        signconf_needed,
        next_change: out.next_wakeup,
        updated: out.zone_updated,
        no_key: out
            .policy
            .as_ref()
            .map(|p| {
                p.refused
                    .iter()
                    .filter(|(_, why)| *why == crate::enforcer::policy::NoNewKey::NoKeyAvailable)
                    .filter_map(|(i, _)| policy.keys.keys.get(*i).map(|k| k.role))
                    .collect()
            })
            .unwrap_or_default(),
    };
    let unchanged = out.zone == *before
        && event.new_keys.is_empty()
        && event.purged.is_empty()
        && event.destroyed.is_empty()
        && !signconf_needed
        && zone.due == out.next_wakeup
        && (!out.zone_updated || zone.next_change == out.next_wakeup);
    (!unchanged).then_some(event)
}

/// The key pool as the runs of one plan see it: the folded pool plus what earlier
/// runs of the plan took, released and destroyed.
struct PlanStore<'a> {
    pool: &'a KeyPool,
    policy: Option<kasp_events::PolicyName>,
    taken: BTreeMap<u64, bool>,
    refs: BTreeMap<u64, i64>,
    /// Shared material reused by runs of this plan (`reusable_shared` takes `&self`;
    /// a key it returns is always used: docs/state-machine.md, Policy step).
    reused: std::cell::RefCell<BTreeMap<u64, i64>>,
    gone: BTreeSet<u64>,
    /// Pool keys in DELETE, not being destroyed (fixed for the plan): with the run's
    /// released keys, the only candidates of `release_and_delete`.
    deleting: Vec<&'a HsmKeyView>,
    /// Per spec, the unused id `allocate` took last: the ids before it are all taken
    /// (allocation always takes the first untaken id of its spec).
    allocated_to: BTreeMap<KeySpec, u64>,
    next_key: u64,
    /// Of the current run.
    released: Vec<Locator>,
    destroyed: Vec<Locator>,
    /// The key generations the current run scheduled, in order (`allocate` is 2.1.12's
    /// `hsm_key_factory_get_key`, which schedules one whether it finds a key or not).
    scheduled: Vec<KeyGenTask>,
}

impl<'a> PlanStore<'a> {
    fn new(pool: &'a KeyPool, next_key: u64) -> Self {
        PlanStore {
            pool,
            policy: None,
            taken: BTreeMap::new(),
            refs: BTreeMap::new(),
            reused: Default::default(),
            gone: BTreeSet::new(),
            deleting: pool
                .keys
                .values()
                .filter(|k| k.usage == HsmKeyUse::Delete && !k.destroying)
                .collect(),
            allocated_to: BTreeMap::new(),
            next_key: next_key.max(1),
            released: Vec::new(),
            destroyed: Vec::new(),
            scheduled: Vec::new(),
        }
    }

    fn locator(&self, hsm: HsmKeyId) -> Option<Locator> {
        self.pool.by_id.get(&hsm.0).copied()
    }

    fn view(&self, hsm: HsmKeyId) -> Option<&'a HsmKeyView> {
        if self.gone.contains(&hsm.0) {
            return None;
        }
        self.pool.by_id(hsm.0)
    }

    fn usage(&self, k: &HsmKeyView) -> HsmKeyUse {
        match self.taken.get(&k.id) {
            Some(true) => HsmKeyUse::Shared,
            Some(false) => HsmKeyUse::Private,
            None if self.refs_of(k) == 0 && k.usage != HsmKeyUse::Unused => HsmKeyUse::Delete,
            None => k.usage,
        }
    }

    fn refs_of(&self, k: &HsmKeyView) -> i64 {
        i64::from(k.refs)
            + self.refs.get(&k.id).copied().unwrap_or(0)
            + self.reused.borrow().get(&k.id).copied().unwrap_or(0)
    }

    fn allocated(&self, k: &HsmKeyView, role: kasp_events::KeyRole) -> Allocated {
        let flags = if has_ksk(role) { 257 } else { 256 };
        Allocated {
            hsm: HsmKeyId(k.id),
            key_tag: key_tag(flags, k.spec.algorithm, &k.public_key),
        }
    }

    fn spec(&self, pk: &PolicyKey) -> Option<KeySpec> {
        Some(KeySpec {
            repository: pk.repository.clone(),
            policy: self.policy.clone()?,
            role: pk.role,
            algorithm: pk.algorithm,
            bits: pk.bits,
        })
    }
}

impl KeySource for PlanStore<'_> {
    fn material(&self, hsm: HsmKeyId) -> Option<Material> {
        self.view(hsm).map(|k| Material {
            algorithm: k.spec.algorithm,
            bits: k.spec.bits,
            repository: k.spec.repository.clone(),
        })
    }

    fn reusable_shared(&self, pk: &PolicyKey, used: &[HsmKeyId]) -> Option<Allocated> {
        let policy = self.policy.as_ref()?;
        let covers =
            |have: kasp_events::KeyRole| have == pk.role || have == kasp_events::KeyRole::Csk;
        self.pool
            .keys
            .values()
            .filter(|k| {
                &k.spec.policy == policy
                    && k.spec.algorithm == pk.algorithm
                    && k.spec.bits == pk.bits
                    && k.spec.repository == pk.repository
                    && covers(k.spec.role)
                    && !self.gone.contains(&k.id)
                    && matches!(self.usage(k), HsmKeyUse::Private | HsmKeyUse::Shared)
                    && !used.contains(&HsmKeyId(k.id))
            })
            // The greatest generation time; among keys generated in the same second,
            // the first generated: getLastReusableKey walks the hsmKey rows in id
            // order (its query has no ORDER BY and reads them through the policyId
            // index) and replaces its choice only by a strictly newer key.
            .max_by_key(|k| (k.inception, std::cmp::Reverse(k.id)))
            .map(|k| {
                *self.reused.borrow_mut().entry(k.id).or_default() += 1;
                self.allocated(k, pk.role)
            })
    }

    fn allocate(&mut self, pk: &PolicyKey, shared: bool) -> Option<Allocated> {
        let spec = self.spec(pk)?;
        let from = self.allocated_to.get(&spec).copied().unwrap_or(0);
        let found = self.pool.unused.get(&spec).and_then(|ids| {
            ids.range(from..)
                .copied()
                .find(|id| !self.taken.contains_key(id))
        });
        self.scheduled.push(KeyGenTask::PolicyKey {
            spec: spec.clone(),
            lifetime: pk.lifetime,
            flush: found.is_none(),
        });
        let id = found?;
        self.allocated_to.insert(spec, id);
        self.taken.insert(id, shared);
        *self.refs.entry(id).or_default() += 1;
        let k = self.pool.by_id(id)?;
        Some(self.allocated(k, pk.role))
    }

    fn new_key_id(&mut self) -> KeyId {
        let id = KeyId(self.next_key);
        self.next_key += 1;
        id
    }
}

impl KeyStore for PlanStore<'_> {
    fn release_and_delete(&mut self, released: &[HsmKeyId]) -> usize {
        for h in released {
            let Some(k) = self.view(*h) else { continue };
            *self.refs.entry(k.id).or_default() -= 1;
            if self.refs_of(k) <= 0 {
                self.released.push(k.locator);
            }
        }
        let released = self.released.iter().filter_map(|l| self.pool.keys.get(l));
        let mut doomed: Vec<&HsmKeyView> = self
            .deleting
            .iter()
            .copied()
            .chain(released)
            .filter(|k| {
                !k.destroying
                    && !self.gone.contains(&k.id)
                    && !self.taken.contains_key(&k.id)
                    && self.refs_of(k) <= 0
                    && (k.usage == HsmKeyUse::Delete || self.released.contains(&k.locator))
            })
            .collect();
        doomed.sort_by_key(|k| k.id);
        doomed.dedup_by_key(|k| k.id);
        for k in &doomed {
            self.gone.insert(k.id);
            self.destroyed.push(k.locator);
        }
        doomed.len()
    }
}

/// RFC 4034 appendix B key tag of the DNSKEY (`flags`, protocol 3, `algorithm`, key).
pub fn key_tag(flags: u16, algorithm: u8, public_key: &[u8]) -> u16 {
    let head = [(flags >> 8) as u8, flags as u8, 3, algorithm];
    let mut acc: u32 = 0;
    for (i, b) in head.iter().chain(public_key).enumerate() {
        acc += if i % 2 == 0 {
            u32::from(*b) << 8
        } else {
            u32::from(*b)
        };
    }
    acc += (acc >> 16) & 0xffff;
    (acc & 0xffff) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testgen::{pn, policy};
    use kasp_events::{BackupState, KeyGenerated, KeyRole};

    /// A pool holding one ZSK of policy `default`, used (shared) by one zone.
    fn pool_with_shared_key() -> (KeyPool, PolicyKey, Locator) {
        let pk = policy("default")
            .keys
            .keys
            .into_iter()
            .find(|k| k.role == KeyRole::Zsk)
            .expect("ZSK");
        let locator = Locator([5; 16]);
        let mut pool = KeyPool::default();
        pool.apply(
            KeyGenerated {
                locator,
                spec: KeySpec {
                    repository: pk.repository.clone(),
                    policy: pn("default"),
                    role: KeyRole::Zsk,
                    algorithm: pk.algorithm,
                    bits: pk.bits,
                },
                public_key: vec![1, 2, 3],
                backup: BackupState::NotRequired,
                adopted: false,
            }
            .into(),
            Timestamp(1),
        );
        pool.take(&locator, true);
        (pool, pk, locator)
    }

    /// Policy `default` and zones a.example and z.example, nothing in the pool.
    fn two_zones_empty_pool() -> (State, Timestamp) {
        let now = Timestamp(1_735_689_600);
        let mut state = State::default();
        let events: [Event; 3] = [
            kasp_events::PolicyCreated {
                policy: policy("default"),
            }
            .into(),
            kasp_events::ZoneAdded {
                zone: crate::testgen::zone("a.example", "default"),
                suspended: false,
            }
            .into(),
            kasp_events::ZoneAdded {
                zone: crate::testgen::zone("z.example", "default"),
                suspended: false,
            }
            .into(),
        ];
        for e in &events {
            state.apply_event(e, now);
        }
        (state, now)
    }

    fn zones_run(runs: &[PlannedRun]) -> Vec<String> {
        runs.iter()
            .filter_map(|r| r.event.as_ref().map(|e| e.zone.to_string()))
            .collect()
    }

    /// The role and flush of each generation, in order.
    fn generations(scheduled: &[KeyGenTask]) -> Vec<(KeyRole, bool)> {
        scheduled
            .iter()
            .map(|t| match t {
                KeyGenTask::PolicyKey { spec, flush, .. } => (spec.role, *flush),
                KeyGenTask::All => panic!("a run schedules generations for policy keys"),
            })
            .collect()
    }

    #[test]
    fn the_last_key_taken_or_missed_schedules_the_generation_and_later_zones_wait() {
        let (state, now) = two_zones_empty_pool();
        for workers in [0, 1] {
            let conf = PlanConf {
                worker_threads: workers,
                ..PlanConf::default()
            };
            // Manual key generation: nothing is scheduled, every due zone runs.
            let (runs, scheduled) = plan_runs_queued(&state, now, conf, None);
            assert_eq!(zones_run(&runs), ["a.example", "z.example"]);
            assert_eq!(scheduled, []);
            // a.example misses its KSK, then its ZSK: the ZSK's generation replaces the
            // KSK's, and z.example (after the task's name) waits for it.
            let (runs, scheduled) = plan_runs_queued(&state, now, conf, Some(false));
            assert_eq!(zones_run(&runs), ["a.example"]);
            assert_eq!(generations(&scheduled), [(KeyRole::Zsk, true)]);
            // A generation already waiting: a.example runs before it, z.example after.
            let (runs, _) = plan_runs_queued(&state, now, conf, Some(true));
            assert_eq!(zones_run(&runs), ["a.example"]);
        }
    }

    /// With idle worker threads (conf.xml `WorkerThreads` 4, OpenDNSSEC's own tests
    /// `enforcer.keys.generate` and `enforcer.keys.allocation`) every generation a run
    /// schedules is carried out, and none holds back the zones after it.
    #[test]
    fn with_idle_workers_every_generation_scheduled_is_returned_in_order() {
        let (state, now) = two_zones_empty_pool();
        let conf = PlanConf {
            worker_threads: 4,
            ..PlanConf::default()
        };
        let (runs, scheduled) = plan_runs_queued(&state, now, conf, None);
        assert_eq!(zones_run(&runs), ["a.example", "z.example"]);
        assert_eq!(scheduled, []);
        let missed = [(KeyRole::Ksk, true), (KeyRole::Zsk, true)];
        for waiting in [false, true] {
            let (runs, scheduled) = plan_runs_queued(&state, now, conf, Some(waiting));
            assert_eq!(zones_run(&runs), ["a.example", "z.example"]);
            // a.example's KSK and ZSK generations, then z.example's: none replaced.
            assert_eq!(generations(&scheduled), [missed, missed].concat());
            let zones: Vec<_> = scheduled
                .iter()
                .map(|t| t.flushes(&state).flatten().map(|z| z.len()))
                .collect();
            assert_eq!(zones, [Some(2); 4]);
        }
    }

    #[test]
    fn shared_material_reused_in_a_plan_is_not_released_by_a_later_purge() {
        let (pool, pk, locator) = pool_with_shared_key();
        let mut store = PlanStore::new(&pool, 1);
        store.policy = Some(pn("default"));
        // Zone B reuses the shared key, then zone A purges its own key on it.
        let got = store.reusable_shared(&pk, &[]).expect("reusable");
        assert_eq!(store.locator(got.hsm), Some(locator));
        assert_eq!(store.release_and_delete(&[got.hsm]), 0);
        assert!(store.released.is_empty() && store.destroyed.is_empty());
    }

    /// Shared material chosen for a zone: the newest, and of keys generated in the same
    /// second the first generated (fixtures/conformance/corners/F6-sharekeys-material-choice).
    #[test]
    fn shared_material_is_the_newest_then_the_first_generated() {
        let (mut pool, pk, first) = pool_with_shared_key();
        let spec = pool.keys[&first].spec.clone();
        let mut add = |byte: u8, at: i64| {
            let locator = Locator([byte; 16]);
            pool.apply(
                KeyGenerated {
                    locator,
                    spec: spec.clone(),
                    public_key: vec![byte],
                    backup: BackupState::NotRequired,
                    adopted: false,
                }
                .into(),
                Timestamp(at),
            );
            pool.take(&locator, true);
            locator
        };
        let second = add(6, 1);
        let newer = add(7, 2);
        let choose = |pool: &KeyPool, used: &[HsmKeyId]| {
            let mut store = PlanStore::new(pool, 1);
            store.policy = Some(pn("default"));
            let got = store.reusable_shared(&pk, used).expect("reusable");
            store.locator(got.hsm)
        };
        assert_eq!(choose(&pool, &[]), Some(newer));
        let newer_id = HsmKeyId(pool.keys[&newer].id);
        assert_eq!(choose(&pool, &[newer_id]), Some(first));
        let first_id = HsmKeyId(pool.keys[&first].id);
        assert_eq!(choose(&pool, &[newer_id, first_id]), Some(second));
    }

    #[test]
    fn the_last_reference_releases_and_destroys_the_material() {
        let (pool, _, locator) = pool_with_shared_key();
        let mut store = PlanStore::new(&pool, 1);
        store.policy = Some(pn("default"));
        let id = HsmKeyId(pool.keys[&locator].id);
        assert_eq!(store.release_and_delete(&[id]), 1);
        assert_eq!(store.released, [locator]);
        assert_eq!(store.destroyed, [locator]);
    }
}

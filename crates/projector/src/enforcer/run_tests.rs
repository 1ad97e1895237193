//! End-to-end tests of [`super::run::run_zone`] (docs/state-machine.md, One enforcer run):
//! the default policy from `zone add` to T+180d against the KEY / ROLL / next values of the
//! golden trace `a-default-zsk-rollover` (STEP 001–011) and the row of
//! docs/state-machine.md, Timeline after it.

use super::model::{DsAtParent, HsmKeyId, KeyId, ZoneModel};
use super::policy::{Allocated, KeySource, Material};
use super::policy_tests::Pool;
use super::record::{RecordState, RecordType};
use super::run::{KeyStore, RunOutcome, notification_wakeup, run_zone};
use super::tests::{at, default_policy};
use kasp_events::{Policy, PolicyKey, Seconds, Timestamp};

const H: RecordState = RecordState::Hidden;
const R: RecordState = RecordState::Rumoured;
const O: RecordState = RecordState::Omnipresent;
const U: RecordState = RecordState::Unretentive;
const N: RecordState = RecordState::Na;

const KSK1: KeyId = KeyId(1);
const ZSK1: KeyId = KeyId(2);
const ZSK2: KeyId = KeyId(3);
const ZSK3: KeyId = KeyId(4);

/// A single-zone store: released keys are unreferenced and leave the HSM at once,
/// unless `keep_released` (material still used by another zone).
struct Store {
    pool: Pool,
    keep_released: bool,
    deleted: Vec<HsmKeyId>,
}

impl KeySource for Store {
    fn material(&self, hsm: HsmKeyId) -> Option<Material> {
        self.pool.material(hsm)
    }
    fn reusable_shared(&self, pk: &PolicyKey, used: &[HsmKeyId]) -> Option<Allocated> {
        self.pool.reusable_shared(pk, used)
    }
    fn allocate(&mut self, pk: &PolicyKey, shared: bool) -> Option<Allocated> {
        self.pool.allocate(pk, shared)
    }
    fn new_key_id(&mut self) -> KeyId {
        self.pool.new_key_id()
    }
}

impl KeyStore for Store {
    fn release_and_delete(&mut self, released: &[HsmKeyId]) -> usize {
        if self.keep_released {
            return 0;
        }
        self.pool.keys.retain(|k| !released.contains(&k.id));
        self.deleted.extend_from_slice(released);
        released.len()
    }
}

struct Zone {
    policy: Policy,
    zone: ZoneModel,
    store: Store,
}

impl Zone {
    fn new() -> Zone {
        let policy = default_policy();
        let pool = Pool::for_policy(&policy, 4);
        Zone {
            policy,
            zone: ZoneModel::empty(),
            store: Store {
                pool,
                keep_released: false,
                deleted: Vec::new(),
            },
        }
    }

    fn run(&mut self, now: Timestamp) -> RunOutcome {
        let out = run_zone(&self.zone, &self.policy, now, Seconds(0), &mut self.store);
        self.zone = out.zone.clone();
        out
    }

    fn states(&self, id: KeyId) -> [RecordState; 4] {
        self.zone.key(id).expect("key").records.states()
    }

    /// A DS task or operator command: new ds_at_parent, DS timer restarts
    /// (docs/state-machine.md, DS at the parent).
    fn ds(&mut self, id: KeyId, to: DsAtParent, now: Timestamp) {
        let k = self.zone.keys.iter_mut().find(|k| k.id == id).expect("key");
        k.ds_at_parent = to;
        k.records.get_mut(RecordType::Ds).last_change = now;
    }
}

/// STEP 001–005: from `zone add` to KSK1's DS omnipresent.
fn introduced() -> Zone {
    let mut z = Zone::new();
    // STEP 001
    let out = z.run(at(0));
    assert_eq!(z.states(KSK1), [H, R, R, N]);
    assert_eq!(z.states(ZSK1), [N, R, N, R]);
    assert_eq!(out.next_wakeup, Some(at(50_400)));
    assert_eq!(z.zone.next_roll.ksk, Some(at(31_536_000)));
    assert_eq!(z.zone.next_roll.zsk, Some(at(7_776_000)));
    // STEP 002
    let out = z.run(at(50_400));
    assert_eq!(z.states(KSK1), [H, O, O, N]);
    assert_eq!(z.states(ZSK1), [N, O, N, R]);
    assert_eq!(out.next_wakeup, Some(at(129_600)));
    // STEP 003: the DS waits for ds-seen; the zone's next run is the ZSK roll.
    let out = z.run(at(129_600));
    assert_eq!(z.states(KSK1), [R, O, O, N]);
    assert_eq!(z.states(ZSK1), [N, O, N, O]);
    assert_eq!(out.next_wakeup, Some(at(7_776_000)));
    // ds-submit task, then STEP 004: ds-seen.
    z.ds(KSK1, DsAtParent::Submitted, at(129_600));
    z.ds(KSK1, DsAtParent::Seen, at(129_600));
    let out = z.run(at(129_600));
    assert_eq!(out.next_wakeup, Some(at(143_199)));
    // STEP 005
    let out = z.run(at(143_199));
    assert_eq!(z.states(KSK1), [O, O, O, N]);
    assert_eq!(out.next_wakeup, Some(at(7_776_000)));
    z
}

#[test]
fn default_policy_to_180_days_follows_the_golden_trace() {
    let mut z = introduced();
    // STEP 006: ZSK2 created, ZSK1 retired.
    let out = z.run(at(7_776_000));
    assert_eq!(z.states(ZSK1), [N, O, N, O]);
    assert_eq!(z.states(ZSK2), [N, R, N, H]);
    assert!(!z.zone.key(ZSK1).expect("ZSK1").introducing);
    assert_eq!(z.zone.next_roll.zsk, Some(at(15_552_000)));
    assert_eq!(out.next_wakeup, Some(at(7_826_400)));
    // STEP 007
    let out = z.run(at(7_826_400));
    assert_eq!(z.states(ZSK1), [N, O, N, U]);
    assert_eq!(z.states(ZSK2), [N, O, N, R]);
    assert_eq!(out.next_wakeup, Some(at(8_956_800)));
    // STEP 008 (resalt run)
    let out = z.run(at(8_640_000));
    assert!(out.transitions.is_empty());
    assert_eq!(out.next_wakeup, Some(at(8_956_800)));
    // STEP 009
    let out = z.run(at(8_956_800));
    assert_eq!(z.states(ZSK1), [N, U, N, H]);
    assert_eq!(z.states(ZSK2), [N, O, N, O]);
    assert_eq!(out.next_wakeup, Some(at(9_007_200)));
    // STEP 010: ZSK1 dead, its purge (T+10216800) not scheduled (Q3).
    let out = z.run(at(9_007_200));
    assert_eq!(z.states(ZSK1), [N, H, N, H]);
    assert_eq!(out.purge.as_ref().map(|p| p.next_wakeup), Some(None));
    assert_eq!(out.next_wakeup, Some(at(15_552_000)));
    // STEP 011: ZSK3 created (no key states yet), ZSK2 retired, ZSK1 purged and its
    // material deleted from the HSM → +60 s, no state machine (Q4).
    let out = z.run(at(15_552_000));
    assert_eq!(out.hsm_deleted, 1);
    assert!(out.transitions.is_empty());
    assert_eq!(out.next_wakeup, Some(at(15_552_060)));
    let ids: Vec<KeyId> = z.zone.keys.iter().map(|k| k.id).collect();
    assert_eq!(ids, [KSK1, ZSK2, ZSK3]);
    assert_eq!(z.states(KSK1), [O, O, O, N]);
    assert_eq!(z.states(ZSK2), [N, O, N, O]);
    let z3 = z.zone.key(ZSK3).expect("ZSK3");
    assert!(!z3.states_created);
    assert_eq!(z3.inception, at(15_552_000));
    assert_eq!(z.zone.next_roll.zsk, Some(at(23_328_000)));
    assert_eq!(z.zone.next_roll.ksk, Some(at(31_536_000)));
    // docs/state-machine.md, Timeline, next row: ZSK3's states are created at T+15552060,
    // DNSKEY → RUM.
    let out = z.run(at(15_552_060));
    let z3 = z.zone.key(ZSK3).expect("ZSK3");
    assert!(z3.states_created);
    assert_eq!(
        z3.records.get(RecordType::Rrsig).last_change,
        at(15_552_060)
    );
    assert_eq!(z.states(ZSK3), [N, R, N, H]);
    assert_eq!(out.next_wakeup, Some(at(15_602_460)));
}

#[test]
fn a_purge_without_hsm_deletion_continues_and_schedules_later_purges() {
    let mut z = introduced();
    z.store.keep_released = true;
    for t in [7_776_000, 7_826_400, 8_956_800, 9_007_200] {
        z.run(at(t));
    }
    // A run after ZSK1 died sees it purgeable and schedules its purge.
    let out = z.run(at(9_100_000));
    assert_eq!(out.next_wakeup, Some(at(10_216_800)));
    // At the purge time it goes; nothing left the HSM, so the state machine runs.
    let out = z.run(at(10_216_800));
    assert_eq!(out.hsm_deleted, 0);
    assert_eq!(out.purge.expect("purge").removed, [ZSK1]);
    assert!(z.zone.key(ZSK1).is_none());
    assert_eq!(out.next_wakeup, Some(at(15_552_000)));
}

#[test]
fn passthrough_changes_nothing() {
    let mut z = Zone::new();
    z.policy.passthrough = true;
    let out = z.run(at(0));
    assert!(z.zone.keys.is_empty());
    assert_eq!((out.policy, out.next_wakeup), (None, None));
}

#[test]
fn rollover_notification_wakes_before_the_ksk_roll() {
    let mut zone = ZoneModel::empty();
    assert_eq!(notification_wakeup(&zone, at(0), Seconds(100)), None);
    zone.next_roll.ksk = Some(at(1000));
    zone.next_roll.csk = Some(at(5000));
    assert_eq!(
        notification_wakeup(&zone, at(0), Seconds(100)),
        Some(at(900))
    );
    // Past for the KSK: the CSK is considered.
    assert_eq!(
        notification_wakeup(&zone, at(950), Seconds(100)),
        Some(at(4900))
    );
}

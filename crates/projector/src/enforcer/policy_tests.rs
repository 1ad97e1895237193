//! Tests of [`super::policy::update_policy`] against the consequences list of
//! docs/state-machine.md, Policy step and the first steps of the golden trace
//! `a-default-zsk-rollover`; also the in-memory [`Pool`] key source shared with the run
//! tests.

use super::model::{DsAtParent, HsmKeyId, KeyId, ZoneModel};
use super::policy::{Allocated, KeySource, Material, NoNewKey, PolicyOutcome, update_policy};
use super::tests::{at, default_policy};
use kasp_events::{KeyRole, Policy, PolicyKey, Seconds, Timestamp};

/// State of a pool key (docs/state-machine.md, Key material).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HsmState {
    Unused,
    Private,
    Shared,
}

/// One `hsm_key` row of the in-memory pool.
#[derive(Debug, Clone)]
pub(crate) struct HsmKey {
    pub(crate) id: HsmKeyId,
    pub(crate) role: KeyRole,
    pub(crate) material: Material,
    pub(crate) state: HsmState,
    pub(crate) generated: Timestamp,
}

/// An in-memory `hsm_key` table; key tags are `1000 + hsm id`.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    pub(crate) keys: Vec<HsmKey>,
    next_hsm_id: u64,
    next_key_id: u64,
}

impl Pool {
    /// `n` unused keys per policy key of `policy`.
    pub(crate) fn for_policy(policy: &Policy, n: usize) -> Pool {
        let mut pool = Pool::default();
        for pk in &policy.keys.keys {
            for _ in 0..n {
                pool.generate(pk, at(0));
            }
        }
        pool
    }

    pub(crate) fn generate(&mut self, pk: &PolicyKey, generated: Timestamp) -> HsmKeyId {
        self.next_hsm_id += 1;
        let id = HsmKeyId(self.next_hsm_id);
        self.keys.push(HsmKey {
            id,
            role: pk.role,
            material: Material {
                algorithm: pk.algorithm,
                bits: pk.bits,
                repository: pk.repository.clone(),
            },
            state: HsmState::Unused,
            generated,
        });
        id
    }

    fn tag(id: HsmKeyId) -> Allocated {
        Allocated {
            hsm: id,
            key_tag: 1000 + id.0 as u16,
        }
    }
}

impl KeySource for Pool {
    fn material(&self, hsm: HsmKeyId) -> Option<Material> {
        let k = self.keys.iter().find(|k| k.id == hsm)?;
        Some(k.material.clone())
    }

    fn reusable_shared(&self, pk: &PolicyKey, used: &[HsmKeyId]) -> Option<Allocated> {
        let role_ok = |r: KeyRole| r == pk.role || r == KeyRole::Csk;
        self.keys
            .iter()
            .filter(|k| k.state != HsmState::Unused && k.material.fits(pk) && role_ok(k.role))
            .filter(|k| !used.contains(&k.id))
            // Newest; of keys generated together, the first (as `PlanStore`).
            .rev()
            .max_by_key(|k| k.generated)
            .map(|k| Pool::tag(k.id))
    }

    fn allocate(&mut self, pk: &PolicyKey, shared: bool) -> Option<Allocated> {
        let k = self
            .keys
            .iter_mut()
            .find(|k| k.state == HsmState::Unused && k.role == pk.role && k.material.fits(pk))?;
        k.state = if shared {
            HsmState::Shared
        } else {
            HsmState::Private
        };
        Some(Pool::tag(k.id))
    }

    fn new_key_id(&mut self) -> KeyId {
        self.next_key_id += 1;
        KeyId(self.next_key_id)
    }
}

/// Runs updatePolicy and applies it.
fn step(zone: &mut ZoneModel, policy: &Policy, now: Timestamp, pool: &mut Pool) -> PolicyOutcome {
    let out = update_policy(zone, policy, now, pool);
    out.apply(zone);
    out
}

/// The zone after STEP 001 of the golden trace (policy part only): KSK1 = id 1,
/// ZSK1 = id 2, both created at T+0.
fn first_run(policy: &Policy, pool: &mut Pool) -> ZoneModel {
    let mut zone = ZoneModel::empty();
    let out = step(&mut zone, policy, at(0), pool);
    assert_eq!(out.new_keys.len(), 2);
    zone
}

#[test]
fn first_run_creates_one_key_per_policy_key() {
    let policy = default_policy();
    let mut pool = Pool::for_policy(&policy, 2);
    let mut zone = ZoneModel::empty();
    let out = step(&mut zone, &policy, at(0), &mut pool);
    let made: Vec<_> = out
        .new_keys
        .iter()
        .map(|k| (k.id, k.role, k.algorithm, k.minimize, k.inception, k.hsm))
        .collect();
    assert_eq!(
        made,
        [
            (KeyId(1), KeyRole::Ksk, 8, 4, at(0), Some(HsmKeyId(1))),
            (KeyId(2), KeyRole::Zsk, 8, 1, at(0), Some(HsmKeyId(3))),
        ]
    );
    for k in &out.new_keys {
        assert!(k.introducing && !k.states_created);
        assert_eq!(k.ds_at_parent, DsAtParent::Unsubmitted);
        assert_eq!(k.key_tag, 1000 + k.hsm.expect("hsm").0 as u16);
    }
    assert!(out.retired.is_empty() && out.refused.is_empty() && !out.allow_unsigned);
    // ROLL lines of STEP 001: KSK1 at T+1Y, ZSK1 at T+P90D.
    assert_eq!(out.next_wakeup(), Some(at(7_776_000)));
    assert_eq!(zone.next_roll.ksk, Some(at(31_536_000)));
    assert_eq!(zone.next_roll.zsk, Some(at(7_776_000)));
    assert_eq!(pool.keys[0].state, HsmState::Private);
}

#[test]
fn before_the_lifetime_nothing_happens() {
    let policy = default_policy();
    let mut pool = Pool::for_policy(&policy, 2);
    let mut zone = first_run(&policy, &mut pool);
    let before = zone.clone();
    let out = step(&mut zone, &policy, at(7_775_999), &mut pool);
    assert!(out.new_keys.is_empty() && out.retired.is_empty());
    assert_eq!(out.wakeups, [at(31_536_000), at(7_776_000)]);
    assert_eq!(zone, before);
}

#[test]
fn automatic_zsk_roll_at_inception_plus_lifetime() {
    let policy = default_policy();
    let mut pool = Pool::for_policy(&policy, 2);
    let mut zone = first_run(&policy, &mut pool);
    // STEP 006: ZSK2 at T+7776000, ZSK1 retired in the same run.
    let out = step(&mut zone, &policy, at(7_776_000), &mut pool);
    assert_eq!(out.new_keys.len(), 1);
    let z2 = out.new_keys[0];
    assert_eq!((z2.role, z2.inception), (KeyRole::Zsk, at(7_776_000)));
    assert_eq!(out.retired, [KeyId(2)]);
    assert!(zone.key(KeyId(1)).expect("KSK1").introducing);
    assert!(!zone.key(KeyId(2)).expect("ZSK1").introducing);
    assert_eq!(zone.next_roll.zsk, Some(at(15_552_000)));
    assert_eq!(out.next_wakeup(), Some(at(15_552_000)));
    // The next roll is timed from the newest key, retired ones included.
    let out = step(&mut zone, &policy, at(15_551_999), &mut pool);
    assert!(out.new_keys.is_empty());
}

#[test]
fn manual_rollover_creates_a_successor_and_clears_the_flag() {
    let policy = default_policy();
    let mut pool = Pool::for_policy(&policy, 2);
    let mut zone = first_run(&policy, &mut pool);
    zone.roll_now.ksk = true;
    zone.roll_now.csk = true;
    let out = step(&mut zone, &policy, at(100), &mut pool);
    assert_eq!(out.new_keys.len(), 1);
    assert_eq!(out.new_keys[0].role, KeyRole::Ksk);
    assert_eq!(out.retired, [KeyId(1)]);
    assert_eq!(out.cleared_roll, [KeyRole::Ksk]);
    assert!(!zone.roll_now.ksk);
    assert!(
        zone.roll_now.csk,
        "a flag for a role the policy lacks stays"
    );
    // The following automatic roll is at the new inception + lifetime.
    assert_eq!(zone.next_roll.ksk, Some(at(100 + 31_536_000)));
}

#[test]
fn manual_rollover_policy_keys_roll_only_on_request() {
    let mut policy = default_policy();
    policy.keys.keys[1].manual_rollover = true;
    let mut pool = Pool::for_policy(&policy, 3);
    // No key for (alg, role) yet: created anyway.
    let mut zone = first_run(&policy, &mut pool);
    // Long past the lifetime: skipped entirely, next_zsk_roll untouched.
    let out = step(&mut zone, &policy, at(20_000_000), &mut pool);
    assert!(out.new_keys.is_empty());
    assert_eq!(out.next_roll, [(KeyRole::Ksk, at(31_536_000))]);
    assert_eq!(zone.next_roll.zsk, Some(at(7_776_000)));
    // On request: rolled.
    zone.roll_now.zsk = true;
    let out = step(&mut zone, &policy, at(20_000_000), &mut pool);
    assert_eq!(out.new_keys.len(), 1);
    assert_eq!(out.retired, [KeyId(2)]);
    assert!(!zone.roll_now.zsk);
}

#[test]
fn algorithm_change_retires_orphans_and_creates_new_keys() {
    let policy = default_policy();
    let mut pool = Pool::for_policy(&policy, 2);
    let mut zone = first_run(&policy, &mut pool);
    let mut changed = policy.clone();
    changed.keys.keys[1].algorithm = 13;
    changed.keys.keys[1].bits = 256;
    pool.generate(&changed.keys.keys[1], at(0));
    let out = step(&mut zone, &changed, at(1000), &mut pool);
    assert_eq!(out.retired, [KeyId(2)], "step A: the old ZSK only");
    assert_eq!(out.new_keys.len(), 1);
    assert_eq!(
        (out.new_keys[0].role, out.new_keys[0].algorithm),
        (KeyRole::Zsk, 13)
    );
    // Lifetime-only change: re-timed, nothing retired.
    let mut longer = changed.clone();
    longer.keys.keys[0].lifetime = Seconds(100);
    let out = step(&mut zone, &longer, at(1000), &mut pool);
    assert!(out.retired.is_empty());
    assert_eq!(out.refused, [(0, NoNewKey::LifetimeTooShort)]);
}

#[test]
fn a_key_without_material_is_an_orphan() {
    let policy = default_policy();
    let mut pool = Pool::for_policy(&policy, 2);
    let mut zone = first_run(&policy, &mut pool);
    zone.keys[0].hsm = None;
    let out = update_policy(&zone, &policy, at(10), &mut pool);
    // Retired by step A, and not counted by last_inception_policy: a new KSK.
    assert_eq!(out.retired, [KeyId(1)]);
    assert_eq!(out.new_keys.len(), 1);
}

#[test]
fn lifetime_too_short_is_refused_without_wakeup() {
    let mut policy = default_policy();
    // ZSK: max_zone_ttl 86400 + keys ttl 3600 >= 90000.
    policy.keys.keys[1].lifetime = Seconds(90_000);
    // KSK: ds ttl 3600 + keys ttl 3600 >= 7200.
    policy.keys.keys[0].lifetime = Seconds(7_200);
    let mut pool = Pool::for_policy(&policy, 2);
    let mut zone = ZoneModel::empty();
    let out = step(&mut zone, &policy, at(0), &mut pool);
    assert!(out.new_keys.is_empty());
    assert_eq!(
        out.refused,
        [
            (0, NoNewKey::LifetimeTooShort),
            (1, NoNewKey::LifetimeTooShort)
        ]
    );
    assert!(out.wakeups.is_empty());
    assert_eq!(zone.next_roll.ksk, Some(at(0)));
    assert_eq!(zone.next_roll.zsk, Some(at(0)));
    // One second more is enough.
    policy.keys.keys[1].lifetime = Seconds(90_001);
    let out = step(&mut zone, &policy, at(0), &mut pool);
    assert_eq!(out.new_keys.len(), 1);
}

#[test]
fn no_key_available_retries_in_a_minute() {
    let policy = default_policy();
    let mut pool = Pool::for_policy(&policy, 0);
    pool.generate(&policy.keys.keys[0], at(0));
    let mut zone = ZoneModel::empty();
    zone.roll_now.zsk = true;
    let out = step(&mut zone, &policy, at(5), &mut pool);
    assert_eq!(out.new_keys.len(), 1, "the KSK");
    assert_eq!(out.refused, [(1, NoNewKey::NoKeyAvailable)]);
    assert_eq!(out.wakeups, [at(5 + 31_536_000), at(65)]);
    assert_eq!(zone.next_roll.zsk, Some(at(5)));
    assert!(zone.roll_now.zsk, "the flag stays until a key is made");
}

#[test]
fn shared_keys_are_reused_across_zones() {
    let mut policy = default_policy();
    policy.keys.share_keys = true;
    let mut pool = Pool::for_policy(&policy, 2);
    let a = first_run(&policy, &mut pool);
    let b = first_run(&policy, &mut pool);
    let hsm = |z: &ZoneModel| z.keys.iter().map(|k| k.hsm).collect::<Vec<_>>();
    assert_eq!(hsm(&a), hsm(&b));
    assert_eq!(pool.keys[0].state, HsmState::Shared);
    assert_eq!(pool.keys[1].state, HsmState::Unused);
    // A roll in zone a cannot reuse a's own keys: a fresh one is allocated.
    let mut a = a;
    a.roll_now.ksk = true;
    let out = step(&mut a, &policy, at(10), &mut pool);
    assert_eq!(out.new_keys[0].hsm, Some(HsmKeyId(2)));
}

#[test]
fn a_policy_without_keys_retires_everything_and_allows_unsigned() {
    let policy = default_policy();
    let mut pool = Pool::for_policy(&policy, 2);
    let mut zone = first_run(&policy, &mut pool);
    let mut empty = policy.clone();
    empty.keys.keys.clear();
    let out = step(&mut zone, &empty, at(10), &mut pool);
    assert!(out.allow_unsigned);
    assert_eq!(out.retired, [KeyId(1), KeyId(2)]);
    assert!(out.new_keys.is_empty() && out.wakeups.is_empty());
}

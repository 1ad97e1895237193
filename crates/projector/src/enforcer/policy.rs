//! `updatePolicy` — key creation, retirement and rollover triggers — docs/state-machine.md,
//! Policy step (`E:updatePolicy`), with key material allocation (docs/state-machine.md,
//! Policy step and Key pool) as an input: the caller's
//! [`KeySource`] answers for the `hsm_key` table.
//!
//! Pure apart from the key source: [`update_policy`] reads the zone and the policy and
//! returns a [`PolicyOutcome`], which [`PolicyOutcome::apply`] writes into the zone.

use super::model::{HsmKeyId, KeyId, KeyModel, ZoneModel, has_ksk, has_zsk};
use kasp_events::{KeyRole, Policy, PolicyKey, Seconds, Timestamp};

/// `NOKEY_TIMEOUT`: retry delay when no key material is available (docs/state-machine.md,
/// Policy step, key material).
pub const NOKEY_RETRY: Seconds = Seconds(60);

/// What an `hsm_key` row says about its key material (docs/state-machine.md, Key material).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Material {
    /// DNSSEC algorithm of the material.
    pub algorithm: u8,
    /// Key size.
    pub bits: u32,
    /// HSM repository (token) name.
    pub repository: String,
}

impl Material {
    /// Whether this material fits policy key `pk` (algorithm, bits, repository).
    pub fn fits(&self, pk: &PolicyKey) -> bool {
        self.algorithm == pk.algorithm && self.bits == pk.bits && self.repository == pk.repository
    }
}

/// Key material handed out for a new key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allocated {
    /// The hsm key.
    pub hsm: HsmKeyId,
    /// The key tag of the DNSKEY (SEP bit set iff the role has the KSK function).
    pub key_tag: u16,
}

/// The `hsm_key` table and key_data identities as updatePolicy needs them
/// (docs/state-machine.md, Key pool).
pub trait KeySource {
    /// The material of an hsm key; `None` if the row does not exist.
    fn material(&self, hsm: HsmKeyId) -> Option<Material>;
    /// ShareKeys policies (`E:getLastReusableKey`): the newest (greatest generation
    /// time, then the lowest pool id) hsm key of the policy fitting `pk` whose role
    /// includes `pk.role`, in state PRIVATE or SHARED, and not in `used` (the hsm keys
    /// of this zone); `None` if none.
    fn reusable_shared(&self, pk: &PolicyKey, used: &[HsmKeyId]) -> Option<Allocated>;
    /// `hsm_key_factory_get_key`: takes the first UNUSED pool key fitting `pk` and marks
    /// it SHARED (`shared`) or PRIVATE; `None` when the pool is empty.
    fn allocate(&mut self, pk: &PolicyKey, shared: bool) -> Option<Allocated>;
    /// A fresh identity for a new key_data row.
    fn new_key_id(&mut self) -> KeyId;
}

/// One refusal or failure to create a key for a policy key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoNewKey {
    /// Step 4, "lifetime too short": the lifetime does not exceed the DS or signature
    /// TTL plus the DNSKEY TTL.
    LifetimeTooShort,
    /// Step 5: no key material available; retried after [`NOKEY_RETRY`].
    NoKeyAvailable,
}

/// What one updatePolicy run decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyOutcome {
    /// New keys in creation order (step 6): introducing, unsubmitted, inception = now,
    /// `minimize` from the policy key, key states not yet created (docs/state-machine.md,
    /// Records).
    pub new_keys: Vec<KeyModel>,
    /// Keys whose `introducing` goes to 0 (step A, then step 8), without duplicates.
    pub retired: Vec<KeyId>,
    /// Wake-up candidates in the order they arose (steps 3, 5, 7).
    pub wakeups: Vec<Timestamp>,
    /// `next_<role>_roll` assignments in order (steps 3, 4, 5, 7); the last one per
    /// role wins.
    pub next_roll: Vec<(KeyRole, Timestamp)>,
    /// Roles whose `roll_<role>_now` flag is cleared (step 9).
    pub cleared_roll: Vec<KeyRole>,
    /// Policy keys (index into the policy's key list) for which no key was made.
    pub refused: Vec<(usize, NoNewKey)>,
    /// Step B: the policy has no keys, the zone may go unsigned (and its signconf is
    /// rewritten every run).
    pub allow_unsigned: bool,
}

impl PolicyOutcome {
    /// The earliest wake-up candidate, if any.
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        self.wakeups.iter().copied().min()
    }

    /// Writes the outcome into `zone`: retirements, new keys appended (creation order),
    /// `next_<role>_roll` values and cleared roll flags.
    pub fn apply(&self, zone: &mut ZoneModel) {
        for k in zone.keys.iter_mut() {
            if self.retired.contains(&k.id) {
                k.introducing = false;
            }
        }
        zone.keys.extend(self.new_keys.iter().copied());
        for &(role, t) in &self.next_roll {
            zone.next_roll.set(role, Some(t));
        }
        for &role in &self.cleared_roll {
            zone.roll_now.set(role, false);
        }
    }
}

/// `E:updatePolicy` (docs/state-machine.md, Policy step) for `zone` under `policy` at
/// `now`. Keys are matched to policy keys through their material, looked up in `source`;
/// new key material and key ids come from `source` too.
pub fn update_policy(
    zone: &ZoneModel,
    policy: &Policy,
    now: Timestamp,
    source: &mut dyn KeySource,
) -> PolicyOutcome {
    let material: Vec<Option<Material>> = zone
        .keys
        .iter()
        .map(|k| k.hsm.and_then(|h| source.material(h)))
        .collect();
    // Matches on (role, hsm algorithm, hsm bits, repository) — `E:existsPolicyForKey`.
    let hsm_fits = |i: usize, pk: &PolicyKey| {
        zone.keys[i].role == pk.role && material[i].as_ref().is_some_and(|m| m.fits(pk))
    };
    let mut out = PolicyOutcome {
        new_keys: Vec::new(),
        retired: Vec::new(),
        wakeups: Vec::new(),
        next_roll: Vec::new(),
        cleared_roll: Vec::new(),
        refused: Vec::new(),
        allow_unsigned: policy.keys.keys.is_empty(),
    };
    // Step A: orphan retirement.
    for (i, k) in zone.keys.iter().enumerate() {
        if k.introducing && !policy.keys.keys.iter().any(|pk| hsm_fits(i, pk)) {
            out.retired.push(k.id);
        }
    }
    let mut roll_now = zone.roll_now;
    let mut used: Vec<HsmKeyId> = zone.keys.iter().filter_map(|k| k.hsm).collect();
    for (p, pk) in policy.keys.keys.iter().enumerate() {
        // Steps 1–2.
        let mut force = roll_now.get(pk.role);
        if pk.manual_rollover {
            let exists = zone
                .keys
                .iter()
                .any(|k| k.algorithm == pk.algorithm && k.role == pk.role);
            if !exists {
                force = true;
            } else if !force {
                continue;
            }
        }
        // Step 3: `E:last_inception_policy`, retired keys included.
        if !force {
            let newest = (0..zone.keys.len())
                .filter(|&i| hsm_fits(i, pk) && zone.keys[i].algorithm == pk.algorithm)
                .map(|i| zone.keys[i].inception)
                .max();
            if let Some(inc) = newest {
                let due = inc.plus(pk.lifetime);
                if due > now {
                    out.wakeups.push(due);
                    out.next_roll.push((pk.role, due));
                    continue;
                }
            }
        }
        // Step 4: lifetime too short.
        if lifetime_too_short(policy, pk) {
            out.refused.push((p, NoNewKey::LifetimeTooShort));
            out.next_roll.push((pk.role, now));
            continue;
        }
        // Step 5: key material.
        let shared = policy.keys.share_keys;
        let got = if shared {
            source.reusable_shared(pk, &used)
        } else {
            None
        };
        let Some(got) = got.or_else(|| source.allocate(pk, shared)) else {
            out.refused.push((p, NoNewKey::NoKeyAvailable));
            out.wakeups.push(now.plus(NOKEY_RETRY));
            out.next_roll.push((pk.role, now));
            continue;
        };
        used.push(got.hsm);
        // Step 6.
        let mut key = KeyModel::new(
            source.new_key_id(),
            pk.role,
            pk.algorithm,
            pk.minimize,
            now,
            [Seconds(0); 4],
        );
        key.hsm = Some(got.hsm);
        key.key_tag = got.key_tag;
        key.states_created = false;
        out.new_keys.push(key);
        // Step 7.
        let due = now.plus(pk.lifetime);
        out.wakeups.push(due);
        out.next_roll.push((pk.role, due));
        // Step 8: retire predecessors among the keys present at the start.
        for (i, k) in zone.keys.iter().enumerate() {
            if k.introducing
                && k.algorithm == pk.algorithm
                && hsm_fits(i, pk)
                && !out.retired.contains(&k.id)
            {
                out.retired.push(k.id);
            }
        }
        // Step 9.
        if roll_now.get(pk.role) {
            roll_now.set(pk.role, false);
            out.cleared_roll.push(pk.role);
        }
    }
    out
}

/// Step 4: KSK/CSK refuse if `ds_ttl + keys_ttl >= lifetime`, ZSK/CSK refuse if
/// `max_zone_ttl + keys_ttl >= lifetime`.
pub fn lifetime_too_short(policy: &Policy, pk: &PolicyKey) -> bool {
    let life = pk.lifetime.as_i64();
    let keys = policy.keys.ttl.as_i64();
    (has_ksk(pk.role) && policy.parent.ds_ttl.as_i64() + keys >= life)
        || (has_zsk(pk.role) && policy.signatures.max_zone_ttl.as_i64() + keys >= life)
}

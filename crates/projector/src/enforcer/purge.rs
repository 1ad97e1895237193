//! Dead keys and automatic purge — docs/state-machine.md, Dead keys and purge
//! (`E:removeDeadKeys`).
//!
//! [`dead_keys`] decides over the zone as loaded at the start of the run; whether the
//! released material is then physically deleted from the HSM (which makes 2.1 end the
//! run with a wake-up at `now + 60`, Q4) depends on every zone of the installation, so
//! the caller answers it (see [`PURGE_RETRY`]).

use super::model::{Dependency, HsmKeyId, KeyId, KeyModel, ZoneModel};
use super::record::{RecordState, RecordType};
use kasp_events::{Policy, Seconds, Timestamp};

/// Delay of the next run when the purge deleted key material from the HSM
/// (docs/state-machine.md, One enforcer run, step 4, Q4): `update` returns `now + 60` at
/// once.
pub const PURGE_RETRY: Seconds = Seconds(60);

/// What `removeDeadKeys` decided for one zone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeOutcome {
    /// Keys to delete (key_data and its key states), in zone order.
    pub removed: Vec<KeyId>,
    /// Their hsm keys, to release (`hsm_key_factory_release_key_id`: DELETE once no
    /// key_data references them), in the same order; keys without material are skipped.
    pub released: Vec<HsmKeyId>,
    /// Dependency rows whose predecessor (`from`) is purgeable, due or not, in zone
    /// order; every copy of a duplicated row (Q18) is listed.
    pub removed_dependencies: Vec<Dependency>,
    /// The earliest purge time of a purgeable key that is not yet due.
    pub next_wakeup: Option<Timestamp>,
}

impl PurgeOutcome {
    /// Whether nothing is removed (no key, no dependency row).
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.removed_dependencies.is_empty()
    }

    /// Deletes the removed keys and dependency rows from `zone`.
    pub fn apply(&self, zone: &mut ZoneModel) {
        zone.keys.retain(|k| !self.removed.contains(&k.id));
        zone.dependencies
            .retain(|d| !self.removed_dependencies.contains(d));
    }
}

/// The purge time of a dead key: `max(last_change over its non-NA records) + purge`,
/// or `None` if the key is not purgeable — still introducing, some non-NA record not
/// HIDDEN, or no key states yet (2.1 reads a missing state as neither NA nor HIDDEN).
pub fn purge_time(key: &KeyModel, purge: Seconds) -> Option<Timestamp> {
    if key.introducing || !key.states_created {
        return None;
    }
    let mut last: Option<Timestamp> = None;
    for t in RecordType::ALL {
        let r = key.records.get(t);
        match r.state {
            RecordState::Na => continue,
            RecordState::Hidden => {
                last = Some(last.map_or(r.last_change, |l| l.max(r.last_change)))
            }
            _ => return None,
        }
    }
    last.map(|l| l.plus(purge))
}

/// Whether a key is dead (docs/state-machine.md, Dead keys and purge): not introducing and
/// every non-NA record HIDDEN.
pub fn is_dead(key: &KeyModel) -> bool {
    purge_time(key, Seconds(0)).is_some()
}

/// `E:removeDeadKeys` for `zone` at `now`: nothing when the policy never purges
/// (`Keys/Purge` absent or 0); otherwise every dead key whose purge time has come is
/// removed, a later purge time is a wake-up candidate, and the dependency rows from
/// every dead key are deleted.
pub fn dead_keys(zone: &ZoneModel, policy: &Policy, now: Timestamp) -> PurgeOutcome {
    let mut out = PurgeOutcome::default();
    let purge = policy.keys.purge;
    if purge == Seconds(0) {
        return out;
    }
    for key in &zone.keys {
        let Some(due) = purge_time(key, purge) else {
            continue;
        };
        if now >= due {
            out.removed.push(key.id);
            out.released.extend(key.hsm);
        } else {
            out.next_wakeup = Some(out.next_wakeup.map_or(due, |w| w.min(due)));
        }
        out.removed_dependencies.extend(
            zone.dependencies
                .iter()
                .filter(|d| d.from == key.id)
                .copied(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enforcer::model::KeyModel;
    use crate::enforcer::tests::{at, default_policy};
    use RecordState::{Hidden, Omnipresent};
    use kasp_events::KeyRole;

    /// ZSK1 of the golden trace after STEP 010: retired, RRSIG hidden at T+8956800,
    /// DNSKEY hidden at T+9007200 (purge P14D → due at T+10216800).
    fn dead_zsk1() -> KeyModel {
        let mut k = KeyModel::new(KeyId(2), KeyRole::Zsk, 8, 1, at(0), [Seconds(3600); 4]);
        k.introducing = false;
        k.hsm = Some(HsmKeyId(7));
        k.records.get_mut(RecordType::Rrsig).last_change = at(8_956_800);
        k.records.get_mut(RecordType::Dnskey).last_change = at(9_007_200);
        // An NA record's time does not count.
        k.records.get_mut(RecordType::Ds).last_change = at(20_000_000);
        k
    }

    fn zone(keys: Vec<KeyModel>) -> ZoneModel {
        ZoneModel {
            keys,
            ..ZoneModel::empty()
        }
    }

    fn dep(from: u64, to: u64) -> Dependency {
        Dependency {
            from: KeyId(from),
            to: KeyId(to),
            record: RecordType::Rrsig,
        }
    }

    #[test]
    fn purge_time_is_the_last_change_plus_purge() {
        let k = dead_zsk1();
        assert!(is_dead(&k));
        assert_eq!(purge_time(&k, Seconds(1_209_600)), Some(at(10_216_800)));
    }

    #[test]
    fn live_keys_are_not_purgeable() {
        let mut k = dead_zsk1();
        k.introducing = true;
        assert!(!is_dead(&k), "introducing");
        let mut k = dead_zsk1();
        k.records.get_mut(RecordType::Dnskey).state = RecordState::Unretentive;
        assert!(!is_dead(&k), "DNSKEY still unretentive");
        let mut k = dead_zsk1();
        k.states_created = false;
        assert!(!is_dead(&k), "no key states yet");
        let mut k = dead_zsk1();
        k.records.get_mut(RecordType::Rrsig).state = Omnipresent;
        assert!(!is_dead(&k));
        assert_eq!(k.records.get(RecordType::Dnskey).state, Hidden);
    }

    #[test]
    fn a_dead_key_waits_for_its_purge_time() {
        let policy = default_policy();
        let z = zone(vec![dead_zsk1()]);
        let out = dead_keys(&z, &policy, at(10_216_799));
        assert!(out.removed.is_empty() && out.released.is_empty());
        assert_eq!(out.next_wakeup, Some(at(10_216_800)));
        let out = dead_keys(&z, &policy, at(10_216_800));
        assert_eq!(out.removed, [KeyId(2)]);
        assert_eq!(out.next_wakeup, None);
    }

    #[test]
    fn golden_trace_purges_zsk1_at_the_second_zsk_roll() {
        // STEP 011 at T+15552000: the first run after the purge time removes ZSK1 and
        // releases its material (which 2.1 then deletes from the HSM: Q4, +60 s).
        let policy = default_policy();
        let mut z = zone(vec![dead_zsk1()]);
        let out = dead_keys(&z, &policy, at(15_552_000));
        assert_eq!(out.removed, [KeyId(2)]);
        assert_eq!(out.released, [HsmKeyId(7)]);
        out.apply(&mut z);
        assert!(z.keys.is_empty());
    }

    #[test]
    fn no_purge_without_keys_purge_after() {
        let mut policy = default_policy();
        policy.keys.purge = Seconds(0);
        let z = zone(vec![dead_zsk1()]);
        assert_eq!(
            dead_keys(&z, &policy, at(99_999_999)),
            PurgeOutcome::default()
        );
    }

    #[test]
    fn dependencies_from_a_dead_key_go_even_before_its_purge() {
        let policy = default_policy();
        let mut live = KeyModel::new(KeyId(3), KeyRole::Zsk, 8, 1, at(0), [Seconds(0); 4]);
        live.records.get_mut(RecordType::Dnskey).state = Omnipresent;
        let mut z = zone(vec![dead_zsk1(), live]);
        z.dependencies = vec![dep(2, 3), dep(3, 2), dep(2, 3)];
        let out = dead_keys(&z, &policy, at(9_100_000));
        assert!(out.removed.is_empty());
        assert_eq!(out.removed_dependencies, [dep(2, 3), dep(2, 3)]);
        assert!(!out.is_empty());
        out.apply(&mut z);
        assert_eq!(z.dependencies, [dep(3, 2)]);
        assert_eq!(z.keys.len(), 2);
    }
}

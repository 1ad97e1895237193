//! The state machine's view of one zone — docs/state-machine.md, Data model: Zone
//! (zone TTL windows), Keys (key_data), Records (key_state) and Successor relations
//! (key_dependency).
//!
//! Only the fields `updateZone` reads or writes are modelled; mapping events to this
//! model is the caller's business.

use super::record::{Record, RecordState, RecordType, Records};
use super::timing::TtlWindows;
use kasp_events::{KeyRole, Seconds, Timestamp};

/// Identity of a key within a zone. Keys are evaluated in [`ZoneModel::keys`] order, which
/// must be creation order (docs/state-machine.md, Evaluation order, Q9); the id itself
/// carries no order.
pub use kasp_events::KeyId;

/// Identity of an `hsm_key` row (key material, docs/state-machine.md, Key material);
/// several zones may share one under a ShareKeys policy (docs/state-machine.md, Key pool).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct HsmKeyId(pub u64);

/// Whether a role includes the KSK function (KSK or CSK).
pub fn has_ksk(role: KeyRole) -> bool {
    matches!(role, KeyRole::Ksk | KeyRole::Csk)
}

/// Whether a role includes the ZSK function (ZSK or CSK).
pub fn has_zsk(role: KeyRole) -> bool {
    matches!(role, KeyRole::Zsk | KeyRole::Csk)
}

pub use kasp_events::DsAtParent;

/// One key as used by one zone: a key_data row with its four key_states
/// (docs/state-machine.md, Keys and Records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyModel {
    /// Identity within the zone.
    pub id: KeyId,
    /// KSK, ZSK or CSK.
    pub role: KeyRole,
    /// DNSSEC algorithm number.
    pub algorithm: u8,
    /// Creation time of this key for the zone.
    pub inception: Timestamp,
    /// The goal: `true` = bring in, `false` = take out (docs/state-machine.md, Goals).
    pub introducing: bool,
    /// DS state at the parent as far as the operator told us (docs/state-machine.md, Keys
    /// and DS at the parent).
    pub ds_at_parent: DsAtParent,
    /// The HSM key still waits for a backup (BACKUP_REQUIRED or BACKUP_REQUESTED):
    /// no record may become omnipresent (docs/state-machine.md, Gates, gate 6, Q20).
    pub backup_pending: bool,
    /// The key material (`key_data.hsm_key_id`); `None` = no hsm key, which the
    /// policy step treats as an orphan (docs/state-machine.md, Policy step).
    pub hsm: Option<HsmKeyId>,
    /// `key_data.keytag` (docs/state-machine.md, Keys), as computed when the key was
    /// created.
    pub key_tag: u16,
    /// `key_data.minimize`, the policy key's bit set frozen at creation
    /// (docs/state-machine.md, Keys).
    pub minimize: u8,
    /// Whether the four key_state rows exist (docs/state-machine.md, Records: created
    /// lazily by `updateZone`). `false` only for a key made by updatePolicy in a run that
    /// ended before the state machine ran (docs/state-machine.md, One enforcer run, step 4,
    /// Q4); [`records`](Self::records) is then meaningless until
    /// [`super::update::update_zone`] creates the states at its `now`.
    pub states_created: bool,
    /// DS, DNSKEY, RRSIGDNSKEY and RRSIG.
    pub records: Records,
}

impl KeyModel {
    /// A new key with the initial record states of docs/state-machine.md, Records: DS and
    /// RRSIGDNSKEY hidden iff the role has the KSK bit, RRSIG hidden iff it has the ZSK
    /// bit, DNSKEY always hidden, all others NA. `minimize` is the policy key's bit set
    /// (RRSIG 1, DNSKEY 2, DS 4), frozen per record; `ttls` is the zone TTL per type at
    /// `created` ([`TtlWindows::ttl`]) in [`RecordType::ALL`] order. The key starts
    /// introducing, unsubmitted and without pending backup, with no key material and key
    /// tag 0.
    pub fn new(
        id: KeyId,
        role: KeyRole,
        algorithm: u8,
        minimize: u8,
        created: Timestamp,
        ttls: [Seconds; 4],
    ) -> KeyModel {
        let ksk = has_ksk(role);
        let zsk = has_zsk(role);
        let state = |applies: bool| {
            if applies {
                RecordState::Hidden
            } else {
                RecordState::Na
            }
        };
        let rec = |t: RecordType, applies: bool, bit: u8| Record {
            state: state(applies),
            last_change: created,
            ttl: ttls[t.index()],
            minimize: minimize & bit != 0,
        };
        KeyModel {
            id,
            role,
            algorithm,
            inception: created,
            introducing: true,
            ds_at_parent: DsAtParent::Unsubmitted,
            backup_pending: false,
            hsm: None,
            key_tag: 0,
            minimize,
            states_created: true,
            records: Records([
                rec(RecordType::Ds, ksk, 4),
                rec(RecordType::Dnskey, true, 2),
                rec(RecordType::RrsigDnskey, ksk, 0),
                rec(RecordType::Rrsig, zsk, 1),
            ]),
        }
    }

    /// This key with its four key states (re)created at `created` as
    /// [`KeyModel::new`] does, from the key's frozen `minimize`.
    pub fn with_initial_states(self, created: Timestamp, ttls: [Seconds; 4]) -> Self {
        let fresh = KeyModel::new(
            self.id,
            self.role,
            self.algorithm,
            self.minimize,
            created,
            ttls,
        );
        KeyModel {
            states_created: true,
            records: fresh.records,
            ..self
        }
    }

    /// The state of one record.
    pub fn state(&self, t: RecordType) -> RecordState {
        self.records.state(t)
    }
}

/// A successor relation (docs/state-machine.md, Successor relations): `to` succeeds `from`
/// for record type `record`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Dependency {
    /// The predecessor (old key).
    pub from: KeyId,
    /// The successor (new key).
    pub to: KeyId,
    /// The record type of the relation.
    pub record: RecordType,
}

/// Everything `updateZone` reads and writes for one zone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ZoneModel {
    /// The zone's keys in creation order (docs/state-machine.md, Evaluation order).
    pub keys: Vec<KeyModel>,
    /// Dependency rows in insertion order; duplicates allowed as in 2.1 (Q18).
    pub dependencies: Vec<Dependency>,
    /// `ttl_end_ds`, `ttl_end_dk`, `ttl_end_rs` (docs/state-machine.md, Zone and TTL
    /// windows).
    pub ttl_windows: TtlWindows,
    /// `roll_<role>_now`, set by `key rollover` and cleared by updatePolicy
    /// (docs/state-machine.md, Zone lifecycle and rollover requests, and Policy step).
    pub roll_now: PerRole<bool>,
    /// `next_<role>_roll` (docs/state-machine.md, Zone): the informational next automatic
    /// roll; `None` = 0.
    pub next_roll: PerRole<Option<Timestamp>>,
}

/// One value per key role, as the zone's `*_ksk_*`, `*_zsk_*`, `*_csk_*` columns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PerRole<T> {
    /// The KSK value.
    pub ksk: T,
    /// The ZSK value.
    pub zsk: T,
    /// The CSK value.
    pub csk: T,
}

impl<T: Copy> PerRole<T> {
    /// The value for `role`.
    pub fn get(&self, role: KeyRole) -> T {
        match role {
            KeyRole::Ksk => self.ksk,
            KeyRole::Zsk => self.zsk,
            KeyRole::Csk => self.csk,
        }
    }

    /// Sets the value for `role`.
    pub fn set(&mut self, role: KeyRole, value: T) {
        match role {
            KeyRole::Ksk => self.ksk = value,
            KeyRole::Zsk => self.zsk = value,
            KeyRole::Csk => self.csk = value,
        }
    }
}

impl ZoneModel {
    /// A zone without keys, dependencies, open TTL windows or roll requests.
    pub fn empty() -> ZoneModel {
        ZoneModel {
            keys: Vec::new(),
            dependencies: Vec::new(),
            ttl_windows: TtlWindows::UNSET,
            roll_now: PerRole::default(),
            next_roll: PerRole::default(),
        }
    }

    /// The key with id `id`, if any.
    pub fn key(&self, id: KeyId) -> Option<&KeyModel> {
        self.keys.iter().find(|k| k.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RecordState::*;

    fn states(role: KeyRole) -> [RecordState; 4] {
        KeyModel::new(KeyId(1), role, 8, 0, Timestamp(0), [Seconds(0); 4])
            .records
            .states()
    }

    #[test]
    fn initial_states_follow_the_role() {
        assert_eq!(states(KeyRole::Ksk), [Hidden, Hidden, Hidden, Na]);
        assert_eq!(states(KeyRole::Zsk), [Na, Hidden, Na, Hidden]);
        assert_eq!(states(KeyRole::Csk), [Hidden, Hidden, Hidden, Hidden]);
    }

    #[test]
    fn minimize_bits_are_split_per_record() {
        let k = KeyModel::new(KeyId(1), KeyRole::Csk, 8, 5, Timestamp(0), [Seconds(0); 4]);
        let m: Vec<bool> = k.records.0.iter().map(|r| r.minimize).collect();
        assert_eq!(m, [true, false, false, true]);
        let k = KeyModel::new(KeyId(1), KeyRole::Csk, 8, 7, Timestamp(0), [Seconds(0); 4]);
        let m: Vec<bool> = k.records.0.iter().map(|r| r.minimize).collect();
        assert_eq!(m, [true, true, false, true], "RRSIGDNSKEY never minimizes");
    }
}

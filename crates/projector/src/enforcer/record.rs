//! Record types, record states and the four records of a key — spec
//! `state-machine.md` §1.5 (key_state) and §4.1 (goal per record).
//!
//! Every key carries exactly four records (DS, DNSKEY, RRSIGDNSKEY, RRSIG); a record
//! that does not apply to the key's role is `Na` for its whole life.

use kasp_events::{Seconds, Timestamp};

/// One of the four records the enforcer tracks per key (§1.5 `key_state.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordType {
    /// The DS record at the parent.
    Ds,
    /// The DNSKEY record in the zone.
    Dnskey,
    /// The signature over the DNSKEY RRset made by this key.
    RrsigDnskey,
    /// The signatures over the zone data made by this key.
    Rrsig,
}

impl RecordType {
    /// All types in OpenDNSSEC 2.1's evaluation order (§4.3).
    pub const ALL: [RecordType; 4] = [
        RecordType::Ds,
        RecordType::Dnskey,
        RecordType::RrsigDnskey,
        RecordType::Rrsig,
    ];

    /// Position of this type in [`RecordType::ALL`] and in [`Records`].
    pub fn index(self) -> usize {
        match self {
            RecordType::Ds => 0,
            RecordType::Dnskey => 1,
            RecordType::RrsigDnskey => 2,
            RecordType::Rrsig => 3,
        }
    }

    /// OpenDNSSEC's name of the type (`key list -d` column headers).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::Ds => "DS",
            RecordType::Dnskey => "DNSKEY",
            RecordType::RrsigDnskey => "RRSIGDNSKEY",
            RecordType::Rrsig => "RRSIG",
        }
    }
}

/// State of one record (§1.5 `key_state.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordState {
    /// Not published anywhere (caches may still hold nothing).
    Hidden,
    /// Being introduced; not yet in every cache.
    Rumoured,
    /// Everywhere.
    Omnipresent,
    /// Being withdrawn; still in some caches.
    Unretentive,
    /// The record does not apply to the key's role.
    Na,
}

impl RecordState {
    /// OpenDNSSEC's text for the state (`hidden`, `rumoured`, …, `NA`).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordState::Hidden => "hidden",
            RecordState::Rumoured => "rumoured",
            RecordState::Omnipresent => "omnipresent",
            RecordState::Unretentive => "unretentive",
            RecordState::Na => "NA",
        }
    }

    /// The desired next state given the key's goal (§4.1, `E:getDesiredState`).
    /// Equal to `self` when the record is stable.
    pub fn desired(self, introducing: bool) -> RecordState {
        use RecordState::*;
        match (self, introducing) {
            (Hidden, true) => Rumoured,
            (Hidden, false) => Hidden,
            (Rumoured, true) => Omnipresent,
            (Rumoured, false) => Unretentive,
            (Omnipresent, true) => Omnipresent,
            (Omnipresent, false) => Unretentive,
            (Unretentive, true) => Rumoured,
            (Unretentive, false) => Hidden,
            (Na, _) => Na,
        }
    }
}

/// One record of a key: its state and the bookkeeping of its last change (§1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// Current state.
    pub state: RecordState,
    /// Time of the last transition (or of the last DS operator command, §7) — the only
    /// time input of the state machine.
    pub last_change: Timestamp,
    /// TTL in force at the last change; written, never read by the state machine.
    pub ttl: Seconds,
    /// This record type's minimize bit, frozen at key creation (§1.5, Q19).
    pub minimize: bool,
}

/// The four records of a key, indexed by [`RecordType`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Records(pub [Record; 4]);

impl Records {
    /// The record of type `t`.
    pub fn get(&self, t: RecordType) -> &Record {
        &self.0[t.index()]
    }

    /// The record of type `t`, mutably.
    pub fn get_mut(&mut self, t: RecordType) -> &mut Record {
        &mut self.0[t.index()]
    }

    /// The state of the record of type `t`.
    pub fn state(&self, t: RecordType) -> RecordState {
        self.get(t).state
    }

    /// The four states in [`RecordType::ALL`] order.
    pub fn states(&self) -> [RecordState; 4] {
        [
            self.0[0].state,
            self.0[1].state,
            self.0[2].state,
            self.0[3].state,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RecordState::*;

    #[test]
    fn desired_state_table_of_4_1() {
        let table = [
            (Hidden, Rumoured, Hidden),
            (Rumoured, Omnipresent, Unretentive),
            (Omnipresent, Omnipresent, Unretentive),
            (Unretentive, Rumoured, Hidden),
            (Na, Na, Na),
        ];
        for (cur, intro, outro) in table {
            assert_eq!(cur.desired(true), intro, "{cur:?} introducing");
            assert_eq!(cur.desired(false), outro, "{cur:?} retiring");
        }
    }

    #[test]
    fn type_order_and_index_agree() {
        for (i, t) in RecordType::ALL.into_iter().enumerate() {
            assert_eq!(t.index(), i);
        }
        assert_eq!(RecordType::RrsigDnskey.as_str(), "RRSIGDNSKEY");
        assert_eq!(Na.as_str(), "NA");
    }
}

//! Record types, record states and the four records of a key — docs/state-machine.md,
//! Records (key_state) and docs/state-machine.md, Goals (goal per record).
//!
//! Every key carries exactly four records (DS, DNSKEY, RRSIGDNSKEY, RRSIG); a record
//! that does not apply to the key's role is `Na` for its whole life.

use kasp_events::{Seconds, Timestamp};

pub use kasp_events::{RecordState, RecordType};

/// One record of a key: its state and the bookkeeping of its last change
/// (docs/state-machine.md, Records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// Current state.
    pub state: RecordState,
    /// Time of the last transition (or of the last DS operator command,
    /// docs/state-machine.md, DS at the parent) — the only time input of the state machine.
    pub last_change: Timestamp,
    /// TTL in force at the last change; written, never read by the state machine.
    pub ttl: Seconds,
    /// This record type's minimize bit, frozen at key creation (docs/state-machine.md,
    /// Records, Q19).
    pub minimize: bool,
}

/// The four records of a key, indexed by [`RecordType`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

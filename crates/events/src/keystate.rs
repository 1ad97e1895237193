//! The vocabulary of the key state machine that events carry (docs/state-machine.md, Keys,
//! Records and Successor relations): a zone's key identity, the four record types, their
//! states and the DS state at the parent. Persisted inside the enforcer events; the rules
//! that move them live in kasp-projector.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Identity of a key as used by one zone (`key_data.id`): unique within the log,
/// assigned by the enforcer run that created the key, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KeyId(pub u64);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// One of the four records the enforcer tracks per key (docs/state-machine.md, Records:
/// `key_state.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
    /// All types in OpenDNSSEC 2.1's evaluation order (docs/state-machine.md, Evaluation
    /// order).
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

/// State of one record (docs/state-machine.md, Records: `key_state.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

    /// The desired next state given the key's goal (docs/state-machine.md, Goals,
    /// `E:getDesiredState`). Equal to `self` when the record is stable.
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

/// `key_data.ds_at_parent` of OpenDNSSEC 2.1 (docs/state-machine.md, Keys; no `gone` in
/// 2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DsAtParent {
    /// Not at the parent (also the result of `ds-gone` in 2.1, Q12).
    Unsubmitted,
    /// The enforcer asks for submission.
    Submit,
    /// Submission was sent.
    Submitted,
    /// The operator confirmed the DS is at the parent (`ds-seen`).
    Seen,
    /// The enforcer asks for withdrawal.
    Retract,
    /// Withdrawal was sent.
    Retracted,
}

impl DsAtParent {
    /// OpenDNSSEC's text for the value.
    pub fn as_str(self) -> &'static str {
        match self {
            DsAtParent::Unsubmitted => "unsubmitted",
            DsAtParent::Submit => "submit",
            DsAtParent::Submitted => "submitted",
            DsAtParent::Seen => "seen",
            DsAtParent::Retract => "retract",
            DsAtParent::Retracted => "retracted",
        }
    }
}

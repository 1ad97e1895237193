//! A KASP policy as imported from kasp.xml. Persisted in `PolicyCreated` and
//! `PolicyUpdated`; released shapes are never edited (add a new event version instead).
//!
//! Field for field this is OpenDNSSEC's `policy` and `policyKey` tables: durations in
//! seconds, `minimize` as the roll-type bit set. Values the enforcer changes on its own
//! (the NSEC3 salt) are not part of the policy definition; they have events of their own.

use crate::ids::PolicyName;
use crate::time::Seconds;
use serde::{Deserialize, Serialize};

/// One `<Policy>` of kasp.xml.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub name: PolicyName,
    pub description: String,
    /// `<Passthrough/>`: do not sign, manage no keys.
    pub passthrough: bool,
    pub signatures: Signatures,
    pub denial: Denial,
    pub keys: Keys,
    pub zone: ZoneTiming,
    pub parent: ParentTiming,
}

/// `<Signatures>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signatures {
    pub resign: Seconds,
    pub refresh: Seconds,
    pub validity_default: Seconds,
    pub validity_denial: Seconds,
    /// `Validity/Keyset`; 0 when absent.
    pub validity_keyset: Seconds,
    pub jitter: Seconds,
    pub inception_offset: Seconds,
    /// 86400 when absent.
    pub max_zone_ttl: Seconds,
}

/// `<Denial>`: NSEC or NSEC3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Denial {
    Nsec,
    Nsec3(Nsec3),
}

/// `<NSEC3>` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nsec3 {
    /// NSEC3PARAM TTL; 0 when absent.
    pub ttl: Seconds,
    pub opt_out: bool,
    pub resalt: Seconds,
    pub algorithm: u8,
    pub iterations: u16,
    pub salt_length: u8,
}

/// `<Keys>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keys {
    pub ttl: Seconds,
    pub retire_safety: Seconds,
    pub publish_safety: Seconds,
    pub share_keys: bool,
    /// 0 = never purge.
    pub purge: Seconds,
    pub keys: Vec<PolicyKey>,
}

/// Role of a policy key; the numbers are OpenDNSSEC's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum KeyRole {
    Ksk,
    Zsk,
    Csk,
}

impl KeyRole {
    /// `KSK`, `ZSK` or `CSK`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyRole::Ksk => "KSK",
            KeyRole::Zsk => "ZSK",
            KeyRole::Csk => "CSK",
        }
    }
}

/// One `<KSK>`, `<ZSK>` or `<CSK>` element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyKey {
    pub role: KeyRole,
    pub algorithm: u8,
    pub bits: u32,
    pub lifetime: Seconds,
    pub repository: String,
    pub standby: u32,
    pub manual_rollover: bool,
    pub rfc5011: bool,
    /// Roll type as OpenDNSSEC's minimize bit set (RRSIG = 1, DNSKEY = 2, DS = 4).
    pub minimize: u8,
}

/// SOA serial kind (`Zone/SOA/Serial`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SerialKind {
    Counter,
    DateCounter,
    UnixTime,
    Keep,
}

impl SerialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SerialKind::Counter => "counter",
            SerialKind::DateCounter => "datecounter",
            SerialKind::UnixTime => "unixtime",
            SerialKind::Keep => "keep",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "counter" => SerialKind::Counter,
            "datecounter" => SerialKind::DateCounter,
            "unixtime" => SerialKind::UnixTime,
            "keep" => SerialKind::Keep,
            _ => return None,
        })
    }
}

/// `<Zone>` timing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneTiming {
    pub propagation_delay: Seconds,
    pub soa_ttl: Seconds,
    pub soa_minimum: Seconds,
    pub soa_serial: SerialKind,
}

/// `<Parent>` timing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentTiming {
    /// 0 when absent.
    pub registration_delay: Seconds,
    pub propagation_delay: Seconds,
    pub ds_ttl: Seconds,
    pub soa_ttl: Seconds,
    pub soa_minimum: Seconds,
}

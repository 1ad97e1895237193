//! Taking over an OpenDNSSEC 2.1 installation (`setup --import-ods`): the genesis of a log
//! made from OpenDNSSEC's enforcer database, in flight. Persisted.
//!
//! An imported log starts with `LogCreated`, then [`OdsImported`] (where the state came
//! from), then one [`OdsPolicyImported`] per policy row, one [`OdsHsmKeyImported`] per
//! HSM key row and one [`OdsZoneImported`] per zone row, each in the database's row order
//! (OpenDNSSEC lists policies and zones in that order, and evaluates a zone's keys in it).
//! All of them are appended in one transaction: an import is all there or not at all.
//!
//! A shadow log (`shadow`, beside a running OpenDNSSEC) holds one such import per change
//! of the database it saw, each followed by [`OdsShadowed`]: what kasp-ledger would have
//! decided differently. [`OdsImported`] therefore starts the state afresh: from it on,
//! the policies, zones and keys are those of the rows that follow.
//!
//! The bodies copy OpenDNSSEC's columns, value for value, into kasp-ledger's vocabulary
//! (OpenDNSSEC's own model: four records per key, the same timing fields), and each row
//! keeps its id and revision ([`OdsRow`]), so that an auditor can go from any fact of the
//! log back to the row it came from. Nothing here is computed by kasp-ledger except the
//! zone key ids ([`KeyId`], given in key row order) and the public keys, read from the
//! HSM.

use crate::enforcement::KeyDependency;
use crate::ids::{Locator, PolicyName};
use crate::key::{BackupState, KeySpec};
use crate::keystate::{DsAtParent, KeyId, RecordState};
use crate::policy::{KeyRole, Policy};
use crate::time::{Seconds, Timestamp};
use crate::zone::ZoneConfig;
use serde::{Deserialize, Serialize};

/// A row of OpenDNSSEC's database: its `id` and its revision (`rev`, which OpenDNSSEC's
/// database layer increments on every update).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OdsRow {
    pub id: i64,
    pub rev: i64,
}

/// Which of OpenDNSSEC's database backends was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OdsDatastore {
    Sqlite,
    Mysql,
}

impl OdsDatastore {
    /// The element name of conf.xml's `<Datastore>`.
    pub fn as_str(self) -> &'static str {
        match self {
            OdsDatastore::Sqlite => "SQLite",
            OdsDatastore::Mysql => "MySQL",
        }
    }
}

/// Where an imported state came from: the first record after `LogCreated` of a log made
/// by `setup --import-ods`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OdsImported {
    pub datastore: OdsDatastore,
    /// The SQLite file, or `host:port/database` of a MySQL server (`localhost:<socket>/database`
    /// through a Unix socket; never a user name or a password).
    pub location: String,
    /// `databaseVersion.version` (1 for OpenDNSSEC 2.x).
    pub schema_version: u32,
    /// blake3 of every row read, hex (`kasp_ods_database::Digest`): two reads of the same
    /// database state give the same digest.
    pub digest: String,
    /// How many rows of each table were read: policy, policyKey, zone, hsmKey, keyData,
    /// keyState, keyDependency.
    pub rows: [u64; 7],
    /// What the import found that the operator should know and did not refuse, one line
    /// each: the differences between the policies of the database (what OpenDNSSEC
    /// enforced, and what is imported) and those of the kasp.xml conf.xml names, and keys
    /// whose publish and active flags OpenDNSSEC had not yet brought in line with their
    /// records (kasp-ledger derives them from the records).
    pub findings: Vec<String>,
}

/// One difference between what OpenDNSSEC decided and what kasp-ledger decides from the
/// same state at the same moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowDivergence {
    pub zone: String,
    /// The key (`KSK 12345 <locator>`), if the difference is about one.
    pub key: Option<String>,
    /// What differs: a record type (`DNSKEY`), `DS at parent`, `goal`, `key`,
    /// `next change`.
    pub what: String,
    /// OpenDNSSEC's value.
    pub theirs: String,
    /// kasp-ledger's value.
    pub ours: String,
    /// The moment of OpenDNSSEC's decision (its run), as far as the database shows it.
    pub at: Timestamp,
}

/// The shadow saw OpenDNSSEC's database change (the import that follows is the new
/// state) and compared OpenDNSSEC's decisions with kasp-ledger's from the state before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OdsShadowed {
    /// The digest of the database state compared with (`OdsImported::digest`).
    pub digest: String,
    /// The zones OpenDNSSEC changed and kasp-ledger's decisions were compared for.
    pub zones: Vec<String>,
    /// Changes whose moment the database does not show (not compared), one line each.
    pub not_compared: Vec<String>,
    pub divergences: Vec<ShadowDivergence>,
}

/// A policy row with its policy key rows (`policyKey`, in row order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OdsPolicyImported {
    pub row: OdsRow,
    pub key_rows: Vec<OdsRow>,
    pub policy: Policy,
    /// The NSEC3 salt (lower-case hex) and its last change (`denialSalt`,
    /// `denialSaltLastChange`); `None` when the policy was never resalted.
    pub salt: Option<(String, Timestamp)>,
}

/// `hsmKey.state`: how the material is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OdsKeyUse {
    /// In the pool, given to no zone.
    Unused,
    /// Given to one zone.
    Private,
    /// Shared by the zones of a ShareKeys policy.
    Shared,
    /// Released, waiting to be removed from the HSM.
    Delete,
}

/// An HSM key row: the pool's unused keys, the zones' keys, shared keys and keys waiting
/// for deletion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OdsHsmKeyImported {
    pub row: OdsRow,
    pub locator: Locator,
    /// Repository, policy, role, algorithm and bits it was generated for.
    pub spec: KeySpec,
    pub usage: OdsKeyUse,
    pub backup: BackupState,
    /// When it was generated.
    pub inception: Timestamp,
    /// `isRevoked`.
    pub revoked: bool,
    /// The DNSKEY public-key field, read from the HSM at import (empty for a key waiting
    /// for deletion, which may be gone from the HSM already).
    pub public_key: Vec<u8>,
}

/// One record of an imported key (`keyState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OdsRecord {
    pub row: OdsRow,
    pub state: RecordState,
    pub last_change: Timestamp,
    pub ttl: Seconds,
    pub minimize: bool,
}

/// One key of an imported zone (`keyData`) with its four records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OdsZoneKey {
    pub row: OdsRow,
    /// The zone key's id in this log.
    pub id: KeyId,
    /// The material (`hsmKeyId`'s locator).
    pub locator: Locator,
    pub role: KeyRole,
    pub algorithm: u8,
    pub inception: Timestamp,
    pub introducing: bool,
    pub publish: bool,
    pub active_ksk: bool,
    pub active_zsk: bool,
    pub standby: bool,
    pub should_revoke: bool,
    pub ds_at_parent: DsAtParent,
    pub key_tag: u16,
    /// `keyData.minimize`: the bit set (RRSIG 1, DNSKEY 2, DS 4).
    pub minimize: u8,
    /// DS, DNSKEY, RRSIGDNSKEY, RRSIG; `None` when OpenDNSSEC had not created the key's
    /// states yet (a key made in a run that ended before its state machine).
    pub records: Option<[OdsRecord; 4]>,
}

/// A key dependency row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OdsDependency {
    pub row: OdsRow,
    pub dependency: KeyDependency,
}

/// A zone row with its keys (in row order) and key dependencies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OdsZoneImported {
    pub row: OdsRow,
    pub zone: ZoneConfig,
    /// `nextChange`: `None` when nothing is scheduled (-1).
    pub next_change: Option<Timestamp>,
    /// `signconfNeedsWriting`.
    pub signconf_needed: bool,
    /// `ttlEndDs`, `ttlEndDk`, `ttlEndRs`.
    pub ttl_windows: [Timestamp; 3],
    /// The roles whose `roll*Now` flag is set: a manual rollover requested, not started.
    pub roll_now: Vec<KeyRole>,
    /// `nextKskRoll`, `nextZskRoll`, `nextCskRoll` (`None` = 0).
    pub next_roll: [Option<Timestamp>; 3],
    pub keys: Vec<OdsZoneKey>,
    pub dependencies: Vec<OdsDependency>,
}

/// The policy name of an imported HSM key whose policy row no longer exists (`policy
/// purge` leaves the keys of the policy it deletes).
pub fn purged_policy_name(policy_id: i64) -> Option<PolicyName> {
    PolicyName::new(&format!("purged-policy-{policy_id}")).ok()
}

//! One consistent read of the whole database, whichever the backend: every table the import
//! needs, checked (schema version, enum values, references) and digested. The backends
//! (sqlite.rs, mysql.rs) open the read's one transaction and hand its rows over through
//! [`Select`].

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::decode::{Fields, Select, read_table};
use crate::error::Error;
use crate::open::JournalMode;
use crate::rows::{
    DatabaseVersion, HsmKey, KeyData, KeyDependency, KeyState, Policy, PolicyKey, Zone,
};

/// The schema version of OpenDNSSEC 2.1 (`databaseVersion.version`).
pub const SCHEMA_VERSION: u32 = 1;

/// The key of the digest (blake3 derive-key context): a change of what is digested or how
/// changes it.
const DIGEST_CONTEXT: &str = "kasp-ledger 2026-12 OpenDNSSEC 2.1 database rows v1";

/// How to read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// How long to wait for a lock another connection holds (OpenDNSSEC writing) before
    /// refusing with `Error::Locked`; for MySQL also how long to wait for the server to
    /// accept the connection and to answer.
    pub busy_timeout: Duration,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// The blake3 digest of what was read: every table, in a fixed order, every column of every
/// row in id order, as the database returned it (type tag and value: NULL, a 64-bit integer,
/// or text as its bytes), with the table and column names.
///
/// Both backends return the same kinds of values for OpenDNSSEC's schema (integers, text,
/// the one NULL of `signaturesValidityKeyset`), so an SQLite and a MySQL database holding the
/// same stored values have the same digest. The one way the same installation is stored
/// differently: an unsigned 32-bit column holding 2^31 or more (a time after January 2038)
/// is a negative integer in SQLite (decode.rs) and the value itself in MySQL, so the digests
/// differ there although the typed rows are the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest(pub [u8; 32]);

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Where a snapshot was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An SQLite file, and how it keeps its journal.
    Sqlite { path: PathBuf, journal: JournalMode },
    /// A MySQL (or MariaDB) database: [`crate::MysqlServer::location`].
    Mysql { location: String },
}

impl Source {
    /// The file, or `host:port/database` (never a user name or a password).
    pub fn location(&self) -> String {
        match self {
            Source::Sqlite { path, .. } => path.display().to_string(),
            Source::Mysql { location } => location.clone(),
        }
    }
}

/// Everything read, each table's rows in id order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Where it was read.
    pub source: Source,
    pub version: DatabaseVersion,
    pub policies: Vec<Policy>,
    pub policy_keys: Vec<PolicyKey>,
    pub zones: Vec<Zone>,
    pub hsm_keys: Vec<HsmKey>,
    pub key_data: Vec<KeyData>,
    pub key_states: Vec<KeyState>,
    pub key_dependencies: Vec<KeyDependency>,
    pub digest: Digest,
}

impl Snapshot {
    /// The key dependencies whose zone and both keys exist (see `check_references`).
    pub fn live_dependencies(&self) -> impl Iterator<Item = &KeyDependency> {
        let zones: HashSet<i64> = self.zones.iter().map(|z| z.row.id).collect();
        let keys: HashSet<i64> = self.key_data.iter().map(|k| k.row.id).collect();
        self.key_dependencies.iter().filter(move |d| {
            zones.contains(&d.zone_id)
                && keys.contains(&d.from_key_data_id)
                && keys.contains(&d.to_key_data_id)
        })
    }
}

/// Reads every table through `select` (inside the backend's one read transaction), digests
/// what it returned and checks it.
pub(crate) fn read_snapshot(select: &mut dyn Select, source: Source) -> Result<Snapshot, Error> {
    let mut digest = blake3::Hasher::new_derive_key(DIGEST_CONTEXT);
    let mut snapshot = read_tables(select, source, &mut digest)?;
    snapshot.digest = Digest(*digest.finalize().as_bytes());
    check_references(&snapshot)?;
    Ok(snapshot)
}

fn read_tables(
    tx: &mut dyn Select,
    source: Source,
    digest: &mut blake3::Hasher,
) -> Result<Snapshot, Error> {
    let versions = read_table(tx, "databaseVersion", &["version"], digest, |f| {
        Ok(DatabaseVersion {
            row: f.row_id()?,
            version: f.u32("version")?,
        })
    })?;
    let version = match versions.as_slice() {
        [one] if one.version == SCHEMA_VERSION => one.clone(),
        [one] => {
            return Err(Error::SchemaVersion {
                database: source.location(),
                found: one.version.to_string(),
            });
        }
        [] => {
            return Err(Error::SchemaVersion {
                database: source.location(),
                found: "none (databaseVersion is empty)".to_string(),
            });
        }
        many => {
            return Err(Error::SchemaVersion {
                database: source.location(),
                found: format!("unknown ({} rows in databaseVersion)", many.len()),
            });
        }
    };
    let policies = read_table(tx, "policy", POLICY, digest, policy)?;
    let policy_keys = read_table(tx, "policyKey", POLICY_KEY, digest, policy_key)?;
    let zones = read_table(tx, "zone", ZONE, digest, zone)?;
    let hsm_keys = read_table(tx, "hsmKey", HSM_KEY, digest, hsm_key)?;
    let key_data = read_table(tx, "keyData", KEY_DATA, digest, key_data)?;
    let key_states = read_table(tx, "keyState", KEY_STATE, digest, key_state)?;
    let key_dependencies = read_table(tx, "keyDependency", KEY_DEPENDENCY, digest, key_dependency)?;
    Ok(Snapshot {
        source,
        version,
        policies,
        policy_keys,
        zones,
        hsm_keys,
        key_data,
        key_states,
        key_dependencies,
        digest: Digest([0; 32]),
    })
}

const POLICY: &[&str] = &[
    "name",
    "description",
    "signaturesResign",
    "signaturesRefresh",
    "signaturesJitter",
    "signaturesInceptionOffset",
    "signaturesValidityDefault",
    "signaturesValidityDenial",
    "signaturesValidityKeyset",
    "signaturesMaxZoneTtl",
    "denialType",
    "denialOptout",
    "denialTtl",
    "denialResalt",
    "denialAlgorithm",
    "denialIterations",
    "denialSaltLength",
    "denialSalt",
    "denialSaltLastChange",
    "keysTtl",
    "keysRetireSafety",
    "keysPublishSafety",
    "keysShared",
    "keysPurgeAfter",
    "zonePropagationDelay",
    "zoneSoaTtl",
    "zoneSoaMinimum",
    "zoneSoaSerial",
    "parentRegistrationDelay",
    "parentPropagationDelay",
    "parentDsTtl",
    "parentSoaTtl",
    "parentSoaMinimum",
    "passthrough",
];

fn policy(f: &Fields<'_>) -> Result<Policy, Error> {
    Ok(Policy {
        row: f.row_id()?,
        name: f.text("name")?,
        description: f.text("description")?,
        signatures_resign: f.u32("signaturesResign")?,
        signatures_refresh: f.u32("signaturesRefresh")?,
        signatures_jitter: f.u32("signaturesJitter")?,
        signatures_inception_offset: f.u32("signaturesInceptionOffset")?,
        signatures_validity_default: f.u32("signaturesValidityDefault")?,
        signatures_validity_denial: f.u32("signaturesValidityDenial")?,
        signatures_validity_keyset: f.opt_u32("signaturesValidityKeyset")?,
        signatures_max_zone_ttl: f.u32("signaturesMaxZoneTtl")?,
        denial_type: f.coded("denialType")?,
        denial_optout: f.flag("denialOptout")?,
        denial_ttl: f.u32("denialTtl")?,
        denial_resalt: f.u32("denialResalt")?,
        denial_algorithm: f.u8("denialAlgorithm")?,
        denial_iterations: f.u32("denialIterations")?,
        denial_salt_length: f.u32("denialSaltLength")?,
        denial_salt: f.text("denialSalt")?,
        denial_salt_last_change: f.u32("denialSaltLastChange")?,
        keys_ttl: f.u32("keysTtl")?,
        keys_retire_safety: f.u32("keysRetireSafety")?,
        keys_publish_safety: f.u32("keysPublishSafety")?,
        keys_shared: f.flag("keysShared")?,
        keys_purge_after: f.u32("keysPurgeAfter")?,
        zone_propagation_delay: f.u32("zonePropagationDelay")?,
        zone_soa_ttl: f.u32("zoneSoaTtl")?,
        zone_soa_minimum: f.u32("zoneSoaMinimum")?,
        zone_soa_serial: f.coded("zoneSoaSerial")?,
        parent_registration_delay: f.u32("parentRegistrationDelay")?,
        parent_propagation_delay: f.u32("parentPropagationDelay")?,
        parent_ds_ttl: f.u32("parentDsTtl")?,
        parent_soa_ttl: f.u32("parentSoaTtl")?,
        parent_soa_minimum: f.u32("parentSoaMinimum")?,
        passthrough: f.flag("passthrough")?,
    })
}

const POLICY_KEY: &[&str] = &[
    "policyId",
    "role",
    "algorithm",
    "bits",
    "lifetime",
    "repository",
    "standby",
    "manualRollover",
    "rfc5011",
    "minimize",
];

fn policy_key(f: &Fields<'_>) -> Result<PolicyKey, Error> {
    Ok(PolicyKey {
        row: f.row_id()?,
        policy_id: f.i64("policyId")?,
        role: f.coded("role")?,
        algorithm: f.u8("algorithm")?,
        bits: f.u32("bits")?,
        lifetime: f.u32("lifetime")?,
        repository: f.text("repository")?,
        standby: f.u32("standby")?,
        manual_rollover: f.flag("manualRollover")?,
        rfc5011: f.flag("rfc5011")?,
        minimize: f.coded("minimize")?,
    })
}

const ZONE: &[&str] = &[
    "policyId",
    "name",
    "signconfNeedsWriting",
    "signconfPath",
    "nextChange",
    "ttlEndDs",
    "ttlEndDk",
    "ttlEndRs",
    "rollKskNow",
    "rollZskNow",
    "rollCskNow",
    "inputAdapterType",
    "inputAdapterUri",
    "outputAdapterType",
    "outputAdapterUri",
    "nextKskRoll",
    "nextZskRoll",
    "nextCskRoll",
];

fn zone(f: &Fields<'_>) -> Result<Zone, Error> {
    Ok(Zone {
        row: f.row_id()?,
        policy_id: f.i64("policyId")?,
        name: f.text("name")?,
        signconf_needs_writing: f.flag("signconfNeedsWriting")?,
        signconf_path: f.text("signconfPath")?,
        next_change: f.i32("nextChange")?,
        ttl_end_ds: f.u32("ttlEndDs")?,
        ttl_end_dk: f.u32("ttlEndDk")?,
        ttl_end_rs: f.u32("ttlEndRs")?,
        roll_ksk_now: f.flag("rollKskNow")?,
        roll_zsk_now: f.flag("rollZskNow")?,
        roll_csk_now: f.flag("rollCskNow")?,
        input_adapter_type: f.text("inputAdapterType")?,
        input_adapter_uri: f.text("inputAdapterUri")?,
        output_adapter_type: f.text("outputAdapterType")?,
        output_adapter_uri: f.text("outputAdapterUri")?,
        next_ksk_roll: f.u32("nextKskRoll")?,
        next_zsk_roll: f.u32("nextZskRoll")?,
        next_csk_roll: f.u32("nextCskRoll")?,
    })
}

const HSM_KEY: &[&str] = &[
    "policyId",
    "locator",
    "state",
    "bits",
    "algorithm",
    "role",
    "inception",
    "isRevoked",
    "keyType",
    "repository",
    "backup",
];

fn hsm_key(f: &Fields<'_>) -> Result<HsmKey, Error> {
    Ok(HsmKey {
        row: f.row_id()?,
        policy_id: f.i64("policyId")?,
        locator: f.text("locator")?,
        state: f.coded("state")?,
        bits: f.u32("bits")?,
        algorithm: f.u8("algorithm")?,
        role: f.coded("role")?,
        inception: f.u32("inception")?,
        is_revoked: f.flag("isRevoked")?,
        key_type: f.coded("keyType")?,
        repository: f.text("repository")?,
        backup: f.coded("backup")?,
    })
}

const KEY_DATA: &[&str] = &[
    "zoneId",
    "hsmKeyId",
    "algorithm",
    "inception",
    "role",
    "introducing",
    "shouldRevoke",
    "standby",
    "activeZsk",
    "publish",
    "activeKsk",
    "dsAtParent",
    "keytag",
    "minimize",
];

fn key_data(f: &Fields<'_>) -> Result<KeyData, Error> {
    Ok(KeyData {
        row: f.row_id()?,
        zone_id: f.i64("zoneId")?,
        hsm_key_id: f.i64("hsmKeyId")?,
        algorithm: f.u8("algorithm")?,
        inception: f.u32("inception")?,
        role: f.coded("role")?,
        introducing: f.flag("introducing")?,
        should_revoke: f.flag("shouldRevoke")?,
        standby: f.flag("standby")?,
        active_zsk: f.flag("activeZsk")?,
        publish: f.flag("publish")?,
        active_ksk: f.flag("activeKsk")?,
        ds_at_parent: f.coded("dsAtParent")?,
        keytag: f.u16("keytag")?,
        minimize: f.coded("minimize")?,
    })
}

const KEY_STATE: &[&str] = &[
    "keyDataId",
    "type",
    "state",
    "lastChange",
    "minimize",
    "ttl",
];

fn key_state(f: &Fields<'_>) -> Result<KeyState, Error> {
    Ok(KeyState {
        row: f.row_id()?,
        key_data_id: f.i64("keyDataId")?,
        record: f.coded("type")?,
        state: f.coded("state")?,
        last_change: f.u32("lastChange")?,
        minimize: f.flag("minimize")?,
        ttl: f.u32("ttl")?,
    })
}

const KEY_DEPENDENCY: &[&str] = &["zoneId", "fromKeyDataId", "toKeyDataId", "type"];

fn key_dependency(f: &Fields<'_>) -> Result<KeyDependency, Error> {
    Ok(KeyDependency {
        row: f.row_id()?,
        zone_id: f.i64("zoneId")?,
        from_key_data_id: f.i64("fromKeyDataId")?,
        to_key_data_id: f.i64("toKeyDataId")?,
        record: f.coded("type")?,
    })
}

/// Every reference the enforcer follows must name an existing row: a zone's policy (purge
/// only deletes policies without zones), a key's zone and HSM key, a key state's key.
///
/// Not checked, because OpenDNSSEC 2.1 itself leaves them dangling: the `policyId` of policy
/// keys and HSM keys (`policy purge` deletes the policy row only, policy_purge_cmd.c), and
/// key dependencies (`zone delete` deletes the zone's key states and keys but not its
/// dependencies, zone_del_cmd.c). They are kept as read; `Snapshot::live_dependencies` gives
/// the ones whose zone and keys exist.
fn check_references(s: &Snapshot) -> Result<(), Error> {
    let policies: HashSet<i64> = s.policies.iter().map(|p| p.row.id).collect();
    let zones: HashSet<i64> = s.zones.iter().map(|z| z.row.id).collect();
    let hsm_keys: HashSet<i64> = s.hsm_keys.iter().map(|k| k.row.id).collect();
    let key_data: HashSet<i64> = s.key_data.iter().map(|k| k.row.id).collect();
    let check = |set: &HashSet<i64>, table, id, column, target, value| {
        if set.contains(&value) {
            Ok(())
        } else {
            Err(Error::Dangling {
                table,
                id,
                column,
                target,
                value,
            })
        }
    };
    for z in &s.zones {
        check(
            &policies,
            "zone",
            z.row.id,
            "policyId",
            "policy",
            z.policy_id,
        )?;
    }
    for k in &s.key_data {
        check(&zones, "keyData", k.row.id, "zoneId", "zone", k.zone_id)?;
        check(
            &hsm_keys,
            "keyData",
            k.row.id,
            "hsmKeyId",
            "hsmKey",
            k.hsm_key_id,
        )?;
    }
    for k in &s.key_states {
        check(
            &key_data,
            "keyState",
            k.row.id,
            "keyDataId",
            "keyData",
            k.key_data_id,
        )?;
    }
    Ok(())
}

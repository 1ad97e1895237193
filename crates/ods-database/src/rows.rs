//! The rows of OpenDNSSEC 2.1's tables, as read: one struct per table, one field per column
//! (OpenDNSSEC's column name in each field's comment where the Rust name differs), typed.
//!
//! Times are what OpenDNSSEC stores: seconds since the Unix epoch in an unsigned 32-bit
//! integer (0 where no time was set), except `zone.nextChange`, a signed one (-1: nothing
//! scheduled). Durations are seconds. Flags are 0/1 in the database, `bool` here.

use crate::enums::{
    Backup, DenialType, DsAtParent, HsmKeyState, HsmKeyType, Minimize, RecordState, RecordType,
    Role, SoaSerial,
};

/// The identity of a row: its primary key and its revision (`rev`, which OpenDNSSEC's
/// database layer increments on every update, 1 on insert).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowId {
    pub id: i64,
    pub rev: i64,
}

/// `databaseVersion`: one row; version 1 is OpenDNSSEC 2.x's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseVersion {
    pub row: RowId,
    pub version: u32,
}

/// `policy`: a KASP policy as the enforcer holds it (imported from kasp.xml by
/// `policy import`/`update kasp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub row: RowId,
    pub name: String,
    pub description: String,
    /// `signaturesResign`.
    pub signatures_resign: u32,
    pub signatures_refresh: u32,
    pub signatures_jitter: u32,
    pub signatures_inception_offset: u32,
    pub signatures_validity_default: u32,
    pub signatures_validity_denial: u32,
    /// `signaturesValidityKeyset`: the one nullable column of the schema. OpenDNSSEC 2.1
    /// writes 0 when the policy has no `<Validity><Keyset>` (and would read a NULL as 0);
    /// `None` is a NULL as stored.
    pub signatures_validity_keyset: Option<u32>,
    pub signatures_max_zone_ttl: u32,
    pub denial_type: DenialType,
    /// NSEC3 opt-out.
    pub denial_optout: bool,
    /// NSEC3PARAM TTL.
    pub denial_ttl: u32,
    /// The resalt interval.
    pub denial_resalt: u32,
    /// NSEC3 hash algorithm (1: SHA-1).
    pub denial_algorithm: u8,
    pub denial_iterations: u32,
    /// The salt length in bytes the policy asks for.
    pub denial_salt_length: u32,
    /// The current salt, as lowercase hex text (policy_resalt_task.c writes `to_hex` of the
    /// random bytes); empty before the first resalt and for NSEC.
    pub denial_salt: String,
    /// When the salt was last changed (0: never).
    pub denial_salt_last_change: u32,
    /// DNSKEY TTL.
    pub keys_ttl: u32,
    pub keys_retire_safety: u32,
    pub keys_publish_safety: u32,
    /// `<ShareKeys/>`.
    pub keys_shared: bool,
    /// `<Purge>`: how long after dead keys are removed (0: never).
    pub keys_purge_after: u32,
    pub zone_propagation_delay: u32,
    pub zone_soa_ttl: u32,
    pub zone_soa_minimum: u32,
    pub zone_soa_serial: SoaSerial,
    pub parent_registration_delay: u32,
    pub parent_propagation_delay: u32,
    pub parent_ds_ttl: u32,
    pub parent_soa_ttl: u32,
    pub parent_soa_minimum: u32,
    /// `<Passthrough/>`: the signer passes the zone through unsigned.
    pub passthrough: bool,
}

/// `policyKey`: one `<KSK>`/`<ZSK>`/`<CSK>` of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyKey {
    pub row: RowId,
    /// `policyId`. May name a policy that no longer exists: `policy purge` deletes the policy
    /// row only (policy_purge_cmd.c).
    pub policy_id: i64,
    pub role: Role,
    pub algorithm: u8,
    pub bits: u32,
    pub lifetime: u32,
    /// The HSM repository (token label in conf.xml).
    pub repository: String,
    /// Number of standby keys.
    pub standby: u32,
    pub manual_rollover: bool,
    pub rfc5011: bool,
    /// The rollover type, as the records it minimizes.
    pub minimize: Minimize,
}

/// `zone`: a zone and the enforcer's schedule for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    pub row: RowId,
    /// `policyId`.
    pub policy_id: i64,
    pub name: String,
    /// `signconfNeedsWriting`: the enforcer changed something the signconf carries and has
    /// not written it yet.
    pub signconf_needs_writing: bool,
    pub signconf_path: String,
    /// `nextChange`: when the enforcer must run for the zone next; -1 when nothing is
    /// scheduled (a signed 32-bit integer, unlike every other time).
    pub next_change: i32,
    /// `ttlEndDs`: until when the parent's DS set as last seen may be cached (the enforcer's
    /// "TTL end" for the DS records, used when a policy's TTL changes).
    pub ttl_end_ds: u32,
    /// `ttlEndDk`: the same for the DNSKEY set.
    pub ttl_end_dk: u32,
    /// `ttlEndRs`: the same for the signatures (RRSIG).
    pub ttl_end_rs: u32,
    /// `rollKskNow`: a manual KSK rollover was asked for (`key rollover`) and not yet started.
    pub roll_ksk_now: bool,
    pub roll_zsk_now: bool,
    pub roll_csk_now: bool,
    pub input_adapter_type: String,
    pub input_adapter_uri: String,
    pub output_adapter_type: String,
    pub output_adapter_uri: String,
    /// `nextKskRoll`: when the current KSK's lifetime ends (0: not computed yet).
    pub next_ksk_roll: u32,
    pub next_zsk_roll: u32,
    pub next_csk_roll: u32,
}

/// `keyData`: one key of one zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyData {
    pub row: RowId,
    /// `zoneId`.
    pub zone_id: i64,
    /// `hsmKeyId`: the key material.
    pub hsm_key_id: i64,
    pub algorithm: u8,
    /// When the key was created for the zone.
    pub inception: u32,
    pub role: Role,
    /// The key is being introduced (goal: omnipresent); false once it is to be retired.
    pub introducing: bool,
    /// `shouldRevoke` (RFC 5011).
    pub should_revoke: bool,
    pub standby: bool,
    /// `activeZsk`: the key signs the zone's records.
    pub active_zsk: bool,
    /// The DNSKEY is to be published.
    pub publish: bool,
    /// `activeKsk`: the key signs the DNSKEY set.
    pub active_ksk: bool,
    /// `dsAtParent`.
    pub ds_at_parent: DsAtParent,
    /// The DNSKEY's key tag, as OpenDNSSEC computed it at generation.
    pub keytag: u16,
    /// The rollover type this key was created with (copied from its policy key).
    pub minimize: Minimize,
}

/// `keyState`: the state of one record (DS, DNSKEY, RRSIG DNSKEY, RRSIG) of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyState {
    pub row: RowId,
    /// `keyDataId`.
    pub key_data_id: i64,
    /// `type`.
    pub record: RecordType,
    pub state: RecordState,
    /// When the state last changed.
    pub last_change: u32,
    /// Whether this record is the one minimized in the key's rollover (0/1 here, unlike the
    /// bit set of `keyData.minimize`).
    pub minimize: bool,
    /// The TTL of the record when it last changed state.
    pub ttl: u32,
}

/// `keyDependency`: during a rollover, that `from`'s record of `type` may not go before
/// `to`'s is in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDependency {
    pub row: RowId,
    pub zone_id: i64,
    /// `fromKeyDataId`.
    pub from_key_data_id: i64,
    /// `toKeyDataId`.
    pub to_key_data_id: i64,
    /// `type`.
    pub record: RecordType,
}

/// `hsmKey`: a key in an HSM, used or in the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HsmKey {
    pub row: RowId,
    /// `policyId`: the policy the key was generated for. May name a policy that no longer
    /// exists (`policy purge` leaves its keys).
    pub policy_id: i64,
    /// The PKCS#11 CKA_ID, as hex text.
    pub locator: String,
    pub state: HsmKeyState,
    pub bits: u32,
    pub algorithm: u8,
    pub role: Role,
    /// When the key was generated.
    pub inception: u32,
    /// `isRevoked`.
    pub is_revoked: bool,
    /// `keyType` (always RSA in 2.1, whatever the algorithm).
    pub key_type: HsmKeyType,
    /// The HSM repository (token label in conf.xml).
    pub repository: String,
    pub backup: Backup,
}

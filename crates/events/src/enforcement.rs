//! Enforcer events: what one enforcer run decided for a zone, what operators and the
//! DS tasks changed at the parent, and the side effects the enforcer carried out
//! (signconf written, key material destroyed, clock moved). Persisted.
//!
//! A run is recorded as one [`ZoneEnforced`] holding every decision of the run in the order
//! OpenDNSSEC 2.1 makes them (docs/state-machine.md, One enforcer run): policy step (new
//! and retired keys, roll times), state machine (TTL windows, key states created, each
//! record transition with the rule that allowed it), purge, next wake-up. Replaying it only
//! copies these facts; the state machine never runs again on replay.

use crate::ids::{Locator, PolicyName, ZoneName};
use crate::keystate::{DsAtParent, KeyId, RecordState, RecordType};
use crate::policy::KeyRole;
use crate::time::{Seconds, Timestamp};
use serde::{Deserialize, Serialize};

/// A key the policy step created for the zone (docs/state-machine.md, Policy step, the new
/// key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewZoneKey {
    pub id: KeyId,
    /// The key material (`hsm_key.locator`).
    pub locator: Locator,
    pub role: KeyRole,
    pub algorithm: u8,
    pub key_tag: u16,
    /// The policy key's minimize bits, frozen (docs/state-machine.md, Keys).
    pub minimize: u8,
    /// Whether the material is shared between zones (ShareKeys policy,
    /// docs/state-machine.md, Key pool).
    pub shared: bool,
}

/// A successor relation (docs/state-machine.md, Successor relations): `to` succeeds `from`
/// for `record`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDependency {
    pub from: KeyId,
    pub to: KeyId,
    pub record: RecordType,
}

/// Why the state machine let a record move (docs/state-machine.md, Gates): the roll type's
/// ordering and the three DNSSEC validity rules held after the move, and the timing formula
/// (docs/state-machine.md, Timing) allowed it from `earliest` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionRule {
    /// The earliest time the timing formula allowed for the move (≤ the time of the run;
    /// docs/state-machine.md, Timing).
    pub earliest: Timestamp,
    /// The TTL the timing used (`E:getZoneTTL`).
    pub ttl: Seconds,
    /// The smooth-rollover extra applied (RRSIG during a ZSK roll; docs/state-machine.md,
    /// Timing).
    pub smooth: bool,
    /// The policy has no keys: the zone may go unsigned, rule 1 was not required.
    pub unsigned: bool,
}

/// One committed record transition (docs/state-machine.md, Gates, gate 8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordTransition {
    pub key: KeyId,
    pub record: RecordType,
    pub from: RecordState,
    pub to: RecordState,
    pub rule: TransitionRule,
    /// `ds_at_parent` change made with a DS transition (docs/state-machine.md, DS side
    /// effects), as (before, after).
    pub ds_at_parent: Option<(DsAtParent, DsAtParent)>,
    /// Dependency rows created from this key by markSuccessors (docs/state-machine.md,
    /// Marking successors), their `to`.
    pub successors: Vec<KeyId>,
}

/// The state machine part of a run (docs/state-machine.md, State machine): absent when the
/// run ended early.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateMachineRun {
    /// `ttl_end_ds`, `ttl_end_dk`, `ttl_end_rs` after the run (docs/state-machine.md, TTL
    /// windows).
    pub ttl_windows: [Timestamp; 3],
    /// Keys whose four key states were created in this run (docs/state-machine.md,
    /// Records), with the zone TTL per record type (DS, DNSKEY, RRSIGDNSKEY, RRSIG) they
    /// were created with.
    pub created_states: Vec<KeyId>,
    pub initial_ttls: [Seconds; 4],
    /// Committed transitions in commit order.
    pub transitions: Vec<RecordTransition>,
}

/// One enforcer run for one zone (docs/state-machine.md, One enforcer run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneEnforced {
    pub zone: ZoneName,
    /// Policy step: keys created, in creation order.
    pub new_keys: Vec<NewZoneKey>,
    /// Policy step: keys whose goal became "remove".
    pub retired: Vec<KeyId>,
    /// `next_<role>_roll` after the run (KSK, ZSK, CSK; `None` = 0).
    pub next_roll: [Option<Timestamp>; 3],
    /// Roles whose `roll_<role>_now` request was served and cleared.
    pub roll_cleared: Vec<KeyRole>,
    /// The state machine's decisions; `None` when the purge destroyed key material and
    /// the run ended at once (Q4), or for a passthrough policy.
    pub state_machine: Option<StateMachineRun>,
    /// Purge: dead keys removed from the zone, and dependency rows deleted with them.
    pub purged: Vec<KeyId>,
    pub purged_dependencies: Vec<KeyDependency>,
    /// Key material no key of any zone uses any more (`hsm_key` → DELETE).
    pub released: Vec<Locator>,
    /// Unused DELETE material this run removes from the HSM (docs/state-machine.md, Dead
    /// keys and purge; when not empty the run ended before the state machine, Q4).
    /// Destroyed after the record, see [`KeyMaterialDeleted`].
    pub destroyed: Vec<Locator>,
    /// The signconf must be (re)written.
    pub signconf_needed: bool,
    /// The zone's next run; `None` = not rescheduled.
    pub next_change: Option<Timestamp>,
    /// The run changed the zone (2.1's `zone_updated`): only then is `next_change`
    /// also stored as the zone's displayed next change.
    pub updated: bool,
    /// Policy step: the roles for which a new key was needed and the pool had none
    /// (2.1.12 logs "No keys available in HSM for policy P, retry in 60 seconds"; the
    /// zone runs again 60 s later). Version 2.
    pub no_key: Vec<KeyRole>,
}

/// [`ZoneEnforced`] as version 1 stored it (before `no_key`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ZoneEnforcedV1 {
    pub zone: ZoneName,
    /// Policy step: keys created, in creation order.
    pub new_keys: Vec<NewZoneKey>,
    /// Policy step: keys whose goal became "remove".
    pub retired: Vec<KeyId>,
    /// `next_<role>_roll` after the run (KSK, ZSK, CSK; `None` = 0).
    pub next_roll: [Option<Timestamp>; 3],
    /// Roles whose `roll_<role>_now` request was served and cleared.
    pub roll_cleared: Vec<KeyRole>,
    /// The state machine's decisions; `None` when the purge destroyed key material and
    /// the run ended at once (Q4), or for a passthrough policy.
    pub state_machine: Option<StateMachineRun>,
    /// Purge: dead keys removed from the zone, and dependency rows deleted with them.
    pub purged: Vec<KeyId>,
    pub purged_dependencies: Vec<KeyDependency>,
    /// Key material no key of any zone uses any more (`hsm_key` → DELETE).
    pub released: Vec<Locator>,
    /// Unused DELETE material this run removes from the HSM (docs/state-machine.md, Dead
    /// keys and purge; when not empty the run ended before the state machine, Q4).
    /// Destroyed after the record, see [`KeyMaterialDeleted`].
    pub destroyed: Vec<Locator>,
    /// The signconf must be (re)written.
    pub signconf_needed: bool,
    /// The zone's next run; `None` = not rescheduled.
    pub next_change: Option<Timestamp>,
    /// The run changed the zone (2.1's `zone_updated`): only then is `next_change`
    /// also stored as the zone's displayed next change.
    pub updated: bool,
}

impl From<ZoneEnforcedV1> for ZoneEnforced {
    fn from(v: ZoneEnforcedV1) -> ZoneEnforced {
        ZoneEnforced {
            zone: v.zone,
            new_keys: v.new_keys,
            retired: v.retired,
            next_roll: v.next_roll,
            roll_cleared: v.roll_cleared,
            state_machine: v.state_machine,
            purged: v.purged,
            purged_dependencies: v.purged_dependencies,
            released: v.released,
            destroyed: v.destroyed,
            signconf_needed: v.signconf_needed,
            next_change: v.next_change,
            updated: v.updated,
            no_key: Vec::new(),
        }
    }
}

/// Who moved `ds_at_parent` (docs/state-machine.md, DS at the parent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DsTrigger {
    /// `key ds-submit|ds-seen|ds-retract|ds-gone`.
    Command,
    /// The automatic ds-submit / ds-retract task after an enforcer run.
    Task,
}

/// `ds_at_parent` of one key changed by a DS command or task (docs/state-machine.md, DS at
/// the parent); the DS record's last change is the time of this event. The zone runs again
/// at once.
///
/// Version 2 added [`DsStateChanged::next_change_now`]; a version 1 record reads as
/// `true` (what the code that wrote it did for every change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DsStateChanged {
    pub zone: ZoneName,
    pub key: KeyId,
    pub from: DsAtParent,
    pub to: DsAtParent,
    pub trigger: DsTrigger,
    /// The hook command that ran successfully for this change, if one was configured.
    pub hook: Option<String>,
    /// The zone's next change, as `key list` and `zone list` show it, becomes "now"
    /// (2.1's `zone.next_change = 0` in `change_keys_from_to`): true for the DS tasks
    /// and the command's `--zone` form, false for `--all`, which only flushes.
    pub next_change_now: bool,
}

/// [`DsStateChanged`] as version 1 stored it (without `next_change_now`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DsStateChangedV1 {
    pub zone: ZoneName,
    pub key: KeyId,
    pub from: DsAtParent,
    pub to: DsAtParent,
    pub trigger: DsTrigger,
    pub hook: Option<String>,
}

impl From<DsStateChangedV1> for DsStateChanged {
    fn from(v1: DsStateChangedV1) -> DsStateChanged {
        DsStateChanged {
            zone: v1.zone,
            key: v1.key,
            from: v1.from,
            to: v1.to,
            trigger: v1.trigger,
            hook: v1.hook,
            next_change_now: true,
        }
    }
}

/// A configured DS submit or retract hook failed (or the key has no material to build
/// its DNSKEY from); the key keeps its state and the task is retried at `retry_at`.
/// Unlike OpenDNSSEC 2.1, which moves the key on regardless. (Logs written before
/// kasp-ledger followed 2.1.12 for a hook that is not configured also hold this event
/// with `No "DelegationSigner…Command" configured.`; a missing hook now moves the key.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DsHookFailed {
    pub zone: ZoneName,
    pub key: KeyId,
    /// `submit` or `retract`.
    pub hook: String,
    pub message: String,
    pub retry_at: Timestamp,
}

/// `key rollover`: the zone's `roll_<role>_now` flags were set; the zone runs at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloverRequested {
    pub zone: ZoneName,
    pub roles: Vec<KeyRole>,
}

/// `enforce` and the commands that flush zones: these zones run at once
/// (`None` = every zone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnforceRequested {
    pub zones: Option<Vec<ZoneName>>,
}

/// `signconf`: the signconf of these zones (`None` = every zone) must be written
/// again. Recorded before the files are written, so that a write cut short is
/// finished by the next run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignconfRequested {
    pub zones: Option<Vec<ZoneName>>,
}

/// The zone's signconf was written (atomically) at `path`, after which the signer
/// notify command ran with `notify` as its outcome (`Err` = its failure message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignconfWritten {
    pub zone: ZoneName,
    pub path: String,
    /// blake3 of the bytes written, hex.
    pub digest: String,
    pub notify: Result<(), String>,
}

/// Key material was destroyed in the HSM after no zone used it any more
/// (docs/state-machine.md, Dead keys and purge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyMaterialDeleted {
    pub locators: Vec<Locator>,
}

/// `key purge`: dead keys removed from zones on the operator's request
/// (docs/state-machine.md, Dead keys and purge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysPurged {
    pub zone: ZoneName,
    pub keys: Vec<KeyId>,
    pub released: Vec<Locator>,
    pub policy: Option<PolicyName>,
    /// Whether the purge asks for the zone's signconf to be written again. Version 1
    /// records always did (they decode with `true`); `key purge` now never does, as
    /// OpenDNSSEC's (key_purge.c `removeDeadKeysNow` leaves `signconf_needs_writing`
    /// alone): a purged key is hidden in every record, so the signconf already lists it
    /// with no role, and the signer neither fetches such a key from the HSM nor keeps
    /// its signatures.
    pub signconf_needed: bool,
}

/// [`KeysPurged`] as version 1 stored it (before `signconf_needed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KeysPurgedV1 {
    pub zone: ZoneName,
    pub keys: Vec<KeyId>,
    pub released: Vec<Locator>,
    pub policy: Option<PolicyName>,
}

impl From<KeysPurgedV1> for KeysPurged {
    fn from(v: KeysPurgedV1) -> KeysPurged {
        KeysPurged {
            zone: v.zone,
            keys: v.keys,
            released: v.released,
            policy: v.policy,
            signconf_needed: true,
        }
    }
}

/// `zonelist import --remove-missing-zones` deleted the zone (`ZoneDeleted` before
/// this) and, as OpenDNSSEC's, left its enforce task queued, due at `due`: 2.1.12
/// deletes the zone's rows without unscheduling its tasks (zonelist_import.c, where
/// `zone delete` purges them: zone_del_cmd.c `schedule_purge_owner`). `queue` lists the
/// task and `time leap` stops at it; it then finds no zone and does nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneTaskLeft {
    pub zone: ZoneName,
    pub due: Timestamp,
}

/// `time leap` on a log with a simulated clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockAdvanced {
    pub from: Timestamp,
    pub to: Timestamp,
}

/// The daemon of a log set up for testing started after a `time leap`: its clock follows
/// the system clock again until the next leap, the time it had leapt to (`leapt`)
/// forgotten, as OpenDNSSEC's clock after a restart (the time a leap sets lives in the
/// daemon's memory: common/duration.c `set_time_now`). The clock may so go back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockReleased {
    pub leapt: Timestamp,
}

/// `key import`: key material made outside the enforcer, found in its repository, was added
/// to a zone as a key in the record states of the operator's human state
/// (docs/state-machine.md, Key list states, `keystate_import_cmd.c`). The material joins
/// the pool as used by this zone. Recorded after the HSM confirmed the key; the zone runs
/// at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyImported {
    pub zone: ZoneName,
    /// The zone key's fresh id.
    pub key: KeyId,
    /// The key material (`--cka_id`).
    pub locator: Locator,
    pub role: KeyRole,
    pub algorithm: u8,
    /// `--bits` as given (not checked against the key).
    pub bits: u32,
    pub repository: String,
    /// The zone's policy when imported (the material's `hsm_key.policy`).
    pub policy: PolicyName,
    pub key_tag: u16,
    /// The policy key's minimize bits, frozen (docs/state-machine.md, Keys); 0 when the
    /// policy had none.
    pub minimize: u8,
    /// DS, DNSKEY, RRSIGDNSKEY, RRSIG.
    pub states: [RecordState; 4],
    /// The TTL of each record, from the policy, in the same order.
    pub ttls: [Seconds; 4],
    pub ds_at_parent: DsAtParent,
    pub introducing: bool,
    /// `--inception_time`: the key's inception and every record's last change.
    pub inception: Timestamp,
    /// The DNSKEY public-key field read from the HSM.
    pub public_key: Vec<u8>,
}

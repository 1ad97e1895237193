//! The events: every fact the enforcer records. Persisted.
//!
//! Each variant has a body struct, a stable kind name and a version. The payload of a
//! stored record is the postcard encoding of the body alone; kind and version sit in
//! the envelope, so a body shape can change later under a new version with an
//! upcaster in [`crate::codec`], while old records keep their old bytes.
//! A released (kind, version) is never edited; `fixtures/events.golden` guards them.

use crate::audit::{AuditKeyConfigured, Checkpoint, CheckpointIntervalSet};
use crate::enforcement::{
    ClockAdvanced, ClockReleased, DsHookFailed, DsStateChanged, EnforceRequested, KeyImported,
    KeyMaterialDeleted, KeysPurged, RolloverRequested, SignconfRequested, SignconfWritten,
    ZoneEnforced, ZoneTaskLeft,
};
use crate::ids::{InstanceId, PolicyName, ZoneName};
use crate::key::{
    BackupCommitted, BackupPrepared, BackupRolledBack, KeyGenerated, KeyGenerationAbandoned,
    KeyGenerationStarted, RepositoriesConfigured,
};
use crate::policy::Policy;
use crate::takeover::{
    OdsHsmKeyImported, OdsImported, OdsPolicyImported, OdsShadowed, OdsZoneImported,
};
use crate::time::Timestamp;
use crate::zone::ZoneConfig;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a log tells time, fixed at `setup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClockMode {
    /// The system clock, always.
    System,
    /// A simulated clock that starts at `start` and moves only by recorded events.
    Simulated { start: Timestamp },
    /// A log set up for testing (`setup --testing`, LogCreated version 2): OpenDNSSEC's
    /// clock (common/duration.c `time_now`), the system clock until the first `time
    /// leap` (or `ods-enforcerd --set-time`), then the time it leapt to, moved only by
    /// further leaps (`ClockAdvanced`).
    Testing,
}

/// Record 0 of every log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogCreated {
    /// The log format version the log was created with.
    pub format: u32,
    pub instance: InstanceId,
    pub clock: ClockMode,
}

/// A policy was imported for the first time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyCreated {
    pub policy: Policy,
}

/// An import changed an existing policy; the body is the whole new definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyUpdated {
    pub policy: Policy,
}

/// A policy got a new NSEC3 salt (`policy resalt`, or its `Resalt` period passed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaltChanged {
    pub policy: PolicyName,
    /// Lower-case hex of `Salt@length` random bytes (empty for length 0).
    pub salt: String,
}

/// A policy was removed (`policy purge`, `policy import -r`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDeleted {
    pub name: PolicyName,
}

/// A zone was added (`zone add`, `zonelist import`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneAdded {
    pub zone: ZoneConfig,
    /// `zone add --suspend`: no key generation, no enforce until resumed.
    pub suspended: bool,
}

/// `zonelist import` changed a zone's configuration; the body is the new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneUpdated {
    pub zone: ZoneConfig,
}

/// `zone set-policy` moved a zone to another policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZonePolicyChanged {
    pub zone: ZoneName,
    pub from: PolicyName,
    pub to: PolicyName,
}

/// A zone was removed (`zone delete`, `zonelist import -r`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneDeleted {
    pub zone: ZoneName,
}

macro_rules! events {
    ($($name:ident = $version:literal),* $(,)?) => {
        /// Every event kind, current version.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "kind", content = "body")]
        pub enum Event {
            $($name($name),)*
        }

        impl Event {
            /// The stable kind name stored in the envelope.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(Event::$name(_) => stringify!($name),)*
                }
            }

            /// The version of the body shape this binary writes for this kind.
            pub fn version(&self) -> u16 {
                match self {
                    $(Event::$name(_) => $version,)*
                }
            }

            /// Every (kind, current version), for tests and documentation.
            pub const KINDS: &'static [(&'static str, u16)] = &[$((stringify!($name), $version),)*];

            pub(crate) fn encode_body(&self) -> Result<Vec<u8>, postcard::Error> {
                match self {
                    $(Event::$name(b) => postcard::to_stdvec(b),)*
                }
            }

            /// Decodes a body of the current version of `kind`. `None` for a kind this
            /// binary does not know.
            pub(crate) fn decode_current(kind: &str, version: u16, bytes: &[u8])
                -> Option<Result<Event, postcard::Error>> {
                match kind {
                    $(stringify!($name) if version == $version =>
                        Some(crate::codec::body::<$name>(bytes).map(Event::$name)),)*
                    _ => None,
                }
            }
        }

        $(impl From<$name> for Event {
            fn from(b: $name) -> Event { Event::$name(b) }
        })*
    };
}

events! {
    LogCreated = 2,
    PolicyCreated = 1,
    PolicyUpdated = 1,
    PolicyDeleted = 1,
    ZoneAdded = 1,
    ZoneUpdated = 1,
    ZonePolicyChanged = 1,
    ZoneDeleted = 1,
    KeyGenerationStarted = 1,
    KeyGenerated = 1,
    KeyGenerationAbandoned = 1,
    BackupPrepared = 1,
    BackupCommitted = 1,
    BackupRolledBack = 1,
    RepositoriesConfigured = 1,
    SaltChanged = 1,
    ZoneEnforced = 2,
    DsStateChanged = 2,
    DsHookFailed = 1,
    RolloverRequested = 1,
    EnforceRequested = 1,
    SignconfWritten = 1,
    KeyMaterialDeleted = 1,
    KeysPurged = 2,
    ClockAdvanced = 1,
    KeyImported = 1,
    SignconfRequested = 1,
    AuditKeyConfigured = 1,
    CheckpointIntervalSet = 1,
    Checkpoint = 1,
    ZoneTaskLeft = 1,
    ClockReleased = 1,
    OdsImported = 1,
    OdsPolicyImported = 1,
    OdsHsmKeyImported = 1,
    OdsZoneImported = 1,
    OdsShadowed = 1,
}

impl Event {
    /// The zone this event is about, if any (for `log show --zone`).
    pub fn zone(&self) -> Option<&ZoneName> {
        match self {
            Event::ZoneAdded(e) => Some(&e.zone.name),
            Event::ZoneUpdated(e) => Some(&e.zone.name),
            Event::ZonePolicyChanged(e) => Some(&e.zone),
            Event::ZoneDeleted(e) => Some(&e.zone),
            Event::ZoneEnforced(e) => Some(&e.zone),
            Event::DsStateChanged(e) => Some(&e.zone),
            Event::DsHookFailed(e) => Some(&e.zone),
            Event::RolloverRequested(e) => Some(&e.zone),
            Event::SignconfWritten(e) => Some(&e.zone),
            Event::KeysPurged(e) => Some(&e.zone),
            Event::KeyImported(e) => Some(&e.zone),
            Event::ZoneTaskLeft(e) => Some(&e.zone),
            Event::OdsZoneImported(e) => Some(&e.zone.name),
            Event::OdsImported(_)
            | Event::OdsPolicyImported(_)
            | Event::OdsHsmKeyImported(_)
            | Event::OdsShadowed(_) => None,
            Event::EnforceRequested(_)
            | Event::SignconfRequested(_)
            | Event::KeyMaterialDeleted(_)
            | Event::ClockAdvanced(_)
            | Event::ClockReleased(_)
            | Event::LogCreated(_)
            | Event::PolicyCreated(_)
            | Event::PolicyUpdated(_)
            | Event::PolicyDeleted(_)
            | Event::KeyGenerationStarted(_)
            | Event::KeyGenerated(_)
            | Event::KeyGenerationAbandoned(_)
            | Event::BackupPrepared(_)
            | Event::BackupCommitted(_)
            | Event::BackupRolledBack(_)
            | Event::RepositoriesConfigured(_)
            | Event::SaltChanged(_)
            | Event::AuditKeyConfigured(_)
            | Event::CheckpointIntervalSet(_)
            | Event::Checkpoint(_) => None,
        }
    }
}

impl fmt::Display for Event {
    /// One line for an operator.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::LogCreated(e) => {
                write!(
                    f,
                    "Event log created (format {}, instance {}, ",
                    e.format, e.instance
                )?;
                match e.clock {
                    ClockMode::System => write!(f, "system clock)"),
                    ClockMode::Simulated { start } => {
                        write!(f, "simulated clock starting at {start})")
                    }
                    ClockMode::Testing => write!(f, "system clock until a time leap, for testing)"),
                }
            }
            Event::PolicyCreated(e) => write!(f, "Policy {} created", e.policy.name),
            Event::PolicyUpdated(e) => write!(f, "Policy {} updated", e.policy.name),
            Event::PolicyDeleted(e) => write!(f, "Policy {} deleted", e.name),
            Event::ZoneAdded(e) => {
                write!(
                    f,
                    "Zone {} added with policy {}",
                    e.zone.name, e.zone.policy
                )?;
                if e.suspended {
                    write!(f, " (suspended)")?;
                }
                Ok(())
            }
            Event::ZoneUpdated(e) => write!(
                f,
                "Zone {} updated (policy {}, signconf {})",
                e.zone.name, e.zone.policy, e.zone.signconf_path
            ),
            Event::ZonePolicyChanged(e) => write!(
                f,
                "Zone {} moved from policy {} to policy {}",
                e.zone, e.from, e.to
            ),
            Event::ZoneDeleted(e) => write!(f, "Zone {} deleted", e.zone),
            Event::KeyGenerationStarted(e) => write!(
                f,
                "Generating {} key {} (algorithm {}, {} bits) for policy {} in repository {}",
                e.spec.role.as_str(),
                e.locator,
                e.spec.algorithm,
                e.spec.bits,
                e.spec.policy,
                e.spec.repository
            ),
            Event::KeyGenerated(e) => write!(
                f,
                "{} {} key {} (algorithm {}, {} bits) for policy {} in repository {}{}",
                if e.adopted { "Adopted" } else { "Generated" },
                e.spec.role.as_str(),
                e.locator,
                e.spec.algorithm,
                e.spec.bits,
                e.spec.policy,
                e.spec.repository,
                match e.backup {
                    crate::key::BackupState::Required => ", backup required",
                    _ => "",
                }
            ),
            Event::KeyGenerationAbandoned(e) => {
                write!(f, "Generation of key {} abandoned: {}", e.locator, e.reason)
            }
            Event::BackupPrepared(e) => {
                backup_line(f, "flagged for backup", &e.repository, e.keys.len())
            }
            Event::BackupCommitted(e) => {
                backup_line(f, "marked backed up", &e.repository, e.keys.len())
            }
            Event::BackupRolledBack(e) => {
                backup_line(f, "unflagged for backup", &e.repository, e.keys.len())
            }
            Event::SaltChanged(e) => write!(f, "Policy {} resalted (salt {})", e.policy, e.salt),
            Event::ZoneEnforced(e) => crate::enforcement_text::zone_enforced(f, e),
            Event::DsStateChanged(e) => write!(
                f,
                "Zone {} key {}: DS {} -> {} ({}{})",
                e.zone,
                e.key,
                e.from.as_str(),
                e.to.as_str(),
                match e.trigger {
                    crate::enforcement::DsTrigger::Command => "operator command",
                    crate::enforcement::DsTrigger::Task => "DS task",
                },
                match &e.hook {
                    Some(h) => format!(", ran {h}"),
                    None => String::new(),
                }
            ),
            Event::DsHookFailed(e) => write!(
                f,
                "Zone {} key {}: DS {} hook failed ({}); retry at {}",
                e.zone, e.key, e.hook, e.message, e.retry_at
            ),
            Event::RolloverRequested(e) => {
                let roles: Vec<&str> = e.roles.iter().map(|r| r.as_str()).collect();
                write!(
                    f,
                    "Zone {} rollover requested for {}",
                    e.zone,
                    roles.join(", ")
                )
            }
            Event::EnforceRequested(e) => match &e.zones {
                None => write!(f, "Enforce requested for all zones"),
                Some(z) => {
                    let names: Vec<&str> = z.iter().map(|z| z.as_str()).collect();
                    write!(f, "Enforce requested for {}", names.join(", "))
                }
            },
            Event::SignconfRequested(e) => match &e.zones {
                None => write!(f, "Signconf requested for all zones"),
                Some(z) => {
                    let names: Vec<&str> = z.iter().map(|z| z.as_str()).collect();
                    write!(f, "Signconf requested for {}", names.join(", "))
                }
            },
            Event::SignconfWritten(e) => {
                write!(
                    f,
                    "Zone {} signconf written to {} ({})",
                    e.zone, e.path, e.digest
                )?;
                match &e.notify {
                    Ok(()) => write!(f, ", signer notified"),
                    Err(m) => write!(f, ", signer notify failed: {m}"),
                }
            }
            Event::KeyMaterialDeleted(e) => {
                let l: Vec<String> = e.locators.iter().map(|l| l.to_string()).collect();
                write!(f, "Key material deleted from the HSM: {}", l.join(", "))
            }
            Event::KeysPurged(e) => {
                let k: Vec<String> = e.keys.iter().map(|k| k.to_string()).collect();
                write!(f, "Zone {} keys purged: {}", e.zone, k.join(", "))
            }
            Event::ClockAdvanced(e) => write!(f, "Clock moved from {} to {}", e.from, e.to),
            Event::ClockReleased(e) => write!(
                f,
                "Clock follows the system clock again (it had leapt to {})",
                e.leapt
            ),
            Event::ZoneTaskLeft(e) => write!(
                f,
                "Zone {} left its enforce task queued for {}",
                e.zone, e.due
            ),
            Event::KeyImported(e) => crate::enforcement_text::key_imported(f, e),
            Event::RepositoriesConfigured(e) => {
                let names: Vec<&str> = e.repositories.iter().map(|r| r.name.as_str()).collect();
                write!(f, "Repositories configured: {}", names.join(", "))
            }
            Event::AuditKeyConfigured(e) => write!(
                f,
                "Audit key {} (algorithm {}) generated in repository {} for signed checkpoints",
                e.locator, e.algorithm, e.repository
            ),
            Event::CheckpointIntervalSet(e) => match e.interval {
                Some(s) => write!(f, "Checkpoint interval set to {s} seconds"),
                None => write!(f, "Interval checkpoints turned off"),
            },
            Event::Checkpoint(e) => write!(
                f,
                "Checkpoint of record {} (hash {}) signed with audit key {}",
                e.seq, e.hash, e.locator
            ),
            Event::OdsImported(e) => crate::takeover_text::imported(f, e),
            Event::OdsPolicyImported(e) => crate::takeover_text::policy(f, e),
            Event::OdsHsmKeyImported(e) => crate::takeover_text::hsm_key(f, e),
            Event::OdsZoneImported(e) => crate::takeover_text::zone(f, e),
            Event::OdsShadowed(e) => crate::takeover_text::shadowed(f, e),
        }
    }
}

fn backup_line(
    f: &mut fmt::Formatter<'_>,
    what: &str,
    repository: &Option<String>,
    keys: usize,
) -> fmt::Result {
    write!(f, "{keys} key(s) {what}")?;
    match repository {
        Some(r) => write!(f, " in repository {r}"),
        None => write!(f, " in all repositories"),
    }
}

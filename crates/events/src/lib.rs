//! # kasp-events: the persisted contracts of kasp-ledger
//!
//! Everything that is written to disk or sent over the wire is defined here and
//! nowhere else: the events, the record envelope (seq, prev hash, time, actor, cause,
//! kind, version, payload), the codec, the blake3 hash chain, and the redb-backed
//! `EventLog`. [`replay`] folds a log into any [`Projection`] (the projector's `State`
//! is one), checking the chain as it reads, in one walk behind `fold`, `fold_until` and
//! `walk`.
//!
//! Invariants:
//! - The log is append-only. Records are numbered from 0 without gaps; record 0 is
//!   `LogCreated`. Nothing here updates or deletes a record.
//! - A record's hash covers its exact stored bytes; record n+1 stores the hash of
//!   record n, and the meta table stores the head. `verify` recomputes all of it.
//! - One append is one durable redb write transaction that checks the expected head,
//!   so a crash leaves either the whole batch or none of it.
//! - A released (kind, version) body shape is never edited. A change is a new
//!   version plus an upcaster in [`codec`]; `fixtures/events.golden` catches accidents.
//!
//! This crate must not read a clock, know about HSMs, tokio or views: time comes in
//! with each [`NewEvent`], and what folding an event does to state is the projector's
//! job.
//!
//! The redb log (the `log` module, and the replay functions that read it) is behind
//! the `log` feature, on by default: a crate that only needs the contracts (the pure
//! projector) takes this one without default features and so without redb.

pub mod audit;
pub mod chain;
pub mod codec;
pub mod enforcement;
mod enforcement_text;
pub mod envelope;
pub mod event;
pub mod ids;
pub mod key;
pub mod keystate;
#[cfg(feature = "log")]
pub mod log;
pub mod policy;
pub mod replay;
pub mod takeover;
mod takeover_text;
#[cfg(any(test, feature = "testgen"))]
pub mod testgen;
#[cfg(any(test, feature = "testgen"))]
mod testgen_enforce;
#[cfg(any(test, feature = "testgen"))]
mod testgen_policy;
#[cfg(any(test, feature = "testgen"))]
mod testgen_takeover;
pub mod time;
pub mod zone;

pub use audit::{
    AuditKeyConfigured, CHECKPOINT_DOMAIN, Checkpoint, CheckpointIntervalSet, checkpoint_message,
};
pub use enforcement::{
    ClockAdvanced, ClockReleased, DsHookFailed, DsStateChanged, DsTrigger, EnforceRequested,
    KeyDependency, KeyImported, KeyMaterialDeleted, KeysPurged, NewZoneKey, RecordTransition,
    RolloverRequested, SignconfRequested, SignconfWritten, StateMachineRun, TransitionRule,
    ZoneEnforced, ZoneTaskLeft,
};
pub use envelope::{Actor, Hash, Head, NewEvent, Record, Sealed};
pub use event::*;
pub use ids::{IdError, InstanceId, Locator, PolicyName, Seq, ZoneName};
pub use key::{
    BackupCommitted, BackupPrepared, BackupRolledBack, BackupState, KeyGenerated,
    KeyGenerationAbandoned, KeyGenerationStarted, KeySpec, RepositoriesConfigured, RepositoryInfo,
};
pub use keystate::{DsAtParent, KeyId, RecordState, RecordType};
#[cfg(feature = "log")]
pub use log::{Access, EventLog, FORMAT, LogError, Snapshot, VerifyOutcome};
pub use policy::{
    Denial, KeyRole, Keys, Nsec3, ParentTiming, Policy, PolicyKey, SerialKind, Signatures,
    ZoneTiming,
};
pub use replay::Projection;
pub use takeover::{
    OdsDatastore, OdsDependency, OdsHsmKeyImported, OdsImported, OdsKeyUse, OdsPolicyImported,
    OdsRecord, OdsRow, OdsShadowed, OdsZoneImported, OdsZoneKey, ShadowDivergence,
};
pub use time::{Seconds, Timestamp};
pub use zone::{Adapter, ZoneConfig};

//! The record envelope: who, when, why, and where in the chain. Persisted.

use crate::event::Event;
use crate::ids::Seq;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Actor {
    /// An operator command, with the OS user that ran it.
    Operator(String),
    /// A file import (kasp.xml, zonelist.xml), with the OS user that ran it.
    Import(String),
    /// A decision of the enforcer's scheduler.
    Scheduler,
    /// The enforcer itself (log creation, maintenance).
    System,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Operator(u) => write!(f, "operator:{u}"),
            Actor::Import(u) => write!(f, "import:{u}"),
            Actor::Scheduler => f.write_str("scheduler"),
            Actor::System => f.write_str("system"),
        }
    }
}

/// A 32-byte blake3 hash of a stored record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The `prev` of record 0.
    pub const GENESIS: Hash = Hash([0; 32]);
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// An event about to be appended: the log assigns seq and prev.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub at: Timestamp,
    pub actor: Actor,
    /// Why: the command line that caused it, or the scheduler rule.
    pub cause: String,
    pub event: Event,
}

/// A decoded record of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub seq: Seq,
    pub prev: Hash,
    pub at: Timestamp,
    pub actor: Actor,
    pub cause: String,
    pub event: Event,
}

/// A record with the hash of its stored bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub record: Record,
    pub hash: Hash,
}

/// The last record of a log: its seq and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub seq: Seq,
    pub hash: Hash,
}

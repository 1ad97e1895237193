//! A zone's configuration as `zone add` or zonelist.xml gives it. Persisted in
//! `ZoneAdded` and `ZoneUpdated`.

use crate::ids::{PolicyName, ZoneName};
use serde::{Deserialize, Serialize};

/// An input or output adapter: its type (`File`, `DNS`, or another name a
/// zonelist.xml carries) and its URI (a path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adapter {
    pub kind: String,
    pub uri: String,
}

/// Everything the operator configures about a zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneConfig {
    pub name: ZoneName,
    pub policy: PolicyName,
    /// Where the enforcer writes the zone's signconf.
    pub signconf_path: String,
    pub input: Adapter,
    pub output: Adapter,
}

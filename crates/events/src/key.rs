//! Key material events: the key pool (generation intents and results), backup state,
//! and the repositories configured when keys were made. Persisted.
//!
//! Generation is recorded in two steps so it is crash-safe: `KeyGenerationStarted`
//! names the locator *before* the HSM is asked to make the key, `KeyGenerated` records
//! the key *after* the HSM made it. A start without an outcome (the process died in
//! between) is resolved on the next run: the key is found in the HSM and adopted, or
//! recorded as abandoned — never generated a second time under another locator.

use crate::ids::{Locator, PolicyName};
use crate::policy::KeyRole;
use serde::{Deserialize, Serialize};

/// OpenDNSSEC's backup state of an HSM key (`hsmKey.backup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum BackupState {
    /// The repository does not require backups.
    NotRequired,
    /// Generated in a RequireBackup repository, not yet backed up.
    Required,
    /// Flagged by `backup prepare`; the operator is backing it up.
    Prepared,
    /// `backup commit` confirmed the backup.
    Done,
}

impl BackupState {
    /// The text `backup list` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            BackupState::NotRequired => "Not Required",
            BackupState::Required => "Required",
            BackupState::Prepared => "Prepared",
            BackupState::Done => "Done",
        }
    }

    /// Whether records using a key in this state may become established
    /// (OpenDNSSEC refuses `omnipresent` until the backup is done).
    pub fn usable(self) -> bool {
        matches!(self, BackupState::NotRequired | BackupState::Done)
    }
}

/// What a key is made for: its policy key's parameters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KeySpec {
    pub repository: String,
    pub policy: PolicyName,
    pub role: KeyRole,
    pub algorithm: u8,
    pub bits: u32,
}

/// About to ask the HSM for a key under this locator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyGenerationStarted {
    pub locator: Locator,
    pub spec: KeySpec,
}

/// The HSM made the key (or, `adopted`, a key from an interrupted generation was found
/// in it). `public_key` is the DNSKEY public-key field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyGenerated {
    pub locator: Locator,
    pub spec: KeySpec,
    pub public_key: Vec<u8>,
    pub backup: BackupState,
    pub adopted: bool,
}

/// A started generation that produced no key (HSM error, or interrupted before the
/// HSM made it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyGenerationAbandoned {
    pub locator: Locator,
    pub reason: String,
}

/// `backup prepare`: these keys went from Required to Prepared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupPrepared {
    /// `--repository`, or all repositories.
    pub repository: Option<String>,
    pub keys: Vec<Locator>,
}

/// `backup commit`: these keys went from Prepared to Done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupCommitted {
    pub repository: Option<String>,
    pub keys: Vec<Locator>,
}

/// `backup rollback`: these keys went from Prepared back to Required (compensates the
/// prepares not yet committed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupRolledBack {
    pub repository: Option<String>,
    pub keys: Vec<Locator>,
}

/// One `<Repository>` of conf.xml, without its PIN (which never enters the log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryInfo {
    pub name: String,
    pub module: String,
    pub token_label: String,
    pub capacity: Option<u64>,
    pub require_backup: bool,
    pub skip_public_key: bool,
    pub allow_extraction: bool,
}

/// The repositories of conf.xml as `update repositorylist` / `update all` read them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoriesConfigured {
    pub repositories: Vec<RepositoryInfo>,
}

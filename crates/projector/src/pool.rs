//! The key pool view: HSM keys the log knows about, generations in flight, and the
//! repositories last configured. Folded by [`crate::State::apply`]; never decides.

use kasp_events::{
    BackupState, Event, KeySpec, Locator, PolicyName, RepositoryInfo, Seconds, Timestamp,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How an HSM key is used (OpenDNSSEC's `hsmKey.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HsmKeyUse {
    /// In the pool, not given to any zone yet.
    Unused,
    /// Given to one zone.
    Private,
    /// Shared by the zones of a ShareKeys policy.
    Shared,
    /// Released; to be removed from the HSM by `key purge --delete`.
    Delete,
}

/// One HSM key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HsmKeyView {
    pub locator: Locator,
    pub spec: KeySpec,
    /// The DNSKEY public-key field.
    pub public_key: Vec<u8>,
    pub backup: BackupState,
    pub usage: HsmKeyUse,
    /// When the key was generated (enforcer time).
    pub inception: Timestamp,
}

/// A generation that was started and has no outcome yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingKey {
    pub locator: Locator,
    pub spec: KeySpec,
    pub started: Timestamp,
}

/// Everything about key material.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPool {
    pub keys: BTreeMap<Locator, HsmKeyView>,
    pub pending: BTreeMap<Locator, PendingKey>,
    pub repositories: Vec<RepositoryInfo>,
}

impl KeyPool {
    /// Folds a key-material event; other events are ignored.
    pub fn apply(&mut self, event: Event, at: Timestamp) {
        match event {
            Event::KeyGenerationStarted(e) => {
                self.pending.insert(
                    e.locator,
                    PendingKey {
                        locator: e.locator,
                        spec: e.spec,
                        started: at,
                    },
                );
            }
            Event::KeyGenerated(e) => {
                self.pending.remove(&e.locator);
                self.keys.insert(
                    e.locator,
                    HsmKeyView {
                        locator: e.locator,
                        spec: e.spec,
                        public_key: e.public_key,
                        backup: e.backup,
                        usage: HsmKeyUse::Unused,
                        inception: at,
                    },
                );
            }
            Event::KeyGenerationAbandoned(e) => {
                self.pending.remove(&e.locator);
            }
            Event::BackupPrepared(e) => self.set_backup(&e.keys, BackupState::Prepared),
            Event::BackupCommitted(e) => self.set_backup(&e.keys, BackupState::Done),
            Event::BackupRolledBack(e) => self.set_backup(&e.keys, BackupState::Required),
            Event::RepositoriesConfigured(e) => self.repositories = e.repositories,
            _ => {}
        }
    }

    fn set_backup(&mut self, keys: &[Locator], to: BackupState) {
        for l in keys {
            if let Some(k) = self.keys.get_mut(l) {
                k.backup = to;
            }
        }
    }

    /// Keys in generation order (inception, then locator), optionally of one repository.
    pub fn keys_in_order(&self, repository: Option<&str>) -> Vec<&HsmKeyView> {
        let mut v: Vec<&HsmKeyView> = self
            .keys
            .values()
            .filter(|k| repository.is_none_or(|r| k.spec.repository == r))
            .collect();
        v.sort_by_key(|k| (k.inception, k.locator));
        v
    }

    /// Unused keys that fit a policy key (same policy, role, algorithm, bits, repository).
    pub fn unused_matching(&self, spec: &KeySpec) -> usize {
        self.keys
            .values()
            .filter(|k| k.usage == HsmKeyUse::Unused && &k.spec == spec)
            .count()
    }

    /// Keys of a policy (any state).
    pub fn keys_of(&self, policy: &PolicyName) -> usize {
        self.keys
            .values()
            .filter(|k| &k.spec.policy == policy)
            .count()
    }
}

/// `ceil(duration / lifetime)`: how many keys one policy key needs to cover `duration`.
pub fn keys_to_cover(duration: Seconds, lifetime: Seconds) -> usize {
    if lifetime.0 == 0 {
        return 0;
    }
    duration.0.div_ceil(lifetime.0) as usize
}

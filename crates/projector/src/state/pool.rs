//! The key pool view: HSM keys the log knows about, generations in flight, and the
//! repositories last configured. Folded by [`crate::State::apply`]; never decides.

use kasp_events::{
    BackupState, Event, KeySpec, Locator, PolicyName, RepositoryInfo, Seconds, Timestamp,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

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
    /// The pool's own id of the key (`hsm_key.id`), in order of generation.
    pub id: u64,
    pub locator: Locator,
    pub spec: KeySpec,
    /// The DNSKEY public-key field.
    pub public_key: Vec<u8>,
    pub backup: BackupState,
    pub usage: HsmKeyUse,
    /// When the key was generated (enforcer time).
    pub inception: Timestamp,
    /// How many keys of zones use this material.
    pub refs: u32,
    /// An enforcer run decided to remove it from the HSM; not yet confirmed.
    pub destroying: bool,
}

impl HsmKeyView {
    /// Whether nothing uses the material any more: released (DELETE) with no key left.
    pub fn unused(&self) -> bool {
        self.usage == HsmKeyUse::Delete && self.refs == 0
    }
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
    /// Pool id → locator.
    pub by_id: BTreeMap<u64, Locator>,
    /// Unused keys per spec, by pool id (allocation takes the first).
    pub unused: BTreeMap<KeySpec, BTreeSet<u64>>,
    next_id: u64,
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
                if self.keys.contains_key(&e.locator) {
                    return;
                }
                self.add(
                    e.locator,
                    e.spec,
                    e.public_key,
                    e.backup,
                    HsmKeyUse::Unused,
                    at,
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

    /// The key with pool id `id`.
    pub fn by_id(&self, id: u64) -> Option<&HsmKeyView> {
        self.by_id.get(&id).and_then(|l| self.keys.get(l))
    }

    /// A zone key now uses `locator` (`hsm_key_factory_get_key` / reuse,
    /// docs/state-machine.md, Key pool).
    pub fn take(&mut self, locator: &Locator, shared: bool) {
        if let Some(k) = self.keys.get_mut(locator) {
            k.refs += 1;
            if k.usage == HsmKeyUse::Unused {
                if let Some(set) = self.unused.get_mut(&k.spec) {
                    set.remove(&k.id);
                }
                k.usage = if shared {
                    HsmKeyUse::Shared
                } else {
                    HsmKeyUse::Private
                };
            }
        }
    }

    /// Material made outside the pool that a zone key uses from now on (`key import`):
    /// added as used by one zone (PRIVATE, no backup needed) under a new pool id, or,
    /// when the pool already knows the locator, taken like a pool key. Returns the
    /// material's pool id.
    pub fn adopt(
        &mut self,
        locator: Locator,
        spec: KeySpec,
        public_key: Vec<u8>,
        inception: Timestamp,
    ) -> u64 {
        if let Some(k) = self.keys.get(&locator) {
            let id = k.id;
            self.take(&locator, false);
            return id;
        }
        let id = self.add(
            locator,
            spec,
            public_key,
            BackupState::NotRequired,
            HsmKeyUse::Private,
            inception,
        );
        self.take(&locator, false);
        id
    }

    /// An HSM key row of an OpenDNSSEC import (crates/events/src/takeover.rs): under the
    /// pool's next id (rows come in id order, so the pool keeps OpenDNSSEC's order), in the
    /// use stored, used by no zone key yet (each imported zone key adds one). A locator the
    /// pool knows changes nothing.
    pub(crate) fn import(&mut self, e: kasp_events::OdsHsmKeyImported) {
        use kasp_events::OdsKeyUse;
        if self.keys.contains_key(&e.locator) {
            return;
        }
        let usage = match e.usage {
            OdsKeyUse::Unused => HsmKeyUse::Unused,
            OdsKeyUse::Private => HsmKeyUse::Private,
            OdsKeyUse::Shared => HsmKeyUse::Shared,
            OdsKeyUse::Delete => HsmKeyUse::Delete,
        };
        self.add(
            e.locator,
            e.spec,
            e.public_key,
            e.backup,
            usage,
            e.inception,
        );
    }

    /// Adds material under the next pool id, used by no zone key; returns the id.
    fn add(
        &mut self,
        locator: Locator,
        spec: KeySpec,
        public_key: Vec<u8>,
        backup: BackupState,
        usage: HsmKeyUse,
        inception: Timestamp,
    ) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.by_id.insert(id, locator);
        if usage == HsmKeyUse::Unused {
            self.unused.entry(spec.clone()).or_default().insert(id);
        }
        self.keys.insert(
            locator,
            HsmKeyView {
                id,
                locator,
                spec,
                public_key,
                backup,
                usage,
                inception,
                refs: 0,
                destroying: false,
            },
        );
        id
    }

    /// A zone key stopped using `locator` (purge, zone delete); the material goes to
    /// DELETE when no zone key uses it any more. Returns whether it did.
    pub fn drop_ref(&mut self, locator: &Locator) -> bool {
        match self.keys.get_mut(locator) {
            Some(k) => {
                k.refs = k.refs.saturating_sub(1);
                if k.refs == 0 {
                    k.usage = HsmKeyUse::Delete;
                }
                k.refs == 0
            }
            None => false,
        }
    }

    /// Marks material an enforcer run will remove from the HSM.
    pub fn mark_destroying(&mut self, locators: &[Locator]) {
        for l in locators {
            if let Some(k) = self.keys.get_mut(l) {
                k.destroying = true;
            }
        }
    }

    /// The HSM confirmed the removal.
    pub fn remove(&mut self, locators: &[Locator]) {
        for l in locators {
            if let Some(k) = self.keys.remove(l) {
                self.by_id.remove(&k.id);
                if let Some(set) = self.unused.get_mut(&k.spec) {
                    set.remove(&k.id);
                }
            }
        }
    }

    /// Unreferenced DELETE material not yet being destroyed (what
    /// `hsm_key_factory_delete_key` removes: docs/state-machine.md, Dead keys and purge), in
    /// pool order.
    pub fn deletable(&self) -> Vec<&HsmKeyView> {
        let mut v: Vec<&HsmKeyView> = self
            .keys
            .values()
            .filter(|k| k.unused() && !k.destroying)
            .collect();
        v.sort_by_key(|k| k.id);
        v
    }

    /// Material an enforcer run decided to destroy and the HSM has not confirmed.
    pub fn destroying(&self) -> Vec<Locator> {
        let mut v: Vec<&HsmKeyView> = self.keys.values().filter(|k| k.destroying).collect();
        v.sort_by_key(|k| k.id);
        v.into_iter().map(|k| k.locator).collect()
    }

    fn set_backup(&mut self, keys: &[Locator], to: BackupState) {
        for l in keys {
            if let Some(k) = self.keys.get_mut(l) {
                k.backup = to;
            }
        }
    }

    /// Keys in the order the pool got them (OpenDNSSEC's `hsmKey` row order: generated,
    /// imported by `key import`, or carried over from OpenDNSSEC's database), optionally
    /// of one repository.
    pub fn keys_in_order(&self, repository: Option<&str>) -> Vec<&HsmKeyView> {
        let mut v: Vec<&HsmKeyView> = self
            .keys
            .values()
            .filter(|k| repository.is_none_or(|r| k.spec.repository == r))
            .collect();
        v.sort_by_key(|k| k.id);
        v
    }

    /// Unused keys that fit a policy key (same policy, role, algorithm, bits, repository).
    pub fn unused_matching(&self, spec: &KeySpec) -> usize {
        self.unused.get(spec).map_or(0, |s| s.len())
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

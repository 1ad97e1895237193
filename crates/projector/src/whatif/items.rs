//! What a simulation reports about its zone: the [`Item`]s of the timeline, gathered
//! by an [`Observer`] that looks at every simulated event after it was folded.

use crate::enforcer::flags::KeyFlags;
use crate::formats::signconf::zone_signconf as signconf_text;
use crate::state::{State, ZoneView};
use crate::whatif::simulate::waiting_for;
use kasp_events::{
    DsAtParent, DsTrigger, Event, KeyId, KeyRole, RecordState, RecordType, Timestamp, ZoneName,
};
use std::collections::{BTreeMap, BTreeSet};

/// A key as the timeline names it: id, role, key tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyName {
    pub id: KeyId,
    pub role: KeyRole,
    pub key_tag: u16,
}

impl std::fmt::Display for KeyName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.id, self.role.as_str(), self.key_tag)
    }
}

/// One entry of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// The change under test, as the operator's command.
    Change(String),
    /// An operator DS command the simulation gave (`--ds auto`).
    Answered(String),
    /// The policy step created a key.
    KeyIntroduced(KeyName),
    /// The policy step retired a key (its goal is now "remove").
    KeyRetired(KeyName),
    /// The purge removed a dead key from the zone.
    KeyPurged(KeyName),
    /// A record of a key changed state.
    Record {
        key: KeyName,
        record: RecordType,
        from: RecordState,
        to: RecordState,
    },
    /// `ds_at_parent` changed; `by` says who moved it.
    Ds {
        key: KeyName,
        from: DsAtParent,
        to: DsAtParent,
        by: &'static str,
    },
    /// A DS hook failed; retried from `retry_at` on (the retries that fail the same way
    /// are not listed again).
    DsHookFailed {
        key: KeyName,
        message: String,
        retry_at: Timestamp,
    },
    /// The zone's signconf changed: what changed, and a digest of the new text.
    Signconf {
        changes: Vec<String>,
        digest: String,
    },
    /// The operator must run `command`; it can from this item's time on.
    Action { key: KeyName, command: String },
}

/// Watches the simulated events for one zone.
#[derive(Debug, Clone)]
pub struct Observer {
    zone: String,
    items: Vec<(Timestamp, Item)>,
    keys: BTreeMap<KeyId, KeyName>,
    /// The signconf text last "written", the key flags and the salt in it.
    signconf: Option<String>,
    flags: BTreeMap<KeyId, KeyFlags>,
    salt: Option<String>,
    announced: BTreeSet<(KeyId, DsAtParent)>,
    /// Keys whose DS hook failure was reported (the retries are not listed again).
    hook_failed: BTreeMap<KeyId, String>,
}

impl Observer {
    pub fn new(state: &State, zone: &ZoneName) -> Observer {
        let mut o = Observer {
            zone: zone.key(),
            items: Vec::new(),
            keys: BTreeMap::new(),
            signconf: None,
            flags: BTreeMap::new(),
            salt: None,
            announced: BTreeSet::new(),
            hook_failed: BTreeMap::new(),
        };
        if let Some(z) = state.zone(zone) {
            o.learn_keys(z);
            o.signconf = signconf_text(state, z);
            o.flags = flags_of(z);
            o.salt = salt_of(state, z);
        }
        o
    }

    fn learn_keys(&mut self, zone: &ZoneView) {
        for k in &zone.model.keys {
            self.keys.insert(
                k.id,
                KeyName {
                    id: k.id,
                    role: k.role,
                    key_tag: k.key_tag,
                },
            );
        }
    }

    fn name(&self, id: KeyId) -> KeyName {
        self.keys.get(&id).copied().unwrap_or(KeyName {
            id,
            role: KeyRole::Zsk,
            key_tag: 0,
        })
    }

    pub fn push(&mut self, at: Timestamp, item: Item) {
        self.items.push((at, item));
    }

    fn ours(&self, zone: &ZoneName) -> bool {
        zone.key() == self.zone
    }

    /// Looks at `event` (at `at`) after `state` folded it.
    pub fn after(&mut self, state: &State, at: Timestamp, event: &Event) {
        match event {
            Event::ZoneEnforced(e) if self.ours(&e.zone) => {
                if let Some(z) = state.zone(&e.zone) {
                    self.learn_keys(z);
                }
                for k in &e.new_keys {
                    self.keys.insert(
                        k.id,
                        KeyName {
                            id: k.id,
                            role: k.role,
                            key_tag: k.key_tag,
                        },
                    );
                    self.push(at, Item::KeyIntroduced(self.name(k.id)));
                }
                for id in &e.retired {
                    self.push(at, Item::KeyRetired(self.name(*id)));
                }
                for t in e.state_machine.iter().flat_map(|sm| &sm.transitions) {
                    let key = self.name(t.key);
                    self.push(
                        at,
                        Item::Record {
                            key,
                            record: t.record,
                            from: t.from,
                            to: t.to,
                        },
                    );
                    if let Some((from, to)) = t.ds_at_parent.filter(|(a, b)| a != b) {
                        self.push(
                            at,
                            Item::Ds {
                                key,
                                from,
                                to,
                                by: "enforcer",
                            },
                        );
                    }
                }
                for id in &e.purged {
                    self.push(at, Item::KeyPurged(self.name(*id)));
                }
            }
            Event::KeysPurged(e) if self.ours(&e.zone) => {
                for id in &e.keys {
                    self.push(at, Item::KeyPurged(self.name(*id)));
                }
            }
            Event::DsStateChanged(e) if self.ours(&e.zone) => {
                self.hook_failed.remove(&e.key);
                let by = match e.trigger {
                    DsTrigger::Task => "DS task",
                    DsTrigger::Command => "operator",
                };
                self.push(
                    at,
                    Item::Ds {
                        key: self.name(e.key),
                        from: e.from,
                        to: e.to,
                        by,
                    },
                );
            }
            Event::DsHookFailed(e) if self.ours(&e.zone) => {
                if self.hook_failed.get(&e.key) == Some(&e.message) {
                    return;
                }
                self.hook_failed.insert(e.key, e.message.clone());
                self.push(
                    at,
                    Item::DsHookFailed {
                        key: self.name(e.key),
                        message: e.message.clone(),
                        retry_at: e.retry_at,
                    },
                );
            }
            Event::SignconfWritten(e) if self.ours(&e.zone) => self.signconf_written(state, at),
            _ => {}
        }
    }

    fn signconf_written(&mut self, state: &State, at: Timestamp) {
        let Some(zone) = state.zones.get(&self.zone) else {
            return;
        };
        let text = signconf_text(state, zone);
        if text == self.signconf {
            return;
        }
        let flags = flags_of(zone);
        let salt = salt_of(state, zone);
        let mut changes = Vec::new();
        for (id, now) in &flags {
            match self.flags.get(id) {
                None => changes.push(format!("+{} ({})", self.name(*id), flag_text(*now))),
                Some(was) if was != now => changes.push(format!(
                    "{} ({} -> {})",
                    self.name(*id),
                    flag_text(*was),
                    flag_text(*now)
                )),
                Some(_) => {}
            }
        }
        for id in self.flags.keys().filter(|id| !flags.contains_key(id)) {
            changes.push(format!("-{}", self.name(*id)));
        }
        if salt != self.salt {
            changes.push(format!(
                "NSEC3 salt {}",
                salt.as_deref().unwrap_or("removed")
            ));
        }
        if changes.is_empty() {
            changes.push("settings".to_string());
        }
        let digest = text.as_deref().map(digest).unwrap_or_default();
        self.push(at, Item::Signconf { changes, digest });
        self.signconf = text;
        self.flags = flags;
        self.salt = salt;
    }

    /// The keys of the zone that wait for an operator's DS command.
    pub fn waiting(&self, state: &State, zone: &ZoneName) -> Vec<(KeyName, DsAtParent)> {
        let Some(z) = state.zone(zone) else {
            return Vec::new();
        };
        z.model
            .keys
            .iter()
            .filter(|k| waiting_for(k.ds_at_parent).is_some())
            .map(|k| {
                (
                    KeyName {
                        id: k.id,
                        role: k.role,
                        key_tag: k.key_tag,
                    },
                    k.ds_at_parent,
                )
            })
            .collect()
    }

    /// Lists an operator action once per key and DS state.
    pub fn announce(&mut self, at: Timestamp, (key, ds): (KeyName, DsAtParent)) {
        let Some(command) = waiting_for(ds) else {
            return;
        };
        if self.announced.insert((key.id, ds)) {
            let command = format!(
                "{} --zone {} --keytag {}",
                command.name(),
                self.zone,
                key.key_tag
            );
            self.push(at, Item::Action { key, command });
        }
    }

    /// The items, oldest first (they are gathered in time order).
    pub fn finish(self, _state: &State) -> Vec<(Timestamp, Item)> {
        self.items
    }
}

fn flags_of(zone: &ZoneView) -> BTreeMap<KeyId, KeyFlags> {
    zone.model
        .keys
        .iter()
        .map(|k| (k.id, KeyFlags::of(k)))
        .collect()
}

fn flag_text(f: KeyFlags) -> String {
    let mut words = Vec::new();
    if f.publish {
        words.push("publish");
    }
    if f.active_ksk {
        words.push("active-ksk");
    }
    if f.active_zsk {
        words.push("active-zsk");
    }
    if words.is_empty() {
        "not published".to_string()
    } else {
        words.join(", ")
    }
}

fn salt_of(state: &State, zone: &ZoneView) -> Option<String> {
    let view = state.policies.get(&zone.config.policy)?;
    view.salt.as_ref().map(|(s, _)| s.clone())
}

/// A short digest of a text (FNV-1a, 64 bits, hex): tells signconf versions apart.
pub fn digest(text: &str) -> String {
    let mut x: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        x = (x ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{x:016x}")
}

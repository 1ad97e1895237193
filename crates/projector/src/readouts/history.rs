//! Timelines: one zone's or one key's facts from the log, one line per fact, oldest
//! first (`zone history`, `key history`). Pure: the caller feeds the records in log
//! order; an enforcer run (`ZoneEnforced`), which packs many decisions, is split into
//! one line per new key, retirement, record transition, DS change, purge and release.
//!
//! A line is printed as `log show` prints a record: seq, time, actor, cause (quoted),
//! then what happened.

use kasp_events::{
    Actor, DsTrigger, Event, KeyId, KeyRole, Locator, PolicyName, Record, Seq, Timestamp,
    ZoneEnforced, ZoneName,
};
use std::collections::{BTreeMap, BTreeSet};

/// Whose timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A zone, through every life it had (deleted and added again).
    Zone(ZoneName),
    /// The keys made with these locators (CKA_IDs), from generation to deletion, in
    /// every zone that used them.
    Keys(BTreeSet<Locator>),
}

/// One fact of a timeline, with the record it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub seq: Seq,
    pub at: Timestamp,
    pub actor: Actor,
    pub cause: String,
    pub text: String,
}

/// A zone key the timeline follows.
#[derive(Debug, Clone)]
struct KeyInfo {
    zone: ZoneName,
    role: KeyRole,
    tag: u16,
    locator: Locator,
    /// Retired, purged or gone with its zone: a rollover no longer concerns it.
    done: bool,
}

/// Builds a timeline from records fed in log order.
#[derive(Debug, Clone)]
pub struct Timeline {
    subject: Subject,
    keys: BTreeMap<KeyId, KeyInfo>,
    /// Zone subject: the zone exists now, with this policy.
    policy: Option<PolicyName>,
    next_roll: [Option<Timestamp>; 3],
    found: bool,
    lines: Vec<Line>,
}

const ROLES: [KeyRole; 3] = [KeyRole::Ksk, KeyRole::Zsk, KeyRole::Csk];

impl Timeline {
    pub fn new(subject: Subject) -> Timeline {
        Timeline {
            subject,
            keys: BTreeMap::new(),
            policy: None,
            next_roll: [None; 3],
            found: false,
            lines: Vec::new(),
        }
    }

    /// Whether the log mentioned the subject at all.
    pub fn found(&self) -> bool {
        self.found
    }

    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The timeline as text, one line per fact.
    pub fn render(&self) -> String {
        self.lines
            .iter()
            .map(|l| {
                format!(
                    "{:>6} {} {} {:?} {}\n",
                    l.seq, l.at, l.actor, l.cause, l.text
                )
            })
            .collect()
    }

    fn is_zone(&self, zone: &ZoneName) -> bool {
        matches!(&self.subject, Subject::Zone(z) if z.key() == zone.key())
    }

    fn is_locator(&self, l: &Locator) -> bool {
        matches!(&self.subject, Subject::Keys(set) if set.contains(l))
    }

    /// How a followed key is named: `KSK #3 (keytag 12345)`, after its zone in a key's
    /// timeline (which may span zones).
    fn label(&self, id: KeyId) -> String {
        match self.keys.get(&id) {
            Some(k) => {
                let zone = match self.subject {
                    Subject::Keys(_) => format!("zone {} ", k.zone),
                    Subject::Zone(_) => String::new(),
                };
                format!("{zone}{} {id} (keytag {})", k.role.as_str(), k.tag)
            }
            None => format!("key {id}"),
        }
    }

    fn push(&mut self, r: &Record, text: String) {
        self.found = true;
        self.lines.push(Line {
            seq: r.seq,
            at: r.at,
            actor: r.actor.clone(),
            cause: r.cause.clone(),
            text,
        });
    }

    /// Adds the facts of one record about the subject.
    pub fn record(&mut self, r: &Record) {
        match &r.event {
            Event::ZoneAdded(e) if self.is_zone(&e.zone.name) => {
                self.policy = Some(e.zone.policy.clone());
                self.next_roll = [None; 3];
                let z = &e.zone;
                let mut text = format!(
                    "zone added with policy {} (input {} {}, output {} {}, signconf {})",
                    z.policy,
                    z.input.kind,
                    z.input.uri,
                    z.output.kind,
                    z.output.uri,
                    z.signconf_path
                );
                if e.suspended {
                    text.push_str(", suspended");
                }
                self.push(r, text);
            }
            Event::ZoneUpdated(e) if self.is_zone(&e.zone.name) => {
                self.policy = Some(e.zone.policy.clone());
                let z = &e.zone;
                let text = format!(
                    "zone configuration updated: policy {} (input {} {}, output {} {}, signconf {})",
                    z.policy,
                    z.input.kind,
                    z.input.uri,
                    z.output.kind,
                    z.output.uri,
                    z.signconf_path
                );
                self.push(r, text);
            }
            Event::ZonePolicyChanged(e) if self.is_zone(&e.zone) => {
                self.policy = Some(e.to.clone());
                self.push(r, format!("policy changed from {} to {}", e.from, e.to));
            }
            Event::ZoneDeleted(e) => self.zone_deleted(r, &e.zone),
            Event::ZoneEnforced(e) => self.enforced(r, e),
            Event::DsStateChanged(e) if self.follows(&e.zone, e.key) => {
                let trigger = match e.trigger {
                    DsTrigger::Command => "operator command",
                    DsTrigger::Task => "DS task",
                };
                let hook = e.hook.as_ref().map(|h| format!(", ran {h}"));
                let text = format!(
                    "{}: DS at parent {} -> {} ({trigger}{})",
                    self.label(e.key),
                    e.from.as_str(),
                    e.to.as_str(),
                    hook.unwrap_or_default()
                );
                self.push(r, text);
            }
            Event::DsHookFailed(e) if self.follows(&e.zone, e.key) => {
                let text = format!(
                    "{}: DS {} hook failed ({}); retry at {}",
                    self.label(e.key),
                    e.hook,
                    e.message,
                    e.retry_at
                );
                self.push(r, text);
            }
            Event::RolloverRequested(e) => self.rollover(r, &e.zone, &e.roles),
            Event::EnforceRequested(e) => self.request(r, "enforce", e.zones.as_deref()),
            Event::SignconfRequested(e) => self.request(r, "signconf", e.zones.as_deref()),
            Event::SignconfWritten(e) if self.is_zone(&e.zone) => {
                let notify = match &e.notify {
                    Ok(()) => "signer notified".to_string(),
                    Err(m) => format!("signer notify failed: {m}"),
                };
                let text = format!(
                    "signconf written to {} (blake3 {}), {notify}",
                    e.path, e.digest
                );
                self.push(r, text);
            }
            Event::KeysPurged(e) => {
                self.purged(r, &e.zone, &e.keys, "purged (key purge)");
                self.released(r, &e.zone, &e.released);
            }
            Event::KeyImported(e) if self.is_zone(&e.zone) || self.is_locator(&e.locator) => {
                self.keys.insert(
                    e.key,
                    KeyInfo {
                        zone: e.zone.clone(),
                        role: e.role,
                        tag: e.key_tag,
                        locator: e.locator,
                        done: false,
                    },
                );
                let [ds, dnskey, rrsig_dnskey, rrsig] = e.states.map(|s| s.as_str());
                let text = format!(
                    "{}: imported, locator {}, algorithm {}, {} bits, repository {}; DS {ds}, \
                     DNSKEY {dnskey}, RRSIGDNSKEY {rrsig_dnskey}, RRSIG {rrsig}; DS at parent {}",
                    self.label(e.key),
                    e.locator,
                    e.algorithm,
                    e.bits,
                    e.repository,
                    e.ds_at_parent.as_str()
                );
                self.push(r, text);
            }
            Event::KeyMaterialDeleted(e) => {
                for l in &e.locators {
                    if let Some(text) = self.material(l) {
                        self.push(r, format!("{text} deleted from the HSM"));
                    }
                }
            }
            Event::PolicyUpdated(e) if self.policy.as_ref() == Some(&e.policy.name) => {
                self.push(r, format!("policy {} updated", e.policy.name));
            }
            Event::SaltChanged(e) if self.policy.as_ref() == Some(&e.policy) => {
                let text = format!("policy {} resalted (salt {})", e.policy, e.salt);
                self.push(r, text);
            }
            _ => self.pool_event(r),
        }
    }

    /// Whether a fact about key `id` of `zone` belongs to this timeline.
    fn follows(&self, zone: &ZoneName, id: KeyId) -> bool {
        match &self.subject {
            Subject::Zone(_) => self.is_zone(zone),
            Subject::Keys(_) => self.keys.contains_key(&id),
        }
    }

    /// How key material is named on a line, if the timeline follows it.
    fn material(&self, l: &Locator) -> Option<String> {
        if self.is_locator(l) {
            return Some("key material".to_string());
        }
        let (id, _) = self.keys.iter().find(|(_, k)| &k.locator == l)?;
        Some(format!("key material {l} of {}", self.label(*id)))
    }

    /// Keys of `zone` gone from it (`what` says how): their last line.
    fn purged(&mut self, r: &Record, zone: &ZoneName, ids: &[KeyId], what: &str) {
        for id in ids {
            if self.follows(zone, *id) {
                let text = format!("{}: {what}", self.label(*id));
                self.push(r, text);
                if let Some(k) = self.keys.get_mut(id) {
                    k.done = true;
                }
            }
        }
    }

    fn released(&mut self, r: &Record, zone: &ZoneName, locators: &[Locator]) {
        if !self.is_zone(zone) && !matches!(self.subject, Subject::Keys(_)) {
            return;
        }
        for l in locators {
            if let Some(text) = self.material(l) {
                self.push(r, format!("{text} released: no key uses it any more"));
            }
        }
    }

    fn zone_deleted(&mut self, r: &Record, zone: &ZoneName) {
        if self.is_zone(zone) {
            self.policy = None;
            self.push(r, "zone deleted".to_string());
            return;
        }
        let gone: Vec<KeyId> = self
            .keys
            .iter()
            .filter(|(_, k)| k.zone.key() == zone.key() && !k.done)
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            let text = format!("{}: zone deleted, the key went with it", self.label(id));
            self.push(r, text);
            if let Some(k) = self.keys.get_mut(&id) {
                k.done = true;
            }
        }
    }

    fn rollover(&mut self, r: &Record, zone: &ZoneName, roles: &[KeyRole]) {
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        if self.is_zone(zone) {
            self.push(r, format!("rollover requested for {}", names.join(", ")));
            return;
        }
        let rolled: Vec<KeyId> = self
            .keys
            .iter()
            .filter(|(_, k)| k.zone.key() == zone.key() && !k.done && roles.contains(&k.role))
            .map(|(id, _)| *id)
            .collect();
        for id in rolled {
            let text = format!("{}: rollover requested", self.label(id));
            self.push(r, text);
        }
    }

    fn request(&mut self, r: &Record, what: &str, zones: Option<&[ZoneName]>) {
        let Subject::Zone(zone) = &self.subject else {
            return;
        };
        if self.policy.is_none() {
            return;
        }
        match zones {
            None => self.push(r, format!("{what} requested (all zones)")),
            Some(z) if z.iter().any(|z| z.key() == zone.key()) => {
                self.push(r, format!("{what} requested"));
            }
            Some(_) => {}
        }
    }

    /// Key material events: generation, backup (key timelines only).
    fn pool_event(&mut self, r: &Record) {
        let text = match &r.event {
            Event::KeyGenerationStarted(e) if self.is_locator(&e.locator) => format!(
                "generation started: {} for policy {}, algorithm {}, {} bits, repository {}",
                e.spec.role.as_str(),
                e.spec.policy,
                e.spec.algorithm,
                e.spec.bits,
                e.spec.repository
            ),
            Event::KeyGenerated(e) if self.is_locator(&e.locator) => format!(
                "{} in repository {} (backup {})",
                if e.adopted {
                    "adopted from an interrupted generation"
                } else {
                    "generated"
                },
                e.spec.repository,
                e.backup.as_str()
            ),
            Event::KeyGenerationAbandoned(e) if self.is_locator(&e.locator) => {
                format!("generation abandoned: {}", e.reason)
            }
            Event::BackupPrepared(e) if e.keys.iter().any(|l| self.is_locator(l)) => {
                "flagged for backup (backup prepare)".to_string()
            }
            Event::BackupCommitted(e) if e.keys.iter().any(|l| self.is_locator(l)) => {
                "backed up (backup commit)".to_string()
            }
            Event::BackupRolledBack(e) if e.keys.iter().any(|l| self.is_locator(l)) => {
                "flagged for backup again (backup rollback)".to_string()
            }
            _ => return,
        };
        self.push(r, text);
    }

    /// One enforcer run, split into its facts.
    fn enforced(&mut self, r: &Record, e: &ZoneEnforced) {
        let zone_subject = self.is_zone(&e.zone);
        for k in &e.new_keys {
            if zone_subject || self.is_locator(&k.locator) {
                self.keys.insert(
                    k.id,
                    KeyInfo {
                        zone: e.zone.clone(),
                        role: k.role,
                        tag: k.key_tag,
                        locator: k.locator,
                        done: false,
                    },
                );
                let text = format!(
                    "{}: introduced, locator {}, algorithm {}{}",
                    self.label(k.id),
                    k.locator,
                    k.algorithm,
                    if k.shared { ", shared" } else { "" }
                );
                self.push(r, text);
            }
        }
        if !zone_subject && !self.keys.values().any(|k| k.zone.key() == e.zone.key()) {
            return;
        }
        for id in &e.retired {
            if self.follows(&e.zone, *id) {
                let text = format!("{}: retired (goal: remove)", self.label(*id));
                self.push(r, text);
                if let Some(k) = self.keys.get_mut(id) {
                    k.done = true;
                }
            }
        }
        if zone_subject {
            for role in &e.roll_cleared {
                self.push(r, format!("{} rollover request served", role.as_str()));
            }
            for (i, role) in ROLES.iter().enumerate() {
                if e.next_roll[i] != self.next_roll[i] {
                    let text = match e.next_roll[i] {
                        Some(t) => format!("next {} rollover at {t}", role.as_str()),
                        None => format!("no {} rollover scheduled", role.as_str()),
                    };
                    self.push(r, text);
                }
            }
            self.next_roll = e.next_roll;
        }
        if let Some(sm) = &e.state_machine {
            for t in &sm.transitions {
                if !self.follows(&e.zone, t.key) {
                    continue;
                }
                let text = format!(
                    "{}: {} {} -> {} (allowed from {})",
                    self.label(t.key),
                    t.record.as_str(),
                    t.from.as_str(),
                    t.to.as_str(),
                    t.rule.earliest
                );
                self.push(r, text);
                if let Some((from, to)) = t.ds_at_parent {
                    let text = format!(
                        "{}: DS at parent {} -> {}",
                        self.label(t.key),
                        from.as_str(),
                        to.as_str()
                    );
                    self.push(r, text);
                }
            }
        }
        self.purged(r, &e.zone, &e.purged, "purged");
        self.released(r, &e.zone, &e.released);
        for l in &e.destroyed {
            if let Some(text) = self.material(l) {
                self.push(r, format!("{text} to be deleted from the HSM"));
            }
        }
    }
}

mod tag;
pub use tag::TagSearch;

#[cfg(test)]
mod tests;

//! Folding the enforcer events into the zone and pool views. Copies facts only: the
//! decisions were taken by [`crate::scheduler::plan`] (or a command's decide) before the
//! events were appended, and an event naming something unknown changes nothing.

use crate::enforcer::model::{Dependency, HsmKeyId, KeyModel, PerRole, ZoneModel};
use crate::enforcer::record::{RecordState, RecordType};
use crate::enforcer::timing::TtlWindows;
use crate::state::State;
use kasp_events::{
    Event, KeyImported, KeyRole, KeySpec, Seconds, StateMachineRun, Timestamp, ZoneEnforced,
};

impl State {
    /// Applies one enforcer event (see [`State::apply_event`]).
    pub(crate) fn apply_enforcer(&mut self, event: Event, at: Timestamp) {
        match event {
            Event::ZoneEnforced(e) => self.apply_enforced(e, at),
            Event::DsStateChanged(e) => {
                if let Some(z) = self.zone_mut(&e.zone) {
                    if let Some(k) = z.model.keys.iter_mut().find(|k| k.id == e.key) {
                        k.ds_at_parent = e.to;
                        k.records.get_mut(RecordType::Ds).last_change = at;
                    }
                    z.ds_retry = None;
                    z.ds_failures = 0;
                    // 2.1 flushes the zone's enforce task for every changed key; only
                    // the `--zone` form and the DS tasks also set `next_change = 0`.
                    if e.next_change_now {
                        run_now(z);
                    } else {
                        z.due = Some(Timestamp(0));
                    }
                }
            }
            Event::DsHookFailed(e) => {
                if let Some(z) = self.zone_mut(&e.zone) {
                    z.ds_retry = Some(e.retry_at);
                    z.ds_failures = z.ds_failures.saturating_add(1);
                }
            }
            Event::RolloverRequested(e) => {
                if let Some(z) = self.zone_mut(&e.zone) {
                    for r in e.roles {
                        z.model.roll_now.set(r, true);
                    }
                    run_now(z);
                }
            }
            Event::EnforceRequested(e) => {
                // 2.1's flush schedules an enforce task for every zone named (every
                // zone of the database for a full flush), suspended or not.
                let flush = |z: &mut crate::state::ZoneView| z.due = Some(Timestamp(0));
                match e.zones {
                    None => self.zones.values_mut().for_each(flush),
                    Some(names) => {
                        for n in names {
                            if let Some(z) = self.zone_mut(&n) {
                                flush(z);
                            }
                        }
                    }
                }
            }
            Event::SignconfRequested(e) => {
                let need = |z: &mut crate::state::ZoneView| z.signconf_needed = true;
                match e.zones {
                    None => self.zones.values_mut().for_each(need),
                    Some(names) => {
                        for n in names {
                            if let Some(z) = self.zone_mut(&n) {
                                need(z);
                            }
                        }
                    }
                }
            }
            Event::SignconfWritten(e) => {
                if let Some(z) = self.zone_mut(&e.zone) {
                    z.signconf_needed = false;
                }
            }
            Event::KeyMaterialDeleted(e) => self.pool.remove(&e.locators),
            Event::KeysPurged(e) => {
                let mut dropped = Vec::new();
                if let Some(z) = self.zone_mut(&e.zone) {
                    dropped = take_keys(&mut z.model, &e.keys);
                    z.signconf_needed |= e.signconf_needed;
                }
                self.drop_refs(&dropped);
            }
            Event::ClockAdvanced(e) => {
                self.clock_now = Some(e.to);
                self.tasks_left.retain(|_, (_, due)| *due > e.to);
            }
            Event::ClockReleased(_) => self.clock_now = None,
            Event::KeyImported(e) => self.apply_imported(e),
            _ => {}
        }
    }

    fn drop_refs(&mut self, hsm: &[HsmKeyId]) {
        for h in hsm {
            if let Some(l) = self.pool.by_id.get(&h.0).copied() {
                self.pool.drop_ref(&l);
            }
        }
    }

    /// `key import`: the key joins the zone with its record states created (all last
    /// changed at the inception), its material joins the pool as used, and the zone
    /// runs at once (unless suspended) and needs a new signconf. A key id the zone
    /// already has changes nothing.
    fn apply_imported(&mut self, e: KeyImported) {
        let Some(zone) = self.zones.get(&e.zone.key()) else {
            return;
        };
        if zone.model.key(e.key).is_some() {
            return;
        }
        let spec = KeySpec {
            repository: e.repository,
            policy: e.policy,
            role: e.role,
            algorithm: e.algorithm,
            bits: e.bits,
        };
        let pool_id = self.pool.adopt(e.locator, spec, e.public_key, e.inception);
        let mut key = KeyModel::new(e.key, e.role, e.algorithm, e.minimize, e.inception, e.ttls);
        for (record, state) in key.records.0.iter_mut().zip(e.states) {
            record.state = state;
        }
        key.introducing = e.introducing;
        key.ds_at_parent = e.ds_at_parent;
        key.hsm = Some(HsmKeyId(pool_id));
        key.key_tag = e.key_tag;
        self.next_key_id = self.next_key_id.max(e.key.0 + 1);
        if let Some(z) = self.zones.get_mut(&e.zone.key()) {
            z.model.keys.push(key);
            z.signconf_needed = true;
            if z.due.is_some() {
                run_now(z);
            }
        }
    }

    fn apply_enforced(&mut self, e: ZoneEnforced, at: Timestamp) {
        let Some(zone) = self.zones.get(&e.zone.key()) else {
            return;
        };
        let mut model = zone.model.clone();
        // Policy step (docs/state-machine.md, Policy step).
        for k in model.keys.iter_mut() {
            if e.retired.contains(&k.id) {
                k.introducing = false;
            }
        }
        for nk in &e.new_keys {
            self.pool.take(&nk.locator, nk.shared);
            let hsm = self.pool.keys.get(&nk.locator).map(|k| HsmKeyId(k.id));
            let mut key = KeyModel::new(
                nk.id,
                nk.role,
                nk.algorithm,
                nk.minimize,
                at,
                [Seconds(0); 4],
            );
            key.hsm = hsm;
            key.key_tag = nk.key_tag;
            key.states_created = false;
            model.keys.push(key);
            self.next_key_id = self.next_key_id.max(nk.id.0 + 1);
        }
        let [ksk, zsk, csk] = e.next_roll;
        model.next_roll = PerRole { ksk, zsk, csk };
        for r in &e.roll_cleared {
            model.roll_now.set(*r, false);
        }
        // State machine (docs/state-machine.md, State machine).
        if let Some(sm) = &e.state_machine {
            apply_state_machine(&mut model, sm, at);
        }
        // Purge (docs/state-machine.md, Dead keys and purge).
        let dropped = take_keys(&mut model, &e.purged);
        model
            .dependencies
            .retain(|d| !e.purged_dependencies.iter().any(|p| same_dep(p, d)));
        self.drop_refs(&dropped);
        self.pool.mark_destroying(&e.destroyed);
        if let Some(z) = self.zones.get_mut(&e.zone.key()) {
            z.model = model;
            z.signconf_needed |= e.signconf_needed;
            z.due = e.next_change;
            if e.updated {
                z.next_change = e.next_change;
            }
        }
    }
}

/// 2.1's `zone.next_change = 0` plus an enforce task due now.
fn run_now(z: &mut crate::state::ZoneView) {
    z.next_change = Some(Timestamp(0));
    z.due = Some(Timestamp(0));
}

fn same_dep(p: &kasp_events::KeyDependency, d: &Dependency) -> bool {
    p.from == d.from && p.to == d.to && p.record == d.record
}

/// Removes `ids` from the zone; returns the material they used.
fn take_keys(model: &mut ZoneModel, ids: &[kasp_events::KeyId]) -> Vec<HsmKeyId> {
    let dropped = model
        .keys
        .iter()
        .filter(|k| ids.contains(&k.id))
        .filter_map(|k| k.hsm)
        .collect();
    model.keys.retain(|k| !ids.contains(&k.id));
    dropped
}

fn apply_state_machine(model: &mut ZoneModel, sm: &StateMachineRun, at: Timestamp) {
    let [ds, dnskey, rrsig] = sm.ttl_windows;
    model.ttl_windows = TtlWindows { ds, dnskey, rrsig };
    for k in model.keys.iter_mut() {
        if sm.created_states.contains(&k.id) {
            *k = k.with_initial_states(at, sm.initial_ttls);
        }
    }
    for t in &sm.transitions {
        let Some(key) = model.keys.iter_mut().find(|k| k.id == t.key) else {
            continue;
        };
        if let Some((_, to)) = t.ds_at_parent {
            key.ds_at_parent = to;
        }
        let r = key.records.get_mut(t.record);
        r.state = t.to;
        r.last_change = at;
        r.ttl = t.rule.ttl;
        if t.to == RecordState::Omnipresent {
            model
                .dependencies
                .retain(|d| !(d.to == t.key && d.record == t.record));
        }
        model
            .dependencies
            .extend(t.successors.iter().map(|&to| Dependency {
                from: t.key,
                to,
                record: t.record,
            }));
    }
}

/// The `next_<role>_roll` values of a zone as an event carries them.
pub fn next_roll_array(model: &ZoneModel) -> [Option<Timestamp>; 3] {
    [KeyRole::Ksk, KeyRole::Zsk, KeyRole::Csk].map(|r| model.next_roll.get(r))
}

#[cfg(test)]
mod tests {
    use crate::state::State;
    use crate::state::pool::HsmKeyUse;
    use kasp_events::{
        Adapter, DsAtParent, Event, KeyId, KeyImported, KeyRole, Locator, PolicyName, RecordState,
        Seconds, Timestamp, ZoneAdded, ZoneConfig, ZoneName,
    };

    fn zone_added(suspended: bool) -> Event {
        let adapter = Adapter {
            kind: "File".into(),
            uri: "/dev/null".into(),
        };
        ZoneAdded {
            zone: ZoneConfig {
                name: ZoneName::new("example.com").unwrap(),
                policy: PolicyName::new("default").unwrap(),
                signconf_path: "/tmp/example.com.xml".into(),
                input: adapter.clone(),
                output: adapter,
            },
            suspended,
        }
        .into()
    }

    fn imported(key: u64) -> Event {
        use RecordState::*;
        KeyImported {
            zone: ZoneName::new("EXAMPLE.com.").unwrap(),
            key: KeyId(key),
            locator: Locator([7; 16]),
            role: KeyRole::Ksk,
            algorithm: 8,
            bits: 2048,
            repository: "SoftHSM".into(),
            policy: PolicyName::new("default").unwrap(),
            key_tag: 4711,
            minimize: 4,
            states: [Rumoured, Omnipresent, Omnipresent, Na],
            ttls: [Seconds(1), Seconds(2), Seconds(3), Seconds(4)],
            ds_at_parent: DsAtParent::Submit,
            introducing: true,
            inception: Timestamp(1000),
            public_key: vec![3, 1, 0, 1, 9],
        }
        .into()
    }

    #[test]
    fn an_imported_key_joins_the_zone_and_the_pool() {
        let mut s = State::default();
        s.apply_event(&zone_added(false), Timestamp(5));
        s.apply_event(&imported(5), Timestamp(2000));
        let z = s.zone(&ZoneName::new("example.com").unwrap()).unwrap();
        assert!(z.signconf_needed);
        assert_eq!(z.next_change, Some(Timestamp(0)));
        let [k] = &z.model.keys[..] else {
            panic!("{:?}", z.model.keys)
        };
        assert!(k.states_created && k.introducing);
        assert_eq!(k.inception, Timestamp(1000));
        assert_eq!(k.key_tag, 4711);
        assert_eq!(k.ds_at_parent, DsAtParent::Submit);
        let r = k.records.0;
        assert_eq!(
            r.map(|r| r.state),
            [
                RecordState::Rumoured,
                RecordState::Omnipresent,
                RecordState::Omnipresent,
                RecordState::Na
            ]
        );
        assert_eq!(r.map(|r| r.ttl.0), [1, 2, 3, 4]);
        assert!(r.iter().all(|r| r.last_change == Timestamp(1000)));
        assert_eq!(r.map(|r| r.minimize), [true, false, false, false]);
        let m = s.pool.by_id(k.hsm.unwrap().0).unwrap();
        assert_eq!((m.usage, m.refs), (HsmKeyUse::Private, 1));
        assert_eq!(m.public_key, [3, 1, 0, 1, 9]);
        assert_eq!(m.inception, Timestamp(1000));
        assert_eq!(s.pool.unused_matching(&m.spec), 0);
        assert_eq!(s.next_key_id(), KeyId(6));
        // The same key id again changes nothing but the log's time.
        let mut before = s.clone();
        s.apply_event(&imported(5), Timestamp(3000));
        before.last_at = Some(Timestamp(3000));
        assert_eq!(s, before);
    }

    #[test]
    fn a_suspended_zone_stays_suspended() {
        let mut s = State::default();
        s.apply_event(&zone_added(true), Timestamp(5));
        s.apply_event(&imported(1), Timestamp(6));
        let z = s.zone(&ZoneName::new("example.com").unwrap()).unwrap();
        assert_eq!(z.next_change, None);
        assert_eq!(z.model.keys.len(), 1);
    }

    #[test]
    fn an_import_into_an_unknown_zone_changes_nothing() {
        let mut s = State::default();
        s.apply_event(&imported(1), Timestamp(6));
        let time_only = State {
            last_at: Some(Timestamp(6)),
            ..State::default()
        };
        assert_eq!(s, time_only);
    }

    #[test]
    fn a_signconf_request_marks_the_zones_until_written() {
        use kasp_events::{SignconfRequested, SignconfWritten};
        let name = ZoneName::new("example.com").unwrap();
        let mut s = State::default();
        s.apply_event(&zone_added(false), Timestamp(5));
        let needed = |s: &State| s.zone(&name).unwrap().signconf_needed;
        assert!(!needed(&s));
        let other = ZoneName::new("example.org").unwrap();
        s.apply_event(
            &SignconfRequested {
                zones: Some(vec![other]),
            }
            .into(),
            Timestamp(6),
        );
        assert!(!needed(&s), "another zone's request");
        s.apply_event(&SignconfRequested { zones: None }.into(), Timestamp(7));
        assert!(needed(&s), "a request for every zone");
        let written = SignconfWritten {
            zone: name.clone(),
            path: "/tmp/example.com.xml".into(),
            digest: "00".repeat(32),
            notify: Ok(()),
        };
        s.apply_event(&written.into(), Timestamp(8));
        assert!(!needed(&s));
        s.apply_event(
            &SignconfRequested {
                zones: Some(vec![name.clone()]),
            }
            .into(),
            Timestamp(9),
        );
        assert!(needed(&s), "a request naming the zone");
    }

    #[test]
    fn a_purge_asks_for_a_signconf_only_when_its_record_says_so() {
        use kasp_events::KeysPurged;
        let name = ZoneName::new("example.com").unwrap();
        let purged = |signconf_needed| -> Event {
            KeysPurged {
                zone: name.clone(),
                keys: vec![KeyId(1)],
                released: vec![],
                policy: None,
                signconf_needed,
            }
            .into()
        };
        let mut s = State::default();
        s.apply_event(&zone_added(false), Timestamp(5));
        s.apply_event(&purged(false), Timestamp(6));
        assert!(!s.zone(&name).unwrap().signconf_needed, "key purge now");
        s.apply_event(&purged(true), Timestamp(7));
        assert!(s.zone(&name).unwrap().signconf_needed, "a version 1 record");
    }
}

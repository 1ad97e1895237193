//! Folding the enforcer events into the zone and pool views. Copies facts only: the
//! decisions were taken by [`crate::enforce_plan`] (or a command's decide) before the
//! events were appended, and an event naming something unknown changes nothing.

use crate::enforcer::model::{Dependency, HsmKeyId, KeyModel, PerRole, ZoneModel};
use crate::enforcer::record::{RecordState, RecordType};
use crate::enforcer::timing::TtlWindows;
use crate::state::State;
use kasp_events::{Event, KeyRole, Seconds, StateMachineRun, Timestamp, ZoneEnforced};

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
                    z.next_change = Some(Timestamp(0));
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
                    z.next_change = Some(Timestamp(0));
                }
            }
            Event::EnforceRequested(e) => {
                let flush = |z: &mut crate::state::ZoneView| {
                    if z.next_change.is_some() {
                        z.next_change = Some(Timestamp(0));
                    }
                };
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
                    z.signconf_needed = true;
                }
                self.drop_refs(&dropped);
            }
            Event::ClockAdvanced(e) => self.clock_now = Some(e.to),
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

    fn apply_enforced(&mut self, e: ZoneEnforced, at: Timestamp) {
        let Some(zone) = self.zones.get(&e.zone.key()) else {
            return;
        };
        let mut model = zone.model.clone();
        // Policy step (§3).
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
        // State machine (§4).
        if let Some(sm) = &e.state_machine {
            apply_state_machine(&mut model, sm, at);
        }
        // Purge (§5).
        let dropped = take_keys(&mut model, &e.purged);
        model
            .dependencies
            .retain(|d| !e.purged_dependencies.iter().any(|p| same_dep(p, d)));
        self.drop_refs(&dropped);
        self.pool.mark_destroying(&e.destroyed);
        if let Some(z) = self.zones.get_mut(&e.zone.key()) {
            z.model = model;
            z.signconf_needed |= e.signconf_needed;
            z.next_change = e.next_change;
        }
    }
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

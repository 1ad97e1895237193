//! Folding the genesis of a log imported from OpenDNSSEC (crates/events/src/takeover.rs)
//! into the views: each row becomes the policy, HSM key or zone it describes, with every
//! value as OpenDNSSEC stored it. Copies facts only; what was refused was refused by the
//! importer (crates/engine/src/ods_import.rs) before anything was appended.

use crate::enforcer::model::{Dependency, HsmKeyId, KeyModel, PerRole, ZoneModel};
use crate::enforcer::record::Record;
use crate::enforcer::timing::TtlWindows;
use crate::state::{State, ZoneView};
use kasp_events::{Event, OdsZoneImported, OdsZoneKey, Seconds, Timestamp};

impl State {
    /// `OdsImported`: the state is the database's from here on (a shadow log holds one
    /// import per change it saw; crates/events/src/takeover.rs): policies, zones, the
    /// pool and the tasks deleted zones left are dropped, and zone key ids start again,
    /// as an import numbers them from 1.
    pub(crate) fn start_import(&mut self) {
        self.policies.clear();
        self.zones.clear();
        self.pool = Default::default();
        self.tasks_left.clear();
        self.next_key_id = 0;
    }

    /// Applies one event of an OpenDNSSEC import (see [`State::apply_event`]).
    pub(crate) fn apply_takeover(&mut self, event: Event, at: Timestamp) {
        match event {
            Event::OdsPolicyImported(e) => self.add_policy(e.policy, e.salt, at),
            Event::OdsHsmKeyImported(e) => self.pool.import(e),
            Event::OdsZoneImported(e) => self.import_zone(e, at),
            _ => {}
        }
    }

    fn import_zone(&mut self, e: OdsZoneImported, at: Timestamp) {
        let keys = e
            .keys
            .iter()
            .map(|k| {
                self.next_key_id = self.next_key_id.max(k.id.0 + 1);
                let hsm = self.pool.keys.get_mut(&k.locator).map(|m| {
                    m.refs += 1;
                    HsmKeyId(m.id)
                });
                zone_key(k, hsm)
            })
            .collect();
        let [ds, dnskey, rrsig] = e.ttl_windows;
        let [ksk, zsk, csk] = e.next_roll;
        let mut roll_now = PerRole::default();
        for r in e.roll_now {
            roll_now.set(r, true);
        }
        let model = ZoneModel {
            keys,
            dependencies: e
                .dependencies
                .iter()
                .map(|d| Dependency {
                    from: d.dependency.from,
                    to: d.dependency.to,
                    record: d.dependency.record,
                })
                .collect(),
            ttl_windows: TtlWindows { ds, dnskey, rrsig },
            roll_now,
            next_roll: PerRole { ksk, zsk, csk },
        };
        let id = self.take_id();
        self.tasks_left.remove(&e.zone.name.key());
        self.zones.insert(
            e.zone.name.key(),
            ZoneView {
                id,
                config: e.zone,
                next_change: e.next_change,
                due: e.next_change,
                added: at,
                model,
                signconf_needed: e.signconf_needed,
                ds_retry: None,
                ds_failures: 0,
            },
        );
    }
}

/// The state machine's key from an imported key row; without records, a key whose states
/// OpenDNSSEC had not created yet.
fn zone_key(k: &OdsZoneKey, hsm: Option<HsmKeyId>) -> KeyModel {
    let mut key = KeyModel::new(
        k.id,
        k.role,
        k.algorithm,
        k.minimize,
        k.inception,
        [Seconds(0); 4],
    );
    match &k.records {
        Some(records) => {
            for (to, from) in key.records.0.iter_mut().zip(records) {
                *to = Record {
                    state: from.state,
                    last_change: from.last_change,
                    ttl: from.ttl,
                    minimize: from.minimize,
                };
            }
        }
        None => key.states_created = false,
    }
    key.introducing = k.introducing;
    key.ds_at_parent = k.ds_at_parent;
    key.hsm = hsm;
    key.key_tag = k.key_tag;
    key
}

//! Shadowing a running OpenDNSSEC: its database seen at two moments, `before` and `after`
//! (each imported into a [`State`], crates/events/src/takeover.rs), and the question
//! whether kasp-ledger, given `before`, decides what OpenDNSSEC decided.
//!
//! For every zone whose keys, records or schedule changed:
//!
//! 1. What the operator did is taken as given, not compared: a DS marked seen
//!    (`key ds-seen`) or gone (`key ds-gone`), a rollover requested (`key rollover`).
//!    They are applied to `before` at the time the database shows for them.
//! 2. The moment of OpenDNSSEC's run is the latest last change among the records that
//!    changed (every transition of one run has the run's time). A run after an operator's
//!    command that moved no record decides the same at any moment from the zone's last
//!    record change on, which is taken. Another run that changed no record but the
//!    zone's schedule ran when the zone was due. A change with none of these is listed
//!    as not compared.
//! 3. kasp-ledger runs the zone at that moment ([`crate::scheduler::plan::plan_zone`]),
//!    then, as OpenDNSSEC does after a run, marks a DS to submit (retract) as submitted
//!    (retracted) and runs the zone again, until nothing moves.
//! 4. The two zones are compared key by key (by HSM locator: key ids are the importer's):
//!    which keys the zone has, each key's goal, DS at the parent and four records (state
//!    and last change), and the zone's next change. Every difference is a
//!    [`ShadowDivergence`].
//!
//! Pure: both states are the caller's, nothing is appended.

use crate::enforcer::model::{KeyModel, PerRole};
use crate::scheduler::plan::{PlanConf, plan_zone};
use crate::state::{State, ZoneView};
use kasp_events::{
    DsAtParent, DsStateChanged, DsTrigger, Event, KeyRole, Locator, RecordType, ShadowDivergence,
    Timestamp, ZoneName,
};
use std::collections::BTreeMap;

/// How many times a zone is run at one moment (the run, and the runs after its DS tasks).
const MAX_RUNS: usize = 4;

/// What one comparison found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// The zones OpenDNSSEC changed that were compared.
    pub zones: Vec<String>,
    /// Changes whose moment the database does not show.
    pub not_compared: Vec<String>,
    pub divergences: Vec<ShadowDivergence>,
}

/// Compares OpenDNSSEC's decisions from `before` to `after` with kasp-ledger's (see the
/// module text).
pub fn compare(before: &State, after: &State, conf: PlanConf) -> Comparison {
    let mut out = Comparison::default();
    for theirs in after.zones_in_order() {
        let Some(old) = before.zone(&theirs.config.name) else {
            out.not_compared
                .push(format!("zone {}: added to OpenDNSSEC", theirs.config.name));
            continue;
        };
        if !changed(before, old, after, theirs) {
            continue;
        }
        let mut ours = before.clone();
        let name = theirs.config.name.clone();
        let operator = apply_operator(&mut ours, &name, after, theirs);
        let Some(at) = moment(before, old, after, theirs, operator) else {
            out.not_compared.push(format!(
                "zone {name}: changed without moving a record, and was not due"
            ));
            continue;
        };
        run_at(&mut ours, &name, at, conf);
        out.zones.push(name.as_str().to_string());
        let Some(mine) = ours.zone(&name) else {
            continue;
        };
        out.divergences
            .extend(differences(&ours, mine, after, theirs, at));
    }
    for old in before.zones_in_order() {
        if after.zone(&old.config.name).is_none() {
            out.not_compared
                .push(format!("zone {}: deleted from OpenDNSSEC", old.config.name));
        }
    }
    out
}

/// The zone's keys by locator.
fn keys_by_locator<'a>(state: &State, zone: &'a ZoneView) -> BTreeMap<Locator, &'a KeyModel> {
    zone.model
        .keys
        .iter()
        .filter_map(|k| {
            let locator = state.pool.by_id(k.hsm?.0)?.locator;
            Some((locator, k))
        })
        .collect()
}

fn changed(before: &State, old: &ZoneView, after: &State, new: &ZoneView) -> bool {
    let (a, b) = (keys_by_locator(before, old), keys_by_locator(after, new));
    let same_keys = a.len() == b.len()
        && a.iter().all(|(l, k)| {
            b.get(l).is_some_and(|n| {
                k.records == n.records
                    && k.introducing == n.introducing
                    && k.ds_at_parent == n.ds_at_parent
                    && k.states_created == n.states_created
            })
        });
    !(same_keys
        && old.next_change == new.next_change
        && old.model.ttl_windows == new.model.ttl_windows
        && old.model.roll_now == new.model.roll_now
        && old.model.next_roll == new.model.next_roll)
}

/// The operator's DS commands and rollover requests `after` shows, applied to `state`;
/// whether there were any.
fn apply_operator(state: &mut State, name: &ZoneName, after: &State, theirs: &ZoneView) -> bool {
    let Some(mine) = state.zone(name) else {
        return false;
    };
    let new = keys_by_locator(after, theirs);
    let mut events = Vec::new();
    for (locator, k) in keys_by_locator(state, mine) {
        let Some(n) = new.get(&locator) else {
            continue;
        };
        let by_operator = matches!(
            (k.ds_at_parent, n.ds_at_parent),
            (_, DsAtParent::Seen) | (DsAtParent::Retracted, DsAtParent::Unsubmitted)
        );
        if by_operator && k.ds_at_parent != n.ds_at_parent {
            let at = n.records.get(RecordType::Ds).last_change;
            events.push((
                Event::DsStateChanged(DsStateChanged {
                    zone: name.clone(),
                    key: k.id,
                    from: k.ds_at_parent,
                    to: n.ds_at_parent,
                    trigger: DsTrigger::Command,
                    hook: None,
                    next_change_now: true,
                }),
                at,
            ));
        }
    }
    let roles: Vec<KeyRole> = [KeyRole::Ksk, KeyRole::Zsk, KeyRole::Csk]
        .into_iter()
        .filter(|r| theirs.model.roll_now.get(*r) && !mine.model.roll_now.get(*r))
        .collect();
    if !roles.is_empty() {
        events.push((
            Event::RolloverRequested(kasp_events::RolloverRequested {
                zone: name.clone(),
                roles,
            }),
            Timestamp(0),
        ));
    }
    let any = !events.is_empty();
    for (e, at) in events {
        state.apply_event(&e, at);
    }
    any
}

/// When OpenDNSSEC ran the zone (see the module text), if the database shows it.
fn moment(
    before: &State,
    old: &ZoneView,
    after: &State,
    new: &ZoneView,
    operator: bool,
) -> Option<Timestamp> {
    let a = keys_by_locator(before, old);
    let mut latest: Option<Timestamp> = None;
    for (locator, n) in keys_by_locator(after, new) {
        for t in RecordType::ALL {
            let r = n.records.get(t);
            let moved = match a.get(&locator) {
                Some(k) => *k.records.get(t) != *r,
                None => n.states_created,
            };
            if moved {
                latest = latest.max(Some(r.last_change));
            }
        }
    }
    if latest.is_some() {
        return latest;
    }
    if operator {
        // A DS command runs the zone at once; a run that moves nothing decides the same
        // from any moment between the last record change and its next change.
        return keys_by_locator(after, new)
            .values()
            .flat_map(|k| k.records.0.iter().map(|r| r.last_change))
            .max();
    }
    match old.due {
        Some(t) if t > Timestamp(0) => Some(t),
        _ => None,
    }
}

/// Runs the zone at `at`, then its DS tasks and the runs they cause (see the module text).
fn run_at(state: &mut State, name: &ZoneName, at: Timestamp, conf: PlanConf) {
    for _ in 0..MAX_RUNS {
        let Some(zone) = state.zone(name) else {
            return;
        };
        let Some(run) = plan_zone(state, zone, at, conf) else {
            return;
        };
        let Some(event) = run.event else {
            return;
        };
        state.apply_event(&Event::ZoneEnforced(event), at);
        let Some(zone) = state.zone(name) else {
            return;
        };
        let tasks: Vec<Event> = zone
            .model
            .keys
            .iter()
            .filter_map(|k| {
                let to = match k.ds_at_parent {
                    DsAtParent::Submit => DsAtParent::Submitted,
                    DsAtParent::Retract => DsAtParent::Retracted,
                    _ => return None,
                };
                Some(Event::DsStateChanged(DsStateChanged {
                    zone: name.clone(),
                    key: k.id,
                    from: k.ds_at_parent,
                    to,
                    trigger: DsTrigger::Task,
                    hook: None,
                    next_change_now: true,
                }))
            })
            .collect();
        if tasks.is_empty() {
            return;
        }
        for e in tasks {
            state.apply_event(&e, at);
        }
    }
}

fn describe(key: &KeyModel, locator: &Locator) -> String {
    format!("{} {} {locator}", key.role.as_str(), key.key_tag)
}

fn time(t: Option<Timestamp>) -> String {
    t.map_or_else(|| "none".to_string(), |t| t.to_string())
}

fn differences(
    ours_state: &State,
    ours: &ZoneView,
    after: &State,
    theirs: &ZoneView,
    at: Timestamp,
) -> Vec<ShadowDivergence> {
    let zone = theirs.config.name.as_str().to_string();
    let mut out = Vec::new();
    let mut differ = |key: Option<String>, what: &str, theirs: String, ours: String| {
        if theirs != ours {
            out.push(ShadowDivergence {
                zone: zone.clone(),
                key,
                what: what.to_string(),
                theirs,
                ours,
                at,
            });
        }
    };
    let (mine, other) = (
        keys_by_locator(ours_state, ours),
        keys_by_locator(after, theirs),
    );
    for (locator, t) in &other {
        let key = Some(describe(t, locator));
        let Some(m) = mine.get(locator) else {
            differ(key, "key", "present".into(), "absent".into());
            continue;
        };
        let goal = |k: &KeyModel| if k.introducing { "introduce" } else { "retire" };
        differ(key.clone(), "goal", goal(t).into(), goal(m).into());
        differ(
            key.clone(),
            "DS at parent",
            t.ds_at_parent.as_str().into(),
            m.ds_at_parent.as_str().into(),
        );
        for rt in RecordType::ALL {
            let (a, b) = (t.records.get(rt), m.records.get(rt));
            differ(
                key.clone(),
                rt.as_str(),
                format!("{} since {}", a.state.as_str(), a.last_change),
                format!("{} since {}", b.state.as_str(), b.last_change),
            );
        }
    }
    for (locator, m) in &mine {
        if !other.contains_key(locator) {
            differ(
                Some(describe(m, locator)),
                "key",
                "absent".into(),
                "present".into(),
            );
        }
    }
    differ(
        None,
        "next change",
        time(theirs.next_change),
        time(ours.next_change),
    );
    let roll = |p: &PerRole<Option<Timestamp>>| {
        format!(
            "KSK {} ZSK {} CSK {}",
            time(p.ksk),
            time(p.zsk),
            time(p.csk)
        )
    };
    differ(
        None,
        "next rolls",
        roll(&theirs.model.next_roll),
        roll(&ours.model.next_roll),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testgen::{policy, zone};
    use kasp_events::{
        BackupState, KeySpec, OdsHsmKeyImported, OdsImported, OdsKeyUse, OdsPolicyImported,
        OdsRecord, OdsRow, OdsZoneImported, OdsZoneKey, RecordState, Seconds,
    };

    const T0: Timestamp = Timestamp(1_735_689_600);
    const LOCATOR: Locator = Locator([7; 16]);

    /// The stock `default` policy with one zone whose one CSK is omnipresent everywhere
    /// (DS seen) since `T0`, its next change `next`.
    fn imported(dnskey: RecordState, changed: Timestamp, next: Timestamp) -> State {
        use RecordState::*;
        let row = OdsRow { id: 1, rev: 1 };
        let mut p = policy("default");
        p.keys.keys.retain(|k| k.role == KeyRole::Ksk);
        p.keys.keys[0].role = KeyRole::Csk;
        let states = [Omnipresent, dnskey, Omnipresent, Omnipresent];
        let records = states.map(|state| OdsRecord {
            row,
            state,
            last_change: if state == dnskey { changed } else { T0 },
            ttl: Seconds(3600),
            minimize: false,
        });
        let events: Vec<Event> = vec![
            OdsImported {
                datastore: kasp_events::OdsDatastore::Sqlite,
                location: "kasp.db".into(),
                schema_version: 1,
                digest: "00".repeat(32),
                rows: [0; 7],
                findings: vec![],
            }
            .into(),
            OdsPolicyImported {
                row,
                key_rows: vec![row],
                policy: p.clone(),
                salt: None,
            }
            .into(),
            OdsHsmKeyImported {
                row,
                locator: LOCATOR,
                spec: KeySpec {
                    repository: "SoftHSM".into(),
                    policy: p.name.clone(),
                    role: KeyRole::Csk,
                    algorithm: 8,
                    bits: 2048,
                },
                usage: OdsKeyUse::Private,
                backup: BackupState::NotRequired,
                inception: T0,
                revoked: false,
                public_key: vec![3, 1, 0, 1],
            }
            .into(),
            OdsZoneImported {
                row,
                zone: zone("example.com", "default"),
                next_change: Some(next),
                signconf_needed: false,
                ttl_windows: [T0; 3],
                roll_now: vec![],
                next_roll: [None, None, Some(Timestamp(T0.0 + 365 * 86_400))],
                keys: vec![OdsZoneKey {
                    row,
                    id: kasp_events::KeyId(1),
                    locator: LOCATOR,
                    role: KeyRole::Csk,
                    algorithm: 8,
                    inception: T0,
                    introducing: true,
                    publish: true,
                    active_ksk: true,
                    active_zsk: true,
                    standby: false,
                    should_revoke: false,
                    ds_at_parent: DsAtParent::Seen,
                    key_tag: 4711,
                    minimize: 0,
                    records: Some(records),
                }],
                dependencies: vec![],
            }
            .into(),
        ];
        let mut s = State::default();
        for e in &events {
            s.apply_event(e, T0);
        }
        s
    }

    #[test]
    fn an_unchanged_database_compares_nothing() {
        let s = imported(RecordState::Omnipresent, T0, Timestamp(T0.0 + 86_400));
        assert_eq!(compare(&s, &s, PlanConf::default()), Comparison::default());
    }

    #[test]
    fn a_record_kasp_ledger_would_not_move_is_a_divergence_at_the_moment_of_the_move() {
        let before = imported(RecordState::Omnipresent, T0, Timestamp(T0.0 + 86_400));
        let moved = Timestamp(T0.0 + 600);
        let after = imported(RecordState::Unretentive, moved, Timestamp(T0.0 + 86_400));
        let c = compare(&before, &after, PlanConf::default());
        assert_eq!(c.zones, ["example.com"]);
        let dnskey: Vec<&ShadowDivergence> = c
            .divergences
            .iter()
            .filter(|d| d.what == "DNSKEY")
            .collect();
        assert_eq!(dnskey.len(), 1, "{c:?}");
        let d = dnskey[0];
        assert_eq!(d.at, moved);
        assert_eq!(d.theirs, format!("unretentive since {moved}"));
        assert!(d.ours.starts_with("omnipresent since "), "{d:?}");
        assert_eq!(
            d.key.as_deref(),
            Some("CSK 4711 07070707070707070707070707070707")
        );
    }

    #[test]
    fn zones_added_or_deleted_are_not_compared() {
        let s = imported(RecordState::Omnipresent, T0, Timestamp(T0.0 + 86_400));
        let c = compare(&State::default(), &s, PlanConf::default());
        assert!(c.zones.is_empty() && c.divergences.is_empty());
        assert_eq!(c.not_compared, ["zone example.com: added to OpenDNSSEC"]);
        let c = compare(&s, &State::default(), PlanConf::default());
        assert_eq!(
            c.not_compared,
            ["zone example.com: deleted from OpenDNSSEC"]
        );
    }
}

//! `State` itself: creation order, suspended zones, no-op events, and `decide`
//! not depending on `now`.

use crate::given::{
    NOW, T0, accepted, add_zone, changed, changed_policy, given, given_zones, import_policies,
    import_zonelist, pn, policies_of, policy, policy_created, policy_deleted, policy_updated,
    renamed, set_policy, stock_imported, then_state, zn, zone, zone_added, zone_added_suspended,
    zone_deleted, zones_of,
};
use kasp_events::{Timestamp, ZonePolicyChanged, ZoneUpdated};
use kasp_projector::decide::{Command, decide};

// ---- State ---------------------------------------------------------------------

#[test]
fn state_lists_zones_and_policies_in_creation_order() {
    let state = given([
        policy_created(renamed("lab", "zeta")),
        policy_created(policy("lab")),
        policy_created(policy("default")),
        zone_added(zone("zz.example", "lab")),
        zone_added(zone("aa.example", "zeta")),
        zone_added(zone("mm.example", "default")),
        // Deleted and added again: it goes to the end.
        zone_deleted("ZZ.example."),
        zone_added(zone("zz.example", "default")),
        // An update keeps its place.
        ZoneUpdated {
            zone: zone("aa.example", "lab"),
        }
        .into(),
        policy_updated(changed_policy(renamed("lab", "zeta"))),
    ]);
    assert_eq!(policies_of(&state), ["zeta", "lab", "default"]);
    assert_eq!(
        zones_of(&state),
        [
            ("aa.example".into(), "lab".into()),
            ("mm.example".into(), "default".into()),
            ("zz.example".into(), "default".into()),
        ]
    );
    // Every id is distinct.
    let mut ids: Vec<u64> = state.zones.values().map(|z| z.id).collect();
    ids.extend(state.policies.values().map(|p| p.id));
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n);
    // Times come from the events.
    assert_eq!(
        state.zone(&zn("mm.example")).unwrap().added,
        Timestamp(T0.0 + 5)
    );
    assert_eq!(state.policies[&pn("zeta")].updated, Timestamp(T0.0 + 9));
}

#[test]
fn suspended_zones_have_no_next_change() {
    let mut events = stock_imported();
    events.push(zone_added_suspended(zone("quiet.example", "default")));
    events.push(zone_added(zone("busy.example", "default")));
    let state = given(events);
    assert_eq!(state.zone(&zn("quiet.example")).unwrap().next_change, None);
    assert_eq!(
        state.zone(&zn("busy.example")).unwrap().next_change,
        Some(Timestamp(0))
    );
    // A policy change does not wake a suspended zone.
    let d = accepted(&state, set_policy("quiet.example", "lab"));
    let after = then_state(&state, &d);
    assert_eq!(after.zone(&zn("quiet.example")).unwrap().next_change, None);
}

#[test]
fn events_about_missing_things_are_no_ops() {
    let state = given(stock_imported());
    let after = given(
        stock_imported().into_iter().chain([
            zone_deleted("nosuch.example"),
            ZoneUpdated {
                zone: zone("nosuch.example", "lab"),
            }
            .into(),
            ZonePolicyChanged {
                zone: zn("nosuch.example"),
                from: pn("default"),
                to: pn("lab"),
            }
            .into(),
            policy_updated(renamed("lab", "nosuch")),
            policy_deleted("nosuch"),
        ]),
    );
    // Nothing changed but the log's time (the time of the last record).
    let mut state = state;
    state.last_at = after.last_at;
    assert_eq!(after, state);
}

#[test]
fn decide_does_not_depend_on_now_for_single_step_commands() {
    let state = given_zones(&[("example.com", "default")]);
    for command in [
        add_zone("example.net", "lab"),
        set_policy("example.com", "lab"),
        import_policies(vec![changed("lab")], true),
        import_zonelist(vec![zone("example.org", "lab")], true),
        Command::PurgePolicies,
        Command::DeleteAllZones,
    ] {
        assert_eq!(
            decide(&state, &command, Timestamp(0)),
            decide(&state, &command, NOW),
            "{command:?}"
        );
    }
}

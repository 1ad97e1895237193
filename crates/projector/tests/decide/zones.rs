//! `zone add`, `zone delete` (one zone or all) and `zone set-policy`.

use crate::given::{
    NOW, accepted, add_zone, given, given_zones, pn, refused, set_policy, stock_imported,
    then_state, zn, zone, zone_added, zone_added_suspended, zone_deleted, zones_of,
};
use kasp_events::{Timestamp, ZonePolicyChanged};
use kasp_projector::decide::{Command, Decision, Outcome};

// ---- zone add ------------------------------------------------------------------

#[test]
fn add_zone_appends_zone_added() {
    let state = given(stock_imported());
    let d = accepted(&state, add_zone("example.com", "lab"));
    assert_eq!(d.events, vec![zone_added(zone("example.com", "lab"))]);
    assert_eq!(
        d.outcomes,
        vec![Outcome::ZoneAdded(zone("example.com", "lab"))]
    );
    let after = then_state(&state, &d);
    let z = after.zone(&zn("example.com")).unwrap();
    assert_eq!(z.config, zone("example.com", "lab"));
    assert_eq!(z.added, NOW);
    assert_eq!(z.next_change, Some(Timestamp(0)));
}

#[test]
fn add_zone_suspended_appends_a_suspended_zone() {
    let state = given(stock_imported());
    let d = accepted(
        &state,
        Command::AddZone {
            zone: zone("example.com", "default"),
            suspended: true,
        },
    );
    assert_eq!(
        d.events,
        vec![zone_added_suspended(zone("example.com", "default"))]
    );
    let after = then_state(&state, &d);
    assert_eq!(after.zone(&zn("example.com")).unwrap().next_change, None);
}

#[test]
fn add_zone_refuses_a_zone_that_exists_whatever_its_spelling() {
    let state = given_zones(&[("example.com", "default")]);
    for spelling in ["example.com", "Example.COM", "example.com.", "EXAMPLE.com."] {
        assert_eq!(
            refused(&state, add_zone(spelling, "lab")),
            "Unable to add zone, zone already exists!",
            "{spelling}"
        );
    }
}

#[test]
fn add_zone_refuses_a_zone_that_exists_before_looking_at_the_policy() {
    // OpenDNSSEC checks the zone first: an existing zone with an unknown policy
    // still says the zone exists.
    let state = given_zones(&[("example.com", "default")]);
    assert_eq!(
        refused(&state, add_zone("example.com", "nosuch")),
        "Unable to add zone, zone already exists!"
    );
}

#[test]
fn add_zone_refuses_an_unknown_policy() {
    let state = given(stock_imported());
    assert_eq!(
        refused(&state, add_zone("example.com", "nosuch")),
        "Unable to find policy nosuch needed for adding the zone!"
    );
    // Policy names are case-sensitive, as in OpenDNSSEC.
    assert_eq!(
        refused(&state, add_zone("example.com", "Default")),
        "Unable to find policy Default needed for adding the zone!"
    );
}

// ---- zone delete ---------------------------------------------------------------

#[test]
fn delete_zone_deletes_it_under_its_stored_name() {
    let state = given_zones(&[("Example.com", "default"), ("example.net", "lab")]);
    let d = accepted(
        &state,
        Command::DeleteZone {
            zone: zn("example.COM."),
        },
    );
    assert_eq!(d.events, vec![zone_deleted("Example.com")]);
    assert_eq!(
        d.outcomes,
        vec![Outcome::ZoneDeleted(zone("Example.com", "default"))]
    );
    assert_eq!(
        zones_of(&then_state(&state, &d)),
        [("example.net".into(), "lab".into())]
    );
}

#[test]
fn delete_zone_refuses_an_unknown_zone() {
    let state = given_zones(&[("example.com", "default")]);
    assert_eq!(
        refused(
            &state,
            Command::DeleteZone {
                zone: zn("nosuch.example")
            }
        ),
        "Unable to delete zone, zone nosuch.example not found!"
    );
}

#[test]
fn delete_all_zones_deletes_every_zone_in_creation_order() {
    let state = given_zones(&[
        ("zz.example", "default"),
        ("aa.example", "lab"),
        ("mm.example", "default"),
    ]);
    let d = accepted(&state, Command::DeleteAllZones);
    assert_eq!(
        d.events,
        vec![
            zone_deleted("zz.example"),
            zone_deleted("aa.example"),
            zone_deleted("mm.example")
        ]
    );
    assert_eq!(d.outcomes.len(), 3);
    let after = then_state(&state, &d);
    assert!(after.zones.is_empty());
    // Policies are untouched.
    assert_eq!(after.policies, state.policies);
}

#[test]
fn delete_all_zones_without_zones_appends_nothing() {
    let state = given(stock_imported());
    assert_eq!(
        accepted(&state, Command::DeleteAllZones),
        Decision::default()
    );
}

// ---- zone set-policy -----------------------------------------------------------

#[test]
fn set_zone_policy_moves_the_zone() {
    let state = given_zones(&[("Example.com", "default")]);
    let d = accepted(&state, set_policy("example.com.", "lab"));
    assert_eq!(
        d.events,
        vec![
            ZonePolicyChanged {
                zone: zn("Example.com"),
                from: pn("default"),
                to: pn("lab"),
            }
            .into()
        ]
    );
    assert_eq!(
        d.outcomes,
        vec![Outcome::ZonePolicySet {
            zone: zn("Example.com"),
            policy: pn("lab")
        }]
    );
    let after = then_state(&state, &d);
    assert_eq!(zones_of(&after), [("Example.com".into(), "lab".into())]);
    assert_eq!(after.zones_using(&pn("default")), 0);
    assert_eq!(after.zones_using(&pn("lab")), 1);
}

#[test]
fn set_zone_policy_to_the_same_policy_appends_nothing() {
    let state = given_zones(&[("example.com", "lab")]);
    let d = accepted(&state, set_policy("example.com", "lab"));
    assert!(d.events.is_empty());
    assert_eq!(d.outcomes, vec![Outcome::ZonePolicyUnchanged]);
}

#[test]
fn set_zone_policy_refuses_an_unknown_zone() {
    let state = given_zones(&[("example.com", "default")]);
    assert_eq!(
        refused(&state, set_policy("nosuch", "default")),
        "Unable to update zone, zone does not exist!"
    );
    // An unknown zone is reported before an unknown policy.
    assert_eq!(
        refused(&state, set_policy("nosuch", "nosuch")),
        "Unable to update zone, zone does not exist!"
    );
}

#[test]
fn set_zone_policy_refuses_an_unknown_policy() {
    let state = given_zones(&[("example.com", "default")]);
    assert_eq!(
        refused(&state, set_policy("example.com", "nosuch")),
        "Unable to update zone, policy does not exist!"
    );
}

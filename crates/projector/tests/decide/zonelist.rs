//! `zonelist import` (with and without `-r`) and `update all`.

use crate::given::{
    NOW, accepted, changed, given, given_zones, import_zonelist, pn, policies_of, policy,
    policy_created, policy_updated, renamed, stock, stock_imported, then_state, zn, zone,
    zone_added, zone_deleted, zones_of,
};
use kasp_events::{Timestamp, ZoneUpdated};
use kasp_projector::State;
use kasp_projector::decide::{Command, Outcome};

// ---- zonelist import -----------------------------------------------------------

#[test]
fn import_zonelist_creates_zones_in_file_order() {
    let state = given(stock_imported());
    let zones = vec![zone("zz.example", "default"), zone("aa.example", "lab")];
    let d = accepted(&state, import_zonelist(zones.clone(), false));
    assert_eq!(
        d.events,
        zones.iter().cloned().map(zone_added).collect::<Vec<_>>()
    );
    assert_eq!(
        d.outcomes,
        zones
            .iter()
            .cloned()
            .map(Outcome::ZoneCreated)
            .collect::<Vec<_>>()
    );
    let after = then_state(&state, &d);
    assert_eq!(
        zones_of(&after),
        [
            ("zz.example".into(), "default".into()),
            ("aa.example".into(), "lab".into())
        ]
    );
    // Imported zones are never suspended.
    assert!(
        after
            .zones_in_order()
            .iter()
            .all(|z| z.next_change == Some(Timestamp(0)))
    );
}

#[test]
fn import_zonelist_updates_a_changed_zone_keeping_its_stored_name() {
    let state = given_zones(&[("Example.com", "default"), ("example.net", "default")]);
    let mut moved = zone("EXAMPLE.com.", "lab");
    moved.signconf_path = "/elsewhere/example.com.xml".to_string();
    let d = accepted(
        &state,
        import_zonelist(vec![moved.clone(), zone("example.net", "default")], false),
    );
    let mut stored = moved;
    stored.name = zn("Example.com");
    assert_eq!(
        d.events,
        vec![
            ZoneUpdated {
                zone: stored.clone()
            }
            .into()
        ]
    );
    assert_eq!(
        d.outcomes,
        vec![
            Outcome::ZoneUpdated(zn("Example.com")),
            Outcome::ZoneUpToDate(zn("example.net"))
        ]
    );
    let after = then_state(&state, &d);
    let z = after.zone(&zn("example.com")).unwrap();
    assert_eq!(z.config, stored);
    // An update keeps the zone's place and the time it was added.
    let before = state.zone(&zn("example.com")).unwrap();
    assert_eq!((z.id, z.added), (before.id, before.added));
}

#[test]
fn import_zonelist_up_to_date_appends_nothing() {
    let state = given_zones(&[("Example.com", "default"), ("example.net", "lab")]);
    // Another spelling of a stored name is not a change.
    let d = accepted(
        &state,
        import_zonelist(
            vec![zone("example.com.", "default"), zone("example.net", "lab")],
            false,
        ),
    );
    assert!(d.events.is_empty(), "{:?}", d.events);
    assert_eq!(
        d.outcomes,
        vec![
            Outcome::ZoneUpToDate(zn("Example.com")),
            Outcome::ZoneUpToDate(zn("example.net"))
        ]
    );
}

#[test]
fn import_zonelist_reports_an_unknown_policy_and_goes_on() {
    let state = given(stock_imported());
    let d = accepted(
        &state,
        import_zonelist(
            vec![
                zone("bad.example", "nosuch"),
                zone("good.example", "default"),
            ],
            false,
        ),
    );
    assert_eq!(d.events, vec![zone_added(zone("good.example", "default"))]);
    let unknown = Outcome::ZoneUnknownPolicy {
        zone: zn("bad.example"),
        policy: pn("nosuch"),
    };
    assert!(unknown.is_error());
    assert_eq!(
        d.outcomes,
        vec![
            unknown,
            Outcome::ZoneCreated(zone("good.example", "default"))
        ]
    );
}

#[test]
fn import_zonelist_unknown_policy_leaves_an_existing_zone_alone() {
    let state = given_zones(&[("example.com", "default")]);
    let d = accepted(
        &state,
        import_zonelist(vec![zone("example.com", "nosuch")], false),
    );
    assert!(d.events.is_empty());
    assert_eq!(
        d.outcomes,
        vec![Outcome::ZoneUnknownPolicy {
            zone: zn("example.com"),
            policy: pn("nosuch")
        }]
    );
}

#[test]
fn import_zonelist_r_deletes_zones_missing_from_the_file() {
    let state = given_zones(&[
        ("a.example", "default"),
        ("B.example", "lab"),
        ("c.example", "default"),
    ]);
    let d = accepted(
        &state,
        import_zonelist(
            vec![zone("b.example.", "lab"), zone("d.example", "lab")],
            true,
        ),
    );
    assert_eq!(
        d.events,
        vec![
            zone_added(zone("d.example", "lab")),
            zone_deleted("a.example"),
            zone_deleted("c.example"),
        ]
    );
    assert_eq!(
        d.outcomes,
        vec![
            Outcome::ZoneUpToDate(zn("B.example")),
            Outcome::ZoneCreated(zone("d.example", "lab")),
            Outcome::ZoneDeleted(zone("a.example", "default")),
            Outcome::ZoneDeleted(zone("c.example", "default")),
        ]
    );
    assert_eq!(
        zones_of(&then_state(&state, &d)),
        [
            ("B.example".into(), "lab".into()),
            ("d.example".into(), "lab".into())
        ]
    );
}

#[test]
fn import_zonelist_without_r_keeps_zones_missing_from_the_file() {
    let state = given_zones(&[("a.example", "default"), ("b.example", "lab")]);
    let d = accepted(
        &state,
        import_zonelist(vec![zone("b.example", "lab")], false),
    );
    assert!(d.events.is_empty());
}

#[test]
fn import_zonelist_r_with_an_empty_file_deletes_every_zone() {
    let state = given_zones(&[("a.example", "default"), ("b.example", "lab")]);
    let d = accepted(&state, import_zonelist(vec![], true));
    assert_eq!(
        d.events,
        vec![zone_deleted("a.example"), zone_deleted("b.example")]
    );
}

#[test]
fn import_zonelist_r_leaves_a_removed_zones_future_task_queued() {
    use kasp_events::ZoneTaskLeft;
    let mut state = given_zones(&[
        ("a.example", "default"),
        ("b.example", "default"),
        ("c.example", "default"),
    ]);
    let later = Timestamp(NOW.0 + 3_600);
    for (name, due) in [("b.example", NOW), ("c.example", later)] {
        let z = state.zones.get_mut(&zn(name).key()).expect("zone");
        z.due = Some(due);
    }
    let d = accepted(
        &state,
        import_zonelist(vec![zone("a.example", "default")], true),
    );
    // b.example's task is due now: it runs with the import and is gone.
    assert_eq!(
        d.events,
        vec![
            zone_deleted("b.example"),
            zone_deleted("c.example"),
            ZoneTaskLeft {
                zone: zn("c.example"),
                due: later,
            }
            .into(),
        ]
    );
    let after = then_state(&state, &d);
    let left: Vec<_> = after.tasks_left_after(NOW).collect();
    assert_eq!(left, [(&zn("c.example"), later)]);
    assert_eq!(
        after.tasks_left_after(later).count(),
        0,
        "done once it came"
    );
    // A zone of that name added again takes the task over (it runs at once).
    let readded = given_after(&after, zone_added(zone("c.example", "default")));
    assert!(readded.tasks_left.is_empty());
}

fn given_after(state: &State, e: kasp_events::Event) -> State {
    let mut s = state.clone();
    s.apply_event(&e, NOW);
    s
}

// ---- update all ----------------------------------------------------------------

#[test]
fn update_all_zones_see_policies_created_by_the_same_command() {
    let state = given([]);
    let d = accepted(
        &state,
        Command::UpdateAll {
            policies: stock(),
            zones: vec![
                zone("example.com", "lab"),
                zone("example.net", "default"),
                zone("example.org", "nosuch"),
            ],
            repositories: vec![],
        },
    );
    let mut expected = stock_imported();
    expected.push(zone_added(zone("example.com", "lab")));
    expected.push(zone_added(zone("example.net", "default")));
    assert_eq!(d.events, expected);
    assert_eq!(
        d.outcomes,
        vec![
            Outcome::PolicyCreated(pn("default")),
            Outcome::PolicyCreated(pn("lab")),
            Outcome::ZoneCreated(zone("example.com", "lab")),
            Outcome::ZoneCreated(zone("example.net", "default")),
            Outcome::ZoneUnknownPolicy {
                zone: zn("example.org"),
                policy: pn("nosuch")
            },
        ]
    );
    let after = then_state(&state, &d);
    assert_eq!(policies_of(&after), ["default", "lab"]);
    assert_eq!(after.zones.len(), 2);
}

#[test]
fn update_all_removes_nothing_and_is_idempotent() {
    let mut events = stock_imported();
    events.push(policy_created(renamed("lab", "extra")));
    events.push(zone_added(zone("old.example", "extra")));
    let state = given(events);
    let command = Command::UpdateAll {
        policies: vec![policy("default"), changed("lab")],
        zones: vec![zone("new.example", "lab")],
        repositories: vec![],
    };
    let d = accepted(&state, command.clone());
    assert_eq!(
        d.events,
        vec![
            policy_updated(changed("lab")),
            zone_added(zone("new.example", "lab"))
        ]
    );
    let after = then_state(&state, &d);
    assert_eq!(policies_of(&after), ["default", "lab", "extra"]);
    assert_eq!(
        zones_of(&after),
        [
            ("old.example".into(), "extra".into()),
            ("new.example".into(), "lab".into())
        ]
    );
    let again = accepted(&after, command);
    assert!(again.events.is_empty(), "{:?}", again.events);
}

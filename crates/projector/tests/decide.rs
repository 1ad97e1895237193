//! `decide` and `State` as a pure core: given a state folded from events at fixed
//! times, when a command is decided at a fixed `now`, then these events, outcomes or
//! this rejection (in OpenDNSSEC's words). No log, no clock, no files.

use kasp_events::testgen::arb_zone_name;
use kasp_events::{
    Adapter, Event, Policy, PolicyCreated, PolicyDeleted, PolicyName, PolicyUpdated, Seconds,
    Timestamp, ZoneAdded, ZoneConfig, ZoneDeleted, ZoneName, ZonePolicyChanged, ZoneUpdated,
};
use kasp_projector::State;
use kasp_projector::decide::{Command, Decision, Outcome, Rejection, decide};
use kasp_projector::kasp::parse_kasp;
use proptest::prelude::*;

const KASP: &str = include_str!("../../../fixtures/ods/kasp.xml");

/// When the `given` events happened (one second apart from here).
const T0: Timestamp = Timestamp(1_735_689_600); // 2025-01-01T00:00:00Z
/// When the command is decided.
const NOW: Timestamp = Timestamp(1_735_776_000); // 2025-01-02T00:00:00Z

// ---- vocabulary ----------------------------------------------------------------

fn pn(name: &str) -> PolicyName {
    PolicyName::new(name).unwrap()
}

fn zn(name: &str) -> ZoneName {
    ZoneName::new(name).unwrap()
}

/// The policies of the stock kasp.xml (`default`, `lab`), in file order.
fn stock() -> Vec<Policy> {
    parse_kasp(KASP, "kasp.xml").expect("the stock kasp.xml parses")
}

/// One stock policy by name.
fn policy(name: &str) -> Policy {
    stock()
        .into_iter()
        .find(|p| p.name.as_str() == name)
        .unwrap_or_else(|| panic!("no stock policy {name}"))
}

/// A stock policy under another name.
fn renamed(name: &str, new: &str) -> Policy {
    let mut p = policy(name);
    p.name = pn(new);
    p
}

/// A stock policy with two fields changed.
fn changed(name: &str) -> Policy {
    changed_policy(policy(name))
}

fn changed_policy(mut p: Policy) -> Policy {
    p.description = format!("{} (changed)", p.description);
    p.signatures.resign = Seconds(p.signatures.resign.0 + 60);
    p
}

/// A zone as `zone add` would configure it; the paths use the lookup key, so two
/// spellings of one name give the same configuration apart from the name.
fn zone(name: &str, policy: &str) -> ZoneConfig {
    let key = zn(name).key();
    ZoneConfig {
        name: zn(name),
        policy: pn(policy),
        signconf_path: format!("/var/lib/opendnssec/signconf/{key}.xml"),
        input: Adapter {
            kind: "File".to_string(),
            uri: format!("/var/lib/opendnssec/unsigned/{key}"),
        },
        output: Adapter {
            kind: "File".to_string(),
            uri: format!("/var/lib/opendnssec/signed/{key}"),
        },
    }
}

fn policy_created(p: Policy) -> Event {
    PolicyCreated { policy: p }.into()
}

fn policy_updated(p: Policy) -> Event {
    PolicyUpdated { policy: p }.into()
}

fn policy_deleted(name: &str) -> Event {
    PolicyDeleted { name: pn(name) }.into()
}

fn zone_added(z: ZoneConfig) -> Event {
    ZoneAdded {
        zone: z,
        suspended: false,
    }
    .into()
}

fn zone_added_suspended(z: ZoneConfig) -> Event {
    ZoneAdded {
        zone: z,
        suspended: true,
    }
    .into()
}

fn zone_deleted(name: &str) -> Event {
    ZoneDeleted { zone: zn(name) }.into()
}

/// The stock policies as imported.
fn stock_imported() -> Vec<Event> {
    stock().into_iter().map(policy_created).collect()
}

// ---- given / when / then -------------------------------------------------------

/// The state after these events, the first at `T0`, each a second after the last.
fn given(events: impl IntoIterator<Item = Event>) -> State {
    let mut state = State::default();
    for (i, e) in events.into_iter().enumerate() {
        state.apply_event(&e, Timestamp(T0.0 + i as i64));
    }
    state
}

/// The stock policies, then these zones (each with its policy).
fn given_zones(zones: &[(&str, &str)]) -> State {
    let mut events = stock_imported();
    events.extend(zones.iter().map(|(z, p)| zone_added(zone(z, p))));
    given(events)
}

/// Decides `command` against `state` at `NOW`.
fn when(state: &State, command: Command) -> Result<Decision, Rejection> {
    decide(state, &command, NOW)
}

/// The decision of an accepted command.
fn accepted(state: &State, command: Command) -> Decision {
    match when(state, command) {
        Ok(d) => d,
        Err(r) => panic!("refused: {}", r.message),
    }
}

/// The rejection of a refused command (always a refusal, never a usage error here).
fn refused(state: &State, command: Command) -> String {
    match when(state, command) {
        Ok(d) => panic!("accepted: {d:?}"),
        Err(r) => {
            assert!(!r.usage, "{r:?}");
            r.message
        }
    }
}

/// The state after the decision's events are applied at `NOW`.
fn then_state(state: &State, d: &Decision) -> State {
    let mut next = state.clone();
    for e in &d.events {
        next.apply_event(e, NOW);
    }
    next
}

fn import_policies(policies: Vec<Policy>, remove_missing: bool) -> Command {
    Command::ImportPolicies {
        policies,
        remove_missing,
    }
}

fn import_zonelist(zones: Vec<ZoneConfig>, remove_missing: bool) -> Command {
    Command::ImportZonelist {
        zones,
        remove_missing,
    }
}

fn add_zone(name: &str, policy: &str) -> Command {
    Command::AddZone {
        zone: zone(name, policy),
        suspended: false,
    }
}

fn set_policy(zone: &str, policy: &str) -> Command {
    Command::SetZonePolicy {
        zone: zn(zone),
        policy: pn(policy),
    }
}

/// Zone name and policy of every zone, in creation order.
fn zones_of(state: &State) -> Vec<(String, String)> {
    state
        .zones_in_order()
        .iter()
        .map(|z| {
            (
                z.config.name.as_str().to_string(),
                z.config.policy.as_str().to_string(),
            )
        })
        .collect()
}

/// Policy names in creation order.
fn policies_of(state: &State) -> Vec<String> {
    state
        .policies_in_order()
        .iter()
        .map(|p| p.policy.name.as_str().to_string())
        .collect()
}

// ---- policy import -------------------------------------------------------------

#[test]
fn import_policies_creates_each_policy_in_file_order() {
    let state = given([]);
    let d = accepted(&state, import_policies(stock(), false));
    assert_eq!(d.events, stock_imported());
    assert_eq!(
        d.outcomes,
        vec![
            Outcome::PolicyCreated(pn("default")),
            Outcome::PolicyCreated(pn("lab"))
        ]
    );
    let after = then_state(&state, &d);
    assert_eq!(policies_of(&after), ["default", "lab"]);
    assert_eq!(after.policies[&pn("lab")].created, NOW);
}

#[test]
fn import_policies_updates_a_changed_policy() {
    let state = given(stock_imported());
    let d = accepted(
        &state,
        import_policies(vec![policy("default"), changed("lab")], false),
    );
    assert_eq!(d.events, vec![policy_updated(changed("lab"))]);
    assert_eq!(
        d.outcomes,
        vec![
            Outcome::PolicyUpToDate(pn("default")),
            Outcome::PolicyUpdated(pn("lab"))
        ]
    );
    let after = then_state(&state, &d);
    let lab = &after.policies[&pn("lab")];
    assert_eq!(lab.policy, changed("lab"));
    assert_eq!(lab.updated, NOW);
    // An update keeps the policy's place and creation time.
    assert_eq!(lab.id, state.policies[&pn("lab")].id);
    assert_eq!(lab.created, state.policies[&pn("lab")].created);
}

#[test]
fn import_policies_up_to_date_appends_nothing() {
    let state = given(stock_imported());
    let d = accepted(&state, import_policies(stock(), false));
    assert!(d.events.is_empty(), "{:?}", d.events);
    assert_eq!(
        d.outcomes,
        vec![
            Outcome::PolicyUpToDate(pn("default")),
            Outcome::PolicyUpToDate(pn("lab"))
        ]
    );
    assert!(d.outcomes.iter().all(|o| !o.is_error()));
}

#[test]
fn import_policies_without_r_keeps_policies_missing_from_the_file() {
    let state = given(stock_imported());
    let d = accepted(&state, import_policies(vec![policy("default")], false));
    assert!(d.events.is_empty());
    assert_eq!(d.outcomes, vec![Outcome::PolicyUpToDate(pn("default"))]);
}

#[test]
fn import_policies_r_deletes_unused_policies() {
    let state = given([
        policy_created(policy("default")),
        policy_created(policy("lab")),
        policy_created(renamed("lab", "extra")),
    ]);
    let d = accepted(&state, import_policies(vec![policy("default")], true));
    assert_eq!(
        d.events,
        vec![policy_deleted("lab"), policy_deleted("extra")]
    );
    assert_eq!(
        d.outcomes,
        vec![
            Outcome::PolicyUpToDate(pn("default")),
            Outcome::PolicyDeleted(pn("lab")),
            Outcome::PolicyDeleted(pn("extra")),
        ]
    );
    assert_eq!(policies_of(&then_state(&state, &d)), ["default"]);
}

#[test]
fn import_policies_r_refuses_to_delete_a_policy_in_use() {
    let mut events = stock_imported();
    events.push(policy_created(renamed("lab", "extra")));
    events.push(zone_added(zone("example.com", "lab")));
    let state = given(events);
    let d = accepted(&state, import_policies(vec![policy("default")], true));
    assert_eq!(d.events, vec![policy_deleted("extra")]);
    assert_eq!(
        d.outcomes,
        vec![
            Outcome::PolicyUpToDate(pn("default")),
            Outcome::PolicyInUse(pn("lab")),
            Outcome::PolicyDeleted(pn("extra")),
        ]
    );
    assert!(Outcome::PolicyInUse(pn("lab")).is_error());
    assert!(!Outcome::PolicyDeleted(pn("extra")).is_error());
    let after = then_state(&state, &d);
    assert_eq!(policies_of(&after), ["default", "lab"]);
    assert_eq!(zones_of(&after), [("example.com".into(), "lab".into())]);
}

// ---- policy purge --------------------------------------------------------------

#[test]
fn purge_policies_removes_only_policies_without_zones() {
    let mut events = stock_imported();
    events.push(policy_created(renamed("lab", "extra")));
    events.push(zone_added(zone("example.com", "lab")));
    let state = given(events);
    let d = accepted(&state, Command::PurgePolicies);
    assert_eq!(
        d.events,
        vec![policy_deleted("default"), policy_deleted("extra")]
    );
    assert_eq!(
        d.outcomes,
        vec![
            Outcome::PolicyPurged(pn("default")),
            Outcome::PolicyPurged(pn("extra"))
        ]
    );
    assert_eq!(policies_of(&then_state(&state, &d)), ["lab"]);
}

#[test]
fn purge_policies_with_every_policy_in_use_appends_nothing() {
    let state = given_zones(&[("a.example", "default"), ("b.example", "lab")]);
    let d = accepted(&state, Command::PurgePolicies);
    assert_eq!(d, Decision::default());
}

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

// ---- invariants over random command sequences ----------------------------------

/// Policies: the stock ones, variations of them, and two more names.
fn arb_policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(policy("default")),
        Just(policy("lab")),
        Just(changed("default")),
        Just(changed("lab")),
        Just(renamed("lab", "extra")),
        Just(renamed("default", "other")),
    ]
}

fn arb_policy_name() -> impl Strategy<Value = PolicyName> {
    prop_oneof![
        4 => prop::sample::select(vec!["default", "lab", "extra", "other"]).prop_map(pn),
        1 => Just(pn("nosuch")),
    ]
}

/// Mostly a few names in several spellings (so commands meet each other), some
/// random ones.
fn arb_zone_name_in_use() -> impl Strategy<Value = ZoneName> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "a.example", "A.Example.", "b.example", "b.example.", "c.example", "d.example",
        ])
        .prop_map(zn),
        1 => arb_zone_name(),
    ]
}

fn arb_zone() -> impl Strategy<Value = ZoneConfig> {
    (arb_zone_name_in_use(), arb_policy_name(), 0u8..2).prop_map(|(name, policy, path)| {
        let mut z = zone(name.as_str(), policy.as_str());
        if path == 1 {
            z.signconf_path = format!("/other/{}.xml", name.key());
        }
        z
    })
}

/// A zone list as zonelist.xml can give it: no name twice (the parser refuses that).
fn arb_zonelist() -> impl Strategy<Value = Vec<ZoneConfig>> {
    prop::collection::vec(arb_zone(), 0..6).prop_map(|zones| {
        let mut seen = std::collections::BTreeSet::new();
        zones
            .into_iter()
            .filter(|z| seen.insert(z.name.key()))
            .collect()
    })
}

/// A policy list as kasp.xml can give it: no name twice (kaspcheck refuses that).
fn arb_policies() -> impl Strategy<Value = Vec<Policy>> {
    prop::collection::vec(arb_policy(), 0..4).prop_map(|policies| {
        let mut seen = std::collections::BTreeSet::new();
        policies
            .into_iter()
            .filter(|p| seen.insert(p.name.clone()))
            .collect()
    })
}

fn arb_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        3 => (arb_policies(), any::<bool>()).prop_map(|(policies, remove_missing)| {
            Command::ImportPolicies { policies, remove_missing }
        }),
        1 => Just(Command::PurgePolicies),
        4 => (arb_zone(), any::<bool>())
            .prop_map(|(zone, suspended)| Command::AddZone { zone, suspended }),
        2 => arb_zone_name_in_use().prop_map(|zone| Command::DeleteZone { zone }),
        1 => Just(Command::DeleteAllZones),
        2 => (arb_zone_name_in_use(), arb_policy_name())
            .prop_map(|(zone, policy)| Command::SetZonePolicy { zone, policy }),
        3 => (arb_zonelist(), any::<bool>()).prop_map(|(zones, remove_missing)| {
            Command::ImportZonelist { zones, remove_missing }
        }),
        2 => (arb_policies(), arb_zonelist())
            .prop_map(|(policies, zones)| Command::UpdateAll { policies, zones }),
    ]
}

/// Commands that, once applied, change nothing when decided again.
fn is_idempotent(c: &Command) -> bool {
    !matches!(c, Command::AddZone { .. } | Command::DeleteZone { .. })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the operator does, every zone uses a policy that exists, imports
    /// report one outcome per item, and a command repeated right after itself
    /// changes nothing.
    #[test]
    fn random_command_sequences_keep_the_invariants(
        commands in prop::collection::vec(arb_command(), 1..40)
    ) {
        let mut state = given(stock_imported());
        for (i, command) in commands.iter().enumerate() {
            let now = Timestamp(NOW.0 + i as i64);
            let Ok(d) = decide(&state, command, now) else { continue };
            match command {
                Command::ImportPolicies { policies, remove_missing: false } => {
                    prop_assert_eq!(d.outcomes.len(), policies.len());
                }
                Command::ImportZonelist { zones, remove_missing: false } => {
                    prop_assert_eq!(d.outcomes.len(), zones.len());
                }
                Command::UpdateAll { policies, zones } => {
                    prop_assert_eq!(d.outcomes.len(), policies.len() + zones.len());
                }
                _ => {}
            }
            for e in &d.events {
                state.apply_event(e, now);
            }
            for z in state.zones.values() {
                prop_assert!(
                    state.policies.contains_key(&z.config.policy),
                    "zone {} uses missing policy {} after {:?}",
                    z.config.name, z.config.policy, command
                );
            }
            for (key, z) in &state.zones {
                prop_assert_eq!(key, &z.config.name.key());
            }
            if is_idempotent(command) {
                let again = decide(&state, command, now);
                prop_assert!(
                    again.as_ref().is_ok_and(|a| a.events.is_empty()),
                    "{:?} again: {:?}", command, again
                );
            }
        }
    }
}

//! `policy import` (with and without `-r`) and `policy purge`.

use crate::given::{
    NOW, accepted, changed, given, given_zones, import_policies, pn, policies_of, policy,
    policy_created, policy_deleted, policy_updated, renamed, stock, stock_imported, then_state,
    zone, zone_added, zones_of,
};
use kasp_projector::decide::{Command, Decision, Outcome};

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

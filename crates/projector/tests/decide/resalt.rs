//! NSEC3 salts: which policies are due, forced resalts, and what decide accepts.

use crate::given::*;
use kasp_events::{Event, SaltChanged, Seconds, Timestamp};
use kasp_projector::decide::Command;
use kasp_projector::scheduler::resalt::{due_for_salt, next_resalt};

fn salted(state: &kasp_projector::State, salt: &str, at: Timestamp) -> kasp_projector::State {
    let mut s = state.clone();
    s.apply_event(
        &Event::SaltChanged(SaltChanged {
            policy: pn("default"),
            salt: salt.to_string(),
        }),
        at,
    );
    s
}

#[test]
fn a_new_nsec3_policy_is_due_at_once_and_nsec_never() {
    let state = given(stock_imported());
    // default is NSEC3 with an 8-byte salt; lab is NSEC.
    assert_eq!(due_for_salt(&state, NOW, false), vec![(pn("default"), 8)]);
    assert_eq!(due_for_salt(&state, NOW, true), vec![(pn("default"), 8)]);
}

#[test]
fn a_salt_is_due_again_after_the_resalt_period() {
    let state = salted(&given(stock_imported()), "0011223344556677", NOW);
    assert!(due_for_salt(&state, NOW, false).is_empty());
    // default: Resalt P100D.
    let period = Seconds(100 * 86_400);
    let next = NOW.plus(period);
    assert_eq!(next_resalt(&state.policies[&pn("default")]), Some(next));
    assert!(due_for_salt(&state, Timestamp(next.0 - 1), false).is_empty());
    assert_eq!(due_for_salt(&state, next, false).len(), 1);
    // Forced: now.
    assert_eq!(due_for_salt(&state, NOW, true).len(), 1);
    assert_eq!(next_resalt(&state.policies[&pn("lab")]), None);
}

#[test]
fn decide_checks_the_salts_it_is_given() {
    let state = given(stock_imported());
    let ok = accepted(
        &state,
        Command::Resalt {
            salts: vec![(pn("default"), "a1b2c3d4e5f60718".into())],
        },
    );
    assert!(matches!(ok.events.as_slice(), [Event::SaltChanged(_)]));
    let after = then_state(&state, &ok);
    assert_eq!(
        after.policies[&pn("default")]
            .salt
            .as_ref()
            .map(|(s, _)| s.as_str()),
        Some("a1b2c3d4e5f60718")
    );
    for (policy, salt, needle) in [
        ("default", "a1b2", "8 bytes"),
        ("default", "A1B2C3D4E5F60718", "lower-case hex"),
        ("lab", "a1b2c3d4e5f60718", "no NSEC3 salt"),
        (
            "nosuch",
            "a1b2c3d4e5f60718",
            "Unable to find policy nosuch!",
        ),
    ] {
        let text = refused(
            &state,
            Command::Resalt {
                salts: vec![(pn(policy), salt.into())],
            },
        );
        assert!(text.contains(needle), "{policy} {salt}: {text}");
    }
}

//! `key import` as a decision: the key gets its id from the state it is appended to,
//! and material a zone or the pool already knows is refused.

use crate::given::{given, policy_created, zone_added};
use kasp_events::{
    DsAtParent, Event, KeyId, KeyImported, KeyRole, Locator, RecordState, Seconds, Timestamp,
};
use kasp_projector::decide::enforcer::EnforcerCommand;
use kasp_projector::decide::{Command, decide};
use kasp_projector::testgen::{pn, policy, zn, zone};

fn import(locator: Locator) -> Command {
    Command::Enforcer(EnforcerCommand::Import(Box::new(KeyImported {
        zone: zn("example.com"),
        key: KeyId(999),
        locator,
        role: KeyRole::Zsk,
        algorithm: 8,
        bits: 1024,
        repository: "SoftHSM".into(),
        policy: pn("default"),
        key_tag: 1,
        minimize: 0,
        states: [
            RecordState::Na,
            RecordState::Omnipresent,
            RecordState::Na,
            RecordState::Omnipresent,
        ],
        ttls: [Seconds(3600); 4],
        ds_at_parent: DsAtParent::Unsubmitted,
        introducing: true,
        inception: Timestamp(1_735_689_600),
        public_key: vec![1, 2, 3],
    })))
}

#[test]
fn the_decision_numbers_the_key_and_refuses_known_material() {
    let mut state = given([
        policy_created(policy("default")),
        zone_added(zone("example.com", "default")),
    ]);
    let now = Timestamp(1_735_689_600);
    let d = decide(&state, &import(Locator([7; 16])), now).expect("imported");
    let [Event::KeyImported(e)] = d.events.as_slice() else {
        panic!("{d:?}")
    };
    assert_eq!(e.key, state.next_key_id());
    for e in &d.events {
        state.apply_event(e, now);
    }
    let z = state.zone(&zn("example.com")).expect("zone");
    assert_eq!(z.model.keys.len(), 1);
    let again = decide(&state, &import(Locator([7; 16])), now).unwrap_err();
    assert!(again.message.contains("Already used this key"), "{again:?}");
    let mut other = import(Locator([8; 16]));
    if let Command::Enforcer(EnforcerCommand::Import(i)) = &mut other {
        i.zone = zn("nosuch.example");
    }
    assert!(
        decide(&state, &other, now)
            .unwrap_err()
            .message
            .contains("Unknown zone")
    );
}

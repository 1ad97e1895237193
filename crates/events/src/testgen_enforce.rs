//! Proptest strategies for the enforcer events (feature `testgen`), split from
//! [`crate::testgen`] to keep files small.

use crate::enforcement::*;
use crate::event::Event;
use crate::keystate::{DsAtParent, KeyId, RecordState, RecordType};
use crate::testgen::{
    arb_locator, arb_policy_name, arb_role, arb_seconds, arb_text, arb_timestamp, arb_zone_name,
};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;

pub(crate) fn arb_key_id() -> impl Strategy<Value = KeyId> {
    (0u64..1000).prop_map(KeyId)
}

pub(crate) fn arb_record() -> impl Strategy<Value = RecordType> {
    prop::sample::select(RecordType::ALL.to_vec())
}

pub(crate) fn arb_state() -> impl Strategy<Value = RecordState> {
    prop::sample::select(vec![
        RecordState::Hidden,
        RecordState::Rumoured,
        RecordState::Omnipresent,
        RecordState::Unretentive,
        RecordState::Na,
    ])
}

pub(crate) fn arb_ds() -> impl Strategy<Value = DsAtParent> {
    prop::sample::select(vec![
        DsAtParent::Unsubmitted,
        DsAtParent::Submit,
        DsAtParent::Submitted,
        DsAtParent::Seen,
        DsAtParent::Retract,
        DsAtParent::Retracted,
    ])
}

fn arb_new_key() -> impl Strategy<Value = NewZoneKey> {
    (
        arb_key_id(),
        arb_locator(),
        arb_role(),
        any::<u8>(),
        any::<u16>(),
        0u8..8,
        any::<bool>(),
    )
        .prop_map(
            |(id, locator, role, algorithm, key_tag, minimize, shared)| NewZoneKey {
                id,
                locator,
                role,
                algorithm,
                key_tag,
                minimize,
                shared,
            },
        )
}

fn arb_transition() -> impl Strategy<Value = RecordTransition> {
    (
        arb_key_id(),
        arb_record(),
        arb_state(),
        arb_state(),
        (arb_timestamp(), arb_seconds(), any::<bool>(), any::<bool>()),
        of((arb_ds(), arb_ds())),
        vec(arb_key_id(), 0..3),
    )
        .prop_map(
            |(
                key,
                record,
                from,
                to,
                (earliest, ttl, smooth, unsigned),
                ds_at_parent,
                successors,
            )| {
                RecordTransition {
                    key,
                    record,
                    from,
                    to,
                    rule: TransitionRule {
                        earliest,
                        ttl,
                        smooth,
                        unsigned,
                    },
                    ds_at_parent,
                    successors,
                }
            },
        )
}

fn arb_state_machine() -> impl Strategy<Value = StateMachineRun> {
    (
        [arb_timestamp(), arb_timestamp(), arb_timestamp()],
        vec(arb_key_id(), 0..3),
        [arb_seconds(), arb_seconds(), arb_seconds(), arb_seconds()],
        vec(arb_transition(), 0..4),
    )
        .prop_map(
            |(ttl_windows, created_states, initial_ttls, transitions)| StateMachineRun {
                ttl_windows,
                created_states,
                initial_ttls,
                transitions,
            },
        )
}

fn arb_zone_enforced() -> impl Strategy<Value = ZoneEnforced> {
    (
        arb_zone_name(),
        vec(arb_new_key(), 0..3),
        vec(arb_key_id(), 0..3),
        [
            of(arb_timestamp()),
            of(arb_timestamp()),
            of(arb_timestamp()),
        ],
        vec(arb_role(), 0..3),
        of(arb_state_machine()),
        (
            vec(arb_key_id(), 0..3),
            vec(
                (arb_key_id(), arb_key_id(), arb_record())
                    .prop_map(|(from, to, record)| KeyDependency { from, to, record }),
                0..3,
            ),
            vec(arb_locator(), 0..3),
            vec(arb_locator(), 0..3),
            any::<bool>(),
            of(arb_timestamp()),
            any::<bool>(),
            vec(arb_role(), 0..2),
        ),
    )
        .prop_map(
            |(
                zone,
                new_keys,
                retired,
                next_roll,
                roll_cleared,
                state_machine,
                (
                    purged,
                    purged_dependencies,
                    released,
                    destroyed,
                    signconf_needed,
                    next_change,
                    updated,
                    no_key,
                ),
            )| ZoneEnforced {
                zone,
                new_keys,
                retired,
                next_roll,
                roll_cleared,
                state_machine,
                purged,
                purged_dependencies,
                released,
                destroyed,
                signconf_needed,
                next_change,
                updated,
                no_key,
            },
        )
}

fn arb_key_imported() -> impl Strategy<Value = KeyImported> {
    (
        (arb_zone_name(), arb_key_id(), arb_locator(), arb_role()),
        (any::<u8>(), 0u32..8192, arb_text(), arb_policy_name()),
        (
            any::<u16>(),
            0u8..8,
            [arb_state(), arb_state(), arb_state(), arb_state()],
        ),
        [arb_seconds(), arb_seconds(), arb_seconds(), arb_seconds()],
        (arb_ds(), any::<bool>(), arb_timestamp()),
        vec(any::<u8>(), 0..80),
    )
        .prop_map(
            |(
                (zone, key, locator, role),
                (algorithm, bits, repository, policy),
                (key_tag, minimize, states),
                ttls,
                (ds_at_parent, introducing, inception),
                public_key,
            )| {
                KeyImported {
                    zone,
                    key,
                    locator,
                    role,
                    algorithm,
                    bits,
                    repository,
                    policy,
                    key_tag,
                    minimize,
                    states,
                    ttls,
                    ds_at_parent,
                    introducing,
                    inception,
                    public_key,
                }
            },
        )
}

/// A strategy for an enforcer event kind; `None` for other kinds.
pub(crate) fn arb_enforcer_event_of(kind: &str) -> Option<BoxedStrategy<Event>> {
    Some(match kind {
        "ZoneEnforced" => arb_zone_enforced().prop_map(Event::from).boxed(),
        "DsStateChanged" => (
            arb_zone_name(),
            arb_key_id(),
            arb_ds(),
            arb_ds(),
            any::<bool>(),
            of(arb_text()),
            any::<bool>(),
        )
            .prop_map(|(zone, key, from, to, task, hook, next_change_now)| {
                DsStateChanged {
                    zone,
                    key,
                    from,
                    to,
                    trigger: if task {
                        DsTrigger::Task
                    } else {
                        DsTrigger::Command
                    },
                    hook,
                    next_change_now,
                }
                .into()
            })
            .boxed(),
        "DsHookFailed" => (
            arb_zone_name(),
            arb_key_id(),
            arb_text(),
            arb_text(),
            arb_timestamp(),
        )
            .prop_map(|(zone, key, hook, message, retry_at)| {
                DsHookFailed {
                    zone,
                    key,
                    hook,
                    message,
                    retry_at,
                }
                .into()
            })
            .boxed(),
        "RolloverRequested" => (arb_zone_name(), vec(arb_role(), 0..3))
            .prop_map(|(zone, roles)| RolloverRequested { zone, roles }.into())
            .boxed(),
        "EnforceRequested" => of(vec(arb_zone_name(), 0..3))
            .prop_map(|zones| EnforceRequested { zones }.into())
            .boxed(),
        "SignconfRequested" => of(vec(arb_zone_name(), 0..3))
            .prop_map(|zones| SignconfRequested { zones }.into())
            .boxed(),
        "SignconfWritten" => (arb_zone_name(), arb_text(), "[0-9a-f]{64}", of(arb_text()))
            .prop_map(|(zone, path, digest, failure)| {
                SignconfWritten {
                    zone,
                    path,
                    digest,
                    notify: failure.map_or(Ok(()), Err),
                }
                .into()
            })
            .boxed(),
        "KeyMaterialDeleted" => vec(arb_locator(), 0..3)
            .prop_map(|locators| KeyMaterialDeleted { locators }.into())
            .boxed(),
        "KeysPurged" => (
            arb_zone_name(),
            vec(arb_key_id(), 0..3),
            vec(arb_locator(), 0..3),
            of(arb_policy_name()),
            any::<bool>(),
        )
            .prop_map(|(zone, keys, released, policy, signconf_needed)| {
                KeysPurged {
                    zone,
                    keys,
                    released,
                    policy,
                    signconf_needed,
                }
                .into()
            })
            .boxed(),
        "ClockAdvanced" => (arb_timestamp(), arb_timestamp())
            .prop_map(|(from, to)| ClockAdvanced { from, to }.into())
            .boxed(),
        "KeyImported" => arb_key_imported().prop_map(Event::from).boxed(),
        "ClockReleased" => arb_timestamp()
            .prop_map(|leapt| ClockReleased { leapt }.into())
            .boxed(),
        "ZoneTaskLeft" => (arb_zone_name(), arb_timestamp())
            .prop_map(|(zone, due)| ZoneTaskLeft { zone, due }.into())
            .boxed(),
        _ => return None,
    })
}

//! proptest strategies for the persisted types, for tests in this crate and others
//! (enable the `testgen` feature in a dev-dependency).
//!
//! Every strategy yields values this crate accepts: zone and policy names pass
//! [`ZoneName::new`] and [`PolicyName::new`]. Numbers range over their whole type, so
//! the codec sees extreme varints too; strings include non-ASCII text.

use crate::audit::{AuditKeyConfigured, Checkpoint, CheckpointIntervalSet};
use crate::envelope::{Actor, Hash, NewEvent};
use crate::event::{
    ClockMode, Event, LogCreated, PolicyCreated, PolicyDeleted, PolicyUpdated, SaltChanged,
    ZoneAdded, ZoneDeleted, ZonePolicyChanged, ZoneUpdated,
};
use crate::ids::{InstanceId, Locator, PolicyName, Seq, ZoneName};
use crate::key::{
    BackupCommitted, BackupPrepared, BackupRolledBack, BackupState, KeyGenerated,
    KeyGenerationAbandoned, KeyGenerationStarted, KeySpec, RepositoriesConfigured, RepositoryInfo,
};
use crate::policy::KeyRole;
pub use crate::testgen_policy::{arb_policy, arb_policy_key};
use crate::time::{Seconds, Timestamp};
use crate::zone::{Adapter, ZoneConfig};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

/// Any text, including non-ASCII and control characters, up to 40 characters.
pub fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z0-9 /._:-]{0,40}",
        1 => any::<String>(),
    ]
}

/// A moment anywhere in `i64` (mostly within years 1970 to 2100).
pub fn arb_timestamp() -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        4 => (0i64..4_102_444_800).prop_map(Timestamp),
        1 => any::<i64>().prop_map(Timestamp),
    ]
}

/// Any duration.
pub fn arb_seconds() -> impl Strategy<Value = Seconds> {
    prop_oneof![
        4 => (0u32..400 * 86_400).prop_map(Seconds),
        1 => any::<u32>().prop_map(Seconds),
    ]
}

/// A valid zone name: the root, or 1 to 4 labels, as typed (mixed case, trailing dot
/// or not). Candidates go through [`ZoneName::new`], so only what it accepts comes out.
pub fn arb_zone_name() -> impl Strategy<Value = ZoneName> {
    let label = "[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,18}[a-zA-Z0-9_])?";
    prop_oneof![
        1 => Just(".".to_string()),
        20 => (vec(label, 1..5), any::<bool>()).prop_map(|(labels, dot)| {
            let mut name = labels.join(".");
            if dot {
                name.push('.');
            }
            name
        }),
    ]
    .prop_filter_map("not a valid zone name", |name| ZoneName::new(&name).ok())
}

/// A valid policy name: no white space or control characters, up to 40 characters.
pub fn arb_policy_name() -> impl Strategy<Value = PolicyName> {
    "[!-~éüß€]{1,40}".prop_filter_map("not a valid policy name", |name| {
        PolicyName::new(&name).ok()
    })
}

/// Any actor.
pub fn arb_actor() -> impl Strategy<Value = Actor> {
    prop_oneof![
        arb_text().prop_map(Actor::Operator),
        arb_text().prop_map(Actor::Import),
        Just(Actor::Scheduler),
        Just(Actor::System),
    ]
}

pub fn arb_role() -> impl Strategy<Value = KeyRole> {
    prop_oneof![Just(KeyRole::Ksk), Just(KeyRole::Zsk), Just(KeyRole::Csk)]
}

fn arb_adapter() -> impl Strategy<Value = Adapter> {
    (
        prop_oneof![
            Just("File".to_string()),
            Just("DNS".to_string()),
            arb_text()
        ],
        arb_text(),
    )
        .prop_map(|(kind, uri)| Adapter { kind, uri })
}

/// A zone's configuration.
pub fn arb_zone_config() -> impl Strategy<Value = ZoneConfig> {
    (
        arb_zone_name(),
        arb_policy_name(),
        arb_text(),
        arb_adapter(),
        arb_adapter(),
    )
        .prop_map(|(name, policy, signconf_path, input, output)| ZoneConfig {
            name,
            policy,
            signconf_path,
            input,
            output,
        })
}

/// A clock mode.
pub fn arb_clock() -> impl Strategy<Value = ClockMode> {
    prop_oneof![
        Just(ClockMode::System),
        arb_timestamp().prop_map(|start| ClockMode::Simulated { start }),
        Just(ClockMode::Testing),
    ]
}

/// A `LogCreated` body (record 0 of a log).
pub fn arb_log_created() -> impl Strategy<Value = LogCreated> {
    (any::<u32>(), any::<[u8; 16]>(), arb_clock()).prop_map(|(format, id, clock)| LogCreated {
        format,
        instance: InstanceId(id),
        clock,
    })
}

/// Events of one kind (a name from [`Event::KINDS`]).
///
/// # Panics
/// For a kind this module does not know: add the new kind here (the
/// `kinds_covered` match below stops compiling until then).
pub fn arb_event_of(kind: &str) -> BoxedStrategy<Event> {
    match kind {
        "LogCreated" => arb_log_created().prop_map(Event::from).boxed(),
        "PolicyCreated" => arb_policy()
            .prop_map(|policy| PolicyCreated { policy }.into())
            .boxed(),
        "PolicyUpdated" => arb_policy()
            .prop_map(|policy| PolicyUpdated { policy }.into())
            .boxed(),
        "PolicyDeleted" => arb_policy_name()
            .prop_map(|name| PolicyDeleted { name }.into())
            .boxed(),
        "ZoneAdded" => (arb_zone_config(), any::<bool>())
            .prop_map(|(zone, suspended)| ZoneAdded { zone, suspended }.into())
            .boxed(),
        "ZoneUpdated" => arb_zone_config()
            .prop_map(|zone| ZoneUpdated { zone }.into())
            .boxed(),
        "ZonePolicyChanged" => (arb_zone_name(), arb_policy_name(), arb_policy_name())
            .prop_map(|(zone, from, to)| ZonePolicyChanged { zone, from, to }.into())
            .boxed(),
        "ZoneDeleted" => arb_zone_name()
            .prop_map(|zone| ZoneDeleted { zone }.into())
            .boxed(),
        "KeyGenerationStarted" => (arb_locator(), arb_key_spec())
            .prop_map(|(locator, spec)| KeyGenerationStarted { locator, spec }.into())
            .boxed(),
        "KeyGenerated" => (
            arb_locator(),
            arb_key_spec(),
            vec(any::<u8>(), 0..80),
            arb_backup(),
            any::<bool>(),
        )
            .prop_map(|(locator, spec, public_key, backup, adopted)| {
                KeyGenerated {
                    locator,
                    spec,
                    public_key,
                    backup,
                    adopted,
                }
                .into()
            })
            .boxed(),
        "KeyGenerationAbandoned" => (arb_locator(), arb_text())
            .prop_map(|(locator, reason)| KeyGenerationAbandoned { locator, reason }.into())
            .boxed(),
        "BackupPrepared" => (proptest::option::of(arb_text()), vec(arb_locator(), 0..4))
            .prop_map(|(repository, keys)| BackupPrepared { repository, keys }.into())
            .boxed(),
        "BackupCommitted" => (proptest::option::of(arb_text()), vec(arb_locator(), 0..4))
            .prop_map(|(repository, keys)| BackupCommitted { repository, keys }.into())
            .boxed(),
        "BackupRolledBack" => (proptest::option::of(arb_text()), vec(arb_locator(), 0..4))
            .prop_map(|(repository, keys)| BackupRolledBack { repository, keys }.into())
            .boxed(),
        "RepositoriesConfigured" => vec(arb_repository(), 0..3)
            .prop_map(|repositories| RepositoriesConfigured { repositories }.into())
            .boxed(),
        "SaltChanged" => (arb_policy_name(), "[0-9a-f]{0,16}")
            .prop_map(|(policy, salt)| SaltChanged { policy, salt }.into())
            .boxed(),
        "AuditKeyConfigured" => (
            arb_text(),
            arb_locator(),
            any::<u8>(),
            vec(any::<u8>(), 0..80),
        )
            .prop_map(|(repository, locator, algorithm, public_key)| {
                AuditKeyConfigured {
                    repository,
                    locator,
                    algorithm,
                    public_key,
                }
                .into()
            })
            .boxed(),
        "CheckpointIntervalSet" => proptest::option::of(any::<u32>().prop_map(Seconds))
            .prop_map(|interval| CheckpointIntervalSet { interval }.into())
            .boxed(),
        "Checkpoint" => (
            any::<u64>(),
            any::<[u8; 32]>(),
            arb_locator(),
            vec(any::<u8>(), 0..100),
        )
            .prop_map(|(seq, hash, locator, signature)| {
                Checkpoint {
                    seq: Seq(seq),
                    hash: Hash(hash),
                    locator,
                    signature,
                }
                .into()
            })
            .boxed(),
        other => match crate::testgen_enforce::arb_enforcer_event_of(other)
            .or_else(|| crate::testgen_takeover::arb_takeover_event_of(other))
        {
            Some(s) => s,
            None => panic!("testgen has no strategy for event kind {other}; add one"),
        },
    }
}

/// Never called: stops compiling when a variant is added, as a reminder to extend
/// [`arb_event_of`] (whose coverage of [`Event::KINDS`] is also tested).
#[allow(dead_code)]
fn kinds_covered(e: &Event) {
    match e {
        Event::LogCreated(_)
        | Event::PolicyCreated(_)
        | Event::PolicyUpdated(_)
        | Event::PolicyDeleted(_)
        | Event::ZoneAdded(_)
        | Event::ZoneUpdated(_)
        | Event::ZonePolicyChanged(_)
        | Event::ZoneDeleted(_)
        | Event::KeyGenerationStarted(_)
        | Event::KeyGenerated(_)
        | Event::KeyGenerationAbandoned(_)
        | Event::BackupPrepared(_)
        | Event::BackupCommitted(_)
        | Event::BackupRolledBack(_)
        | Event::RepositoriesConfigured(_)
        | Event::SaltChanged(_)
        | Event::ZoneEnforced(_)
        | Event::DsStateChanged(_)
        | Event::DsHookFailed(_)
        | Event::RolloverRequested(_)
        | Event::EnforceRequested(_)
        | Event::SignconfRequested(_)
        | Event::SignconfWritten(_)
        | Event::KeyMaterialDeleted(_)
        | Event::KeysPurged(_)
        | Event::ClockAdvanced(_)
        | Event::ClockReleased(_)
        | Event::ZoneTaskLeft(_)
        | Event::KeyImported(_)
        | Event::AuditKeyConfigured(_)
        | Event::CheckpointIntervalSet(_)
        | Event::Checkpoint(_)
        | Event::OdsImported(_)
        | Event::OdsPolicyImported(_)
        | Event::OdsHsmKeyImported(_)
        | Event::OdsZoneImported(_)
        | Event::OdsShadowed(_) => {}
    }
}

/// Any event of any kind in [`Event::KINDS`], each kind equally likely.
pub fn arb_event() -> BoxedStrategy<Event> {
    let kinds: Vec<BoxedStrategy<Event>> = Event::KINDS
        .iter()
        .map(|(kind, _)| arb_event_of(kind))
        .collect();
    proptest::strategy::Union::new(kinds).boxed()
}

/// Any event except `LogCreated` (what follows record 0 in a log).
pub fn arb_later_event() -> BoxedStrategy<Event> {
    let kinds: Vec<BoxedStrategy<Event>> = Event::KINDS
        .iter()
        .filter(|(kind, _)| *kind != "LogCreated")
        .map(|(kind, _)| arb_event_of(kind))
        .collect();
    proptest::strategy::Union::new(kinds).boxed()
}

/// An event about to be appended (any kind but `LogCreated`).
pub fn arb_new_event() -> impl Strategy<Value = NewEvent> {
    (arb_timestamp(), arb_actor(), arb_text(), arb_later_event()).prop_map(
        |(at, actor, cause, event)| NewEvent {
            at,
            actor,
            cause,
            event,
        },
    )
}

/// Any locator.
pub fn arb_locator() -> impl Strategy<Value = Locator> {
    any::<[u8; 16]>().prop_map(Locator)
}

/// Any backup state.
pub fn arb_backup() -> impl Strategy<Value = BackupState> {
    prop_oneof![
        Just(BackupState::NotRequired),
        Just(BackupState::Required),
        Just(BackupState::Prepared),
        Just(BackupState::Done),
    ]
}

/// A key specification with a valid policy name.
pub fn arb_key_spec() -> impl Strategy<Value = KeySpec> {
    (
        arb_text(),
        arb_policy_name(),
        arb_role(),
        any::<u8>(),
        0u32..8192,
    )
        .prop_map(|(repository, policy, role, algorithm, bits)| KeySpec {
            repository,
            policy,
            role,
            algorithm,
            bits,
        })
}

/// A repository of conf.xml (without PIN).
pub fn arb_repository() -> impl Strategy<Value = RepositoryInfo> {
    (
        arb_text(),
        arb_text(),
        arb_text(),
        proptest::option::of(any::<u64>()),
        any::<(bool, bool, bool)>(),
    )
        .prop_map(
            |(name, module, token_label, capacity, (rb, spk, ae))| RepositoryInfo {
                name,
                module,
                token_label,
                capacity,
                require_backup: rb,
                skip_public_key: spk,
                allow_extraction: ae,
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use std::collections::BTreeSet;

    #[test]
    fn every_kind_has_a_strategy() {
        let mut runner = TestRunner::deterministic();
        for (kind, version) in Event::KINDS {
            let strategy = arb_event_of(kind);
            for _ in 0..16 {
                let e = strategy.new_tree(&mut runner).unwrap().current();
                assert_eq!(e.kind(), *kind);
                assert_eq!(e.version(), *version);
            }
        }
    }

    #[test]
    fn arb_event_reaches_every_kind() {
        let mut runner = TestRunner::deterministic();
        let strategy = arb_event();
        let mut seen = BTreeSet::new();
        for _ in 0..2000 {
            seen.insert(strategy.new_tree(&mut runner).unwrap().current().kind());
            if seen.len() == Event::KINDS.len() {
                break;
            }
        }
        let all: BTreeSet<&str> = Event::KINDS.iter().map(|(k, _)| *k).collect();
        assert_eq!(seen, all);
    }

    proptest! {
        #[test]
        fn names_are_valid(zone in arb_zone_name(), policy in arb_policy_name()) {
            prop_assert!(ZoneName::new(zone.as_str()).is_ok());
            prop_assert!(PolicyName::new(policy.as_str()).is_ok());
        }

        #[test]
        fn new_events_are_never_log_created(e in arb_new_event()) {
            prop_assert!(!matches!(e.event, Event::LogCreated(_)));
        }
    }
}

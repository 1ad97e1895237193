//! Invariants over random command sequences.

use crate::given::{NOW, changed, given, pn, policy, renamed, stock_imported, zn, zone};
use kasp_events::testgen::arb_zone_name;
use kasp_events::{Policy, PolicyName, Timestamp, ZoneConfig, ZoneName};
use kasp_projector::decide::{Command, decide};
use proptest::prelude::*;

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
            .prop_map(|(policies, zones)| Command::UpdateAll {
                policies,
                zones,
                repositories: vec![],
            }),
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
                Command::UpdateAll { policies, zones, .. } => {
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

//! Test vocabulary and proptest strategies shared by the test suites of this crate and
//! of kasp-cli (compiled only with the `testgen` feature): the stock policies, zone
//! configurations as `zone add` makes them, and random operator commands whose names
//! collide often enough for commands to meet each other.

use crate::decide::Command;
use crate::formats::kasp::parse_kasp;
use kasp_events::testgen::arb_zone_name;
use kasp_events::{Adapter, Policy, PolicyName, Seconds, ZoneConfig, ZoneName};
use proptest::prelude::*;

/// Debian's stock kasp.xml (policies `default` and `lab`).
pub const KASP: &str = include_str!("../../../fixtures/ods/kasp.xml");

/// A policy name that must be valid.
pub fn pn(name: &str) -> PolicyName {
    PolicyName::new(name).unwrap()
}

/// A zone name that must be valid.
pub fn zn(name: &str) -> ZoneName {
    ZoneName::new(name).unwrap()
}

/// The policies of the stock kasp.xml, in file order.
pub fn stock() -> Vec<Policy> {
    parse_kasp(KASP, "kasp.xml").expect("the stock kasp.xml parses")
}

/// One stock policy by name.
pub fn policy(name: &str) -> Policy {
    stock()
        .into_iter()
        .find(|p| p.name.as_str() == name)
        .unwrap_or_else(|| panic!("no stock policy {name}"))
}

/// A stock policy under another name.
pub fn renamed(name: &str, new: &str) -> Policy {
    let mut p = policy(name);
    p.name = pn(new);
    p
}

/// A policy with two fields changed.
pub fn changed_policy(mut p: Policy) -> Policy {
    p.description = format!("{} (changed)", p.description);
    p.signatures.resign = Seconds(p.signatures.resign.0 + 60);
    p
}

/// A zone as `zone add` would configure it; the paths use the lookup key, so two
/// spellings of one name give the same configuration apart from the name.
pub fn zone(name: &str, policy: &str) -> ZoneConfig {
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

/// The stock policies, variations of them, and two more names.
pub fn arb_policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(policy("default")),
        Just(policy("lab")),
        Just(changed_policy(policy("default"))),
        Just(changed_policy(policy("lab"))),
        Just(renamed("lab", "extra")),
        Just(changed_policy(renamed("default", "other"))),
    ]
}

/// Policy lists as kasp.xml can give them (kaspcheck refuses a name twice).
pub fn arb_policies() -> impl Strategy<Value = Vec<Policy>> {
    prop::collection::vec(arb_policy(), 0..4).prop_map(|policies| {
        let mut seen = std::collections::BTreeSet::new();
        policies
            .into_iter()
            .filter(|p| seen.insert(p.name.clone()))
            .collect()
    })
}

/// Mostly the names of [`arb_policy`], sometimes one that does not exist.
pub fn arb_policy_name() -> impl Strategy<Value = PolicyName> {
    prop_oneof![
        4 => prop::sample::select(vec!["default", "lab", "extra", "other"]).prop_map(pn),
        1 => Just(pn("nosuch")),
    ]
}

/// Mostly a few names in several spellings (so commands meet each other), some
/// random ones.
pub fn arb_zone_name_in_use() -> impl Strategy<Value = ZoneName> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "a.example", "A.Example.", "b.example", "b.example.", "c.example", "d.example",
        ])
        .prop_map(zn),
        1 => arb_zone_name(),
    ]
}

/// A zone configuration, sometimes with a signconf path of its own.
pub fn arb_zone() -> impl Strategy<Value = ZoneConfig> {
    (arb_zone_name_in_use(), arb_policy_name(), any::<bool>()).prop_map(|(name, policy, moved)| {
        let mut z = zone(name.as_str(), policy.as_str());
        if moved {
            z.signconf_path = format!("/other/{}.xml", name.key());
        }
        z
    })
}

/// Zone lists as zonelist.xml can give them (the parser refuses a name twice).
pub fn arb_zonelist() -> impl Strategy<Value = Vec<ZoneConfig>> {
    prop::collection::vec(arb_zone(), 0..8).prop_map(|zones| {
        let mut seen = std::collections::BTreeSet::new();
        zones
            .into_iter()
            .filter(|z| seen.insert(z.name.key()))
            .collect()
    })
}

/// Any zone or policy command an operator can give.
pub fn arb_command() -> impl Strategy<Value = Command> {
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
        2 => (arb_policies(), arb_zonelist()).prop_map(|(policies, zones)| {
            Command::UpdateAll { policies, zones, repositories: vec![] }
        }),
    ]
}

//! Strategies for commands, and bulk zonelist imports that carry a log past
//! `SNAPSHOT_EVERY`.

use super::support::{Writer, changed, pn, policy, renamed, stock, zn, zone};
use kasp_events::testgen::arb_zone_name;
use kasp_events::{Policy, ZoneConfig, ZoneName};
use kasp_projector::decide::Command;
use proptest::prelude::*;

// ---- strategies ----------------------------------------------------------------

/// The stock policies, variations of them, and two more names.
pub fn arb_policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(policy("default")),
        Just(policy("lab")),
        Just(changed(policy("default"))),
        Just(changed(policy("lab"))),
        Just(renamed("lab", "extra")),
        Just(changed(renamed("default", "other"))),
    ]
}

/// Policy lists as kasp.xml gives them (kaspcheck refuses a name twice).
pub fn arb_policies() -> impl Strategy<Value = Vec<Policy>> {
    prop::collection::vec(arb_policy(), 0..4).prop_map(|policies| {
        let mut seen = std::collections::BTreeSet::new();
        policies
            .into_iter()
            .filter(|p| seen.insert(p.name.clone()))
            .collect()
    })
}

pub fn arb_policy_name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["default", "lab", "extra", "other", "nosuch"])
}

/// Mostly a handful of names in several spellings, so commands meet each other.
pub fn arb_name() -> impl Strategy<Value = ZoneName> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "a.example", "A.Example.", "b.example", "c.example.", "d.example",
        ])
        .prop_map(zn),
        1 => arb_zone_name(),
    ]
}

pub fn arb_zone() -> impl Strategy<Value = ZoneConfig> {
    (arb_name(), arb_policy_name(), any::<bool>()).prop_map(|(name, policy, moved)| {
        let mut z = zone(&name, policy);
        if moved {
            z.signconf_path = format!("/other/{}.xml", name.key());
        }
        z
    })
}

/// Zone lists as zonelist.xml gives them (the parser refuses a name twice).
pub fn arb_zonelist() -> impl Strategy<Value = Vec<ZoneConfig>> {
    prop::collection::vec(arb_zone(), 0..8).prop_map(|zones| {
        let mut seen = std::collections::BTreeSet::new();
        zones
            .into_iter()
            .filter(|z| seen.insert(z.name.key()))
            .collect()
    })
}

pub fn arb_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        3 => (arb_policies(), any::<bool>()).prop_map(|(policies, remove_missing)| {
            Command::ImportPolicies { policies, remove_missing }
        }),
        1 => Just(Command::PurgePolicies),
        4 => (arb_zone(), any::<bool>())
            .prop_map(|(zone, suspended)| Command::AddZone { zone, suspended }),
        2 => arb_name().prop_map(|zone| Command::DeleteZone { zone }),
        1 => Just(Command::DeleteAllZones),
        2 => (arb_name(), arb_policy_name())
            .prop_map(|(zone, policy)| Command::SetZonePolicy { zone, policy: pn(policy) }),
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

/// One large zonelist import: `size` fresh zones (named after the batch), with `-r`
/// or not, all on one policy.
#[derive(Debug, Clone)]
pub struct Bulk {
    pub size: usize,
    pub remove_missing: bool,
    pub policy: &'static str,
}

pub fn arb_bulk() -> impl Strategy<Value = Bulk> {
    (
        300usize..450,
        any::<bool>(),
        prop::sample::select(vec!["default", "lab"]),
    )
        .prop_map(|(size, remove_missing, policy)| Bulk {
            size,
            remove_missing,
            policy,
        })
}

pub fn bulk_command(batch: usize, bulk: &Bulk) -> Command {
    let zones = (0..bulk.size)
        .map(|i| zone(&zn(&format!("z{i}.batch{batch}.example")), bulk.policy))
        .collect();
    Command::ImportZonelist {
        zones,
        remove_missing: bulk.remove_missing,
    }
}

/// A writer that has crossed `SNAPSHOT_EVERY` with the stock policies and bulk imports,
/// then ran `tail` (so records follow the newest snapshot).
pub fn writer_past_a_snapshot(bulks: &[Bulk], tail: &[Command]) -> Writer {
    let mut w = Writer::new();
    w.run(&Command::ImportPolicies {
        policies: stock(),
        remove_missing: false,
    });
    for (batch, bulk) in bulks.iter().enumerate() {
        w.run(&bulk_command(batch, bulk));
    }
    for command in tail {
        w.run(command);
    }
    // Records after the snapshot, including new zones (ids continue from the snapshot).
    let now = w.tick();
    w.append(
        now,
        vec![
            kasp_events::ZoneAdded {
                zone: zone(&zn("after.snapshot.example"), "lab"),
                suspended: true,
            }
            .into(),
        ],
    );
    w
}

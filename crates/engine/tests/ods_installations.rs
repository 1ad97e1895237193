//! Every real OpenDNSSEC 2.1.12 installation of fixtures/ods-import (captured by
//! scripts/capture-ods-state) against what an import checks and translates:
//!
//! - its internal zone list agrees with its database (OpenDNSSEC rewrites it after each
//!   change of its zones); a zone missing on either side, another policy and another
//!   signconf path are each reported;
//! - its policies, read from the database, are those of the kasp.xml OpenDNSSEC imported
//!   them from (the policy rows translate field for field), with their keys in the order
//!   its `policy export --all` printed them: the database's, which after a policy update
//!   is not kasp.xml's (2.1.12 then exports a ZSK before a KSK, which its own schema order
//!   and kasp-ledger's parser refuse to read back).

use kasp_engine::ods_import::{ZoneListDifference, compare_zone_list, policy_from_database};
use kasp_events::{Policy, PolicyName, ZoneConfig};
use kasp_ods_database::{ReadOptions, Snapshot, read};
use kasp_projector::formats::kasp::parse_kasp;
use kasp_projector::formats::zonelist::parse_zonelist;
use std::path::{Path, PathBuf};

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ods-import");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("enforcer/kasp.db").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 12, "{} fixtures", dirs.len());
    dirs
}

/// A fixture's database and its zone list, with `@SANDBOX@` set back to the sandbox path
/// the database still names (meta.txt, `sandbox-path-in-database`).
fn installation(dir: &Path) -> (Snapshot, Vec<ZoneConfig>) {
    let meta = std::fs::read_to_string(dir.join("meta.txt")).unwrap();
    let sandbox = meta
        .lines()
        .find_map(|l| l.strip_prefix("sandbox-path-in-database: "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("meta.txt names the sandbox path");
    let text = std::fs::read_to_string(dir.join("enforcer/zones.xml"))
        .unwrap()
        .replace("@SANDBOX@", sandbox);
    let zones = parse_zonelist(&text, "zones.xml").unwrap();
    let snapshot = read(&dir.join("enforcer/kasp.db"), &ReadOptions::default()).unwrap();
    (snapshot, zones)
}

#[test]
fn every_captured_installation_has_its_database_zones_in_its_zone_list() {
    for dir in fixtures() {
        let (snapshot, zones) = installation(&dir);
        assert_eq!(
            compare_zone_list(&snapshot, &zones),
            vec![],
            "{}",
            dir.display()
        );
    }
}

#[test]
fn a_zone_list_that_disagrees_is_reported_zone_by_zone() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ods-import/06-several-zones");
    let (snapshot, mut zones) = installation(&dir);
    let removed = zones.remove(0);
    zones[0].policy = PolicyName::new("elsewhere").unwrap();
    zones[1].signconf_path = "/var/other.xml".to_string();
    let mut extra = zones[2].clone();
    extra.name = kasp_events::ZoneName::new("extra.example").unwrap();
    zones.push(extra);
    let differences = compare_zone_list(&snapshot, &zones);
    assert!(
        differences.contains(&ZoneListDifference::OnlyInDatabase {
            zone: removed.name.as_str().to_string()
        }),
        "{differences:?}"
    );
    assert!(
        differences.contains(&ZoneListDifference::OnlyInZoneList {
            zone: "extra.example".to_string()
        }),
        "{differences:?}"
    );
    let policy = differences
        .iter()
        .find(|d| matches!(d, ZoneListDifference::Differs { what: "policy", .. }))
        .expect("the policy difference");
    assert!(
        policy
            .to_string()
            .ends_with("the zone list's \"elsewhere\""),
        "{policy}"
    );
    assert!(
        differences.iter().any(|d| matches!(d,
            ZoneListDifference::Differs { what: "signconf path", zone_list, .. }
                if zone_list == "/var/other.xml")),
        "{differences:?}"
    );
    assert_eq!(differences.len(), 4, "{differences:?}");
}

/// The key elements of policy `name` in a `policy export` text, in their order.
fn exported_key_order(text: &str, name: &str) -> Vec<&'static str> {
    let start = text
        .find(&format!("<Policy name=\"{name}\">"))
        .unwrap_or_else(|| panic!("policy {name} not exported"));
    let block = &text[start..];
    let block = &block[..block.find("</Policy>").unwrap()];
    block
        .lines()
        .filter_map(|l| match l.trim() {
            "<KSK>" => Some("KSK"),
            "<ZSK>" => Some("ZSK"),
            "<CSK>" => Some("CSK"),
            _ => None,
        })
        .collect()
}

#[test]
fn every_captured_installations_policies_are_those_of_its_kasp_xml() {
    let mut compared = 0;
    for dir in fixtures() {
        let at = |file: &str| {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            parse_kasp(&text, file).unwrap()
        };
        let exported = std::fs::read_to_string(dir.join("views/policy-export-all.txt")).unwrap();
        let from_kasp = at("kasp.xml");
        let snapshot = read(&dir.join("enforcer/kasp.db"), &ReadOptions::default()).unwrap();
        assert_eq!(
            snapshot.policies.len(),
            from_kasp.len(),
            "{}",
            dir.display()
        );
        for row in &snapshot.policies {
            let policy = policy_from_database(&snapshot, row).unwrap();
            let named = |policies: &[Policy]| {
                policies
                    .iter()
                    .find(|p| p.name == policy.name)
                    .cloned()
                    .unwrap_or_else(|| panic!("{}: no policy {}", dir.display(), row.name))
            };
            assert_eq!(
                policy
                    .keys
                    .keys
                    .iter()
                    .map(|k| k.role.as_str())
                    .collect::<Vec<_>>(),
                exported_key_order(&exported, &row.name),
                "{}: {}",
                dir.display(),
                row.name
            );
            let mut in_kasp = named(&from_kasp);
            let mut ours = policy.clone();
            in_kasp.keys.keys.sort_by_key(|k| (k.role, k.algorithm));
            ours.keys.keys.sort_by_key(|k| (k.role, k.algorithm));
            assert_eq!(ours, in_kasp, "{}: {}", dir.display(), row.name);
            compared += 1;
        }
    }
    assert!(compared >= 12 * 7, "{compared} policies compared");
}

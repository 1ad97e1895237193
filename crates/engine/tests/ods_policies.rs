//! The policies of every real OpenDNSSEC 2.1.12 installation of fixtures/ods-import, read
//! from its database, are those of the kasp.xml OpenDNSSEC imported them from (the
//! database's policy rows translate field for field), with their keys in the order its
//! `policy export --all` printed them: the database's, which after a policy update is not
//! kasp.xml's (2.1.12 then exports a ZSK before a KSK, which its own schema order and
//! kasp-ledger's parser refuse to read back).

use kasp_engine::ods_import::policy_from_database;
use kasp_events::Policy;
use kasp_ods_database::{ReadOptions, read};
use kasp_projector::formats::kasp::parse_kasp;
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

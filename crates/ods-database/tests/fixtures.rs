//! Reads every database of fixtures/ods-import (captured from the real OpenDNSSEC 2.1.12 by
//! scripts/capture-ods-state) and checks the rows against what OpenDNSSEC itself printed
//! from the same database at the same moment: the zones of its `zone list`, and every key
//! of its `key list --all --verbose` (zone, role, CKA_ID, key tag) found as a key with its
//! HSM key. So the reader decodes real databases, not only the ones its other tests build.

use kasp_ods_database::{ReadOptions, Snapshot, read};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ods-import");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("enforcer/kasp.db").is_file())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 12,
        "fixtures/ods-import holds {} captured states",
        dirs.len()
    );
    dirs
}

fn view(dir: &Path, name: &str) -> String {
    let path = dir.join("views").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The zones of a `zone list` view (the lines after its `Zone:` header).
fn listed_zones(text: &str) -> BTreeSet<String> {
    text.lines()
        .skip_while(|l| !l.starts_with("Zone:"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// (zone, role, CKA_ID, key tag) of each key in a `key list --verbose` view.
fn listed_keys(text: &str) -> BTreeSet<(String, String, String, u16)> {
    text.lines()
        .skip_while(|l| !l.starts_with("Zone:"))
        .skip(1)
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            // Zone, Keytype, State, date (2 words), Size, Algorithm, CKA_ID, Repository, KeyTag.
            let [zone, role, .., cka_id, _repository, tag] = w.as_slice() else {
                return None;
            };
            Some((
                zone.to_string(),
                role.to_string(),
                cka_id.to_string(),
                tag.parse().ok()?,
            ))
        })
        .collect()
}

fn keys_in(s: &Snapshot) -> BTreeSet<(String, String, String, u16)> {
    s.key_data
        .iter()
        .map(|k| {
            let zone = s.zones.iter().find(|z| z.row.id == k.zone_id).unwrap();
            let hsm = s
                .hsm_keys
                .iter()
                .find(|h| h.row.id == k.hsm_key_id)
                .unwrap();
            (
                zone.name.clone(),
                k.role.to_string(),
                hsm.locator.clone(),
                k.keytag,
            )
        })
        .collect()
}

#[test]
fn every_captured_database_reads_as_opendnssec_listed_it() {
    for dir in fixtures() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let s = read(&dir.join("enforcer/kasp.db"), &ReadOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let zones: BTreeSet<String> = s.zones.iter().map(|z| z.name.clone()).collect();
        assert_eq!(
            zones,
            listed_zones(&view(&dir, "zone-list.txt")),
            "{name}: zones"
        );
        let listed = listed_keys(&view(&dir, "key-list-all-verbose.txt"));
        assert!(
            !listed.is_empty() || s.key_data.is_empty(),
            "{name}: no key parsed from the key list view"
        );
        assert_eq!(keys_in(&s), listed, "{name}: keys");
        // Every key has its four records.
        for k in &s.key_data {
            let records = s.key_states.iter().filter(|r| r.key_data_id == k.row.id);
            assert_eq!(records.count(), 4, "{name}: records of key {}", k.row.id);
        }
    }
}

//! The key material of a real OpenDNSSEC 2.1.12 installation (fixtures/ods-import/06-several-zones:
//! four zones on RSA, ECDSA, NSEC3 and CSK policies, captured by scripts/capture-ods-state)
//! checked against a copy of its own SoftHSM2 token: every key is there and every stored
//! key tag is that of the public key the token holds; a changed tag and a locator the token
//! does not have are both reported, naming the key and its zone.
//!
//! One test in this binary: SoftHSM reads SOFTHSM2_CONF once per process.

use kasp_engine::ods_import::{KeyMaterialProblem, check_key_material};
use kasp_hsm::{Pkcs11Store, RepositoryConfig, Secret};
use kasp_ods_database::{ReadOptions, read};
use std::path::Path;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_real_installations_keys_are_in_its_token_with_the_tags_it_stored() {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ods-import/06-several-zones");
    let sandbox = tempfile::tempdir().unwrap();
    copy_dir(&fixture.join("tokens"), &sandbox.path().join("tokens"));
    let conf = sandbox.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}/tokens\nobjectstore.backend = file\nlog.level = ERROR\n",
            sandbox.path().display()
        ),
    )
    .unwrap();
    // SAFETY: the only test of this binary sets the variable before any thread reads it.
    unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
    let module = "/usr/lib/softhsm/libsofthsm2.so";
    assert!(
        Path::new(module).is_file(),
        "{module} is missing: package softhsm2; run scripts/deps.sh"
    );
    let config = RepositoryConfig::new("SoftHSM", module, "OpenDNSSEC", Some(Secret::new("1234")));
    let mut store = Pkcs11Store::open(config).expect("open the fixture's token");

    let snapshot = read(&fixture.join("enforcer/kasp.db"), &ReadOptions::default()).unwrap();
    assert!(
        snapshot.key_data.len() >= 7,
        "the fixture's zones have keys"
    );
    assert_eq!(
        check_key_material(&snapshot, "SoftHSM", &mut store),
        vec![],
        "the fixture as OpenDNSSEC left it"
    );
    // No key of another repository is asked for.
    assert_eq!(
        check_key_material(&snapshot, "Elsewhere", &mut store),
        vec![]
    );

    // A stored tag that is not the public key's.
    let mut changed = snapshot.clone();
    changed.key_data[0].keytag ^= 1;
    let problems = check_key_material(&changed, "SoftHSM", &mut store);
    assert!(
        matches!(&problems[..], [KeyMaterialProblem::TagMismatch { stored, computed, .. }]
            if *stored == snapshot.key_data[0].keytag ^ 1 && *computed == snapshot.key_data[0].keytag),
        "{problems:?}"
    );
    assert!(
        problems[0]
            .to_string()
            .contains("the public key in the HSM has key tag"),
        "{}",
        problems[0]
    );

    // A key the token does not have.
    let mut missing = snapshot.clone();
    let hsm_id = missing.key_data[0].hsm_key_id;
    let zone_id = missing.key_data[0].zone_id;
    let zone = snapshot
        .zones
        .iter()
        .find(|z| z.row.id == zone_id)
        .unwrap()
        .name
        .clone();
    let hsm = missing
        .hsm_keys
        .iter_mut()
        .find(|h| h.row.id == hsm_id)
        .unwrap();
    hsm.locator = "00112233445566778899aabbccddeeff".to_string();
    let problems = check_key_material(&missing, "SoftHSM", &mut store);
    assert_eq!(
        problems,
        vec![KeyMaterialProblem::Missing {
            locator: "00112233445566778899aabbccddeeff".to_string(),
            repository: "SoftHSM".to_string(),
            zones: vec![zone.clone()],
        }]
    );
    assert!(
        problems[0]
            .to_string()
            .contains(&format!("of zone {zone} is not in repository SoftHSM")),
        "{}",
        problems[0]
    );
}

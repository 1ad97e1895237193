//! Same view, same moment: right after an import at the capture's time, every read-only
//! view equals what the real OpenDNSSEC 2.1.12 showed at that moment (fixtures/ods-import,
//! `views/`), and every signconf written from the imported state equals, byte for byte,
//! the one OpenDNSSEC wrote. The only difference is the documented one: `zone list`
//! names kasp-ledger's log after `Database set to:` (README, Differences from
//! OpenDNSSEC).

use super::{Installation, fixtures};

/// The view files of a fixture and the command that shows each.
pub(super) const VIEWS: &[(&str, &str)] = &[
    ("key-list", "key list"),
    ("key-list-verbose", "key list --verbose"),
    ("key-list-verbose-parsable", "key list --verbose --parsable"),
    ("key-list-debug", "key list --debug"),
    ("key-list-debug-parsable", "key list --debug --parsable"),
    ("key-list-full", "key list --full"),
    ("key-list-all-verbose", "key list --all --verbose"),
    ("key-list-all-debug", "key list --all --debug"),
    ("rollover-list", "rollover list"),
    ("zone-list", "zone list"),
    ("policy-list", "policy list"),
    ("policy-export-all", "policy export --all"),
    ("queue", "queue"),
    ("backup-list", "backup list --repository SoftHSM"),
];

#[test]
fn every_view_of_every_installation_is_what_opendnssec_showed() {
    let mut differences = Vec::new();
    for name in fixtures() {
        let i = Installation::imported(&name);
        let codes = std::fs::read_to_string(i.path("views/rc.txt")).unwrap();
        for (view, command) in VIEWS {
            let expected = std::fs::read_to_string(i.path(&format!("views/{view}.txt")))
                .unwrap_or_else(|e| panic!("{name}/views/{view}.txt: {e}"));
            let (shown, exit) = i.run_combined(command);
            let code = codes
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{view} ")))
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap_or_else(|| panic!("{name}/views/rc.txt has no {view}"));
            let mut shown = shown;
            if *view == "zone-list" {
                shown = shown.replacen(
                    &i.log_path().display().to_string(),
                    &i.path("enforcer/kasp.db").display().to_string(),
                    1,
                );
            }
            if shown != expected || exit.to_string() != code {
                differences.push(format!(
                    "{name}: {command} (exit {exit} vs {code}):\n--- kasp-ledger\n{shown}--- \
                     OpenDNSSEC 2.1.12\n{expected}"
                ));
            }
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[test]
fn every_signconf_written_from_an_import_is_the_one_opendnssec_wrote() {
    for name in fixtures() {
        let i = Installation::imported(&name);
        let mut captured = std::collections::BTreeMap::new();
        // The files of zones' signconfs (not those OpenDNSSEC renamed on deleting a zone).
        for e in std::fs::read_dir(i.path("signconf")).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_none_or(|x| x != "xml") {
                continue;
            }
            captured.insert(p.clone(), std::fs::read(&p).unwrap());
            std::fs::remove_file(&p).unwrap();
        }
        let r = i.run("signconf");
        assert_eq!(r.code, 0, "{name}: {r:?}");
        for (path, bytes) in &captured {
            let written = std::fs::read(path)
                .unwrap_or_else(|e| panic!("{name}: {} not written: {e}", path.display()));
            assert!(
                written == *bytes,
                "{name}: {} differs:\n--- kasp-ledger\n{}--- OpenDNSSEC 2.1.12\n{}",
                path.display(),
                String::from_utf8_lossy(&written),
                String::from_utf8_lossy(bytes)
            );
        }
    }
}

//! What an import leaves: OpenDNSSEC's database exactly as it was (no byte changed, no
//! side file), and a log whose genesis says where its state came from (the database, its
//! schema version, the digest of the rows read, every row's id and revision), that
//! verifies, and that names the differences from kasp.xml it found.

use super::Installation;

fn files(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn the_database_is_untouched_and_the_log_says_where_it_came_from() {
    let i = Installation::copy("10-shared-keys");
    let database = std::fs::read(i.path("enforcer/kasp.db")).unwrap();
    let mut before = files(&i.path("enforcer"));
    let r = i.import("");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(std::fs::read(i.path("enforcer/kasp.db")).unwrap() == database);
    before.push("events.redb".to_string());
    before.sort();
    assert_eq!(
        files(&i.path("enforcer")),
        before,
        "only the log was created"
    );
    let digest = r
        .out
        .split("digest ")
        .nth(1)
        .and_then(|t| t.split(')').next())
        .unwrap_or_else(|| panic!("{r:?}"));
    assert_eq!(digest.len(), 64, "{r:?}");

    let show = i.run("log show");
    assert_eq!(show.code, 0, "{show:?}");
    assert!(
        show.out.contains(&format!(
            "Imported from OpenDNSSEC's SQLite database {} (schema version 1, digest {digest}",
            i.path("enforcer/kasp.db").display()
        )),
        "{show:?}"
    );
    assert!(
        show.out
            .contains("Zone a.example imported with policy shared"),
        "{show:?}"
    );
    let export = i.run("log export --jsonl");
    assert_eq!(export.code, 0, "{export:?}");
    let zone_rows = export
        .out
        .lines()
        .filter(|l| l.contains("OdsZoneImported") && l.contains("\"rev\""))
        .count();
    assert_eq!(zone_rows, 2, "both zones with their row ids: {export:?}");
    let verify = i.run("log verify");
    assert_eq!(verify.code, 0, "{verify:?}");
}

#[test]
fn differences_from_kasp_xml_are_reported_and_recorded() {
    let i = Installation::copy("09-nsec3-salt");
    let kasp = std::fs::read_to_string(i.path("kasp.xml")).unwrap();
    let changed = kasp.replacen("<Resalt>P2D</Resalt>", "<Resalt>P3D</Resalt>", 1);
    assert_ne!(
        kasp, changed,
        "the fixture's nsec3 policy resalts every P2D"
    );
    std::fs::write(i.path("kasp.xml"), changed).unwrap();
    let r = i.import("");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.err.contains("warning: policy nsec3 differs from")
            && r.err.contains("in <Denial> (the database's is imported"),
        "{r:?}"
    );
    let export = i.run("policy export --policy nsec3");
    assert!(export.out.contains("<Resalt>P2D</Resalt>"), "{export:?}");
    let show = i.run("log show");
    assert!(
        show.out.contains("; policy nsec3 differs from") && show.out.contains("in <Denial>"),
        "recorded with the provenance: {show:?}"
    );
}

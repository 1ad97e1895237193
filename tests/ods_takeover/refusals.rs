//! What an import refuses: each case a clear message naming what is wrong, a non-zero exit,
//! no log (nor any file of one) left behind, and OpenDNSSEC's database not written to.

use super::Installation;
use crate::common::Run;

/// The files of the enforcer's working directory.
fn working_files(i: &Installation) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(i.path("enforcer"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Imports with `extra` options and checks the refusal: exit `code`, every `needle` in
/// the message, no log created, the working directory and the database as they were.
fn refused(i: &Installation, extra: &str, code: i32, needles: &[&str]) -> Run {
    let files = working_files(i);
    let database = std::fs::read(i.path("enforcer/kasp.db")).unwrap();
    let r = i.import(extra);
    assert_eq!(r.code, code, "{}: {r:?}", i.name);
    for needle in needles {
        assert!(
            r.err.contains(needle),
            "{}: expected {needle:?} in {r:?}",
            i.name
        );
    }
    assert!(!i.log_path().exists(), "{}: a log was left behind", i.name);
    assert_eq!(working_files(i), files, "{}: files left behind", i.name);
    assert!(
        std::fs::read(i.path("enforcer/kasp.db")).unwrap() == database,
        "{}: the database was written to",
        i.name
    );
    let words = |t: &str| {
        t.split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w == "1234")
    };
    assert!(!words(&r.err) && !words(&r.out), "the PIN: {r:?}");
    r
}

#[test]
fn a_schema_version_other_than_1_is_refused() {
    let i = Installation::copy("01-steady");
    i.database()
        .execute("UPDATE databaseVersion SET version = 2", [])
        .unwrap();
    refused(&i, "", 1, &["database schema version 2", "version 1 only"]);
}

#[test]
fn an_unknown_enum_value_is_refused() {
    let i = Installation::copy("01-steady");
    i.database()
        .execute(
            "UPDATE keyState SET state = 7 WHERE id = (SELECT min(id) FROM keyState)",
            [],
        )
        .unwrap();
    refused(
        &i,
        "",
        1,
        &["table keyState", "column state: unknown value 7"],
    );
}

#[test]
fn a_key_whose_hsm_object_is_missing_is_refused() {
    let i = Installation::copy("02-zsk-prepublication");
    let db = i.database();
    let locator: String = db
        .query_row(
            "SELECT locator FROM hsmKey WHERE id = (SELECT hsmKeyId FROM keyData WHERE role = 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    db.execute(
        "UPDATE hsmKey SET locator = '0123456789abcdef0123456789abcdef' WHERE locator = ?1",
        [&locator],
    )
    .unwrap();
    drop(db);
    refused(
        &i,
        "",
        1,
        &[
            "HSM key 0123456789abcdef0123456789abcdef of zone zskroll.example is not in \
             repository SoftHSM",
            "nothing was created",
        ],
    );
}

#[test]
fn a_key_tag_that_is_not_the_hsm_keys_is_refused() {
    let i = Installation::copy("02-zsk-prepublication");
    let db = i.database();
    let tag: u32 = db
        .query_row("SELECT keytag FROM keyData WHERE role = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    db.execute(
        "UPDATE keyData SET keytag = ?1 WHERE role = 1",
        [(tag + 1) % 65536],
    )
    .unwrap();
    drop(db);
    refused(
        &i,
        "",
        1,
        &[
            "of zone zskroll.example",
            &format!(
                "the database says key tag {}, the public key in the HSM has key tag {tag}",
                (tag + 1) % 65536
            ),
        ],
    );
}

#[test]
fn a_zone_list_that_disagrees_with_the_database_is_refused() {
    let i = Installation::copy("06-several-zones");
    let path = i.path("enforcer/zones.xml");
    let text = std::fs::read_to_string(&path).unwrap();
    let changed = text.replacen("<Policy>ecdsa</Policy>", "<Policy>fast</Policy>", 1);
    assert_ne!(text, changed, "the zone list names policy ecdsa");
    std::fs::write(&path, changed).unwrap();
    refused(
        &i,
        "",
        1,
        &["the database's policy is \"ecdsa\", the zone list's \"fast\""],
    );
}

#[test]
fn a_signconf_opendnssec_had_still_to_write_is_refused_unless_told_to_write_it() {
    let i = Installation::copy("02-zsk-prepublication");
    i.database()
        .execute("UPDATE zone SET signconfNeedsWriting = 1", [])
        .unwrap();
    refused(
        &i,
        "",
        1,
        &[
            "zone zskroll.example: OpenDNSSEC had not yet written the signconf",
            "--write-signconf",
        ],
    );
    let signconf = i.path("signconf/zskroll.example.xml");
    std::fs::remove_file(&signconf).unwrap();
    let r = i.import("--write-signconf");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!signconf.exists());
    let r = i.run("enforce");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(signconf.is_file(), "the first run writes it");
}

#[test]
fn a_locked_database_is_refused_after_waiting() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let i = Installation::copy("01-steady");
    // OpenDNSSEC's enforcer in the middle of a write, in another process (a lock of this
    // process would be released by any close of the file here: POSIX record locks).
    let mut writer = Command::new("sqlite3")
        .arg(i.path("enforcer/kasp.db"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sqlite3 (package sqlite3; run scripts/deps.sh)");
    let mut input = writer.stdin.take().unwrap();
    input
        .write_all(b"BEGIN EXCLUSIVE; UPDATE zone SET rev = rev + 1; SELECT 'locked';\n")
        .unwrap();
    input.flush().unwrap();
    let mut answer = [0u8; 7];
    std::io::Read::read_exact(writer.stdout.as_mut().unwrap(), &mut answer).unwrap();
    assert_eq!(&answer, b"locked\n");
    let r = refused(&i, "", 4, &["database locked", "try again"]);
    assert!(
        r.err.contains("cannot import OpenDNSSEC's database"),
        "{r:?}"
    );
    input.write_all(b"ROLLBACK;\n").unwrap();
    drop(input);
    assert!(writer.wait().unwrap().success());
}

#[test]
fn a_missing_database_is_refused() {
    let i = Installation::copy("01-steady");
    std::fs::rename(i.path("enforcer/kasp.db"), i.path("kasp.db.moved")).unwrap();
    let r = i.import("");
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.err.contains("kasp.db: no such file"), "{r:?}");
    assert!(!i.log_path().exists());
}

#[test]
fn a_wrong_pin_is_refused() {
    let i = Installation::copy("01-steady");
    let conf = std::fs::read_to_string(i.path("conf.xml")).unwrap();
    std::fs::write(
        i.path("conf.xml"),
        conf.replace("<PIN>1234</PIN>", "<PIN>4321</PIN>"),
    )
    .unwrap();
    let r = refused(&i, "", 4, &["cannot import OpenDNSSEC's database"]);
    assert!(r.err.to_lowercase().contains("pin"), "{r:?}");
}

#[test]
fn an_existing_log_is_refused_and_left_alone() {
    let i = Installation::imported("01-steady");
    let log = std::fs::read(i.log_path()).unwrap();
    let r = i.import("");
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.err.contains("exists"), "{r:?}");
    assert!(std::fs::read(i.log_path()).unwrap() == log);
}

#[test]
fn an_import_while_opendnssecs_enforcer_runs_is_refused() {
    let i = Installation::copy("02-zsk-prepublication");
    let ods = super::RealEnforcer::start(&i);
    let r = refused(
        &i,
        "",
        1,
        &["an enforcer answers on", "stop OpenDNSSEC's enforcer"],
    );
    assert!(r.err.contains("'shadow'"), "{r:?}");
    drop(ods);
}

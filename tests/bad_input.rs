//! Bad input: each case gets a clear message and its documented exit code, and the
//! log stays byte-for-byte as it was.

use crate::common::{KASP, Sandbox, refused};

/// A sandbox with the stock policies and one zone.
fn populated() -> Sandbox {
    let sb = Sandbox::with_log();
    sb.ok("policy import");
    sb.ok("zone add --zone example.com");
    sb
}

fn with_kasp(sb: &Sandbox, text: &str) {
    std::fs::write(sb.path("kasp.xml"), text).unwrap();
}

#[test]
fn malformed_kasp() {
    let sb = populated();
    with_kasp(&sb, &KASP.replace("</Resign>", "</Resig>"));
    let r = refused(&sb, "policy import", 1, "Unable to validate the KASP XML");
    assert!(r.err.contains("kasp.xml:"), "{r:?}");
}

#[test]
fn schema_invalid_kasp_names_the_line() {
    let sb = populated();
    with_kasp(
        &sb,
        &KASP.replacen(
            "<Algorithm length=\"2048\">8</Algorithm>",
            "<Algorithm length=\"2048\">eight</Algorithm>",
            1,
        ),
    );
    let line = KASP
        .lines()
        .position(|l| l.contains("length=\"2048\""))
        .unwrap()
        + 1;
    let r = refused(&sb, "policy import", 1, "Unable to validate the KASP XML");
    assert!(r.err.contains(&format!("kasp.xml:{line}:")), "{r:?}");
}

#[test]
fn bad_duration() {
    let sb = populated();
    with_kasp(
        &sb,
        &KASP.replacen("<Resign>PT2H</Resign>", "<Resign>PT2X</Resign>", 1),
    );
    refused(&sb, "policy import", 1, "Unable to validate the KASP XML");
}

#[test]
fn unknown_repository() {
    let sb = populated();
    with_kasp(
        &sb,
        &KASP.replacen(
            "<Repository>SoftHSM</Repository>",
            "<Repository>NoSuchHSM</Repository>",
            1,
        ),
    );
    refused(&sb, "policy import", 1, "Unknown repository (NoSuchHSM)");
}

#[test]
fn unknown_policy_zone_and_duplicates() {
    let sb = populated();
    refused(
        &sb,
        "zone add --zone example.org --policy nosuch",
        1,
        "Unable to find policy nosuch needed for adding the zone!",
    );
    refused(
        &sb,
        "zone add --zone example.com",
        1,
        "Unable to add zone, zone already exists!",
    );
    refused(
        &sb,
        "zone add --zone EXAMPLE.com.",
        1,
        "Unable to add zone, zone already exists!",
    );
    refused(
        &sb,
        "zone delete --zone nosuch",
        1,
        "Unable to delete zone, zone nosuch not found!",
    );
    refused(
        &sb,
        "zone set-policy --zone nosuch --policy lab",
        1,
        "Unable to update zone, zone does not exist!",
    );
    refused(
        &sb,
        "zone set-policy --zone example.com --policy nosuch",
        1,
        "Unable to update zone, policy does not exist!",
    );
    refused(
        &sb,
        "policy export --policy nosuch",
        1,
        "Unable to find policy nosuch!",
    );
}

#[test]
fn invalid_zone_names() {
    let sb = populated();
    for name in ["a..b", "bad/name", "-", &"x".repeat(64)] {
        refused(
            &sb,
            &format!("zone add --zone {name}"),
            1,
            "invalid zone name",
        );
    }
}

#[test]
fn missing_and_unreadable_files() {
    let sb = populated();
    let r = refused(
        &sb,
        "zonelist import --file /nonexistent/zonelist.xml",
        1,
        "Unable to validate the zonelist XML!",
    );
    assert!(
        r.err.contains("cannot read /nonexistent/zonelist.xml"),
        "{r:?}"
    );
    let dir = sb.root().display().to_string();
    refused(
        &sb,
        &format!("zonelist import --file {dir}"),
        1,
        "Unable to validate the zonelist XML!",
    );
    std::fs::remove_file(sb.path("kasp.xml")).unwrap();
    refused(&sb, "policy import", 1, "cannot read");
}

#[test]
fn malformed_and_invalid_zonelist() {
    let sb = populated();
    std::fs::write(sb.path("bad.xml"), "<ZoneList><Zone name=\"x\">").unwrap();
    let r = refused(
        &sb,
        &format!("zonelist import --file {}", sb.path("bad.xml").display()),
        1,
        "Unable to validate the zonelist XML!",
    );
    assert!(r.err.contains("bad.xml:1"), "{r:?}");
    std::fs::write(
        sb.path("bad.xml"),
        "<ZoneList><Zone name=\"x\"><Policy>default</Policy></Zone></ZoneList>\n",
    )
    .unwrap();
    refused(
        &sb,
        &format!("zonelist import --file {}", sb.path("bad.xml").display()),
        1,
        "Unable to validate the zonelist XML!",
    );
}

#[test]
fn configuration_problems() {
    let sb = populated();
    let before = sb.log_bytes();
    let r = sb.run_with(&sb.path("nosuch.xml"), &["zone", "list"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.err.contains("nosuch.xml"), "{r:?}");
    std::fs::write(
        sb.path("broken.xml"),
        "<Configuration>\n<Common>\n</Configuration>\n",
    )
    .unwrap();
    let r = sb.run_with(&sb.path("broken.xml"), &["zone", "list"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.err.contains("broken.xml:"), "{r:?}");
    assert!(before == sb.log_bytes(), "the log changed");
}

#[test]
fn no_log_and_existing_log() {
    let sb = Sandbox::new();
    let r = sb.sh("zone list");
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.err.contains("run 'ods-enforcer setup'"), "{r:?}");
    sb.ok("setup");
    refused(&sb, "setup", 1, "refusing to overwrite");
    refused(&sb, "setup --simulated-time yesterday", 2, "invalid time");
}

#[test]
fn unusable_working_directory() {
    let sb = Sandbox::new();
    std::fs::remove_dir(sb.path("enforcer")).unwrap();
    std::fs::write(sb.path("enforcer"), "not a directory").unwrap();
    let r = sb.sh("setup");
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.err.contains("working directory"), "{r:?}");
}

#[test]
fn locked_log() {
    let sb = populated();
    let held = kasp_events::EventLog::open(&sb.log_path(), kasp_events::Access::ReadWrite).unwrap();
    let before = sb.log_bytes();
    let r = sb.sh("zone add --zone example.org");
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.err.contains("locked by another process"), "{r:?}");
    assert!(
        before == sb.log_bytes(),
        "the refused command changed the log"
    );
    drop(held);
}

#[test]
fn log_from_a_newer_format() {
    let sb = populated();
    {
        let db = redb::Builder::new()
            .set_concurrency_mode(redb::ConcurrencyMode::SingleWriter)
            .open(sb.log_path())
            .unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut meta = tx
                .open_table(redb::TableDefinition::<&str, &[u8]>::new("meta"))
                .unwrap();
            meta.insert("format", (kasp_events::FORMAT + 1).to_le_bytes().as_slice())
                .unwrap();
        }
        tx.commit().unwrap();
    }
    refused(&sb, "zone list", 3, "newer than this binary supports");
    refused(&sb, "log verify", 3, "newer than this binary supports");
}

#[test]
fn garbage_log_file() {
    let sb = Sandbox::new();
    std::fs::write(
        sb.log_path(),
        b"this is not a redb file at all, just text\n".repeat(200),
    )
    .unwrap();
    let before = sb.log_bytes();
    let r = sb.sh("zone list");
    assert!(r.code == 3 || r.code == 4, "{r:?}");
    assert!(r.err.contains("events.redb"), "{r:?}");
    assert!(before == sb.log_bytes(), "the log changed");
}

#[test]
fn syntax_errors() {
    let sb = populated();
    refused(&sb, "zone add", 255, "expected option --zone <zone>");
    refused(
        &sb,
        "zone delete",
        255,
        "expected either --zone <zone> or --all",
    );
    refused(&sb, "policy import --bogus", 255, "unknown arguments");
    refused(&sb, "log show --since yesterday", 2, "invalid time");
}

/// A long log is folded by a two-thread pipeline; damage in the middle of it must be
/// found there too, naming the record. (With a snapshot past the damage, commands use
/// the snapshot and only `log verify` walks the old records.)
#[test]
fn tampered_record_in_a_long_log() {
    let sb = Sandbox::with_log();
    sb.ok("policy import");
    let root = sb.root().display().to_string();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ZoneList>\n");
    for i in 0..6000 {
        xml.push_str(&format!(
            "<Zone name=\"z{i}.example\"><Policy>default</Policy>\
             <SignerConfiguration>{root}/signconf/z{i}.xml</SignerConfiguration>\
             <Adapters><Input><File>{root}/unsigned/z{i}</File></Input>\
             <Output><File>{root}/signed/z{i}</File></Output></Adapters></Zone>\n"
        ));
    }
    xml.push_str("</ZoneList>\n");
    std::fs::write(sb.path("many.xml"), xml).unwrap();
    let r = sb.sh(&format!(
        "zonelist import --file {}",
        sb.path("many.xml").display()
    ));
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(sb.ok("zone list").out.lines().count(), 6003);
    // Flip a byte of record 3004 (zone z3000) wherever redb keeps a copy of it.
    let mut bytes = sb.log_bytes();
    let needle = b"unsigned/z3000";
    let mut hits = 0;
    let mut at = 0;
    while let Some(p) = bytes[at..].windows(needle.len()).position(|w| w == needle) {
        let p = at + p;
        bytes[p + 9] ^= 0x20;
        hits += 1;
        at = p + needle.len();
    }
    assert!(hits > 0);
    std::fs::write(sb.log_path(), &bytes).unwrap();
    let r = sb.sh("log verify");
    assert_eq!(r.code, 3, "{}", r.err);
    assert!(r.err.contains("at record 3004"), "{}", r.err);
    // Drop the snapshots so commands replay the whole log (through the pipeline).
    {
        let db = redb::Builder::new()
            .set_concurrency_mode(redb::ConcurrencyMode::SingleWriter)
            .open(sb.log_path())
            .unwrap();
        let tx = db.begin_write().unwrap();
        tx.delete_table(redb::TableDefinition::<u64, &[u8]>::new("snapshots"))
            .unwrap();
        tx.commit().unwrap();
    }
    let r = sb.sh("zone list");
    assert_eq!(r.code, 3, "{}", r.err);
    assert!(r.err.contains("record 3004"), "{}", r.err);
}

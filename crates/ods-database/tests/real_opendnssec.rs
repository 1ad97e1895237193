//! Reads the database the real OpenDNSSEC 2.1 creates: Debian's `ods-enforcer-db-setup`
//! (package opendnssec-enforcer-sqlite3, installed by scripts/deps.sh), run on a conf.xml
//! whose `<Datastore><SQLite>` points into a temporary directory.
//!
//! `ods-enforcer-db-setup` reads /etc/opendnssec/conf.xml only, so it runs in a private mount
//! namespace with the test's conf.xml bound over that path, as
//! fixtures/conformance/oracle/ods-enforcer-oracle does: this needs root. Not root, or the
//! program missing, the test fails and says so (it never passes without running).

use kasp_ods_database::{JournalMode, ReadOptions, Source, read};
use std::path::Path;
use std::process::Command;

const DB_SETUP: &str = "/usr/sbin/ods-enforcer-db-setup";

#[test]
fn the_empty_database_of_the_real_ods_enforcer_db_setup_reads_as_empty() {
    assert!(
        Path::new(DB_SETUP).exists(),
        "{DB_SETUP} missing: scripts/deps.sh installs it (Debian opendnssec-enforcer-sqlite3)"
    );
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert!(
        euid == 0,
        "needs root: {DB_SETUP} reads /etc/opendnssec/conf.xml only, which the test replaces in \
         a private mount namespace (unshare -m); run the test suite as root"
    );
    assert!(
        Path::new("/etc/opendnssec/conf.xml").exists(),
        "/etc/opendnssec/conf.xml missing"
    );
    let shared_conf = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/ods/conf.xml");
    let conf_text =
        std::fs::read_to_string(shared_conf).unwrap_or_else(|e| panic!("{shared_conf}: {e}"));
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("kasp.db");
    let datastore = "<SQLite>/var/lib/opendnssec/kasp.db</SQLite>";
    assert!(
        conf_text.contains(datastore),
        "{shared_conf} has no {datastore}"
    );
    let conf = dir.path().join("conf.xml");
    std::fs::write(
        &conf,
        conf_text.replace(datastore, &format!("<SQLite>{}</SQLite>", db.display())),
    )
    .expect("conf.xml");

    let out = Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            "mount --bind \"$1\" /etc/opendnssec/conf.xml && exec \"$2\" -f",
        ])
        .arg("db-setup")
        .arg(&conf)
        .arg(DB_SETUP)
        .output()
        .expect("run unshare");
    assert!(
        out.status.success(),
        "{DB_SETUP}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(db.exists(), "{DB_SETUP} created no {}", db.display());

    let bytes = std::fs::read(&db).expect("db");
    let s = read(&db, &ReadOptions::default()).expect("read");
    assert_eq!(
        s.source,
        Source::Sqlite {
            path: db.clone(),
            journal: JournalMode::Rollback
        },
        "OpenDNSSEC sets no journal mode"
    );
    assert_eq!(s.version.version, 1);
    assert!(s.policies.is_empty() && s.policy_keys.is_empty() && s.zones.is_empty());
    assert!(s.hsm_keys.is_empty() && s.key_data.is_empty() && s.key_states.is_empty());
    assert!(s.key_dependencies.is_empty());
    assert_eq!(
        std::fs::read(&db).expect("db"),
        bytes,
        "the read changed the database"
    );
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["conf.xml", "kasp.db"], "the read created files");
}

//! Reads databases built from OpenDNSSEC 2.1's schema (the shared spec's ods/schema.sqlite):
//! every column round-trips into the typed rows, every refusal names its cause, and the read
//! leaves the file and its directory exactly as they were.

use kasp_ods_database::enums::{
    Backup, DenialType, DsAtParent, HsmKeyState, HsmKeyType, Minimize, RecordState, RecordType,
    Role, SoaSerial,
};
use kasp_ods_database::rows::{
    DatabaseVersion, HsmKey, KeyData, KeyDependency, KeyState, Policy, PolicyKey, RowId, Zone,
};
use kasp_ods_database::{Error, JournalMode, ReadOptions, Source, read};
mod common;

use common::{INSTALLATION, LATE};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn schema() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/ods/schema.sqlite"
    );
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A database of the given statements in a fresh directory.
fn database(statements: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kasp.db");
    let connection = Connection::open(&path).expect("create");
    connection.execute_batch(&schema()).expect("schema");
    connection.execute_batch(statements).expect("rows");
    drop(connection);
    (dir, path)
}

fn options() -> ReadOptions {
    ReadOptions {
        busy_timeout: Duration::from_millis(300),
    }
}

/// The file's bytes' digest and the directory's entries.
fn fingerprint(path: &Path) -> (blake3::Hash, Vec<String>) {
    let bytes = std::fs::read(path).expect("read");
    let mut names: Vec<String> = std::fs::read_dir(path.parent().expect("dir"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    (blake3::hash(&bytes), names)
}

fn refusal(path: &Path) -> Error {
    match read(path, &options()) {
        Ok(_) => panic!("{}: read, should have been refused", path.display()),
        Err(e) => e,
    }
}

#[test]
fn every_column_of_an_installation_mid_rollover_round_trips() {
    let (_dir, path) = database(INSTALLATION);
    let s = read(&path, &options()).expect("read");
    assert_eq!(
        s.source,
        Source::Sqlite {
            path: path.clone(),
            journal: JournalMode::Rollback
        }
    );
    assert_eq!(
        s.version,
        DatabaseVersion {
            row: RowId { id: 1, rev: 1 },
            version: 1
        }
    );
    assert_eq!(
        s.policies,
        vec![Policy {
            row: RowId { id: 1, rev: 3 },
            name: "default".into(),
            description: "A default policy".into(),
            signatures_resign: 7200,
            signatures_refresh: 259200,
            signatures_jitter: 43200,
            signatures_inception_offset: 3600,
            signatures_validity_default: 1209600,
            signatures_validity_denial: 1209600,
            signatures_validity_keyset: None,
            signatures_max_zone_ttl: 86400,
            denial_type: DenialType::Nsec3,
            denial_optout: false,
            denial_ttl: 3600,
            denial_resalt: 8640000,
            denial_algorithm: 1,
            denial_iterations: 0,
            denial_salt_length: 8,
            denial_salt: "a1b2c3d4e5f60718".into(),
            denial_salt_last_change: 1700000000,
            keys_ttl: 3600,
            keys_retire_safety: 3600,
            keys_publish_safety: 3600,
            keys_shared: false,
            keys_purge_after: 1209600,
            zone_propagation_delay: 300,
            zone_soa_ttl: 3600,
            zone_soa_minimum: 300,
            zone_soa_serial: SoaSerial::Unixtime,
            parent_registration_delay: 86400,
            parent_propagation_delay: 3600,
            parent_ds_ttl: 3600,
            parent_soa_ttl: 172800,
            parent_soa_minimum: 86400,
            passthrough: false,
        }]
    );
    let pk = |id, role, bits, lifetime, standby, manual_rollover, minimize| PolicyKey {
        row: RowId { id, rev: 1 },
        policy_id: 1,
        role,
        algorithm: 8,
        bits,
        lifetime,
        repository: "SoftHSM".into(),
        standby,
        manual_rollover,
        rfc5011: false,
        minimize,
    };
    let ds = Minimize {
        ds: true,
        ..Minimize::default()
    };
    let rrsig = Minimize {
        rrsig: true,
        ..Minimize::default()
    };
    assert_eq!(
        s.policy_keys,
        vec![
            pk(1, Role::Ksk, 2048, 31536000, 0, false, ds),
            pk(2, Role::Zsk, 1024, 7776000, 1, true, rrsig),
        ]
    );
    assert_eq!(
        s.zones,
        vec![Zone {
            row: RowId { id: 1, rev: 17 },
            policy_id: 1,
            name: "example.com".into(),
            signconf_needs_writing: true,
            signconf_path: "/var/lib/opendnssec/signconf/example.com.xml".into(),
            next_change: 1700090000,
            ttl_end_ds: 1700003600,
            ttl_end_dk: 1700007200,
            ttl_end_rs: 1700010800,
            roll_ksk_now: false,
            roll_zsk_now: true,
            roll_csk_now: false,
            input_adapter_type: "File".into(),
            input_adapter_uri: "/var/lib/opendnssec/unsigned/example.com".into(),
            output_adapter_type: "File".into(),
            output_adapter_uri: "/var/lib/opendnssec/signed/example.com".into(),
            next_ksk_roll: LATE,
            next_zsk_roll: 1707776000,
            next_csk_roll: 0,
        }]
    );
    let hk = |id, rev, locator: &str, state, bits, role, inception, backup| HsmKey {
        row: RowId { id, rev },
        policy_id: 1,
        locator: locator.into(),
        state,
        bits,
        algorithm: 8,
        role,
        inception,
        is_revoked: false,
        key_type: HsmKeyType::Rsa,
        repository: "SoftHSM".into(),
        backup,
    };
    assert_eq!(
        s.hsm_keys,
        vec![
            hk(
                1,
                2,
                "5f3a0c1e9b7d4a2c8e6f1b3d5a7c9e0f",
                HsmKeyState::Private,
                2048,
                Role::Ksk,
                1690000000,
                Backup::Done
            ),
            hk(
                2,
                2,
                "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
                HsmKeyState::Private,
                1024,
                Role::Zsk,
                1690000000,
                Backup::NotRequired
            ),
            hk(
                3,
                2,
                "ffeeddccbbaa99887766554433221100",
                HsmKeyState::Private,
                1024,
                Role::Zsk,
                1699990000,
                Backup::NotRequired
            ),
            hk(
                4,
                1,
                "00112233445566778899aabbccddeeff",
                HsmKeyState::Unused,
                1024,
                Role::Zsk,
                1699990000,
                Backup::Required
            ),
        ]
    );
    assert_eq!(
        s.key_data,
        vec![
            KeyData {
                row: RowId { id: 1, rev: 9 },
                zone_id: 1,
                hsm_key_id: 1,
                algorithm: 8,
                inception: 1690000100,
                role: Role::Ksk,
                introducing: true,
                should_revoke: false,
                standby: false,
                active_zsk: false,
                publish: true,
                active_ksk: true,
                ds_at_parent: DsAtParent::Seen,
                keytag: 12345,
                minimize: ds,
            },
            KeyData {
                row: RowId { id: 2, rev: 12 },
                zone_id: 1,
                hsm_key_id: 2,
                algorithm: 8,
                inception: 1690000100,
                role: Role::Zsk,
                introducing: false,
                should_revoke: false,
                standby: false,
                active_zsk: true,
                publish: true,
                active_ksk: false,
                ds_at_parent: DsAtParent::Unsubmitted,
                keytag: 23456,
                minimize: rrsig,
            },
            KeyData {
                row: RowId { id: 3, rev: 4 },
                zone_id: 1,
                hsm_key_id: 3,
                algorithm: 8,
                inception: 1699990100,
                role: Role::Zsk,
                introducing: true,
                should_revoke: false,
                standby: false,
                active_zsk: false,
                publish: true,
                active_ksk: false,
                ds_at_parent: DsAtParent::Unsubmitted,
                keytag: 34567,
                minimize: rrsig,
            },
        ]
    );
    let ks = |id, rev, key, record, state, last_change, minimize| KeyState {
        row: RowId { id, rev },
        key_data_id: key,
        record,
        state,
        last_change,
        minimize,
        ttl: 3600,
    };
    use RecordState::*;
    use RecordType::*;
    assert_eq!(
        s.key_states,
        vec![
            ks(1, 3, 1, Ds, Omnipresent, 1690100000, true),
            ks(2, 3, 1, Dnskey, Omnipresent, 1690010000, false),
            ks(3, 3, 1, RrsigDnskey, Omnipresent, 1690010000, false),
            ks(4, 1, 1, Rrsig, Na, 1690000100, false),
            ks(5, 1, 2, Ds, Na, 1690000100, false),
            ks(6, 2, 2, Dnskey, Omnipresent, 1690010000, false),
            ks(7, 2, 2, RrsigDnskey, Na, 1690000100, false),
            ks(8, 5, 2, Rrsig, Unretentive, 1700000000, true),
            ks(9, 1, 3, Ds, Na, 1699990100, false),
            ks(10, 2, 3, Dnskey, Omnipresent, 1699995000, false),
            ks(11, 1, 3, RrsigDnskey, Na, 1699990100, false),
            ks(12, 2, 3, Rrsig, Rumoured, 1700000000, true),
        ]
    );
    assert_eq!(
        s.key_dependencies,
        vec![KeyDependency {
            row: RowId { id: 1, rev: 1 },
            zone_id: 1,
            from_key_data_id: 2,
            to_key_data_id: 3,
            record: Rrsig,
        }]
    );
    assert_eq!(s.live_dependencies().count(), 1);
}

#[test]
fn the_digest_is_that_of_the_rows_read() {
    let (_dir, path) = database(INSTALLATION);
    let first = read(&path, &options()).expect("read").digest;
    assert_eq!(
        read(&path, &options()).expect("read").digest,
        first,
        "same rows, same digest"
    );
    Connection::open(&path)
        .and_then(|c| {
            c.execute(
                "UPDATE keyState SET lastChange = lastChange + 1 WHERE id = 8",
                [],
            )
        })
        .expect("update");
    assert_ne!(
        read(&path, &options()).expect("read").digest,
        first,
        "one value changed"
    );
}

#[test]
fn a_schema_version_other_than_1_is_refused() {
    let (_dir, path) = database(&INSTALLATION.replace(
        "INSERT INTO databaseVersion (id, rev, version) VALUES (1, 1, 1);",
        "INSERT INTO databaseVersion (id, rev, version) VALUES (1, 1, 2);",
    ));
    let e = refusal(&path);
    assert!(
        matches!(e, Error::SchemaVersion { ref found, .. } if found == "2"),
        "{e:?}"
    );
    assert!(e.to_string().contains("schema version 2"), "{e}");
}

#[test]
fn an_unknown_key_state_is_refused_naming_table_row_column_and_value() {
    let (_dir, path) = database(&format!(
        "{INSTALLATION} UPDATE keyState SET state = 7 WHERE id = 10;"
    ));
    let e = refusal(&path);
    assert!(
        matches!(e, Error::UnknownValue { table: "keyState", id: 10, column: "state", ref value, .. } if value == "7"),
        "{e:?}"
    );
    let message = e.to_string();
    for word in ["keyState", "row id 10", "state", "7", "omnipresent"] {
        assert!(message.contains(word), "{message} lacks {word}");
    }
}

#[test]
fn a_flag_other_than_0_or_1_and_a_text_in_an_integer_column_are_refused() {
    let (_dir, path) = database(&format!(
        "{INSTALLATION} UPDATE keyData SET publish = 2 WHERE id = 3;"
    ));
    let e = refusal(&path);
    assert!(
        matches!(
            e,
            Error::UnknownValue {
                table: "keyData",
                id: 3,
                column: "publish",
                ..
            }
        ),
        "{e:?}"
    );
    let (_dir, path) = database(&format!(
        "{INSTALLATION} UPDATE zone SET ttlEndDs = 'soon';"
    ));
    let e = refusal(&path);
    assert!(
        matches!(
            e,
            Error::UnknownValue {
                table: "zone",
                id: 1,
                column: "ttlEndDs",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn a_key_whose_hsm_key_is_missing_is_refused() {
    let (_dir, path) = database(&format!("{INSTALLATION} DELETE FROM hsmKey WHERE id = 3;"));
    let e = refusal(&path);
    assert!(
        matches!(
            e,
            Error::Dangling {
                table: "keyData",
                id: 3,
                column: "hsmKeyId",
                target: "hsmKey",
                value: 3
            }
        ),
        "{e:?}"
    );
    let (_dir, path) = database(&format!(
        "{INSTALLATION} UPDATE keyData SET zoneId = 9 WHERE id = 2;"
    ));
    let e = refusal(&path);
    assert!(
        matches!(
            e,
            Error::Dangling {
                table: "keyData",
                id: 2,
                target: "zone",
                value: 9,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn dependencies_of_a_deleted_zone_are_kept_as_opendnssec_leaves_them() {
    // `zone delete` removes the zone's keys and states but not its key dependencies.
    let (_dir, path) = database(&format!(
        "{INSTALLATION} DELETE FROM keyState; DELETE FROM keyData; DELETE FROM zone;"
    ));
    let s = read(&path, &options()).expect("read");
    assert_eq!(s.key_dependencies.len(), 1);
    assert_eq!(s.live_dependencies().count(), 0);
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kasp.db");
    std::fs::write(&path, "<Configuration/>\n".repeat(20)).expect("write");
    let e = refusal(&path);
    assert!(matches!(e, Error::NotSqlite { .. }), "{e:?}");
    assert!(e.to_string().contains("not an SQLite database"), "{e}");
    std::fs::write(&path, "").expect("write");
    assert!(matches!(refusal(&path), Error::NotSqlite { .. }));
    // An SQLite database, but not OpenDNSSEC's.
    Connection::open(dir.path().join("other.db"))
        .and_then(|c| c.execute_batch("CREATE TABLE t (x INTEGER);"))
        .expect("create");
    let e = refusal(&dir.path().join("other.db"));
    assert!(matches!(e, Error::NotOpenDnssec { .. }), "{e:?}");
}

#[test]
fn a_missing_file_is_refused_and_not_created() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kasp.db");
    let e = refusal(&path);
    assert!(matches!(e, Error::Missing { .. }), "{e:?}");
    assert!(e.to_string().contains("no such file"), "{e}");
    assert!(!path.exists());
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
}

#[test]
fn a_database_locked_by_a_writer_is_waited_for_then_refused_as_locked() {
    let (_dir, path) = database(INSTALLATION);
    let writer = Connection::open(&path).expect("writer");
    writer
        .execute_batch("BEGIN EXCLUSIVE; UPDATE zone SET rev = rev + 1;")
        .expect("lock");
    let started = Instant::now();
    let e = refusal(&path);
    let waited = started.elapsed();
    assert!(matches!(e, Error::Locked { .. }), "{e:?}");
    assert!(e.to_string().contains("locked"), "{e}");
    assert!(
        waited >= Duration::from_millis(300),
        "gave up after {waited:?}"
    );
    assert!(waited < Duration::from_secs(10), "waited {waited:?}");
    writer.execute_batch("ROLLBACK").expect("rollback");
    read(&path, &options()).expect("read once the writer is gone");
}

#[test]
fn reading_leaves_the_file_and_its_directory_unchanged() {
    let (_dir, path) = database(INSTALLATION);
    let before = fingerprint(&path);
    assert_eq!(before.1, vec!["kasp.db".to_string()]);
    read(&path, &options()).expect("read");
    assert_eq!(fingerprint(&path), before);
}

fn wal_database() -> (tempfile::TempDir, PathBuf) {
    let (dir, path) = database(INSTALLATION);
    let connection = Connection::open(&path).expect("open");
    let mode: String = connection
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .expect("wal");
    assert_eq!(mode, "wal");
    drop(connection);
    (dir, path)
}

#[test]
fn a_wal_database_closed_cleanly_is_read_without_creating_wal_or_shm() {
    let (_dir, path) = wal_database();
    let before = fingerprint(&path);
    assert_eq!(
        before.1,
        vec!["kasp.db".to_string()],
        "the last close removes -wal and -shm"
    );
    let s = read(&path, &options()).expect("read");
    assert!(matches!(
        s.source,
        Source::Sqlite {
            journal: JournalMode::Wal,
            ..
        }
    ));
    assert_eq!(s.zones.len(), 1);
    assert_eq!(fingerprint(&path), before);
}

#[test]
fn a_wal_database_being_written_is_read_at_its_last_commit_and_left_unchanged() {
    let (_dir, path) = wal_database();
    let writer = Connection::open(&path).expect("writer");
    writer
        .execute_batch("UPDATE zone SET rollKskNow = 1;")
        .expect("commit");
    writer
        .execute_batch("BEGIN IMMEDIATE; UPDATE zone SET rollCskNow = 1;")
        .expect("write");
    let before = fingerprint(&path);
    assert!(
        before.1.contains(&"kasp.db-wal".to_string()),
        "{:?}",
        before.1
    );
    let wal = std::fs::read(path.with_file_name("kasp.db-wal")).expect("wal");
    let s = read(&path, &options()).expect("a WAL reader does not wait for the writer");
    assert!(s.zones[0].roll_ksk_now, "the committed change is seen");
    assert!(!s.zones[0].roll_csk_now, "the uncommitted one is not");
    assert_eq!(fingerprint(&path), before);
    assert_eq!(
        std::fs::read(path.with_file_name("kasp.db-wal")).expect("wal"),
        wal
    );
    writer.execute_batch("ROLLBACK").expect("rollback");
}

#[test]
fn a_hot_journal_left_by_an_interrupted_write_is_refused_and_left_alone() {
    // A copy of the database and its journal taken in the middle of a write transaction is
    // what a crash of OpenDNSSEC's enforcer mid-write leaves: only a writer may roll it back.
    let (dir, path) = database(INSTALLATION);
    let writer = Connection::open(&path).expect("writer");
    writer
        .execute_batch("PRAGMA cache_size = 1; BEGIN; UPDATE keyState SET ttl = ttl + 1; UPDATE zone SET rev = rev + 1;")
        .expect("write");
    let crashed = dir.path().join("crashed");
    std::fs::create_dir(&crashed).expect("dir");
    let copy = crashed.join("kasp.db");
    std::fs::copy(&path, &copy).expect("copy");
    std::fs::copy(
        path.with_file_name("kasp.db-journal"),
        crashed.join("kasp.db-journal"),
    )
    .expect("journal");
    writer.execute_batch("ROLLBACK").expect("rollback");
    let before = fingerprint(&copy);
    let journal = std::fs::read(crashed.join("kasp.db-journal")).expect("journal");
    let e = refusal(&copy);
    assert!(matches!(e, Error::Unreadable { .. }), "{e:?}");
    assert!(e.to_string().contains("interrupted write"), "{e}");
    assert_eq!(fingerprint(&copy), before);
    assert_eq!(
        std::fs::read(crashed.join("kasp.db-journal")).expect("journal"),
        journal
    );
}

#[test]
fn a_path_with_uri_characters_is_read_as_named() {
    // The database is opened through a `file:` URI: `?`, `#`, `%` and spaces in the path are
    // escaped, not taken as the URI's query or fragment.
    let (dir, path) = database(INSTALLATION);
    let odd = dir.path().join("odd ?mode=rwc#x%41");
    std::fs::create_dir(&odd).expect("dir");
    let moved = odd.join("kasp.db");
    std::fs::rename(&path, &moved).expect("move");
    let before = fingerprint(&moved);
    assert_eq!(read(&moved, &options()).expect("read").zones.len(), 1);
    assert_eq!(fingerprint(&moved), before);
    let e = refusal(&odd.join("missing.db"));
    assert!(matches!(e, Error::Missing { .. }), "{e:?}");
    assert_eq!(fingerprint(&moved), before, "nothing created beside it");
}

#[test]
fn a_path_that_is_not_a_file_is_refused_as_unreadable() {
    // (File permissions cannot be tested this way: the suite runs as root.)
    let dir = tempfile::tempdir().expect("tempdir");
    let e = refusal(dir.path());
    assert!(matches!(e, Error::Unreadable { .. }), "{e:?}");
    assert!(e.to_string().contains("cannot read"), "{e}");
}

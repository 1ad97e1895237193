//! Taking over an OpenDNSSEC installation whose enforcer kept its database on MySQL: a
//! private MariaDB server (Debian's `mariadb-server`, its data directory and socket in a
//! temporary directory, listening on 127.0.0.1 only) gets OpenDNSSEC's MySQL schema
//! (fixtures/ods-import/schema.mysql) and the rows of a captured installation's SQLite
//! database, copied value for value. The installation is imported from its SQLite database
//! first; then, the log removed, its conf.xml pointed at the MySQL database and its SQLite
//! file removed, imported again. The second import must give the same log projection as the
//! first: every view equal, every record of `log export --jsonl` equal but the
//! hash chain and the `OdsImported` provenance, whose digest is equal too (the same stored
//! values, kasp-ods-database's `Digest`). The database user has SELECT (and LOCK TABLES)
//! only, so a write would fail the import. And the refusals: a wrong password (exit 4, the
//! user named, no password shown, no log), a server not listening (exit 4), a user without
//! the rights the read needs (exit 4), a value OpenDNSSEC does not define and a table missing
//! (exit 1).

use super::Installation;
use super::same_view::VIEWS;
use crate::common::Run;
use crate::mariadb::MariaDb;
use std::path::{Path, PathBuf};
use std::process::Command;

/// OpenDNSSEC's database user in conf.xml, and its password: a string found nowhere else,
/// so that its absence from every output means something.
const USER: &str = "ods";
const PASSWORD: &str = "Zq7-never-shown-pw";

/// The tables of OpenDNSSEC's schema.
const TABLES: [&str; 8] = [
    "databaseVersion",
    "policy",
    "policyKey",
    "zone",
    "hsmKey",
    "keyData",
    "keyState",
    "keyDependency",
];

/// A database `name` on `server` in OpenDNSSEC's MySQL schema holding the rows of
/// `installation`'s SQLite database, readable by [`USER`] (SELECT and LOCK TABLES only).
fn load(server: &MariaDb, name: &str, installation: &Installation) {
    let schema = std::fs::read_to_string(super::fixtures_dir().join("schema.mysql")).unwrap();
    server.sql(
        None,
        &format!(
            "CREATE DATABASE `{name}`;
             CREATE USER IF NOT EXISTS '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}';
             CREATE USER IF NOT EXISTS '{USER}'@'localhost' IDENTIFIED BY '{PASSWORD}';
             GRANT SELECT, LOCK TABLES ON `{name}`.* TO '{USER}'@'127.0.0.1';
             GRANT SELECT, LOCK TABLES ON `{name}`.* TO '{USER}'@'localhost';"
        ),
    );
    server.sql(Some(name), &schema);
    server.sql(Some(name), &inserts(&installation.database()));
}

/// Every row of every table of an SQLite database of OpenDNSSEC's schema, as INSERTs with
/// the same values (MySQL's strict mode refuses any that its column cannot hold).
fn inserts(db: &rusqlite::Connection) -> String {
    use rusqlite::types::ValueRef;
    let mut sql = String::new();
    for table in TABLES {
        let mut statement = db
            .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY id"))
            .unwrap();
        let columns: Vec<String> = statement
            .column_names()
            .iter()
            .map(|c| format!("`{c}`"))
            .collect();
        let mut rows = statement.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let values: Vec<String> = (0..columns.len())
                .map(|i| match row.get_ref(i).unwrap() {
                    ValueRef::Null => "NULL".to_string(),
                    ValueRef::Integer(v) => v.to_string(),
                    ValueRef::Text(t) => format!(
                        "'{}'",
                        std::str::from_utf8(t)
                            .unwrap()
                            .replace('\\', "\\\\")
                            .replace('\'', "''")
                    ),
                    other => panic!("{table}: unexpected value {other:?}"),
                })
                .collect();
            sql.push_str(&format!(
                "INSERT INTO `{table}` ({}) VALUES ({});\n",
                columns.join(", "),
                values.join(", ")
            ));
        }
    }
    sql
}

/// Points the installation's conf.xml at `<MySQL>` (`host`: the `<Host>` element, if any)
/// and removes its SQLite database, so that nothing can be read from it.
fn use_mysql(i: &Installation, host: Option<String>, database: &str, password: &str) {
    let conf = std::fs::read_to_string(i.path("conf.xml")).unwrap();
    let start = conf.find("<Datastore>").unwrap();
    let end = conf.find("</Datastore>").unwrap() + "</Datastore>".len();
    let mysql = format!(
        "<Datastore><MySQL>{}<Database>{database}</Database><Username>{USER}</Username>\
         <Password>{password}</Password></MySQL></Datastore>",
        host.unwrap_or_default()
    );
    let conf = format!("{}{mysql}{}", &conf[..start], &conf[end..]);
    std::fs::write(i.path("conf.xml"), conf).unwrap();
    std::fs::remove_file(i.path("enforcer/kasp.db")).unwrap();
}

fn tcp(server: &MariaDb) -> Option<String> {
    Some(format!("<Host Port=\"{}\">127.0.0.1</Host>", server.port))
}

/// The digest `setup --import-ods` printed.
fn digest(r: &Run) -> String {
    r.out
        .split("digest ")
        .nth(1)
        .and_then(|t| t.split(')').next())
        .unwrap_or_else(|| panic!("no digest: {r:?}"))
        .to_string()
}

/// What an imported installation shows: every view (its output and exit code) and every
/// record of `log export --jsonl` without its hash chain and the log's random instance id
/// (`LogCreated`); and, apart, the body of the `OdsImported` record.
fn projection(i: &Installation) -> (Vec<String>, serde_json::Value) {
    let mut shown: Vec<String> = VIEWS
        .iter()
        .map(|(_, command)| {
            let (out, code) = i.run_combined(command);
            format!("{command} (exit {code}):\n{out}")
        })
        .collect();
    let export = i.run("log export --jsonl");
    assert_eq!(export.code, 0, "{export:?}");
    let mut provenance = serde_json::Value::Null;
    for line in export.out.lines() {
        let mut record: serde_json::Value = serde_json::from_str(line).unwrap();
        let fields = record.as_object_mut().unwrap();
        fields.remove("prev");
        fields.remove("hash");
        if fields["kind"] == "OdsImported" {
            provenance = fields["event"].clone();
            continue;
        }
        if fields["kind"] == "LogCreated" {
            // Each log's own random instance id, also in the summary.
            fields["event"].as_object_mut().unwrap().remove("instance");
            fields.remove("summary");
        }
        shown.push(record.to_string());
    }
    assert!(!provenance.is_null(), "no OdsImported record: {export:?}");
    (shown, provenance)
}

fn assert_no_password(i: &Installation, runs: &[&Run]) {
    for r in runs {
        assert!(
            !r.out.contains(PASSWORD) && !r.err.contains(PASSWORD),
            "the password was shown: {r:?}"
        );
    }
    if let Ok(bytes) = std::fs::read(i.log_path()) {
        assert!(
            !bytes
                .windows(PASSWORD.len())
                .any(|w| w == PASSWORD.as_bytes()),
            "the password is in the log"
        );
    }
}

/// Every file under `dir`.
fn files(dir: &Path) -> std::collections::BTreeSet<PathBuf> {
    let mut all = std::collections::BTreeSet::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            all.extend(files(&p));
        } else {
            all.insert(p);
        }
    }
    all
}

/// Imports `i` from its SQLite database and takes its projection; then removes what the
/// import created, loads the same rows into `database` on `server`, points conf.xml at
/// it (`host`: the `<Host>` element, if any) and removes the SQLite file. Returns the
/// SQLite import's run and projection.
fn import_from_sqlite_then_move_to_mysql(
    i: &Installation,
    server: &MariaDb,
    database: &str,
    host: Option<String>,
) -> (Run, (Vec<String>, serde_json::Value)) {
    let before = files(i.dir.path());
    let from_sqlite = i.import("");
    assert_eq!(from_sqlite.code, 0, "{}: {from_sqlite:?}", i.name);
    let projection = projection(i);
    for created in files(i.dir.path()).difference(&before) {
        std::fs::remove_file(created).unwrap();
    }
    load(server, database, i);
    use_mysql(i, host, database, PASSWORD);
    (from_sqlite, projection)
}

fn assert_same_projection(name: &str, sqlite: &[String], mysql: &[String]) {
    assert_eq!(sqlite.len(), mysql.len(), "{name}");
    for (a, b) in sqlite.iter().zip(mysql) {
        assert!(
            a == b,
            "{name}: the SQLite import and the MySQL import differ:\n--- SQLite\n{a}\n--- MySQL\n{b}"
        );
    }
}

#[test]
fn an_import_from_mysql_projects_as_the_import_from_sqlite() {
    let server = MariaDb::start();
    for name in ["06-several-zones", "10-shared-keys"] {
        let database = format!("kasp_{}", &name[..2]);
        let i = Installation::copy(name);
        let (from_sqlite, (sqlite_shows, sqlite_provenance)) =
            import_from_sqlite_then_move_to_mysql(&i, &server, &database, tcp(&server));
        let checksums = format!(
            "CHECKSUM TABLE {};",
            TABLES.map(|t| format!("`{t}`")).join(", ")
        );
        let before = server.sql(Some(&database), &checksums);
        let from_mysql = i.import("");
        assert_eq!(from_mysql.code, 0, "{name}: {from_mysql:?}");
        let location = format!("127.0.0.1:{}/{database}", server.port);
        assert!(
            from_mysql.out.contains(&format!(
                "Imported OpenDNSSEC's MySQL database {location} (schema version 1, digest"
            )),
            "{name}: {from_mysql:?}"
        );
        assert_eq!(
            digest(&from_mysql),
            digest(&from_sqlite),
            "{name}: the same rows, the same digest"
        );

        let (mysql_shows, mysql_provenance) = projection(&i);
        assert_same_projection(name, &sqlite_shows, &mysql_shows);
        assert_eq!(mysql_provenance["datastore"], "Mysql", "{mysql_provenance}");
        assert_eq!(mysql_provenance["location"], location.as_str());
        let without_origin = |p: &serde_json::Value| {
            let mut p = p.clone();
            let fields = p.as_object_mut().unwrap();
            fields.remove("datastore");
            fields.remove("location");
            p
        };
        assert_eq!(
            without_origin(&sqlite_provenance),
            without_origin(&mysql_provenance),
            "{name}: the provenance differs but for where the rows were read"
        );
        let show = i.run("log show");
        assert!(
            show.out.contains(&format!(
                "Imported from OpenDNSSEC's MySQL database {location} (schema version 1"
            )),
            "{name}: {show:?}"
        );
        assert_no_password(&i, &[&from_mysql, &show]);
        let after = server.sql(Some(&database), &checksums);
        assert_eq!(before, after, "{name}: the import changed the database");
    }
}

#[test]
fn through_the_local_socket_and_from_a_table_without_transactions() {
    // conf.xml without <Host>: OpenDNSSEC's libmysqlclient goes through the local socket
    // (MYSQL_UNIX_PORT names it). keyState in MyISAM: no consistent snapshot, the tables
    // are read under LOCK TABLES.
    let server = MariaDb::start();
    let i = Installation::copy("02-zsk-prepublication");
    let (from_sqlite, (sqlite_shows, _)) =
        import_from_sqlite_then_move_to_mysql(&i, &server, "kasp", None);
    server.sql(Some("kasp"), "ALTER TABLE keyState ENGINE=MyISAM;");
    let out = Command::new(env!("CARGO_BIN_EXE_ods-enforcer"))
        .arg("-c")
        .arg(i.path("conf.xml"))
        .args(["setup", "--import-ods", "--simulated-time"])
        .arg(i.time.to_string())
        .env("SOFTHSM2_CONF", i.path("softhsm2.conf"))
        .env("MYSQL_UNIX_PORT", server.socket())
        .output()
        .unwrap();
    let r = Run {
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    };
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.out.contains(&format!(
            "Imported OpenDNSSEC's MySQL database localhost:{}/kasp (",
            server.socket().display()
        )),
        "{r:?}"
    );
    assert_eq!(digest(&r), digest(&from_sqlite));
    assert_same_projection(&i.name, &sqlite_shows, &projection(&i).0);
    assert_no_password(&i, &[&r]);
}

#[test]
fn a_wrong_password_an_absent_server_and_an_unknown_value_are_refused() {
    let server = MariaDb::start();
    let name = "01-steady";

    let wrong = "Wrong-pw-4711";
    let i = Installation::copy(name);
    load(&server, "kasp", &i);
    use_mysql(&i, tcp(&server), "kasp", wrong);
    let r = i.import("");
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.err
            .contains(&format!("MySQL authentication failed for user '{USER}'")),
        "{r:?}"
    );
    assert!(
        r.err.contains(&format!("127.0.0.1:{}/kasp", server.port)),
        "{r:?}"
    );
    assert!(!r.out.contains(wrong) && !r.err.contains(wrong), "{r:?}");
    assert_no_password(&i, &[&r]);
    assert!(!i.log_path().exists(), "a log was left behind");

    // Nothing listens on a port just released.
    let i = Installation::copy(name);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    use_mysql(
        &i,
        Some(format!("<Host Port=\"{closed}\">127.0.0.1</Host>")),
        "kasp",
        PASSWORD,
    );
    let r = i.import("");
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.err.contains("cannot connect to the MySQL server"),
        "{r:?}"
    );
    assert_no_password(&i, &[&r]);
    assert!(!i.log_path().exists(), "a log was left behind");

    // A record state OpenDNSSEC does not define: refused as from SQLite.
    let i = Installation::copy(name);
    load(&server, "odd", &i);
    server.sql(Some("odd"), "UPDATE keyState SET state = 9 WHERE id = 1;");
    use_mysql(&i, tcp(&server), "odd", PASSWORD);
    let r = i.import("");
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.err
            .contains("table keyState, row id 1, column state: unknown value 9"),
        "{r:?}"
    );
    assert_no_password(&i, &[&r]);
    assert!(!i.log_path().exists(), "a log was left behind");

    // A MyISAM table is read under LOCK TABLES, which this user may not take here.
    let i = Installation::copy(name);
    load(&server, "nolock", &i);
    server.sql(
        Some("nolock"),
        &format!(
            "ALTER TABLE zone ENGINE=MyISAM;
             REVOKE LOCK TABLES ON `nolock`.* FROM '{USER}'@'127.0.0.1';"
        ),
    );
    use_mysql(&i, tcp(&server), "nolock", PASSWORD);
    let r = i.import("");
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.err
            .contains(&format!("MySQL user '{USER}' may not read the database")),
        "{r:?}"
    );
    assert!(!i.log_path().exists(), "a log was left behind");

    // Not OpenDNSSEC's schema: refused.
    let i = Installation::copy(name);
    load(&server, "partial", &i);
    server.sql(Some("partial"), "DROP TABLE keyDependency;");
    use_mysql(&i, tcp(&server), "partial", PASSWORD);
    let r = i.import("");
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.err.contains("not an OpenDNSSEC 2.1 database"), "{r:?}");
    assert!(!i.log_path().exists(), "a log was left behind");
}

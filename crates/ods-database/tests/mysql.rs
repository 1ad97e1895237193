//! Reads OpenDNSSEC 2.1 databases on a MariaDB server of the test's own (tests/mariadb.rs:
//! Debian's `mariadb-server`, in a temporary directory), created with OpenDNSSEC's MySQL
//! schema (fixtures/ods-import/schema.mysql): the same installation gives the same typed rows
//! as from SQLite, the same digest where both backends store the same values, and the same
//! refusals; a wrong password is refused as such, without the password in the error.

mod common;
#[path = "../../../tests/mariadb.rs"]
mod mariadb;

use common::{INSTALLATION, LATE_IN_SQLITE, for_mysql};
use kasp_ods_database::{
    Endpoint, Error, MysqlServer, ReadOptions, Snapshot, Source, read, read_mysql,
};
use mariadb::MariaDb;
use std::time::Duration;

const USER: &str = "reader";
const PASSWORD: &str = "Reader-pw-93k";

fn options() -> ReadOptions {
    ReadOptions {
        busy_timeout: Duration::from_secs(2),
    }
}

/// A database `name` on `server` in OpenDNSSEC's MySQL schema holding `statements`, and how
/// to read it as [`USER`], who may only SELECT.
fn create(server: &MariaDb, name: &str, statements: &str) -> MysqlServer {
    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/ods-import/schema.mysql"
    );
    let schema = std::fs::read_to_string(schema).unwrap_or_else(|e| panic!("{schema}: {e}"));
    server.sql(
        None,
        &format!(
            "CREATE DATABASE `{name}`;
             CREATE USER IF NOT EXISTS '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}';
             GRANT SELECT ON `{name}`.* TO '{USER}'@'127.0.0.1';"
        ),
    );
    server.sql(Some(name), &schema);
    server.sql(Some(name), statements);
    MysqlServer {
        endpoint: Endpoint::Tcp {
            host: "127.0.0.1".to_string(),
            port: server.port,
        },
        database: name.to_string(),
        user: USER.to_string(),
        password: PASSWORD.to_string(),
    }
}

/// The same statements read from an SQLite database of OpenDNSSEC's SQLite schema.
fn from_sqlite(statements: &str) -> Snapshot {
    sqlite_read(statements).expect("read SQLite")
}

fn sqlite_read(statements: &str) -> Result<Snapshot, Error> {
    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/ods/schema.sqlite"
    );
    let schema = std::fs::read_to_string(schema).unwrap_or_else(|e| panic!("{schema}: {e}"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kasp.db");
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection.execute_batch(&schema).unwrap();
    connection.execute_batch(statements).unwrap();
    drop(connection);
    read(&path, &options())
}

/// `mysql` with the provenance of `sqlite`: what remains are the rows.
fn rows_only(mysql: &Snapshot, sqlite: &Snapshot) -> Snapshot {
    Snapshot {
        source: sqlite.source.clone(),
        digest: sqlite.digest,
        ..mysql.clone()
    }
}

#[test]
fn the_same_installation_reads_the_same_from_mysql_as_from_sqlite() {
    let server = MariaDb::start();
    let database = create(&server, "kasp", &for_mysql(INSTALLATION));
    let mysql = read_mysql(&database, &options()).expect("read MySQL");
    let sqlite = from_sqlite(INSTALLATION);
    assert_eq!(
        mysql.source,
        Source::Mysql {
            location: format!("127.0.0.1:{}/kasp", server.port)
        }
    );
    assert_eq!(rows_only(&mysql, &sqlite), sqlite, "the same typed rows");
    assert_eq!(mysql.zones[0].next_ksk_roll, common::LATE);
    // The time after 2038 is stored as itself in MySQL, as a negative integer in SQLite: the
    // values read differ there, and so do the digests.
    assert_ne!(mysql.digest, sqlite.digest);
    assert_eq!(
        read_mysql(&database, &options())
            .expect("read again")
            .digest,
        mysql.digest,
        "the same state, the same digest"
    );

    // Stored alike in both, the same digest.
    let before_2038 = INSTALLATION.replace(LATE_IN_SQLITE, "1707776001");
    let database = create(&server, "before2038", &before_2038);
    let mysql = read_mysql(&database, &options()).expect("read MySQL");
    let sqlite = from_sqlite(&before_2038);
    assert_eq!(rows_only(&mysql, &sqlite), sqlite);
    assert_eq!(mysql.digest, sqlite.digest);
}

#[test]
fn refusals_are_those_of_sqlite_and_a_wrong_password_is_named_but_not_shown() {
    let server = MariaDb::start();
    for (name, change) in [
        ("state", "UPDATE keyState SET state = 7 WHERE id = 10;"),
        ("flag", "UPDATE keyData SET publish = 2 WHERE id = 3;"),
        ("dangling", "DELETE FROM hsmKey WHERE id = 3;"),
        ("version", "UPDATE databaseVersion SET version = 2;"),
    ] {
        let statements = format!("{INSTALLATION}\n{change}");
        let database = create(&server, name, &for_mysql(&statements));
        let mysql = read_mysql(&database, &options()).expect_err("refused");
        let sqlite = sqlite_read(&statements).expect_err("refused");
        let location = format!("127.0.0.1:{}/{name}", server.port);
        match (&mysql, &sqlite) {
            (Error::SchemaVersion { database, found }, Error::SchemaVersion { found: f, .. }) => {
                assert_eq!(database, &location);
                assert_eq!(found, f);
            }
            _ => assert_eq!(mysql.to_string(), sqlite.to_string(), "{name}"),
        }
    }

    let database = create(&server, "kasp", &for_mysql(INSTALLATION));
    let wrong = MysqlServer {
        password: "Not-the-pw-5512".to_string(),
        ..database.clone()
    };
    let e = read_mysql(&wrong, &options()).expect_err("refused");
    assert!(
        matches!(e, Error::AccessDenied { ref user, .. } if user == USER),
        "{e:?}"
    );
    let message = e.to_string();
    assert!(
        message.contains("MySQL authentication failed for user 'reader'"),
        "{message}"
    );
    assert!(!message.contains("Not-the-pw-5512") && !message.contains(PASSWORD));
    assert!(!format!("{e:?}{wrong:?}").contains("Not-the-pw-5512"));

    let elsewhere = MysqlServer {
        database: "nothing".to_string(),
        ..database.clone()
    };
    let e = read_mysql(&elsewhere, &options()).expect_err("refused");
    assert!(
        matches!(e, Error::NotPermitted { ref user, .. } if user == USER),
        "{e:?}"
    );

    let socket = MysqlServer {
        endpoint: Endpoint::Socket {
            path: server.socket(),
        },
        ..database
    };
    // The reader exists for 127.0.0.1 only: through the socket it is 'reader'@'localhost'.
    let e = read_mysql(&socket, &options()).expect_err("refused");
    assert!(matches!(e, Error::AccessDenied { .. }), "{e:?}");
}

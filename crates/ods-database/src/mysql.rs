//! Reading OpenDNSSEC's MySQL database (enforcer/src/db/schema.mysql: the same tables and
//! columns as the SQLite schema, integers as `INT`/`INT UNSIGNED`/`BIGINT UNSIGNED`, text as
//! `TEXT`), on a MySQL or MariaDB server.
//!
//! Read-only and consistent: after the login the tables' storage engines are looked up. When
//! every table is InnoDB (the server's default engine, and schema.mysql names none), the
//! SELECTs run inside `START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY` at REPEATABLE
//! READ: one snapshot of every table as of the transaction's start, taking no lock and
//! blocking no writer, and the server refuses any write in it. A table of an engine without
//! transactions (MyISAM) has no snapshot: the tables are then read under `LOCK TABLES ...
//! READ`, which makes OpenDNSSEC's writes wait until the read ends (at most what the SELECTs
//! take), and a lock OpenDNSSEC holds is waited for up to `ReadOptions::busy_timeout`
//! (`lock_wait_timeout`). Either way the read ends with `ROLLBACK` or `UNLOCK TABLES` and
//! the connection is closed; nothing is written.
//!
//! Values are read through the binary protocol (prepared statements), so integers arrive as
//! integers and `TEXT` as bytes in the connection's character set (utf8mb4): the same
//! [`Cell`]s as SQLite's for the same stored values (see `Digest`).
//!
//! The password goes to the server in the login exchange only: it is in no [`Error`], no
//! `Debug` output and no location, and a server message that repeated it would have it
//! replaced by `***`.

use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::decode::{Cell, Select};
use crate::error::Error;
use crate::snapshot::{ReadOptions, Snapshot, Source, read_snapshot};

/// The tables read (the LOCK TABLES list when one is not InnoDB).
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

/// MySQL's character set number for binary strings (`BLOB`, `VARBINARY`, `DECIMAL` text).
const BINARY: u16 = 63;

/// How long a reply may take once connected, beyond the lock wait.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// TCP, to a host name or address and a port.
    Tcp { host: String, port: u16 },
    /// A Unix socket on this machine.
    Socket { path: PathBuf },
}

/// A MySQL database to read and how to log in to its server.
#[derive(Clone, PartialEq, Eq)]
pub struct MysqlServer {
    pub endpoint: Endpoint,
    pub database: String,
    pub user: String,
    /// Given to the server at login only; `Debug` prints `***`.
    pub password: String,
}

impl std::fmt::Debug for MysqlServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MysqlServer")
            .field("endpoint", &self.endpoint)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &"***")
            .finish()
    }
}

impl MysqlServer {
    /// `host:port/database`, or `localhost:<socket>/database` through a Unix socket (never
    /// the user or the password).
    pub fn location(&self) -> String {
        match &self.endpoint {
            Endpoint::Tcp { host, port } if host.contains(':') => {
                format!("[{host}]:{port}/{}", self.database)
            }
            Endpoint::Tcp { host, port } => format!("{host}:{port}/{}", self.database),
            Endpoint::Socket { path } => {
                format!("localhost:{}/{}", path.display(), self.database)
            }
        }
    }

    /// `text` with the password, should it occur, replaced by `***`.
    fn scrub(&self, text: String) -> String {
        if self.password.is_empty() {
            text
        } else {
            text.replace(&self.password, "***")
        }
    }
}

/// Reads OpenDNSSEC 2.1's database on a MySQL server, read-only, as one consistent moment.
pub fn read_mysql(server: &MysqlServer, options: &ReadOptions) -> Result<Snapshot, Error> {
    let wait = options.busy_timeout.max(Duration::from_secs(1));
    let mut opts = OptsBuilder::new()
        .user(Some(server.user.clone()))
        .pass(Some(server.password.clone()))
        .db_name(Some(server.database.clone()))
        .prefer_socket(false)
        .tcp_connect_timeout(Some(wait))
        .read_timeout(Some(wait + REPLY_TIMEOUT))
        .write_timeout(Some(wait + REPLY_TIMEOUT));
    opts = match &server.endpoint {
        Endpoint::Tcp { host, port } => opts.ip_or_hostname(Some(host.clone())).tcp_port(*port),
        Endpoint::Socket { path } => opts.socket(Some(path.display().to_string())),
    };
    let connection = Conn::new(opts).map_err(|e| failure(server, e, true, wait))?;
    let mut reader = Reader {
        connection,
        server,
        wait,
    };
    reader.run("SET NAMES utf8mb4")?;
    reader.run(&format!(
        "SET SESSION lock_wait_timeout = {}",
        wait.as_secs()
    ))?;
    let engines = reader.engines()?;
    let transactional = TABLES.iter().all(|t| {
        engines
            .get(*t)
            .is_none_or(|e| e.eq_ignore_ascii_case("InnoDB"))
    });
    let source = Source::Mysql {
        location: server.location(),
    };
    if transactional {
        reader.run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")?;
        reader.run("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")?;
        let snapshot = read_snapshot(&mut reader, source);
        let _ = reader.connection.query_drop("ROLLBACK");
        snapshot
    } else {
        let list: Vec<String> = TABLES.iter().map(|t| format!("`{t}` READ")).collect();
        reader.run(&format!("LOCK TABLES {}", list.join(", ")))?;
        let snapshot = read_snapshot(&mut reader, source);
        let _ = reader.connection.query_drop("UNLOCK TABLES");
        snapshot
    }
}

/// The open connection.
struct Reader<'a> {
    connection: Conn,
    server: &'a MysqlServer,
    wait: Duration,
}

impl Reader<'_> {
    fn run(&mut self, sql: &str) -> Result<(), Error> {
        self.connection
            .query_drop(sql)
            .map_err(|e| failure(self.server, e, false, self.wait))
    }

    /// The storage engine of each table of the database (information_schema).
    fn engines(&mut self) -> Result<BTreeMap<String, String>, Error> {
        let rows: Vec<(String, Option<String>)> = self
            .connection
            .query(
                "SELECT TABLE_NAME, ENGINE FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = DATABASE()",
            )
            .map_err(|e| failure(self.server, e, false, self.wait))?;
        Ok(rows
            .into_iter()
            .map(|(table, engine)| (table, engine.unwrap_or_default()))
            .collect())
    }
}

impl Select for Reader<'_> {
    fn select(
        &mut self,
        table: &'static str,
        columns: &[&'static str],
    ) -> Result<Vec<Vec<Cell>>, Error> {
        let quoted: Vec<String> = columns.iter().map(|c| format!("`{c}`")).collect();
        let sql = format!("SELECT {} FROM `{table}` ORDER BY id", quoted.join(", "));
        let rows: Vec<mysql::Row> = self
            .connection
            .exec(sql, ())
            .map_err(|e| failure(self.server, e, false, self.wait))?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let binary: Vec<bool> = row
                    .columns_ref()
                    .iter()
                    .map(|c| c.character_set() == BINARY)
                    .collect();
                row.unwrap()
                    .into_iter()
                    .zip(binary)
                    .map(|(value, binary)| cell(value, binary))
                    .collect()
            })
            .collect())
    }
}

fn cell(value: mysql::Value, binary: bool) -> Cell {
    use mysql::Value;
    match value {
        Value::NULL => Cell::Null,
        Value::Int(i) => Cell::Integer(i),
        Value::UInt(u) => match i64::try_from(u) {
            Ok(i) => Cell::Integer(i),
            Err(_) => Cell::BigUnsigned(u),
        },
        Value::Float(f) => Cell::Real(f64::from(f)),
        Value::Double(d) => Cell::Real(d),
        Value::Bytes(b) if binary => Cell::Blob(b),
        Value::Bytes(b) => Cell::Text(b),
        // A date or time where OpenDNSSEC keeps integers: kept as its SQL text, refused
        // wherever a value is typed.
        other @ (Value::Date(..) | Value::Time(..)) => Cell::Text(other.as_sql(true).into_bytes()),
    }
}

/// The server's or the driver's failure, named. `connecting`: before the login completed (an
/// I/O failure then means the server is unreachable).
fn failure(server: &MysqlServer, error: mysql::Error, connecting: bool, wait: Duration) -> Error {
    let database = server.location();
    match error {
        mysql::Error::MySqlError(e) => {
            let reason = server.scrub(format!("{} (MySQL error {})", e.message, e.code));
            match e.code {
                // ER_ACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR.
                1045 | 1698 => Error::AccessDenied {
                    database,
                    user: server.user.clone(),
                    reason,
                },
                // ER_DBACCESS_DENIED_ERROR, ER_TABLEACCESS_DENIED_ERROR,
                // ER_COLUMNACCESS_DENIED_ERROR.
                1044 | 1142 | 1143 => Error::NotPermitted {
                    database,
                    user: server.user.clone(),
                    reason,
                },
                // ER_NO_SUCH_TABLE, ER_BAD_FIELD_ERROR.
                1146 | 1054 => Error::NotOpenDnssec { database, reason },
                // ER_LOCK_WAIT_TIMEOUT (LOCK TABLES behind a writer).
                1205 => Error::Locked {
                    database,
                    waited: wait,
                },
                _ => Error::Mysql { database, reason },
            }
        }
        mysql::Error::IoError(e) if connecting => Error::Unreachable {
            database,
            reason: server.scrub(e.to_string()),
        },
        mysql::Error::DriverError(e) if connecting => Error::Unreachable {
            database,
            reason: server.scrub(e.to_string()),
        },
        mysql::Error::CodecError(e) if connecting => Error::Unreachable {
            database,
            reason: server.scrub(e.to_string()),
        },
        other => Error::Mysql {
            database,
            reason: server.scrub(other.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(endpoint: Endpoint) -> MysqlServer {
        MysqlServer {
            endpoint,
            database: "kasp".to_string(),
            user: "ods".to_string(),
            password: "pw-42".to_string(),
        }
    }

    #[test]
    fn the_location_names_the_server_and_the_database_never_the_login() {
        let tcp = server(Endpoint::Tcp {
            host: "db.example".to_string(),
            port: 3306,
        });
        assert_eq!(tcp.location(), "db.example:3306/kasp");
        let v6 = server(Endpoint::Tcp {
            host: "::1".to_string(),
            port: 3307,
        });
        assert_eq!(v6.location(), "[::1]:3307/kasp");
        let socket = server(Endpoint::Socket {
            path: PathBuf::from("/run/mysqld/mysqld.sock"),
        });
        assert_eq!(socket.location(), "localhost:/run/mysqld/mysqld.sock/kasp");
        let shown = format!("{tcp:?}");
        assert!(!shown.contains("pw-42") && shown.contains("***"), "{shown}");
        assert_eq!(
            tcp.scrub("denied 'pw-42' for ods".to_string()),
            "denied '***' for ods"
        );
    }

    #[test]
    fn values_map_onto_the_cells_sqlite_gives_for_the_same_stored_values() {
        use mysql::Value;
        assert_eq!(cell(Value::NULL, false), Cell::Null);
        assert_eq!(cell(Value::Int(-1), false), Cell::Integer(-1));
        assert_eq!(
            cell(Value::UInt(4_000_000_000), false),
            Cell::Integer(4_000_000_000)
        );
        assert_eq!(
            cell(Value::UInt(u64::MAX), false),
            Cell::BigUnsigned(u64::MAX)
        );
        assert_eq!(
            cell(Value::Bytes(b"example.com".to_vec()), false),
            Cell::Text(b"example.com".to_vec())
        );
        assert_eq!(cell(Value::Bytes(vec![1, 2]), true), Cell::Blob(vec![1, 2]));
    }
}

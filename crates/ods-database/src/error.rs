//! What can go wrong reading an OpenDNSSEC database, one variant per cause, each with a
//! message an operator can act on. Variants about a file are SQLite's; those about a
//! `database` name it as [`crate::Source::location`] does (the file, or `host:port/database`
//! of a MySQL server); those about a MySQL server are MySQL's. No variant holds a password.

use std::path::PathBuf;
use std::time::Duration;

/// Why a database could not be read. Nothing was written whatever the variant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The path names nothing.
    #[error("{}: no such file (the <Datastore><SQLite> of conf.xml names the database)", path.display())]
    Missing { path: PathBuf },
    /// The file exists but cannot be opened or read (permissions, a directory, I/O error).
    #[error("{}: cannot read the database: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    /// The file is not an SQLite database.
    #[error("{}: not an SQLite database", path.display())]
    NotSqlite { path: PathBuf },
    /// Another connection held a lock longer than the reader waits.
    #[error(
        "{database}: database locked: another process held it for more than {} ms (is OpenDNSSEC in the middle of a write? try again)",
        waited.as_millis()
    )]
    Locked { database: String, waited: Duration },
    /// A WAL database read without side files changed under the read every time it was
    /// tried (a writer kept coming in; see open.rs).
    #[error("{}: the database changed during each of {attempts} reads (OpenDNSSEC writing?); try again", path.display())]
    Changing { path: PathBuf, attempts: usize },
    /// A database, but not OpenDNSSEC 2.1's (a table or column is missing).
    #[error("{database}: not an OpenDNSSEC 2.1 database: {reason}")]
    NotOpenDnssec { database: String, reason: String },
    /// `databaseVersion` holds another version than 1, or not exactly one row.
    #[error(
        "{database}: database schema version {found}, this reader knows OpenDNSSEC 2.1's schema version 1 only"
    )]
    SchemaVersion { database: String, found: String },
    /// A column holds a value OpenDNSSEC 2.1 does not define there (an enum value, a flag that is
    /// neither 0 nor 1, an algorithm above 255...).
    #[error("table {table}, row id {id}, column {column}: unknown value {value} ({expected})")]
    UnknownValue {
        table: &'static str,
        id: i64,
        column: &'static str,
        value: String,
        expected: &'static str,
    },
    /// A row names a row of another table that does not exist.
    #[error(
        "table {table}, row id {id}, column {column}: names {target} row id {value}, which does not exist"
    )]
    Dangling {
        table: &'static str,
        id: i64,
        column: &'static str,
        target: &'static str,
        value: i64,
    },
    /// Any other SQLite failure while reading.
    #[error("{}: reading the database failed: {reason}", path.display())]
    Sqlite { path: PathBuf, reason: String },
    /// The MySQL server could not be reached (no server at the address or socket, a
    /// network failure, a time-out).
    #[error("{database}: cannot connect to the MySQL server: {reason}")]
    Unreachable { database: String, reason: String },
    /// The MySQL server refused the login: wrong password or unknown user (the <Username>
    /// and <Password> of conf.xml's <MySQL>).
    #[error("{database}: MySQL authentication failed for user '{user}': {reason}")]
    AccessDenied {
        database: String,
        user: String,
        reason: String,
    },
    /// The MySQL server accepted the login but denies the user what the read needs: the
    /// database itself, SELECT on a table, or LOCK TABLES where a table has no transactions.
    #[error("{database}: MySQL user '{user}' may not read the database: {reason}")]
    NotPermitted {
        database: String,
        user: String,
        reason: String,
    },
    /// Any other MySQL failure while reading (an unknown database among them).
    #[error("{database}: reading the MySQL database failed: {reason}")]
    Mysql { database: String, reason: String },
}

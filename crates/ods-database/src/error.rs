//! What can go wrong reading an OpenDNSSEC database, one variant per cause, each with a
//! message an operator can act on.

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
        "{}: database locked: another process held it for more than {} ms (is OpenDNSSEC in the middle of a write? try again)",
        path.display(), waited.as_millis()
    )]
    Locked { path: PathBuf, waited: Duration },
    /// A WAL database read without side files changed under the read every time it was
    /// tried (a writer kept coming in; see open.rs).
    #[error("{}: the database changed during each of {attempts} reads (OpenDNSSEC writing?); try again", path.display())]
    Changing { path: PathBuf, attempts: usize },
    /// An SQLite database, but not OpenDNSSEC 2.1's (a table or column is missing).
    #[error("{}: not an OpenDNSSEC 2.1 database: {reason}", path.display())]
    NotOpenDnssec { path: PathBuf, reason: String },
    /// `databaseVersion` holds another version than 1, or not exactly one row.
    #[error(
        "{}: database schema version {found}, this reader knows OpenDNSSEC 2.1's schema version 1 only",
        path.display()
    )]
    SchemaVersion { path: PathBuf, found: String },
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
}

//! # A reader of OpenDNSSEC 2.1's database
//!
//! An operator moving from OpenDNSSEC 2.1 to kasp-ledger has their policies, zones, keys and
//! rollovers in progress in OpenDNSSEC's enforcer database. This crate reads that database —
//! schema version 1, in either of OpenDNSSEC's backends: SQLite ([`read`]; OpenDNSSEC's
//! enforcer/src/db/schema.sqlite, kept in the shared spec as ods/schema.sqlite) or MySQL/MariaDB
//! ([`read_mysql`]; schema.mysql, kept in this repository as fixtures/ods-import/schema.mysql)
//! — into plain Rust values, one struct per table and one
//! field per column ([`rows`]), with OpenDNSSEC's enumerations as Rust enums ([`enums`]). It
//! decides nothing and knows nothing of kasp-ledger's events: turning rows into a log is the
//! importer's job.
//!
//! What it guarantees:
//!
//! - **It never writes.** SQLite: the database is opened with `SQLITE_OPEN_READ_ONLY` through
//!   a `mode=ro` URI, never with `SQLITE_OPEN_CREATE`, and with `PRAGMA query_only`; it takes
//!   no write lock, and the file is byte-for-byte the same afterwards. It creates no
//!   `-journal`, `-wal` or `-shm` file where there was none (how, for WAL databases, is in
//!   open.rs). MySQL: SELECTs only, in a `READ ONLY` transaction (or under `LOCK TABLES ...
//!   READ`), ended by `ROLLBACK` (mysql.rs).
//! - **One consistent moment.** SQLite: every table is read inside one read transaction
//!   (`BEGIN`, all SELECTs, `ROLLBACK`), so the rows are those of a single committed state
//!   even while OpenDNSSEC writes: with a rollback journal the SHARED lock keeps writers from
//!   committing until the read ends; in WAL mode the reader sees the log up to where it stood
//!   at its first read and never blocks the writer. (The alternative, SQLite's backup API
//!   into an in-memory copy, also needs a read transaction on the source and copies every
//!   page, indexes included, before reading what it needs: no stronger, and slower.) MySQL:
//!   `START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY` on InnoDB tables, `LOCK TABLES`
//!   on tables of an engine without transactions (mysql.rs).
//! - **Bounded waiting.** A lock held by another connection (OpenDNSSEC's enforcer in the
//!   middle of a write) is waited for up to [`ReadOptions::busy_timeout`], then refused as
//!   [`Error::Locked`]; a MySQL server that does not answer within it is
//!   [`Error::Unreachable`].
//! - **No secret leaks.** The MySQL password is given to the server at login and appears in
//!   no error, no location and no `Debug` output.
//! - **Nothing guessed.** The schema version must be 1; every enum column must hold a value
//!   OpenDNSSEC defines, every flag 0 or 1, every integer fit its column's C type; the
//!   references the enforcer follows must exist. Anything else is refused with an [`Error`]
//!   naming the table, the row id, the column and the value — as OpenDNSSEC itself refuses to
//!   load such a row.
//! - **Provenance.** Every row keeps its id and revision ([`rows::RowId`]), and the snapshot
//!   carries a blake3 [`Digest`] of everything read, as the database returned it, tables in a
//!   fixed order and rows in id order: two reads of the same database state give the same
//!   digest, and an SQLite and a MySQL database holding the same stored values too (where
//!   the two backends store the same row differently is said at [`Digest`]). The snapshot
//!   says where it was read ([`Source`]).

pub mod enums;
pub mod error;
pub mod rows;

mod decode;
mod mysql;
mod open;
mod snapshot;
mod sqlite;

pub use error::Error;
pub use mysql::{Endpoint, MysqlServer, read_mysql};
pub use open::JournalMode;
pub use snapshot::{Digest, ReadOptions, SCHEMA_VERSION, Snapshot, Source};
pub use sqlite::read;

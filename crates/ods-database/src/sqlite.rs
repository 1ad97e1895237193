//! Reading OpenDNSSEC's SQLite database: the file opened without writing to it (open.rs),
//! every table read inside one read transaction (`BEGIN`, the SELECTs, `ROLLBACK`), and, for
//! a WAL database read without its side files, the read tried again when a writer came in
//! meanwhile.

use rusqlite::types::ValueRef;
use std::path::Path;
use std::time::Duration;

use crate::decode::{Cell, Select};
use crate::error::Error;
use crate::open::{
    Access, JournalMode, access_for, connect, file_state, journal_mode, sqlite_error,
};
use crate::snapshot::{ReadOptions, Snapshot, Source, read_snapshot};

/// How many times a read of a WAL database without side files is tried again when a writer
/// came in meanwhile (see open.rs).
const ATTEMPTS: usize = 3;

/// Reads the OpenDNSSEC 2.1 SQLite database at `path`, read-only, in one read transaction.
pub fn read(path: &Path, options: &ReadOptions) -> Result<Snapshot, Error> {
    for _ in 0..ATTEMPTS {
        let before = file_state(path)?;
        let journal = journal_mode(path)?;
        let access = access_for(journal, &before);
        let snapshot =
            read_once(path, journal, access, options.busy_timeout).map_err(|e| match e {
                Error::Locked { database, .. } => Error::Locked {
                    database,
                    waited: options.busy_timeout,
                },
                other => other,
            })?;
        if access == Access::Immutable && file_state(path)? != before {
            continue;
        }
        return Ok(snapshot);
    }
    Err(Error::Changing {
        path: path.to_path_buf(),
        attempts: ATTEMPTS,
    })
}

fn read_once(
    path: &Path,
    journal: JournalMode,
    access: Access,
    busy: Duration,
) -> Result<Snapshot, Error> {
    let connection = connect(path, access, busy)?;
    // Every SELECT below in one read transaction: one snapshot of the database (WAL: the
    // end mark seen by the first read; rollback journal: the SHARED lock held to the end).
    connection
        .execute_batch("BEGIN DEFERRED")
        .map_err(|e| sqlite_error(path, e))?;
    let source = Source::Sqlite {
        path: path.to_path_buf(),
        journal,
    };
    let snapshot = read_snapshot(
        &mut Transaction {
            connection: &connection,
            path,
        },
        source,
    );
    // Ends the read transaction; nothing was written whatever happened.
    let _ = connection.execute_batch("ROLLBACK");
    snapshot
}

/// The open read transaction.
struct Transaction<'a> {
    connection: &'a rusqlite::Connection,
    path: &'a Path,
}

impl Select for Transaction<'_> {
    fn select(
        &mut self,
        table: &'static str,
        columns: &[&'static str],
    ) -> Result<Vec<Vec<Cell>>, Error> {
        let path = self.path;
        let quoted: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
        let sql = format!("SELECT {} FROM \"{table}\" ORDER BY id", quoted.join(", "));
        let mut statement = self
            .connection
            .prepare(&sql)
            .map_err(|e| sqlite_error(path, e))?;
        let mut rows = statement.query([]).map_err(|e| sqlite_error(path, e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| sqlite_error(path, e))? {
            let mut values = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                values.push(cell(row.get_ref(i).map_err(|e| sqlite_error(path, e))?));
            }
            out.push(values);
        }
        Ok(out)
    }
}

fn cell(value: ValueRef<'_>) -> Cell {
    match value {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Integer(i),
        ValueRef::Real(r) => Cell::Real(r),
        ValueRef::Text(t) => Cell::Text(t.to_vec()),
        ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
    }
}

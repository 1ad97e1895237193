//! Reading one table: the SELECT (explicit columns, `ORDER BY id`), the digest of every value
//! as SQLite returned it, and typed access to a row's columns with refusals that name the
//! table, the row id, the column and the value.
//!
//! Integers: OpenDNSSEC's SQLite backend (enforcer/src/db/db_backend_sqlite.c) binds its
//! unsigned 32-bit columns with `sqlite3_bind_int`, so a value of 2^31 or more is stored as a
//! negative integer and read back with `sqlite3_column_int` as the same unsigned value. This
//! reader does the same: an unsigned column accepts -2^31..2^32-1 and maps the negative half
//! onto 2^31..2^32-1; anything else, or a value that is not an integer, is refused.

use rusqlite::types::ValueRef;
use std::path::Path;

use crate::error::Error;
use crate::open::sqlite_error;

/// A value of an enumeration OpenDNSSEC stores as an integer.
pub(crate) trait Coded: Sized {
    const EXPECTED: &'static str;
    fn from_db(value: i64) -> Option<Self>;
}

/// The values of one row, with what is needed to say which row a refusal is about.
pub(crate) struct Fields<'a> {
    table: &'static str,
    columns: &'a [&'static str],
    values: Vec<rusqlite::types::Value>,
}

/// Reads every row of `table` (columns `id`, `rev`, then `columns`) in id order, feeding each
/// value into `digest`, and builds a `T` from each.
pub(crate) fn read_table<T>(
    tx: &rusqlite::Connection,
    path: &Path,
    table: &'static str,
    columns: &[&'static str],
    digest: &mut blake3::Hasher,
    mut build: impl FnMut(&Fields<'_>) -> Result<T, Error>,
) -> Result<Vec<T>, Error> {
    let mut all: Vec<&'static str> = vec!["id", "rev"];
    all.extend_from_slice(columns);
    let quoted: Vec<String> = all.iter().map(|c| format!("\"{c}\"")).collect();
    let sql = format!("SELECT {} FROM \"{table}\" ORDER BY id", quoted.join(", "));
    let mut statement = tx.prepare(&sql).map_err(|e| sqlite_error(path, e))?;
    let mut rows = statement.query([]).map_err(|e| sqlite_error(path, e))?;

    digest.update(b"T");
    digest_text(digest, table.as_bytes());
    digest.update(&(all.len() as u64).to_le_bytes());
    for column in &all {
        digest_text(digest, column.as_bytes());
    }
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|e| sqlite_error(path, e))? {
        digest.update(b"R");
        let mut values = Vec::with_capacity(all.len());
        for i in 0..all.len() {
            let value = row.get_ref(i).map_err(|e| sqlite_error(path, e))?;
            digest_value(digest, value);
            values.push(owned(value));
        }
        out.push(build(&Fields {
            table,
            columns: &all,
            values,
        })?);
    }
    digest.update(b"E");
    Ok(out)
}

/// The value, owned; text that is not UTF-8 is kept as a blob (and refused where text is
/// expected) rather than converted.
fn owned(value: ValueRef<'_>) -> rusqlite::types::Value {
    use rusqlite::types::Value;
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(s) => Value::Text(s.to_string()),
            Err(_) => Value::Blob(t.to_vec()),
        },
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

fn digest_text(digest: &mut blake3::Hasher, bytes: &[u8]) {
    digest.update(&(bytes.len() as u64).to_le_bytes());
    digest.update(bytes);
}

fn digest_value(digest: &mut blake3::Hasher, value: ValueRef<'_>) {
    match value {
        ValueRef::Null => {
            digest.update(&[0]);
        }
        ValueRef::Integer(i) => {
            digest.update(&[1]);
            digest.update(&i.to_le_bytes());
        }
        ValueRef::Real(r) => {
            digest.update(&[2]);
            digest.update(&r.to_bits().to_le_bytes());
        }
        ValueRef::Text(t) => {
            digest.update(&[3]);
            digest_text(digest, t);
        }
        ValueRef::Blob(b) => {
            digest.update(&[4]);
            digest_text(digest, b);
        }
    }
}

impl Fields<'_> {
    fn index(&self, column: &'static str) -> usize {
        // Columns are this crate's constants: every accessor names one of the SELECT's.
        self.columns
            .iter()
            .position(|c| *c == column)
            .unwrap_or(usize::MAX)
    }

    fn raw(&self, column: &'static str) -> &rusqlite::types::Value {
        static NULL: rusqlite::types::Value = rusqlite::types::Value::Null;
        self.values.get(self.index(column)).unwrap_or(&NULL)
    }

    /// The row's id (refusals name it; 0 if the id itself is not an integer).
    pub(crate) fn id(&self) -> i64 {
        match self.values.first() {
            Some(rusqlite::types::Value::Integer(i)) => *i,
            _ => 0,
        }
    }

    fn refuse(&self, column: &'static str, expected: &'static str) -> Error {
        let value = match self.raw(column) {
            rusqlite::types::Value::Null => "NULL".to_string(),
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Real(r) => r.to_string(),
            rusqlite::types::Value::Text(t) => format!("{t:?}"),
            rusqlite::types::Value::Blob(b) => format!("a blob of {} bytes", b.len()),
        };
        Error::UnknownValue {
            table: self.table,
            id: self.id(),
            column,
            value,
            expected,
        }
    }

    /// A 64-bit integer (ids, revisions, references).
    pub(crate) fn i64(&self, column: &'static str) -> Result<i64, Error> {
        match self.raw(column) {
            rusqlite::types::Value::Integer(i) => Ok(*i),
            _ => Err(self.refuse(column, "an integer")),
        }
    }

    /// The row's id and revision.
    pub(crate) fn row_id(&self) -> Result<crate::rows::RowId, Error> {
        Ok(crate::rows::RowId {
            id: self.i64("id")?,
            rev: self.i64("rev")?,
        })
    }

    /// An unsigned 32-bit column (see the module comment for negative values).
    pub(crate) fn u32(&self, column: &'static str) -> Result<u32, Error> {
        let expected = "an unsigned 32-bit integer";
        let v = self
            .i64(column)
            .map_err(|_| self.refuse(column, expected))?;
        if let Ok(u) = u32::try_from(v) {
            Ok(u)
        } else if let Ok(i) = i32::try_from(v) {
            Ok(i as u32)
        } else {
            Err(self.refuse(column, expected))
        }
    }

    /// An unsigned 32-bit column that may be NULL.
    pub(crate) fn opt_u32(&self, column: &'static str) -> Result<Option<u32>, Error> {
        match self.raw(column) {
            rusqlite::types::Value::Null => Ok(None),
            _ => self.u32(column).map(Some),
        }
    }

    /// A signed 32-bit column.
    pub(crate) fn i32(&self, column: &'static str) -> Result<i32, Error> {
        let expected = "a signed 32-bit integer";
        let v = self
            .i64(column)
            .map_err(|_| self.refuse(column, expected))?;
        i32::try_from(v).map_err(|_| self.refuse(column, expected))
    }

    /// A DNSSEC algorithm number (0..255).
    pub(crate) fn u8(&self, column: &'static str) -> Result<u8, Error> {
        let v = self.u32(column)?;
        u8::try_from(v).map_err(|_| self.refuse(column, "an algorithm number, 0 to 255"))
    }

    /// A key tag (0..65535).
    pub(crate) fn u16(&self, column: &'static str) -> Result<u16, Error> {
        let v = self.u32(column)?;
        u16::try_from(v).map_err(|_| self.refuse(column, "a key tag, 0 to 65535"))
    }

    /// A 0/1 flag.
    pub(crate) fn flag(&self, column: &'static str) -> Result<bool, Error> {
        match self.raw(column) {
            rusqlite::types::Value::Integer(0) => Ok(false),
            rusqlite::types::Value::Integer(1) => Ok(true),
            _ => Err(self.refuse(column, "0 or 1")),
        }
    }

    /// A value of an enumeration.
    pub(crate) fn coded<T: Coded>(&self, column: &'static str) -> Result<T, Error> {
        match self.raw(column) {
            rusqlite::types::Value::Integer(i) => {
                T::from_db(*i).ok_or_else(|| self.refuse(column, T::EXPECTED))
            }
            _ => Err(self.refuse(column, T::EXPECTED)),
        }
    }

    /// A text column (UTF-8, not NULL).
    pub(crate) fn text(&self, column: &'static str) -> Result<String, Error> {
        match self.raw(column) {
            rusqlite::types::Value::Text(t) => Ok(t.clone()),
            _ => Err(self.refuse(column, "text")),
        }
    }
}

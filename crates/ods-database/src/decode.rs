//! Reading one table, whichever the backend: the SELECT (explicit columns, `ORDER BY id`,
//! through [`Select`]), the digest of every value as the database returned it ([`Cell`]), and
//! typed access to a row's columns with refusals that name the table, the row id, the column
//! and the value.
//!
//! Integers: OpenDNSSEC's SQLite backend (enforcer/src/db/db_backend_sqlite.c) binds its
//! unsigned 32-bit columns with `sqlite3_bind_int`, so a value of 2^31 or more is stored as a
//! negative integer and read back with `sqlite3_column_int` as the same unsigned value. This
//! reader does the same: an unsigned column accepts -2^31..2^32-1 and maps the negative half
//! onto 2^31..2^32-1; anything else, or a value that is not an integer, is refused. The MySQL
//! backend (db_backend_mysql.c) binds them as unsigned into `INT UNSIGNED` columns, so there
//! they arrive as 2^31..2^32-1 directly.

use crate::error::Error;

/// A value as the database returned it, before any typing: what is digested and what the
/// accessors of [`Fields`] type. Both backends map onto it (sqlite.rs, mysql.rs).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Null,
    Integer(i64),
    /// An unsigned integer above `i64::MAX` (MySQL's `BIGINT UNSIGNED` can hold one):
    /// refused wherever a value is typed.
    BigUnsigned(u64),
    Real(f64),
    /// Text, as bytes: text that is not UTF-8 is digested as it is and refused where text
    /// is expected, rather than converted.
    Text(Vec<u8>),
    Blob(Vec<u8>),
}

/// One backend's way of reading a table: every row of `SELECT columns FROM table ORDER BY
/// id`, inside the read's one transaction.
pub(crate) trait Select {
    fn select(
        &mut self,
        table: &'static str,
        columns: &[&'static str],
    ) -> Result<Vec<Vec<Cell>>, Error>;
}

/// A value of an enumeration OpenDNSSEC stores as an integer.
pub(crate) trait Coded: Sized {
    const EXPECTED: &'static str;
    fn from_db(value: i64) -> Option<Self>;
}

/// The values of one row, with what is needed to say which row a refusal is about.
pub(crate) struct Fields<'a> {
    table: &'static str,
    columns: &'a [&'static str],
    values: Vec<Cell>,
}

/// Reads every row of `table` (columns `id`, `rev`, then `columns`) in id order, feeding each
/// value into `digest`, and builds a `T` from each.
pub(crate) fn read_table<T>(
    source: &mut dyn Select,
    table: &'static str,
    columns: &[&'static str],
    digest: &mut blake3::Hasher,
    mut build: impl FnMut(&Fields<'_>) -> Result<T, Error>,
) -> Result<Vec<T>, Error> {
    let mut all: Vec<&'static str> = vec!["id", "rev"];
    all.extend_from_slice(columns);
    let rows = source.select(table, &all)?;

    digest.update(b"T");
    digest_text(digest, table.as_bytes());
    digest.update(&(all.len() as u64).to_le_bytes());
    for column in &all {
        digest_text(digest, column.as_bytes());
    }
    let mut out = Vec::with_capacity(rows.len());
    for values in rows {
        digest.update(b"R");
        for value in &values {
            digest_value(digest, value);
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

fn digest_text(digest: &mut blake3::Hasher, bytes: &[u8]) {
    digest.update(&(bytes.len() as u64).to_le_bytes());
    digest.update(bytes);
}

/// The encoding is that of the first version of this reader (SQLite only), so that the
/// digests recorded in earlier logs stay those of the same rows: a type tag, then the value.
fn digest_value(digest: &mut blake3::Hasher, value: &Cell) {
    match value {
        Cell::Null => {
            digest.update(&[0]);
        }
        Cell::Integer(i) => {
            digest.update(&[1]);
            digest.update(&i.to_le_bytes());
        }
        Cell::Real(r) => {
            digest.update(&[2]);
            digest.update(&r.to_bits().to_le_bytes());
        }
        Cell::Text(t) => {
            digest.update(&[3]);
            digest_text(digest, t);
        }
        Cell::Blob(b) => {
            digest.update(&[4]);
            digest_text(digest, b);
        }
        Cell::BigUnsigned(u) => {
            digest.update(&[5]);
            digest.update(&u.to_le_bytes());
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

    fn raw(&self, column: &'static str) -> &Cell {
        static NULL: Cell = Cell::Null;
        self.values.get(self.index(column)).unwrap_or(&NULL)
    }

    /// The row's id (refusals name it; 0 if the id itself is not an integer).
    pub(crate) fn id(&self) -> i64 {
        match self.values.first() {
            Some(Cell::Integer(i)) => *i,
            _ => 0,
        }
    }

    fn refuse(&self, column: &'static str, expected: &'static str) -> Error {
        let value = match self.raw(column) {
            Cell::Null => "NULL".to_string(),
            Cell::Integer(i) => i.to_string(),
            Cell::Real(r) => r.to_string(),
            Cell::Text(t) => format!("{:?}", String::from_utf8_lossy(t)),
            Cell::BigUnsigned(u) => u.to_string(),
            Cell::Blob(b) => format!("a blob of {} bytes", b.len()),
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
            Cell::Integer(i) => Ok(*i),
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
            Cell::Null => Ok(None),
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
            Cell::Integer(0) => Ok(false),
            Cell::Integer(1) => Ok(true),
            _ => Err(self.refuse(column, "0 or 1")),
        }
    }

    /// A value of an enumeration.
    pub(crate) fn coded<T: Coded>(&self, column: &'static str) -> Result<T, Error> {
        match self.raw(column) {
            Cell::Integer(i) => T::from_db(*i).ok_or_else(|| self.refuse(column, T::EXPECTED)),
            _ => Err(self.refuse(column, T::EXPECTED)),
        }
    }

    /// A text column (UTF-8, not NULL).
    pub(crate) fn text(&self, column: &'static str) -> Result<String, Error> {
        match self.raw(column) {
            Cell::Text(t) => match std::str::from_utf8(t) {
                Ok(t) => Ok(t.to_string()),
                Err(_) => Err(self.refuse(column, "text in UTF-8")),
            },
            _ => Err(self.refuse(column, "text")),
        }
    }
}

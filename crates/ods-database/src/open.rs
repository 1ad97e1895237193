//! Opening the database without writing to it, and naming SQLite's failures.
//!
//! Always `SQLITE_OPEN_READ_ONLY` through a `file:` URI with `mode=ro` (never
//! `SQLITE_OPEN_CREATE`), `PRAGMA query_only`, and a bounded busy timeout. What SQLite does
//! beside the database file depends on its journal mode (header bytes 18-19):
//!
//! - rollback journal (OpenDNSSEC's own choice: its backend sets no journal mode): a reader
//!   takes a SHARED lock and creates no file. A hot journal left by an interrupted write can
//!   only be rolled back by a writer: the read is refused (`Unreadable`) and the file left
//!   alone.
//! - WAL with its `-wal` and `-shm` present (a connection is open, or one crashed): read
//!   through them with `mode=ro`; SQLite creates nothing.
//! - WAL with neither present (every connection closed cleanly, so everything is in the main
//!   file): `mode=ro` would create an empty `-wal` and a `-shm` and leave them behind (a
//!   read-only connection cannot remove them). Instead the file is opened with `immutable=1`
//!   (no locks, no side files), and the read counts only if the file is the same (size,
//!   modification time, inode) and still has no `-wal` afterwards: a writer that came in
//!   meanwhile creates the `-wal` before it writes, and a checkpoint into the main file changes
//!   its modification time. Otherwise the read starts again, through the side files the writer
//!   created.
//! - WAL with only one of them (a manual deletion): `mode=ro` (SQLite may create the missing
//!   one).

use rusqlite::{Connection, OpenFlags};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Error;

/// How the database keeps its journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalMode {
    /// A rollback journal (`-journal`), OpenDNSSEC's default.
    Rollback,
    /// Write-ahead log (`-wal`, `-shm`).
    Wal,
}

/// How the database was opened for the read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// `mode=ro`, with locks.
    ReadOnly,
    /// `immutable=1`: a WAL database with no side files (see the module comment).
    Immutable,
}

/// What identifies the file's content between two looks at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileState {
    len: u64,
    mtime: (i64, i64),
    ino: u64,
    dev: u64,
    wal: bool,
    shm: bool,
}

pub(crate) fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The file's state, or why it cannot be read at all.
pub(crate) fn file_state(path: &Path) -> Result<FileState, Error> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Missing {
                path: path.to_path_buf(),
            });
        }
        Err(e) => {
            return Err(Error::Unreadable {
                path: path.to_path_buf(),
                reason: e.to_string(),
            });
        }
    };
    if !meta.is_file() {
        return Err(Error::Unreadable {
            path: path.to_path_buf(),
            reason: "not a regular file".to_string(),
        });
    }
    Ok(FileState {
        len: meta.len(),
        mtime: (meta.mtime(), meta.mtime_nsec()),
        ino: meta.ino(),
        dev: meta.dev(),
        wal: side_file(path, "-wal").exists(),
        shm: side_file(path, "-shm").exists(),
    })
}

/// The journal mode from the header, or `NotSqlite` if there is no SQLite header.
pub(crate) fn journal_mode(path: &Path) -> Result<JournalMode, Error> {
    let mut header = [0u8; 100];
    let mut file = std::fs::File::open(path).map_err(|e| Error::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut got = 0;
    while got < header.len() {
        match file.read(&mut header[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(Error::Unreadable {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                });
            }
        }
    }
    if got < header.len() || &header[..16] != b"SQLite format 3\0" {
        return Err(Error::NotSqlite {
            path: path.to_path_buf(),
        });
    }
    Ok(if header[18] == 2 && header[19] == 2 {
        JournalMode::Wal
    } else {
        JournalMode::Rollback
    })
}

/// Which way to open the file in its present state.
pub(crate) fn access_for(mode: JournalMode, state: &FileState) -> Access {
    if mode == JournalMode::Wal && !state.wal && !state.shm {
        Access::Immutable
    } else {
        Access::ReadOnly
    }
}

/// `file:` URI of the path, percent-encoding everything but unreserved characters and `/`.
fn uri(path: &Path, access: Access) -> String {
    let mut out = String::from("file:");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out.push_str(match access {
        Access::ReadOnly => "?mode=ro",
        Access::Immutable => "?mode=ro&immutable=1",
    });
    out
}

/// A read-only connection.
pub(crate) fn connect(path: &Path, access: Access, busy: Duration) -> Result<Connection, Error> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection =
        Connection::open_with_flags(uri(path, access), flags).map_err(|e| sqlite_error(path, e))?;
    connection
        .busy_timeout(busy)
        .map_err(|e| sqlite_error(path, e))?;
    connection
        .pragma_update(None, "query_only", true)
        .map_err(|e| sqlite_error(path, e))?;
    Ok(connection)
}

/// SQLite's failure, named. `Locked` carries no wait here; the caller fills it in.
pub(crate) fn sqlite_error(path: &Path, error: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode;
    let path = path.to_path_buf();
    if let rusqlite::Error::SqliteFailure(failure, message) = &error {
        match failure.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                return Error::Locked {
                    database: path.display().to_string(),
                    waited: Duration::ZERO,
                };
            }
            ErrorCode::NotADatabase => return Error::NotSqlite { path },
            ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::SystemIoFailure => {
                return Error::Unreadable {
                    path,
                    reason: error.to_string(),
                };
            }
            ErrorCode::ReadOnly => {
                // SQLITE_READONLY_ROLLBACK and friends: a hot journal or WAL recovery needs a
                // writer.
                return Error::Unreadable {
                    path,
                    reason: format!(
                        "{error}: an interrupted write must be recovered first (start OpenDNSSEC's \
                         enforcer once, or open the database with sqlite3), nothing was changed"
                    ),
                };
            }
            _ => {}
        }
        let text = message.as_deref().unwrap_or("");
        if text.contains("no such table") || text.contains("no such column") {
            return Error::NotOpenDnssec {
                database: path.display().to_string(),
                reason: text.to_string(),
            };
        }
    }
    Error::Sqlite {
        path,
        reason: error.to_string(),
    }
}

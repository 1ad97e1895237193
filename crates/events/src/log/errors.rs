//! How the log reports failure: the error types, the mapping of redb's errors onto
//! them, and the guard that turns a panic inside redb into [`LogError::Corrupt`].

use super::FORMAT;
use crate::chain::VerifyError;
use crate::codec::CodecError;
use redb::DatabaseError;
use std::path::{Path, PathBuf};

/// Why the log could not be used. Every variant leaves the file as it was.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("no event log at {path}; run 'ods-enforcer setup' to create one")]
    Missing { path: PathBuf },
    #[error("an event log already exists at {path}; refusing to overwrite it")]
    Exists { path: PathBuf },
    #[error("the event log {path} is locked by another process (is ods-enforcerd running?)")]
    Locked { path: PathBuf },
    #[error(
        "the event log {path} has format {found}, newer than this binary supports ({FORMAT}); \
         use a newer kasp-ledger"
    )]
    TooNew { path: PathBuf, found: u32 },
    #[error("the event log {path} is corrupted: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "the event log {path} needs a repair (a writer was interrupted); \
         open it for writing to repair it"
    )]
    NeedsRepair { path: PathBuf },
    #[error("the event log {path} changed while this command ran; nothing was appended, try again")]
    Conflict { path: PathBuf },
    #[error("the event log {path} was opened read-only")]
    ReadOnly { path: PathBuf },
    #[error("cannot use the event log {path}: {detail}")]
    Io { path: PathBuf, detail: String },
    /// The path no longer names the file this handle holds (see `EventLog::still_at_path`):
    /// what is appended to the held file would be gone at the next open.
    #[error(
        "the event log {path} is no longer the file this process opened ({detail}); \
         nothing more is appended to it: put the file back, or restart to use the file \
         now at that path"
    )]
    Replaced { path: PathBuf, detail: String },
}

/// What `verify` found: a broken chain (integrity), or a log it could not read.
#[derive(Debug, thiserror::Error)]
pub enum VerifyOutcome {
    #[error(transparent)]
    Broken(VerifyError),
    #[error(transparent)]
    Log(LogError),
}

/// Runs `f`, reporting a panic inside it as corruption.
///
/// redb 4.6 can panic on a damaged file (slice indexes out of range; in debug builds
/// also a `debug_assert` where release builds return `Corrupted`). The read paths
/// (`open`, `verify`, `for_each`, `latest_snapshot`) are what an operator runs on a
/// damaged log, so there a panic becomes [`LogError::Corrupt`] instead of ending the
/// process. `append` is not guarded: a panic inside a write transaction is left to
/// redb. (The panic hook still prints the panic; with `panic = "abort"` nothing can
/// be caught.)
pub(super) fn catch<T>(
    path: &Path,
    f: impl FnOnce() -> Result<T, LogError>,
) -> Result<T, LogError> {
    caught(f).unwrap_or_else(|what| Err(engine_failed(path, &what)))
}

/// `f`'s result, or the message of its panic.
pub(super) fn caught<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".to_string())
    })
}

pub(super) fn engine_failed(path: &Path, what: &str) -> LogError {
    corrupt(path, format!("the database engine failed on it ({what})"))
}

pub(super) fn io(path: &Path, e: impl Into<redb::Error>) -> LogError {
    let e: redb::Error = e.into();
    if let Some(detail) = damage(&e) {
        return LogError::Corrupt {
            path: path.to_path_buf(),
            detail,
        };
    }
    LogError::Io {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

/// What is wrong with the file, when `e` says the file is damaged rather than that it
/// could not be read: redb found it corrupted; it ends before the data its own header
/// describes (a read past the end: cut short); or it holds no redb database at all
/// (empty, or another kind of file). Every reader and writer classifies through here, so
/// they give the same verdict on the same file.
fn damage(e: &redb::Error) -> Option<String> {
    match e {
        redb::Error::Corrupted(_) => Some(e.to_string()),
        redb::Error::Io(io) => io_damage(io),
        other => {
            let detail = other.to_string();
            detail.contains("orrupt").then_some(detail)
        }
    }
}

fn io_damage(e: &std::io::Error) -> Option<String> {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => Some(format!(
            "the file ends before the data it records (cut short?): {e}"
        )),
        std::io::ErrorKind::InvalidData => Some(format!("not an event log: {e}")),
        _ => None,
    }
}

pub(super) fn corrupt(path: &Path, e: impl std::fmt::Display) -> LogError {
    LogError::Corrupt {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

pub(super) fn db_error(path: &Path, e: DatabaseError) -> LogError {
    let path = path.to_path_buf();
    match e {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            LogError::Locked { path }
        }
        DatabaseError::RepairAborted => LogError::NeedsRepair { path },
        DatabaseError::UpgradeRequired(v) => LogError::Corrupt {
            path,
            detail: format!("unsupported redb file format {v}"),
        },
        DatabaseError::Storage(redb::StorageError::Io(e)) => match io_damage(&e) {
            Some(detail) => LogError::Corrupt { path, detail },
            None => LogError::Io {
                path,
                detail: e.to_string(),
            },
        },
        other => {
            let detail = other.to_string();
            if detail.contains("orrupt") || detail.contains("invalid") {
                LogError::Corrupt { path, detail }
            } else {
                LogError::Io { path, detail }
            }
        }
    }
}

impl From<CodecError> for LogError {
    fn from(e: CodecError) -> Self {
        LogError::Corrupt {
            path: PathBuf::new(),
            detail: e.to_string(),
        }
    }
}

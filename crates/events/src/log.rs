//! The event log in a redb file.
//!
//! Tables: `events: u64 -> bytes` (the stored records), `meta: str -> bytes` (`format`:
//! u32 LE; `head`: seq u64 LE + 32-byte hash), `snapshots: u64 -> bytes` (projection
//! version u32 LE + encoded state after that seq; an optimisation, never the truth).
//!
//! Every append is one durable write transaction that first checks the head the
//! caller decided against, so two writers can never interleave a decision with a
//! stale view. Records are only ever inserted under a new key.
//!
//! Opening modes: read-only handles never write a byte (safe for `zone list` while a
//! daemon runs, and for commands that turn out to change nothing); read-write handles
//! are exclusive among writers. Both use redb's `SingleWriter` concurrency mode so
//! readers can follow a running writer.

use crate::chain::hash_record;
use crate::codec::{decode_record, encode_record, encode_value};
use crate::envelope::{Actor, Hash, Head, NewEvent, Record, Sealed};
use crate::event::{Event, LogCreated};
use crate::ids::Seq;
use crate::time::Timestamp;
use redb::{
    Builder, ConcurrencyMode, Database, ReadOnlyDatabase, ReadTransaction, ReadableDatabase,
    ReadableTable, TableDefinition,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

mod errors;
mod file;
mod verify;
pub use errors::{LogError, VerifyOutcome};
use errors::{catch, caught, corrupt, db_error, engine_failed, io};

/// The log format this binary writes and the newest it can read.
pub const FORMAT: u32 = 1;

const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const SNAPSHOTS: TableDefinition<u64, &[u8]> = TableDefinition::new("snapshots");

/// How many snapshots are kept (older ones are removed when a new one is written).
const KEEP_SNAPSHOTS: usize = 2;

/// Which handle to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadOnly,
    ReadWrite,
}

enum Db {
    Rw(Database),
    Ro(ReadOnlyDatabase),
}

/// A stored snapshot: the state after `seq`, encoded by the projector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub seq: Seq,
    pub version: u32,
    pub bytes: Vec<u8>,
}

/// An open event log.
pub struct EventLog {
    /// Always `Some` until dropped (see `Drop`).
    db: Option<Db>,
    /// Set when redb panicked on this handle: it is not used again (see `guard`).
    broken: AtomicBool,
    path: PathBuf,
    /// The file the path named when it was opened (see [`EventLog::still_at_path`]).
    file: file::FileId,
    head: Head,
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog")
            .field("path", &self.path)
            .field("head", &self.head)
            .finish()
    }
}

fn builder() -> Builder {
    let mut b = Builder::new();
    b.set_concurrency_mode(ConcurrencyMode::SingleWriter);
    b.set_cache_size(64 * 1024 * 1024);
    b
}

impl EventLog {
    /// Creates a new log holding record 0, `LogCreated`. Refuses an existing file.
    pub fn create(
        path: &Path,
        created: LogCreated,
        at: Timestamp,
        actor: Actor,
        cause: &str,
    ) -> Result<(EventLog, Sealed), LogError> {
        let p = path.to_path_buf();
        // create_new makes "refuse to overwrite" atomic against a concurrent setup.
        // Mode 0640 (owner and the daemon's group) whatever the umask: set again on the
        // open file, as the creation mode went through the umask.
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let made = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o640)
            .open(path)
            .and_then(|f| {
                f.set_permissions(std::fs::Permissions::from_mode(0o640))?;
                f.metadata()
            })
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => LogError::Exists { path: p.clone() },
                _ => LogError::Io {
                    path: p.clone(),
                    detail: e.to_string(),
                },
            })?;
        let file = file::FileId::of(&made);
        let db = match builder().create(path) {
            Ok(db) => db,
            Err(e) => {
                // Only the empty file we just made is removed.
                let _ = std::fs::remove_file(path);
                return Err(db_error(&p, e));
            }
        };
        let record = Record {
            seq: Seq(0),
            prev: Hash::GENESIS,
            at,
            actor,
            cause: cause.to_string(),
            event: Event::LogCreated(created),
        };
        let result = (|| {
            let bytes = encode_record(&record).map_err(|e| corrupt(&p, e))?;
            let hash = hash_record(&bytes);
            let tx = db.begin_write().map_err(|e| io(&p, e))?;
            {
                let mut events = tx.open_table(EVENTS).map_err(|e| io(&p, e))?;
                events.insert(0, bytes.as_slice()).map_err(|e| io(&p, e))?;
                let mut meta = tx.open_table(META).map_err(|e| io(&p, e))?;
                meta.insert("format", FORMAT.to_le_bytes().as_slice())
                    .map_err(|e| io(&p, e))?;
                let head = Head { seq: Seq(0), hash };
                meta.insert("head", encode_head(head).as_slice())
                    .map_err(|e| io(&p, e))?;
                tx.open_table(SNAPSHOTS).map_err(|e| io(&p, e))?;
            }
            tx.commit().map_err(|e| io(&p, e))?;
            Ok(hash)
        })();
        match result {
            Ok(hash) => {
                let head = Head { seq: Seq(0), hash };
                let sealed = Sealed { record, hash };
                Ok((
                    EventLog {
                        db: Some(Db::Rw(db)),
                        broken: AtomicBool::new(false),
                        path: p,
                        file,
                        head,
                    },
                    sealed,
                ))
            }
            Err(e) => {
                drop(db);
                let _ = std::fs::remove_file(path);
                Err(e)
            }
        }
    }

    /// Creates a new log holding `LogCreated` and, after it, `genesis`, all or nothing:
    /// the log is built under a temporary name beside `path` and given its name only once
    /// complete (a hard link, which refuses an existing file as `create` does), so a
    /// failure at any point leaves no file at `path`.
    pub fn create_with_genesis(
        path: &Path,
        created: LogCreated,
        at: Timestamp,
        actor: Actor,
        cause: &str,
        genesis: Vec<NewEvent>,
    ) -> Result<EventLog, LogError> {
        if path.exists() {
            return Err(LogError::Exists {
                path: path.to_path_buf(),
            });
        }
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(
            ".genesis-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let temporary = path.with_file_name(name);
        let built = (|| {
            let (mut log, _) = EventLog::create(&temporary, created, at, actor, cause)?;
            let head = log.head();
            log.append(head, genesis, |_| None)?;
            std::fs::hard_link(&temporary, path).map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => LogError::Exists {
                    path: path.to_path_buf(),
                },
                _ => LogError::Io {
                    path: path.to_path_buf(),
                    detail: e.to_string(),
                },
            })?;
            log.path = path.to_path_buf();
            Ok(log)
        })();
        let _ = std::fs::remove_file(&temporary);
        built
    }

    /// Opens an existing log.
    pub fn open(path: &Path, access: Access) -> Result<EventLog, LogError> {
        catch(path, || EventLog::open_unguarded(path, access))
    }

    fn open_unguarded(path: &Path, access: Access) -> Result<EventLog, LogError> {
        let p = path.to_path_buf();
        let before = match std::fs::metadata(path) {
            Ok(m) if m.is_file() && m.len() == 0 => {
                return Err(corrupt(
                    &p,
                    "the file is empty: it was cut short or overwritten",
                ));
            }
            Ok(m) if m.is_file() => file::FileId::of(&m),
            Ok(_) => {
                return Err(LogError::Io {
                    path: p,
                    detail: "not a regular file".to_string(),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LogError::Missing { path: p });
            }
            Err(e) => return Err(io(&p, e)),
        };
        let db = match access {
            Access::ReadWrite => Db::Rw(builder().open(path).map_err(|e| db_error(&p, e))?),
            Access::ReadOnly => Db::Ro(
                builder()
                    .open_read_only(path)
                    .map_err(|e| db_error(&p, e))?,
            ),
        };
        // The file redb opened is the one the path named before and after the open.
        if let Some(why) = file::named_by(path, before).map_err(|e| io(&p, e))? {
            return Err(LogError::Io {
                path: p,
                detail: format!("{why}; try again"),
            });
        }
        let mut log = EventLog {
            db: Some(db),
            broken: AtomicBool::new(false),
            path: p,
            file: before,
            head: Head {
                seq: Seq(0),
                hash: Hash::GENESIS,
            },
        };
        if access == Access::ReadOnly
            && let Err(e) = file::check_length(path)
        {
            return Err(log.with_last_good_record(e));
        }
        let tx = log.read()?;
        let meta = tx
            .open_table(META)
            .map_err(|e| corrupt(&log.path, format!("no meta table ({e})")))?;
        let format = meta
            .get("format")
            .map_err(|e| io(&log.path, e))?
            .ok_or_else(|| corrupt(&log.path, "no format version"))?;
        let format: [u8; 4] = format
            .value()
            .try_into()
            .map_err(|_| corrupt(&log.path, "bad format version"))?;
        let format = u32::from_le_bytes(format);
        if format > FORMAT {
            return Err(LogError::TooNew {
                path: log.path.clone(),
                found: format,
            });
        }
        let head = meta
            .get("head")
            .map_err(|e| io(&log.path, e))?
            .ok_or_else(|| corrupt(&log.path, "no head"))?;
        log.head = decode_head(head.value()).ok_or_else(|| corrupt(&log.path, "bad head"))?;
        drop(meta);
        drop(tx);
        Ok(log)
    }

    /// `e` (the file is damaged) with the last record that can still be read and links
    /// to the ones before it: what of the log survives.
    fn with_last_good_record(&self, e: LogError) -> LogError {
        let LogError::Corrupt { path, detail } = e else {
            return e;
        };
        let mut last: Option<(Seq, Hash)> = None;
        let _ = self.for_each(Seq(0), |s| {
            let (seq, prev) = last.map_or((Seq(0), Hash::GENESIS), |(q, h)| (Seq(q.0 + 1), h));
            if s.record.seq != seq || s.record.prev != prev {
                return Err(corrupt(&self.path, "broken link"));
            }
            last = Some((seq, s.hash));
            Ok(())
        });
        let survives = match last {
            Some((seq, _)) => format!("the last good record: {seq}"),
            None => "no record can be read".to_string(),
        };
        LogError::Corrupt {
            path,
            detail: format!("{detail}; {survives}"),
        }
    }

    fn db(&self) -> Result<&Db, LogError> {
        if self.broken.load(Ordering::Relaxed) {
            return Err(corrupt(
                &self.path,
                "the database engine failed on it earlier; open it again",
            ));
        }
        Ok(self
            .db
            .as_ref()
            .expect("the database is only taken on drop"))
    }

    /// [`catch`], and after a panic this handle refuses all further use.
    fn guard<T>(&self, f: impl FnOnce() -> Result<T, LogError>) -> Result<T, LogError> {
        caught(f).unwrap_or_else(|what| {
            self.broken.store(true, Ordering::Relaxed);
            Err(engine_failed(&self.path, &what))
        })
    }

    /// The path of the log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the path still names the file this handle holds. A file removed, or
    /// replaced by another (`mv` over it), while it is held stays readable through the
    /// handle, but whatever is appended to it is gone at the next open:
    /// [`LogError::Replaced`] says so.
    pub fn still_at_path(&self) -> Result<(), LogError> {
        match file::named_by(&self.path, self.file).map_err(|e| io(&self.path, e))? {
            None => Ok(()),
            Some(detail) => Err(LogError::Replaced {
                path: self.path.clone(),
                detail,
            }),
        }
    }

    /// The last record's seq and hash.
    pub fn head(&self) -> Head {
        self.head
    }

    fn read(&self) -> Result<ReadTransaction, LogError> {
        let r = match self.db()? {
            Db::Rw(db) => db.begin_read(),
            Db::Ro(db) => db.begin_read(),
        };
        r.map_err(|e| io(&self.path, e))
    }

    /// Appends events in one durable transaction, if the log's head is still
    /// `expected`. `snapshot` is called with the sealed batch before the commit and may
    /// return (projection version, encoded state after the batch) to store with it.
    pub fn append(
        &mut self,
        expected: Head,
        events: Vec<NewEvent>,
        snapshot: impl FnOnce(&[Sealed]) -> Option<(u32, Vec<u8>)>,
    ) -> Result<Vec<Sealed>, LogError> {
        let p = self.path.clone();
        let Db::Rw(db) = self.db()? else {
            return Err(LogError::ReadOnly { path: p });
        };
        if events.is_empty() {
            return Ok(Vec::new());
        }
        // Nothing is written to a file the path no longer names.
        self.still_at_path()?;
        let tx = db.begin_write().map_err(|e| io(&p, e))?;
        let mut sealed = Vec::with_capacity(events.len());
        let head = {
            let mut meta = tx.open_table(META).map_err(|e| io(&p, e))?;
            let stored = meta
                .get("head")
                .map_err(|e| io(&p, e))?
                .and_then(|v| decode_head(v.value()))
                .ok_or_else(|| corrupt(&p, "no head"))?;
            if stored != expected {
                return Err(LogError::Conflict { path: p });
            }
            let mut table = tx.open_table(EVENTS).map_err(|e| io(&p, e))?;
            let mut head = stored;
            for e in events {
                let record = Record {
                    seq: Seq(head.seq.0 + 1),
                    prev: head.hash,
                    at: e.at,
                    actor: e.actor,
                    cause: e.cause,
                    event: e.event,
                };
                let bytes = encode_record(&record).map_err(|e| corrupt(&p, e))?;
                let hash = hash_record(&bytes);
                if table
                    .insert(record.seq.0, bytes.as_slice())
                    .map_err(|e| io(&p, e))?
                    .is_some()
                {
                    return Err(corrupt(
                        &p,
                        format!("record {} exists beyond the head", record.seq),
                    ));
                }
                head = Head {
                    seq: record.seq,
                    hash,
                };
                sealed.push(Sealed { record, hash });
            }
            meta.insert("head", encode_head(head).as_slice())
                .map_err(|e| io(&p, e))?;
            if let Some((version, state)) = snapshot(&sealed) {
                let mut snaps = tx.open_table(SNAPSHOTS).map_err(|e| io(&p, e))?;
                let mut value = version.to_le_bytes().to_vec();
                value.extend_from_slice(&state);
                snaps
                    .insert(head.seq.0, value.as_slice())
                    .map_err(|e| io(&p, e))?;
                let keys: Vec<u64> = snaps
                    .iter()
                    .map_err(|e| io(&p, e))?
                    .filter_map(|r| r.ok().map(|(k, _)| k.value()))
                    .collect();
                for k in keys.iter().take(keys.len().saturating_sub(KEEP_SNAPSHOTS)) {
                    snaps.remove(*k).map_err(|e| io(&p, e))?;
                }
            }
            head
        };
        tx.commit().map_err(|e| io(&p, e))?;
        self.head = head;
        // The commit is durable in the file this handle holds; it is durable in the log
        // only if the path still names that file now. Checked after the commit, so a file
        // swapped at any moment before it is caught: what is reported appended is in the
        // file the path names (a swap after this check is a change of the log by whoever
        // made it, as if made after the command).
        self.still_at_path().map_err(|e| match e {
            LogError::Replaced { path, detail } => LogError::Replaced {
                path,
                detail: format!(
                    "{detail}; records {} to {} were written to the file this process \
                     holds and will be gone at the next open: the command did NOT complete",
                    sealed.first().map_or(head.seq, |s| s.record.seq),
                    head.seq
                ),
            },
            other => other,
        })?;
        Ok(sealed)
    }

    /// Calls `f` with every record from `from` on, in order, decoding each.
    pub fn for_each<E: From<LogError>>(
        &self,
        from: Seq,
        mut f: impl FnMut(Sealed) -> Result<(), E>,
    ) -> Result<(), E> {
        self.for_each_raw(from, |seq, bytes| {
            let record = decode_record(bytes)
                .map_err(|e| corrupt(&self.path, format!("record {seq}: {e}")))?;
            if record.seq.0 != seq {
                return Err(corrupt(&self.path, format!("record {seq}: wrong seq")).into());
            }
            f(Sealed {
                record,
                hash: hash_record(bytes),
            })
        })
    }

    /// Calls `f` with the stored bytes of every record from `from` on.
    pub fn for_each_raw<E: From<LogError>>(
        &self,
        from: Seq,
        mut f: impl FnMut(u64, &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let p = &self.path;
        // Every redb call is guarded (see `guard`); `f` is not.
        let tx = self.guard(|| self.read())?;
        let table = self.guard(|| {
            tx.open_table(EVENTS)
                .map_err(|e| corrupt(p, format!("no events table ({e})")))
        })?;
        let mut rows = self.guard(|| table.range(from.0..).map_err(|e| io(p, e)))?;
        while let Some((k, v)) = self.guard(|| rows.next().transpose().map_err(|e| io(p, e)))? {
            let key = k.value();
            let bytes = self.guard(|| Ok(v.value()))?;
            f(key, bytes)?;
        }
        Ok(())
    }

    /// The chain hash of one stored record, if it exists.
    pub fn record_hash(&self, seq: Seq) -> Result<Option<Hash>, LogError> {
        let p = &self.path;
        let tx = self.read()?;
        let table = tx
            .open_table(EVENTS)
            .map_err(|e| corrupt(p, format!("no events table ({e})")))?;
        let v = table.get(seq.0).map_err(|e| io(p, e))?;
        Ok(v.map(|v| hash_record(v.value())))
    }

    /// The newest stored snapshot, if any.
    pub fn latest_snapshot(&self) -> Result<Option<Snapshot>, LogError> {
        self.guard(|| self.latest_snapshot_unguarded())
    }

    fn latest_snapshot_unguarded(&self) -> Result<Option<Snapshot>, LogError> {
        self.snapshot_until(self.head.seq)
    }

    /// The newest stored snapshot at or before `seq` (for replaying the log up to a
    /// past moment), if any.
    pub fn snapshot_at_or_before(&self, seq: Seq) -> Result<Option<Snapshot>, LogError> {
        self.guard(|| self.snapshot_until(seq.min(self.head.seq)))
    }

    fn snapshot_until(&self, seq: Seq) -> Result<Option<Snapshot>, LogError> {
        let p = &self.path;
        let tx = self.read()?;
        let table = match tx.open_table(SNAPSHOTS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(io(p, e)),
        };
        let Some(row) = table
            .range(..=seq.0)
            .map_err(|e| io(p, e))?
            .next_back()
            .transpose()
            .map_err(|e| io(p, e))?
        else {
            return Ok(None);
        };
        let (k, v) = row;
        let v = v.value();
        if v.len() < 4 || k.value() > self.head.seq.0 {
            return Ok(None);
        }
        Ok(Some(Snapshot {
            seq: Seq(k.value()),
            version: u32::from_le_bytes([v[0], v[1], v[2], v[3]]),
            bytes: v[4..].to_vec(),
        }))
    }
}

fn encode_head(h: Head) -> Vec<u8> {
    let mut v = h.seq.0.to_le_bytes().to_vec();
    v.extend_from_slice(&h.hash.0);
    v
}

fn decode_head(v: &[u8]) -> Option<Head> {
    if v.len() != 40 {
        return None;
    }
    let seq = u64::from_le_bytes(v[..8].try_into().ok()?);
    let hash: [u8; 32] = v[8..].try_into().ok()?;
    Some(Head {
        seq: Seq(seq),
        hash: Hash(hash),
    })
}

impl Drop for EventLog {
    fn drop(&mut self) {
        let db = self.db.take();
        if *self.broken.get_mut() {
            // After a panic inside redb its locks may be poisoned and closing could
            // panic again: the handle is leaked (the caller is reporting corruption).
            std::mem::forget(db);
        } else {
            // Closing a damaged file can panic in redb too; the error was or will be
            // reported by the operation that found the damage.
            let _ = caught(|| drop(db));
        }
    }
}

/// Encodes a snapshot value with the log's codec (re-exported for the projector's shell).
pub fn encode_snapshot<T: serde::Serialize>(state: &T) -> Option<Vec<u8>> {
    encode_value(state).ok()
}

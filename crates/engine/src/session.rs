//! A command's session: loads configuration and state, runs `decide`, appends, folds.
//!
//! A command reads the log through a read-only handle (which never writes a byte),
//! decides, and only if there are events to append opens the log for writing and
//! appends them in one transaction that checks the head it decided against. So a
//! refused or no-op command leaves the file byte-for-byte as it was, and a writer
//! that slipped in between makes the command decide again instead of appending a
//! decision taken on a stale view.

use crate::error::{Failure, RunError};
use crate::lock_wait::{self, LockWait};
use crate::repositories::Repositories;
use kasp_events::{Access, Actor, EventLog, LogError, NewEvent, Sealed, Seq, Timestamp, codec};
use kasp_projector::clock::SteadyClock;
use kasp_projector::decide::{Command, Decision, decide};
use kasp_projector::formats::conf::Conf;
use kasp_projector::scheduler::key_factory::KeyGenTask;
use kasp_projector::{PROJECTION_VERSION, State};
use std::cell::{Cell, Ref, RefCell, RefMut};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// Write a snapshot when this many records were appended since the last one.
pub const SNAPSHOT_EVERY: u64 = 1000;

/// A command that went through: the state after it, what was decided, what was sealed.
#[derive(Debug)]
pub struct Committed {
    pub state: Arc<State>,
    pub decision: Decision,
    pub sealed: Vec<Sealed>,
}

/// A command's session: what it runs with, daemonless or in the daemon alike.
#[derive(Debug)]
pub struct Session {
    pub conf_path: PathBuf,
    pub conf: Conf,
    /// The command line as typed (the cause of the events it appends).
    pub line: String,
    /// The OS user running the command.
    pub user: String,
    log: LogAccess,
    /// The HSM repositories: the daemon's, open (and logged in) for its lifetime, or
    /// this session's own, each opened on first use.
    hsm: Rc<RefCell<Repositories>>,
    /// Set once this session appended anything (shared with the command that made it:
    /// crates/cli/src/commands/mod.rs `Shell::fail`).
    appended: Rc<Cell<bool>>,
}

/// Where a session's log is.
#[derive(Debug)]
enum LogAccess {
    /// Daemonless: the file is opened for each read and each append, except while the
    /// session holds it ([`Session::exclusively`]).
    OnDisk(Box<OnDisk>),
    /// The log held open by the daemon that runs this command (its single writer), with
    /// the daemon's cache.
    Held(Rc<Held>),
    /// What the daemon's writer last published ([`Published`]): a read-only command
    /// answered beside the writer, without the log.
    Published(Arc<Published>),
}

/// The daemon's state as its writer published it after its last job (and before it
/// acknowledged that job to its client): what the read-only commands are answered from
/// while the writer is busy (crates/cli/src/daemon/reader.rs). Immutable; the next
/// job's view replaces it.
#[derive(Debug, Clone)]
pub struct Published {
    pub conf: Conf,
    pub cached: Cached,
    /// The daemon's queued key generation ([`Held::queued_generation`]).
    pub queued_generation: Option<(Timestamp, KeyGenTask)>,
}

impl Published {
    /// The view of `held` as it stands, with configuration `conf`; `None` when the
    /// log cannot be folded (the commands then wait for the writer, which says why).
    pub fn of(held: &Held, conf: Conf) -> Option<Published> {
        held.state()?;
        let cached = held.cache.borrow().clone()?;
        Some(Published {
            conf,
            cached,
            queued_generation: held.queued_generation.borrow().clone(),
        })
    }
}

/// A daemonless session's log.
#[derive(Debug, Default)]
struct OnDisk {
    /// The state this session last folded or appended, with the head it belongs to: a
    /// later load whose log still has that head reuses it instead of folding again (one
    /// command may decide several times: a command, the scheduler, effects).
    cache: RefCell<Option<Cached>>,
    /// The log opened for writing while the session holds it ([`Session::exclusively`]);
    /// reads and appends then go through it.
    held: RefCell<Option<EventLog>>,
    /// How many [`Session::exclusively`] calls are running: the hold ends with the last.
    holds: Cell<u32>,
    /// How long to wait when another process holds the log.
    wait: LockWait,
}

impl Session {
    /// A daemonless session: the log is opened per read and append, the repositories on
    /// first use.
    pub fn daemonless(conf_path: PathBuf, conf: Conf, line: String, user: String) -> Session {
        Session {
            conf_path,
            conf,
            line,
            user,
            log: LogAccess::OnDisk(Box::default()),
            hsm: Rc::new(RefCell::new(Repositories::default())),
            appended: Rc::default(),
        }
    }

    /// How long a daemonless session waits for a log another process holds (nothing
    /// in the daemon, which holds its log itself).
    pub fn set_lock_wait(&mut self, wait: LockWait) {
        if let LogAccess::OnDisk(d) = &mut self.log {
            d.wait = wait;
        }
    }

    /// Sets `flag` once this session appends anything.
    pub fn report_appends_to(&mut self, flag: Rc<Cell<bool>>) {
        if self.appended.get() {
            flag.set(true);
        }
        self.appended = flag;
    }

    /// Runs `f` with the log to this session alone: daemonless, the log is opened for
    /// writing first (waiting for another process's hold, [`crate::lock_wait`]) and held
    /// until `f` returns, so no other process appends in between and every read sees
    /// the log as it stands. Resolving an interrupted key generation runs so: an intent
    /// it finds open belongs to no live process (crates/projector/src/scheduler/keys.rs).
    /// In the daemon, the only writer, `f` just runs. Nested calls run under the
    /// outermost hold.
    pub fn exclusively<T, E: From<Failure>>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        self.hold(true, f)
    }

    /// [`Session::exclusively`] from the first append in `f` on: until then `f` reads as
    /// any reader (its first decision is checked against the head and taken again under
    /// the hold if another writer slipped in), and a run that appends nothing never opens
    /// the log for writing, leaving the file byte-for-byte as it was. What `f` does after
    /// its first append — the effects of a scheduler run, a key's generation after its
    /// intent — no other process interleaves with.
    pub fn exclusively_once_it_appends<T, E: From<Failure>>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        self.hold(false, f)
    }

    fn hold<T, E: From<Failure>>(
        &self,
        now: bool,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let LogAccess::OnDisk(d) = &self.log else {
            return f();
        };
        d.holds.set(d.holds.get() + 1);
        let result = if now {
            self.take_hold(d).map_err(E::from).and_then(|()| f())
        } else {
            f()
        };
        d.holds.set(d.holds.get() - 1);
        if d.holds.get() == 0 {
            *d.held.borrow_mut() = None;
        }
        result
    }

    /// Opens the log for writing and keeps it, unless it is kept already.
    fn take_hold(&self, d: &OnDisk) -> Result<(), Failure> {
        if d.held.borrow().is_none() {
            let log = lock_wait::open(&self.log_path(), Access::ReadWrite, &d.wait)?;
            *d.held.borrow_mut() = Some(log);
        }
        Ok(())
    }

    /// A session in the daemon: its held log and its open repositories.
    pub fn in_daemon(
        conf_path: PathBuf,
        conf: Conf,
        line: String,
        user: String,
        held: Rc<Held>,
        hsm: Rc<RefCell<Repositories>>,
    ) -> Session {
        Session {
            conf_path,
            conf,
            line,
            user,
            log: LogAccess::Held(held),
            hsm,
            appended: Rc::default(),
        }
    }

    /// A session of a read-only command on the view the daemon's writer published: its
    /// state and configuration; it cannot append, read the log or reach the daemon's
    /// repositories.
    pub fn on_published(
        conf_path: PathBuf,
        published: Arc<Published>,
        line: String,
        user: String,
    ) -> Session {
        Session {
            conf_path,
            conf: published.conf.clone(),
            line,
            user,
            log: LogAccess::Published(published),
            hsm: Rc::new(RefCell::new(Repositories::default())),
            appended: Rc::default(),
        }
    }

    /// The session's HSM repositories (one borrower at a time: the real world of one
    /// scheduler run, or a command's own HSM work).
    pub fn repositories(&self) -> RefMut<'_, Repositories> {
        self.hsm.borrow_mut()
    }

    /// Whether the session runs in the daemon (on the log it holds).
    pub fn is_in_daemon(&self) -> bool {
        matches!(self.log, LogAccess::Held(_) | LogAccess::Published(_))
    }

    /// Queues a key generation scheduled at `at` in the daemon's task queue, replacing the
    /// one waiting (2.1.12's `schedule_task` merges tasks of the same owner and type; the
    /// earlier time stays). Daemonless there is no queue: nothing is kept.
    pub fn queue_generation(&self, at: Timestamp, task: KeyGenTask) {
        if let LogAccess::Held(held) = &self.log {
            let mut queued = held.queued_generation.borrow_mut();
            let at = queued.as_ref().map_or(at, |(t, _)| (*t).min(at));
            *queued = Some((at, task));
        }
    }

    /// The key generation waiting in the daemon's task queue, with when it was scheduled.
    pub fn queued_generation(&self) -> Option<(Timestamp, KeyGenTask)> {
        match &self.log {
            LogAccess::Held(held) => held.queued_generation.borrow().clone(),
            LogAccess::Published(p) => p.queued_generation.clone(),
            LogAccess::OnDisk(_) => None,
        }
    }

    /// Takes the queued key generation when it was scheduled by `to`.
    pub fn take_queued_generation(&self, to: Timestamp) -> Option<KeyGenTask> {
        let LogAccess::Held(held) = &self.log else {
            return None;
        };
        let mut queued = held.queued_generation.borrow_mut();
        match queued.take() {
            Some((t, task)) if t <= to => Some(task),
            other => {
                *queued = other;
                None
            }
        }
    }
}

/// The daemon's log: opened read-write once, for its lifetime, with the state folded
/// from it. Every command the daemon runs reads and appends through it, on the one
/// thread that owns it.
#[derive(Debug)]
pub struct Held {
    pub log: RefCell<EventLog>,
    pub cache: RefCell<Option<Cached>>,
    /// With `WorkerThreads` 0 (on a log that may leap): the key generation waiting in
    /// the task queue since the time it was scheduled, carried out by the next `time
    /// leap --attach` (crates/engine/src/due.rs, `holds_tasks`). Like 2.1.12's queue it
    /// lives in memory: a restart schedules a generation for every policy.
    pub queued_generation: RefCell<Option<(Timestamp, KeyGenTask)>>,
}

impl Held {
    /// Opens (and repairs, after a crash) the log for writing and folds it.
    ///
    /// The log is checked and folded through a read-only handle first: a damaged file is
    /// refused as every other reader refuses it, and without the read-write open, which
    /// writes (redb marks the file as in use). Only a file a writer left open (it needs
    /// redb's repair) is opened for writing first.
    pub fn open(path: &Path) -> Result<Held, Failure> {
        let checked = match EventLog::open(path, Access::ReadOnly) {
            Ok(log) => {
                let head = log.head();
                let (state, snapshot) = fold(&log)?;
                Some(Cached {
                    head,
                    state: Arc::new(state),
                    snapshot,
                })
            }
            Err(LogError::NeedsRepair { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let log = EventLog::open(path, Access::ReadWrite)?;
        let head = log.head();
        let cached = match checked {
            // Nobody appended between the two opens.
            Some(c) if c.head == head => c,
            _ => {
                let (state, snapshot) = fold(&log)?;
                Cached {
                    head,
                    state: Arc::new(state),
                    snapshot,
                }
            }
        };
        Ok(Held {
            log: RefCell::new(log),
            cache: RefCell::new(Some(cached)),
            queued_generation: RefCell::new(None),
        })
    }

    /// The current state: the cache, which follows the held log, or (after a command
    /// failed midway and let it go) the log folded again.
    pub fn state(&self) -> Option<Arc<State>> {
        if let Some(c) = self.cache.borrow().as_ref() {
            return Some(c.state.clone());
        }
        let log = self.log.borrow();
        let head = log.head();
        let (state, snapshot) = fold(&log).ok()?;
        let state = Arc::new(state);
        *self.cache.borrow_mut() = Some(Cached {
            head,
            state: state.clone(),
            snapshot,
        });
        Some(state)
    }
}

/// A log to read: the daemon's held one, or a read-only handle of this command's.
#[derive(Debug)]
pub enum LogRef<'a> {
    Own(EventLog),
    Held(std::cell::Ref<'a, EventLog>),
}

impl std::ops::Deref for LogRef<'_> {
    type Target = EventLog;
    fn deref(&self) -> &EventLog {
        match self {
            LogRef::Own(l) => l,
            LogRef::Held(l) => l,
        }
    }
}

/// A folded state and the log head (and last snapshot) it belongs to.
#[derive(Debug, Clone)]
pub struct Cached {
    pub head: kasp_events::Head,
    /// Shared, not copied: a read command costs no copy of the whole state.
    pub state: Arc<State>,
    pub snapshot: Option<Seq>,
}

impl Session {
    /// The event log: `<Enforcer/WorkingDirectory>/events.redb`.
    pub fn log_path(&self) -> PathBuf {
        Path::new(&self.conf.enforcer.working_directory).join("events.redb")
    }

    /// The internal zone list the signer reads: `<WorkingDirectory>/zones.xml`.
    pub fn internal_zonelist(&self) -> PathBuf {
        Path::new(&self.conf.enforcer.working_directory).join("zones.xml")
    }

    /// The state cache: the daemon's (shared by its commands) or this session's; a
    /// published view has none (it is never folded into).
    fn cache(&self) -> Option<&RefCell<Option<Cached>>> {
        match &self.log {
            LogAccess::Held(h) => Some(&h.cache),
            LogAccess::OnDisk(d) => Some(&d.cache),
            LogAccess::Published(_) => None,
        }
    }

    /// A published view has no log to read or append to.
    fn no_log(&self) -> Failure {
        Failure::env(format!(
            "internal error: the command needs the event log {}, not the enforcer's \
             published view",
            self.log_path().display()
        ))
    }

    /// The log to read from: the daemon's, or opened read-only (repairing it first when
    /// a writer was interrupted).
    pub fn reader(&self) -> Result<LogRef<'_>, Failure> {
        let d = match &self.log {
            LogAccess::Held(h) => return Ok(LogRef::Held(h.log.borrow())),
            LogAccess::Published(_) => return Err(self.no_log()),
            LogAccess::OnDisk(d) => d,
        };
        if let Ok(held) = Ref::filter_map(d.held.borrow(), Option::as_ref) {
            return Ok(LogRef::Held(held));
        }
        let path = self.log_path();
        let log = match EventLog::open(&path, Access::ReadOnly) {
            // A writer was interrupted (crash, kill): redb repairs the file on the next
            // read-write open, which only rebuilds its allocator state; the records and
            // the chain are untouched and are verified by the fold below.
            Err(LogError::NeedsRepair { .. }) => {
                drop(lock_wait::open(&path, Access::ReadWrite, &d.wait)?);
                lock_wait::open(&path, Access::ReadOnly, &d.wait)?
            }
            Err(LogError::Locked { .. }) => lock_wait::open(&path, Access::ReadOnly, &d.wait)?,
            other => other?,
        };
        Ok(LogRef::Own(log))
    }

    /// Folds the log into the current state; returns it with the head it belongs to.
    pub fn load(&self) -> Result<(kasp_events::Head, Arc<State>, Option<Seq>), Failure> {
        let Some(cache) = self.cache() else {
            let LogAccess::Published(p) = &self.log else {
                return Err(self.no_log());
            };
            let c = &p.cached;
            return Ok((c.head, c.state.clone(), c.snapshot));
        };
        let log = self.reader()?;
        let head = log.head();
        if let Some(c) = cache.borrow().as_ref().filter(|c| c.head == head) {
            return Ok((head, c.state.clone(), c.snapshot));
        }
        let (state, snap) = fold(&log)?;
        let state = Arc::new(state);
        *cache.borrow_mut() = Some(Cached {
            head,
            state: state.clone(),
            snapshot: snap,
        });
        Ok((head, state, snap))
    }

    /// Decides `command` against the current state and appends what it decided.
    /// Daemonless, a decision that another process's append overtook is taken again
    /// with the log held ([`Session::exclusively`]), where nothing can overtake it.
    pub fn run(&self, actor: Actor, command: &Command) -> Result<Committed, RunError> {
        for _attempt in 0..5 {
            let (head, state, snap) = self.load()?;
            let now = state.now(system_now());
            let decision = decide(&state, command, now).map_err(RunError::Rejected)?;
            if decision.events.is_empty() {
                return Ok(Committed {
                    state,
                    decision,
                    sealed: Vec::new(),
                });
            }
            let events = decision
                .events
                .iter()
                .map(|e| NewEvent {
                    at: now,
                    actor: actor.clone(),
                    cause: self.line.clone(),
                    event: e.clone(),
                })
                .collect();
            let mut own = None;
            let mut held;
            // Whether a conflict can be retried as it is: with the log held (the daemon's,
            // or this session's), the next decision cannot be overtaken.
            let holding = match &self.log {
                LogAccess::Held(_) => true,
                LogAccess::OnDisk(d) => {
                    if d.holds.get() > 0 {
                        self.take_hold(d)?;
                    }
                    d.held.borrow().is_some()
                }
                LogAccess::Published(_) => return Err(self.no_log().into()),
            };
            let (log, cache): (&mut EventLog, _) = match &self.log {
                LogAccess::Held(h) => {
                    held = h.log.borrow_mut();
                    (&mut held, &h.cache)
                }
                LogAccess::OnDisk(d) => {
                    let log = match RefMut::filter_map(d.held.borrow_mut(), Option::as_mut) {
                        Ok(h) => {
                            held = h;
                            &mut held
                        }
                        Err(_) => own.insert(lock_wait::open(
                            &self.log_path(),
                            Access::ReadWrite,
                            &d.wait,
                        )?),
                    };
                    (log, &d.cache)
                }
                LogAccess::Published(_) => return Err(self.no_log().into()),
            };
            // Refused while the cache still holds the state: nothing is appended to a file
            // the path no longer names (append checks again, and after its commit).
            if let Err(e) = log.still_at_path() {
                return Err(self.replaced(e).into());
            }
            // The state to fold the new records into: the cached one itself when no one
            // else holds it (the cache is refilled below), else a copy.
            *cache.borrow_mut() = None;
            let mut state = Arc::unwrap_or_clone(state);
            match append_folding(log, head, events, &mut state, snap) {
                Ok(sealed) => {
                    self.appended.set(true);
                    let state = Arc::new(state);
                    remember(cache, log, &state, snap, &sealed);
                    crate::decision_log::committed(
                        &decision.events,
                        &state,
                        crate::decision_log::Context {
                            now: sealed.first().map_or(Timestamp(0), |s| s.record.at),
                            rollover_notification: self
                                .conf
                                .enforcer
                                .rollover_notification
                                .unwrap_or_default(),
                        },
                    );
                    return Ok(Committed {
                        state,
                        decision,
                        sealed,
                    });
                }
                Err(LogError::Conflict { .. }) if holding => continue,
                Err(LogError::Conflict { .. }) => {
                    // Let go of this handle: the hold opens its own.
                    drop(own.take());
                    return self.exclusively(|| self.run(actor.clone(), command));
                }
                Err(e @ LogError::Replaced { .. }) => return Err(self.replaced(e).into()),
                Err(e) => return Err(e.into()),
            }
        }
        Err(Failure::env(format!(
            "the event log {} kept changing under this command; nothing was appended",
            self.log_path().display()
        ))
        .into())
    }
}

impl Session {
    /// A log whose path no longer names the file held: the daemon says so in its log, at
    /// error level, every time it refuses a write for it.
    fn replaced(&self, e: LogError) -> LogError {
        if self.is_in_daemon() {
            crate::logger::log(crate::logger::Level::Error, &format!("[engine] {e}"));
        }
        e
    }
}

/// Caches the state after an append by a command.
fn remember(
    cache: &RefCell<Option<Cached>>,
    log: &EventLog,
    state: &Arc<State>,
    snap: Option<Seq>,
    sealed: &[Sealed],
) {
    // append_folding stores a snapshot at the last record once SNAPSHOT_EVERY
    // records accumulated (only the timing of the next snapshot depends on this).
    let snapshot = match sealed.last() {
        Some(s) if s.record.seq.0.saturating_sub(snap.map_or(0, |x| x.0)) >= SNAPSHOT_EVERY => {
            Some(s.record.seq)
        }
        _ => snap,
    };
    *cache.borrow_mut() = Some(Cached {
        head: log.head(),
        state: state.clone(),
        snapshot,
    });
}

/// Appends `events` at `head` and folds the sealed records into `state`, storing a
/// snapshot in the same transaction when enough records have accumulated.
pub fn append_folding(
    log: &mut EventLog,
    head: kasp_events::Head,
    events: Vec<NewEvent>,
    state: &mut State,
    last_snapshot: Option<Seq>,
) -> Result<Vec<Sealed>, LogError> {
    log.append(head, events, |sealed| {
        for s in sealed {
            state.apply(&s.record);
        }
        let last = sealed.last()?.record.seq.0;
        let since = last.saturating_sub(last_snapshot.map_or(0, |s| s.0));
        if since >= SNAPSHOT_EVERY {
            codec::encode_value(&*state)
                .ok()
                .map(|bytes| (PROJECTION_VERSION, bytes))
        } else {
            None
        }
    })
}

pub use crate::replay::fold;

/// The system clock, as enforcer time: never going backwards in this process, never
/// slower than the monotonic clock (kasp_projector::clock::SteadyClock), so a clock set
/// back while the daemon runs changes nothing.
pub fn system_now() -> Timestamp {
    static START: OnceLock<Instant> = OnceLock::new();
    static CLOCK: Mutex<SteadyClock> = Mutex::new(SteadyClock::new());
    let monotonic = START.get_or_init(Instant::now).elapsed();
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let monotonic = i64::try_from(monotonic.as_millis()).unwrap_or(i64::MAX);
    CLOCK
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .read(wall, monotonic)
}

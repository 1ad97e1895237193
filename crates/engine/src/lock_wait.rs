//! Opening the event log without a daemon, when another process holds it: a daemonless
//! command waits for the log's write lock (redb's, see crates/events/src/log.rs) up to a
//! limit (`ods-enforcer --wait-lock SECONDS`, default [`DEFAULT_LIMIT`]), telling the
//! operator after [`PROGRESS_AFTER`] that it is waiting, instead of failing at once.
//!
//! Other daemonless commands hold the lock only while they append (or while they make
//! keys in the HSM, crates/engine/src/session.rs `Session::exclusively`), so the wait is
//! short; a running daemon holds it for its lifetime, and then the limit ends the wait
//! with the usual "locked by another process" and how long it waited.

use crate::error::Failure;
use kasp_events::{Access, EventLog, LogError};
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How long a daemonless command waits for the log by default.
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(30);
/// After this long the operator is told that the command waits.
pub const PROGRESS_AFTER: Duration = Duration::from_secs(2);
/// And again every this long.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Where progress lines go (without a newline); the binary prints them.
pub type Progress = Rc<dyn Fn(&str)>;

/// How long to wait for the log's lock, and who is told of the wait.
#[derive(Clone)]
pub struct LockWait {
    pub limit: Duration,
    pub progress: Option<Progress>,
}

impl Default for LockWait {
    fn default() -> Self {
        LockWait {
            limit: DEFAULT_LIMIT,
            progress: None,
        }
    }
}

impl std::fmt::Debug for LockWait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockWait")
            .field("limit", &self.limit)
            .finish()
    }
}

/// Opens the log at `path`, waiting while another process holds it (see the module
/// documentation); every other failure is returned at once.
pub fn open(path: &Path, access: Access, wait: &LockWait) -> Result<EventLog, Failure> {
    let start = Instant::now();
    let mut next_progress = PROGRESS_AFTER;
    let mut attempt: u64 = 0;
    loop {
        match EventLog::open(path, access) {
            Err(LogError::Locked { .. }) => {}
            other => return Ok(other?),
        }
        let waited = start.elapsed();
        if waited >= wait.limit {
            let locked = LogError::Locked {
                path: path.to_path_buf(),
            };
            return Err(Failure::env(format!(
                "{locked}; waited {} s for it (ods-enforcer --wait-lock SECONDS)",
                seconds(waited)
            )));
        }
        if waited >= next_progress {
            if let Some(progress) = &wait.progress {
                progress(&format!(
                    "waiting for the event log {}, locked by another process ({} s of {})",
                    path.display(),
                    seconds(waited),
                    seconds(wait.limit)
                ));
            }
            next_progress += PROGRESS_EVERY;
        }
        attempt += 1;
        std::thread::sleep(poll_interval(attempt).min(wait.limit - waited));
    }
}

/// 10 to 49 ms, varied by process and attempt so that waiting processes do not retry in
/// step (the lock has no queue: whoever tries when it is free takes it).
fn poll_interval(attempt: u64) -> Duration {
    let spread = (u64::from(std::process::id()) * 7919 + attempt * 104_729) % 40;
    Duration::from_millis(10 + spread)
}

/// Whole seconds, rounded to the nearest.
fn seconds(d: Duration) -> u64 {
    (d.as_millis() as u64 + 500) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;
    use kasp_events::{Actor, ClockMode, InstanceId, LogCreated, Timestamp};

    fn new_log(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("events.redb");
        let created = LogCreated {
            format: kasp_events::log::FORMAT,
            instance: InstanceId([7; 16]),
            clock: ClockMode::System,
        };
        EventLog::create(&path, created, Timestamp(0), Actor::Scheduler, "test").unwrap();
        path
    }

    #[test]
    fn a_free_log_opens_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = new_log(dir.path());
        let t = Instant::now();
        open(&path, Access::ReadWrite, &LockWait::default()).unwrap();
        assert!(t.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_held_log_is_waited_for_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = new_log(dir.path());
        let held = EventLog::open(&path, Access::ReadWrite).unwrap();
        let wait = LockWait {
            limit: Duration::from_millis(300),
            progress: None,
        };
        let t = Instant::now();
        let e = open(&path, Access::ReadWrite, &wait).unwrap_err();
        assert!(t.elapsed() >= Duration::from_millis(300));
        assert!(
            e.message.contains("is locked by another process") && e.message.contains("waited"),
            "{e:?}"
        );
        assert_eq!(e.exit_code(), crate::exit::ENVIRONMENT);
        // A reader is not kept waiting by the writer.
        open(&path, Access::ReadOnly, &wait).unwrap();
        drop(held);
        open(&path, Access::ReadWrite, &wait).unwrap();
    }

    #[test]
    fn other_failures_do_not_wait() {
        let dir = tempfile::tempdir().unwrap();
        let t = Instant::now();
        let e = open(
            &dir.path().join("missing.redb"),
            Access::ReadWrite,
            &LockWait::default(),
        )
        .unwrap_err();
        assert!(e.message.contains("no event log"), "{e:?}");
        assert!(t.elapsed() < Duration::from_secs(1));
    }
}

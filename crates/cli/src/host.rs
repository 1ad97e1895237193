//! What a running daemon lends to the commands it runs: its configuration (re-read on
//! reload), the log it holds open as the single writer, and a mailbox for the control
//! commands (`stop`, `reload`) to ask the daemon for something once the command is done.
//!
//! Daemonless commands have no host; [`crate::commands::Shell::ctx`] then reads
//! conf.xml and opens the log itself.

use kasp_engine::Held;
use kasp_events::Timestamp;
use kasp_projector::formats::conf::Conf;
use kasp_projector::scheduler::key_factory::KeyGenTask;
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

/// What a control command asks of the daemon, carried out after the command answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// `stop`: finish and exit.
    Stop,
    /// `reload`, `update conf`, `update all`, `update repositorylist`: re-read conf.xml.
    Reload,
}

/// The daemon's resources, owned by its writer thread.
#[derive(Debug)]
pub struct Host {
    pub conf_path: PathBuf,
    pub conf: RefCell<Conf>,
    pub held: Rc<Held>,
    /// Requests of the control commands run so far, taken by the daemon after each one.
    pub requests: RefCell<Vec<Control>>,
    /// The HSM repositories, open (and logged in) for the daemon's lifetime; emptied
    /// when the configuration is re-read.
    pub hsm: Rc<RefCell<kasp_engine::repositories::Repositories>>,
    /// With `WorkerThreads` 0 (on a log that may leap): the key generation waiting in
    /// the task queue since the time it was scheduled, carried out by the next `time
    /// leap --attach` (see [`crate::commands::enforce::tasks_held`]). Like 2.1.12's
    /// queue it lives in memory: a restart schedules a generation for every policy.
    pub queued_generation: RefCell<Option<(Timestamp, KeyGenTask)>>,
}

impl Host {
    /// Asks the daemon for `what` once the current command is done.
    pub fn request(&self, what: Control) {
        self.requests.borrow_mut().push(what);
    }

    /// Queues a key generation scheduled at `at`, replacing the one waiting (2.1.12's
    /// `schedule_task` merges tasks of the same owner and type; the earlier time stays).
    pub fn queue_generation(&self, at: Timestamp, task: KeyGenTask) {
        let mut queued = self.queued_generation.borrow_mut();
        let at = queued.as_ref().map_or(at, |(t, _)| (*t).min(at));
        *queued = Some((at, task));
    }

    /// Takes the pending requests.
    pub fn take_requests(&self) -> Vec<Control> {
        std::mem::take(&mut *self.requests.borrow_mut())
    }
}

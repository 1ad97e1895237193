//! What a running daemon lends to the commands it runs: its configuration (re-read on
//! reload), the log it holds open as the single writer, and a mailbox for the control
//! commands (`stop`, `reload`) to ask the daemon for something once the command is done.
//!
//! Daemonless commands have no host; [`crate::commands::Shell::ctx`] then reads
//! conf.xml and opens the log itself.

use kasp_engine::Held;
use kasp_projector::formats::conf::Conf;
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
}

impl Host {
    /// A session on the daemon's log and repositories, with its configuration as it stands,
    /// for a command line `line` run by `user`.
    pub fn session(&self, line: &str, user: &str) -> kasp_engine::Session {
        kasp_engine::Session::in_daemon(
            self.conf_path.clone(),
            self.conf.borrow().clone(),
            line.to_string(),
            user.to_string(),
            self.held.clone(),
            self.hsm.clone(),
        )
    }

    /// Asks the daemon for `what` once the current command is done.
    pub fn request(&self, what: Control) {
        self.requests.borrow_mut().push(what);
    }

    /// Takes the pending requests.
    pub fn take_requests(&self) -> Vec<Control> {
        std::mem::take(&mut *self.requests.borrow_mut())
    }
}

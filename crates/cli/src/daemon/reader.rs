//! The read-only commands answered beside the writer: `zone list`, `key list`,
//! `rollover list`, `policy list` and `queue` (without `--at`, which replays the log:
//! [`crate::commands::answered_from_published`]) never wait for the writer's job in
//! flight — a scheduler run waiting for a hung signer or DS hook, say. After every job,
//! and before it acknowledges a command to its client, the writer publishes an
//! immutable view of its state and configuration on the [`Board`]; a connection runs
//! these commands on a blocking thread against the latest view, with the same command
//! code, so the text is what the writer would have printed. No client gets a view older
//! than the last command acknowledged to it.

use super::writer::FrameSink;
use crate::commands::{Shell, dispatch};
use crate::wire;
use kasp_engine::Published;
use kasp_engine::logger::{self, Level};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use tokio::sync::mpsc::UnboundedSender;

/// Where the writer publishes its view for the connections.
#[derive(Debug)]
pub struct Board {
    conf_path: PathBuf,
    latest: RwLock<Option<Arc<Published>>>,
}

impl Board {
    pub fn new(conf_path: PathBuf) -> Board {
        Board {
            conf_path,
            latest: RwLock::new(None),
        }
    }

    /// Replaces the view (`None`: the state could not be folded; the read-only
    /// commands then wait for the writer, which says why).
    pub fn publish(&self, view: Option<Published>) {
        let view = view.map(Arc::new);
        match self.latest.write() {
            Ok(mut latest) => *latest = view,
            Err(poisoned) => *poisoned.into_inner() = view,
        }
    }

    /// The latest view.
    pub fn latest(&self) -> Option<Arc<Published>> {
        match self.latest.read() {
            Ok(latest) => latest.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// Runs the read-only command `words` (the line `line` from `user`) against `view`,
/// streaming its frames and exit code to `reply`. Blocking: run it off the event loop.
pub fn answer(
    board: &Board,
    view: Arc<Published>,
    words: &[String],
    user: &str,
    reply: UnboundedSender<Vec<u8>>,
) {
    let line = words.join(" ");
    logger::log(Level::Verbose, &format!("[cmdhandler] {user}: {line}"));
    let mut sink = FrameSink::new(reply.clone());
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut shell = Shell {
            published: Some(view),
            ..Shell::new(
                &mut sink,
                board.conf_path.clone(),
                line.clone(),
                user.to_string(),
            )
        };
        dispatch(&mut shell, words)
    }));
    let code = run.unwrap_or_else(|_| {
        logger::log(
            Level::Crit,
            &format!("[cmdhandler] internal error running: {line}"),
        );
        let _ = reply.send(wire::text(
            wire::Opcode::Stderr,
            b"error: internal error in the enforcer daemon; nothing more was done\n",
        ));
        kasp_engine::exit::ENVIRONMENT
    });
    crate::output::Sink::flush(&mut sink);
    let _ = reply.send(wire::exit(code));
}

//! # kasp-engine: the imperative shell both binaries share
//!
//! `ods-enforcer` (daemonless) and `ods-enforcerd` run commands through the same engine.
//! A [`Session`] is a command's session: conf.xml, the event log (its own read-only handle
//! and a write per append, or the daemon's, held open as the single writer), the state
//! folded from it (cached by log head), and the HSM repositories. [`Session::run`] is the
//! runner: decide the command against the current state, append at the head it decided
//! against (deciding again when another writer slipped in), fold, and store a snapshot
//! every [`session::SNAPSHOT_EVERY`] records.
//!
//! What is due runs here ([`due`]: the scheduler's loop with what each command schedules
//! before it, the daemon's tasks held for `time leap --attach`). The real world lives here
//! too: the scheduler's ports over the log and the HSMs, files
//! and programs ([`world`]), signconf files and the signer notify ([`signconf`]), DS hooks
//! ([`dshook`]), the HSM repositories ([`repositories`]), signed checkpoints ([`audit`]),
//! configuration and schema checks ([`config`], [`schema`]), atomic files ([`files`]), the
//! daemon's log ([`logger`], [`decision_log`]), and the import of an OpenDNSSEC
//! installation ([`ods_import`]: its database checked against its HSM, its rows copied
//! into the genesis of a log).
//!
//! Rules: no domain decisions (they are kasp-projector's; the engine carries out effects
//! and records their outcomes, and builds no events itself but an import's genesis, which
//! copies what it read and decides nothing), no tokio, no printing to
//! stdout or stderr (the engine returns reports — decisions, warnings, [`Failure`]s — and
//! the binaries print them), and one mapping from failures to exit codes ([`error`]).

pub mod actor;
pub mod audit;
pub mod config;
pub mod decision_log;
pub mod dshook;
pub mod due;
pub mod effect_pool;
pub mod error;
pub mod files;
pub mod lock_wait;
pub mod logger;
pub mod ods_import;
pub mod paths;
pub mod random;
pub mod replay;
pub mod repositories;
pub mod schema;
pub mod session;
pub mod signconf;
pub mod world;

pub use error::{Failure, RunError, exit};
pub use session::{Cached, Committed, Held, LogRef, Published, Session, system_now};

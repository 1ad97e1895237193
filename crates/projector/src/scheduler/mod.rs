//! The enforcer's scheduler, written once: the loop that runs what is due
//! ([`run_due`]: NSEC3 resalts, enforcer runs, key generation, and the effects they need),
//! the task queue ([`queue`]), key generation between intent and outcome
//! ([`generate_keys`]) and the effects as data ([`Observed`]).
//!
//! The loop is written against two ports ([`Journal`], [`World`]): the shell implements
//! them over the event log and the real world (crates/cli/src/commands/enforce.rs), the
//! what-if ([`crate::whatif::simulate`]) in memory, so the daemon, the command line and the
//! what-if take the same decisions in the same order. Pure.

pub mod ds;
mod effects;
pub mod key_factory;
mod keys;
pub mod plan;
mod ports;
mod queue;
pub mod resalt;
pub mod round;
mod run;

pub use effects::{
    DsCommands, DsTask, DsTaskOutcome, DsWork, Observed, decide_observed, ds_log_line,
    ds_tasks_due, ds_work, ds_work_message, material_to_destroy, material_to_purge, signconf_files,
};
pub use keys::{generate_keys, resolve_pending};
pub use ports::{
    DsHookCall, Journal, KeyFailure, LogLevel, MaterialToDestroy, PendingKey, Recorded,
    SignconfFile, World,
};
pub use queue::{Task, next_leap, next_task, queue, tasks};
pub use run::{Due, SchedulerConf, draw_salts, generate_waiting, run_due};

//! # kasp-projector: the pure domain of kasp-ledger
//!
//! Folds the event log into views ([`state::State`] and its `apply`), decides what a
//! command means against those views ([`decide`]), and reads and writes the file
//! formats OpenDNSSEC operators already have (kasp.xml, conf.xml, zonelist.xml).
//! [`simulate`] runs the enforcer loop on a copy of the state for what-if questions, and
//! [`timeline`] draws a zone's key states over time; neither touches the caller's state.
//!
//! Invariants:
//! - Pure: no clock, no file system, no sockets, no HSM. `decide` takes `now` as an
//!   argument; parsers take the text and the file name (for messages) and never open
//!   anything. `clippy.toml` disallows the clock and `std::fs` here.
//! - `apply` never decides: it copies facts from events into views, so replaying an
//!   old log gives the old answers even after the rules change.
//! - Views use ordered maps; the same log gives byte-identical output.
//! - `PROJECTION_VERSION` changes whenever `apply` or the shape of `State` changes, so
//!   stored snapshots made by an older binary are ignored and rebuilt.

pub mod audit;
pub mod conf;
pub mod decide;
pub mod decide_ds;
pub mod decide_enforce;
pub mod decide_keys;
pub mod ds_tasks;
pub mod due_round;
pub mod duration;
mod enforce_apply;
pub mod enforce_plan;
pub mod enforcer;
pub mod factory;
pub mod history;
pub mod kasp;
pub mod kasp_export;
pub mod kaspcheck;
pub mod pool;
pub mod resalt;
pub mod scheduler;
pub mod signconf;
pub mod simulate;
mod simulate_effects;
pub mod simulate_items;
#[cfg(test)]
mod simulate_tests;
pub mod simulate_text;
pub mod state;
#[cfg(feature = "testgen")]
pub mod testgen;
pub mod timeline;
pub mod xmlin;
pub mod xmlout;
pub mod zonelist;

pub use state::{PROJECTION_VERSION, State};

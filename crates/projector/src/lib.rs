//! # kasp-projector: the pure domain of kasp-ledger
//!
//! Folds the event log into views ([`state::State`] and its `apply`), decides what a
//! command means against those views ([`decide`]), and reads and writes the file
//! formats OpenDNSSEC operators already have (kasp.xml, conf.xml, zonelist.xml).
//! The folders, by concept:
//!
//! - [`state`]: the views and `apply` (zones, policies, the key pool).
//! - [`clock`]: the enforcer's time from the system clock, never going backwards.
//! - [`decide`]: what a command means (zones, policies, keys, DS, enforcer, audit).
//! - [`enforcer`]: OpenDNSSEC 2.1's key state machine on one zone, and what it explains.
//! - [`scheduler`]: the enforcer loop written once against ports: the task queue, the
//!   due round and its plan, NSEC3 resalts, the key factory, DS tasks.
//! - [`shadow`]: OpenDNSSEC's decisions between two readings of its database compared
//!   with the ones kasp-ledger makes from the first (`shadow`, beside a running
//!   OpenDNSSEC).
//! - [`whatif`]: the loop on a copy of the state on a simulated clock (`simulate`),
//!   its report, and the timeline picture of a zone's key states; it never touches the
//!   caller's state.
//! - [`readouts`]: what the operator reads from the log: a zone's or key's history.
//! - [`formats`]: the XML files in and out, durations, the signconf.
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

pub mod clock;
pub mod decide;
pub mod enforcer;
pub mod formats;
pub mod readouts;
pub mod scheduler;
pub mod shadow;
pub mod state;
#[cfg(feature = "testgen")]
pub mod testgen;
pub mod whatif;

pub use state::{PROJECTION_VERSION, State};

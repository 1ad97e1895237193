//! `decide` and `State` as a pure core: given a state folded from events at fixed
//! times, when a command is decided at a fixed `now`, then these events, outcomes or
//! this rejection (in OpenDNSSEC's words). No log, no clock, no files.
//!
//! One test binary; the given / when / then helpers are in `given`, the tests by
//! command in the other modules.

mod clock_jumps;
mod given;
mod import;
mod keys;
mod policies;
mod props;
mod resalt;
mod safety;
mod state;
mod zonelist;
mod zones;

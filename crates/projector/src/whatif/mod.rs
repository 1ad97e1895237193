//! What-if: the enforcer loop ([`crate::scheduler`]) run on a copy of the state, on a
//! simulated clock, with every side effect replaced by its expected outcome
//! ([`simulate`], the entry point). `ports.rs` holds the scheduler's ports in memory,
//! [`items`] what a simulation reports about its zone, [`report`] the text of that
//! report, [`timeline`] the picture of a zone's key states over time (`zone timeline
//! --svg`: the log's past and, with `--until`, the simulated future). Pure; the caller's
//! state is never touched.

pub mod items;
mod ports;
pub mod report;
pub mod simulate;
#[cfg(test)]
mod tests;
pub mod timeline;

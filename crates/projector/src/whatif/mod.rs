//! What-if: the enforcer loop ([`crate::scheduler`]) run on a copy of the state, on a
//! simulated clock, with every side effect replaced by its expected outcome
//! ([`simulate`], the entry point). `ports.rs` holds the scheduler's ports in memory,
//! [`items`] what a simulation reports about its zone, [`report`] the text of that
//! report. Pure; the caller's state is never touched.

pub mod items;
mod ports;
pub mod report;
pub mod simulate;
#[cfg(test)]
mod tests;

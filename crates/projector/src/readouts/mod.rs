//! What the operator reads from the log, besides the views themselves: one zone's or
//! one key's facts as lines ([`history`], `zone history`, `key history`). The picture
//! of a zone's key states over time, past and simulated, is the what-if's
//! ([`crate::whatif::timeline`]); why a record does not move and the `key list` states
//! are the state machine's ([`crate::enforcer`]). Pure.

pub mod history;

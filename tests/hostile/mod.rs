//! Hostile input and damage: what the tool does when the files it trusts were tampered
//! with, cut short, or swapped. Each case says what the operator gets (message, exit code)
//! and that nothing is written on top.

mod daemon_restart;
mod descriptors;
mod hung_effects;
mod tampered_log;

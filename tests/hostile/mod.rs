//! Hostile input and damage: what the tool does when the files it trusts were tampered
//! with, cut short, or swapped. Each case says what the operator gets (message, exit code)
//! and that nothing is written on top.

mod concurrent_writers;
mod tampered_log;

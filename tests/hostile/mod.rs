//! Hostile input and damage: what the tool does when the files it trusts were tampered
//! with, cut short, or swapped. Each case says what the operator gets (message, exit code)
//! and that nothing is written on top.

mod arguments;
mod clock_jumps;
mod huge_xml;
mod tampered_log;

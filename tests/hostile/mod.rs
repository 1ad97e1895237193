//! Hostile input and damage: what the tool does when the files it trusts were tampered
//! with, cut short, or swapped. Each case says what the operator gets (message, exit code)
//! and that nothing is written on top.

mod arguments;
mod blocking_files;
mod clock_jumps;
mod concurrent_writers;
mod daemon_restart;
mod descriptors;
mod file_modes;
mod huge_xml;
mod hung_effects;
mod planted_files;
mod privileges;
mod swapped_log;
mod tampered_log;
mod truncated_log;

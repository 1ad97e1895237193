//! # kasp-cli: the shell around kasp-ledger's pure core
//!
//! `ods-enforcer` reads the command line the way OpenDNSSEC's client and command
//! handler do (global options, then the command words; each command parses its own
//! options with GNU getopt semantics), and runs the command in-process against the
//! event log ("daemonless"): load conf.xml, fold the log into state, `decide`, append,
//! then perform the file effects (zone lists) and print OpenDNSSEC's output text.
//!
//! This crate owns every side effect: files, the clock, the OS user, process exit
//! codes. It holds no domain rules — those are in kasp-projector — and it never
//! rewrites the log: the only write is an append through kasp-events.
//!
//! Exit codes: OpenDNSSEC's for its commands (0, 1, 2 for `help`, 255 for syntax
//! errors); for kasp-ledger's own failures 3 = integrity (broken chain, log format
//! too new, corrupted file) and 4 = environment (missing or locked log, unreadable
//! configuration, I/O).

pub mod actor;
pub mod audit;
pub mod client;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod daemon_support;
pub mod dshook;
pub mod effects;
pub mod engine;
pub mod files;
pub mod fold;
pub mod getopt;
pub mod host;
pub mod keygen;
pub mod output;
pub mod paths;
pub mod random;
pub mod remote;
pub mod schema;
pub mod softhsm;
pub mod wire;
pub mod world;

//! # kasp-cli: the product, `ods-enforcer` and `ods-enforcerd`
//!
//! `ods-enforcer` reads the command line the way OpenDNSSEC's client and command
//! handler do (global options, then the command words; each command parses its own
//! options with GNU getopt semantics), and runs the command in-process against the
//! event log ("daemonless") or sends it to the daemon over its socket ([`client`],
//! [`remote`], [`wire`]). `ods-enforcerd` ([`daemon`]) serves the socket and runs every
//! command and every scheduler wake-up on one writer thread.
//!
//! The commands ([`commands`]) parse their options, ask kasp-engine to decide and carry
//! out, and print OpenDNSSEC's output text and exit codes: the engine returns reports,
//! this crate prints them ([`output`]). It holds no domain rules (kasp-projector's) and
//! no effects of its own beyond the zone list files the commands export.
//!
//! Exit codes: OpenDNSSEC's for its commands (0, 1, 2 for `help`, 255 for syntax
//! errors); for kasp-ledger's own failures kasp-engine's mapping (3 integrity, 4
//! environment).

pub mod client;
pub mod commands;
pub mod daemon;
pub mod getopt;
pub mod host;
pub mod output;
pub mod remote;
pub mod softhsm;
pub mod wire;

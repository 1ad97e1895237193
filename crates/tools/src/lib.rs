//! # kasp-tools: the developer tools around kasp-ledger
//!
//! Programs that run, compare and measure the enforcer, never part of the product:
//! `cargo install --path crates/cli` installs `ods-enforcer` and `ods-enforcerd` only,
//! and this crate is a workspace member outside `default-members` (build it with
//! `-p kasp-tools` or `--workspace`).
//!
//! * `kasp-scenario` runs one conformance scenario against `ods-enforcer` and writes its
//!   trace (scripts/run-scenario, the conformance tests, scripts/differential);
//! * `kasp-fuzz` generates seeded random scenarios, classifies the first difference of
//!   two traces and minimizes a diverging scenario (scripts/fuzz);
//! * `kasp-record-random` records a long seeded random run as a history of
//!   fixtures/histories/ (`kasp-scenario --record` records a scenario's);
//! * `kasp-bench`, `kasp-hsm-bench`, `kasp-enforce-bench` and `kasp-daemon-bench`
//!   measure the event log, HSM key generation, an enforce pass and the daemon.
//!
//! The library holds what several of them, or the tests of `tests/tools.rs`, share:
//! [`scenario`] parses the scenario language, [`recorded`] writes and reads the sidecar
//! of a recorded history, [`benchkit`] formats and times the benchmarks. The enforcer
//! itself comes from kasp-cli's library and its binaries.

pub mod benchkit;
pub mod recorded;
pub mod scenario;

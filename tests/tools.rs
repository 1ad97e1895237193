//! The tests that need the developer tools of crates/tools: the conformance scenarios
//! and corners, run by `kasp-scenario`, and the recorded histories, read with
//! `kasp_tools::recorded`. One test binary, declared as a [[test]] of crates/tools
//! (cargo gives `CARGO_BIN_EXE_kasp-scenario` only to the tests of the package that
//! builds it); the rest of the integration tests are tests/main.rs, of crates/cli.
//!
//! The scenarios run the `ods-enforcer` and `ods-enforcerd` next to `kasp-scenario`:
//! `cargo test --workspace` builds them with every other binary; for this binary alone,
//! `cargo build --locked --bin ods-enforcer --bin ods-enforcerd` first, then
//! `cargo test --locked -p kasp-tools --test tools`.

mod conformance;
mod corners;
mod histories;
mod ods_futures;

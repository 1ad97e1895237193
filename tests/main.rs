//! Integration tests of kasp-ledger: the real `ods-enforcer` binary on real files in
//! temporary directories. One test binary (declared as a [[test]] of crates/cli); the
//! tests that need the developer tools are tests/tools.rs, of crates/tools.

mod acceptance;
mod audit_acceptance;
mod audit_checkpoint;
mod audit_export;
mod bad_input;
mod common;
mod daemon;
mod enforcer;
mod explain;
mod hostile;
mod keyio;
mod keys;
mod mariadb;
mod ods_golden;
mod ods_import_fixtures;
mod ods_takeover;
mod replay;
mod signer;
mod simulate;
mod timetravel;
mod upstream;
mod wire;

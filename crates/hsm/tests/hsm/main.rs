//! Integration tests of kasp-hsm against a real SoftHSM2 token.
//!
//! One test binary, one SoftHSM configuration for the whole process (SoftHSM reads
//! `SOFTHSM2_CONF` once, at `C_Initialize`), one token per test: `common::setup` creates
//! every token with `softhsm2-util` before the first `C_Initialize`. External oracles:
//! ring (signatures), BIND's `dnssec-dsfromkey` (DNSKEY text, key tags, DS) and the
//! `openssl` CLI (Ed448 signatures, keys imported in OpenDNSSEC's layout).

mod common;
mod faults;
mod keys;
mod layout;
mod records;

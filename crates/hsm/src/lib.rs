//! # kasp-hsm: key stores for kasp-ledger
//!
//! Role: everything that talks to an HSM. Keys live in HSMs reached over PKCS#11
//! exactly as OpenDNSSEC reaches them (token found by label, 16-byte random locator as
//! CKA_ID and CKA_LABEL), so an operator's existing tokens keep working. This crate
//! will hold the `KeyStore` trait (generate, find by locator, public key, sign,
//! destroy, list), its cryptoki implementation, and the DNSKEY RDATA, key tag and DS
//! digest computations.
//!
//! Invariants: PINs never leave this crate except into the PKCS#11 login call; no
//! event or view type is known here beyond identifiers; every PKCS#11 call runs on a
//! thread of its own so a hung HSM can never stall the log writer.
//!
//! Status: the foundation issue needs no HSM access, so the crate has no items yet;
//! the HSM issue fills it. It is part of the workspace now so the crate boundaries of
//! the architecture hold from the start.

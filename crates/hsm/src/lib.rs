//! # kasp-hsm: key stores for kasp-ledger
//!
//! Role: everything that talks to an HSM, and the DNSSEC arithmetic on what comes out
//! of one. Keys live in HSMs reached over PKCS#11 exactly as OpenDNSSEC 2.1 reaches them,
//! so an operator's existing tokens keep working in both directions:
//!
//! * the token is found by label every time a repository is opened (SoftHSM renumbers
//!   slots), and each PKCS#11 module is loaded and `C_Initialize`d once per process;
//! * a key pair is named by a 16-byte random [`Locator`]: the bytes are CKA_ID, their
//!   lower-case hex is CKA_LABEL, on the private and the public half;
//! * private keys are token, private, sensitive and sign-only, extractable only with
//!   `<AllowExtraction/>`; with `<SkipPublicKey/>` an RSA public key lives only as a
//!   session object, while EC and EdDSA public keys stay on the token, as in libhsm.
//!
//! The crate offers the [`KeyStore`] trait (random locator, check support, generate,
//! exists, public key, sign, destroy, list, count), its cryptoki implementation
//! [`Pkcs11Store`], [`HsmThread`] which runs any store on its own thread behind
//! per-call timeouts, the supported [`Algorithm`]s, and in [`dnssec`] the pure
//! functions for the DNSKEY public-key field, DNSKEY RDATA, key tag, DS digest and
//! their zone-file text, and [`verify_signature`] to check a signature an HSM key made
//! against its public key in software.
//!
//! Invariants:
//! * PINs never leave this crate except into the PKCS#11 login call: [`Secret`] prints
//!   `***`, is zeroed on drop, and no error message contains it.
//! * Signatures are in DNSSEC wire format (RSA PKCS#1 v1.5, ECDSA r||s, pure EdDSA);
//!   hashing happens in software and the token sees `CKM_RSA_PKCS`, `CKM_ECDSA` or
//!   `CKM_EDDSA` only, like libhsm.
//! * Every message of [`HsmError`] names the repository it concerns.
//! * Callers that must not block (the daemon, the log writer) reach HSMs only through
//!   [`HsmThread`], so a hung HSM costs a timeout, never a stalled writer.
//!
//! Must not: know events, commands or views beyond identifiers ([`Locator`] comes from
//! kasp-events); decide anything about policies or key states (capacity is the one rule
//! enforced here, because only the token knows its key count); read the clock; log PINs.

pub mod algorithm;
pub mod dnssec;
mod pkcs11;
mod repository;
mod store;
mod token;
mod verify;
mod worker;

pub use algorithm::{Algorithm, KeyFamily};
pub use dnssec::{
    DsRecord, FLAGS_KSK, FLAGS_ZSK, RecordError, dnskey_rdata, dnskey_zonefile, ds, ds_zonefile,
    ec_point_public_key, key_tag, rsa_public_key,
};
pub use kasp_events::Locator;
pub use pkcs11::Pkcs11Store;
pub use repository::{RepositoryConfig, Secret};
pub use store::{HsmError, KeyStore};
pub use token::{KeyPairTemplate, key_pair_template};
pub use verify::{SignatureError, verify_signature};
pub use worker::{HsmThread, Timeouts};

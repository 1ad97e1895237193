//! The `KeyStore` trait every key repository implements, and the errors its operations
//! report.
//!
//! A key store holds key pairs named by [`Locator`] (16 bytes, CKA_ID; its hex is
//! CKA_LABEL). Callers never see PKCS#11 handles, sessions or PINs: they ask by locator
//! and get DNSSEC-ready bytes back (the DNSKEY public-key field, DNSSEC-format
//! signatures). [`crate::Pkcs11Store`] is the real implementation, [`crate::HsmThread`]
//! puts any store behind a thread with per-call timeouts.

use std::path::PathBuf;

use kasp_events::Locator;

use crate::algorithm::Algorithm;

/// What can go wrong talking to a key repository. Every message names the repository
/// (conf.xml `Repository@name`); none ever contains a PIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HsmError {
    /// The configured PKCS#11 module file does not exist.
    #[error("repository {repository}: the PKCS#11 module {} does not exist", path.display())]
    ModuleMissing {
        /// Repository name.
        repository: String,
        /// Configured `<Module>` path.
        path: PathBuf,
    },
    /// The module exists but could not be loaded or initialised.
    #[error("repository {repository}: cannot load the PKCS#11 module {}: {detail}", path.display())]
    ModuleLoad {
        /// Repository name.
        repository: String,
        /// Configured `<Module>` path.
        path: PathBuf,
        /// What the loader or `C_Initialize` said.
        detail: String,
    },
    /// No slot of the module holds a token with the configured label.
    #[error("repository {repository}: no token with label \"{label}\" found")]
    TokenNotFound {
        /// Repository name.
        repository: String,
        /// Configured `<TokenLabel>`.
        label: String,
    },
    /// conf.xml has no `<PIN>` for the repository.
    #[error(
        "repository {repository}: no PIN configured; kasp-ledger needs the <PIN> of the \
         repository in conf.xml for now (no PIN prompt, no ods-hsmutil login)"
    )]
    PinRequired {
        /// Repository name.
        repository: String,
    },
    /// The token refused the user PIN (`CKR_PIN_INCORRECT`).
    #[error("repository {repository}: the token refused the configured PIN (incorrect PIN)")]
    WrongPin {
        /// Repository name.
        repository: String,
    },
    /// The user PIN is locked on the token (`CKR_PIN_LOCKED`).
    #[error("repository {repository}: the user PIN of the token is locked")]
    PinLocked {
        /// Repository name.
        repository: String,
    },
    /// The repository already holds `<Capacity>` keys.
    #[error("repository {repository}: capacity of {capacity} keys reached; no key generated")]
    CapacityReached {
        /// Repository name.
        repository: String,
        /// Configured `<Capacity>`.
        capacity: u64,
    },
    /// A DNSSEC algorithm number kasp-ledger does not handle at all.
    #[error(
        "DNSSEC algorithm {algorithm} ({name}) is not supported; kasp-ledger supports \
         5, 7, 8, 10, 13, 14, 15 and 16"
    )]
    AlgorithmUnknown {
        /// The number asked for.
        algorithm: u8,
        /// Its mnemonic when it is a retired algorithm, else `unknown`.
        name: &'static str,
    },
    /// The token lacks the mechanism, curve or key size the algorithm needs.
    #[error("repository {repository}: the token does not support algorithm {algorithm}: {detail}")]
    AlgorithmUnsupported {
        /// Repository name.
        repository: String,
        /// The algorithm asked for.
        algorithm: Algorithm,
        /// What the token lacks: a mechanism, the curve, or (RSA) the key size, with
        /// the range of sizes it supports.
        detail: String,
    },
    /// No private key with this CKA_ID on the token.
    #[error("repository {repository}: no key with locator {locator}")]
    KeyNotFound {
        /// Repository name.
        repository: String,
        /// The locator asked for.
        locator: Locator,
    },
    /// A key with this CKA_ID already exists, so none was generated.
    #[error("repository {repository}: a key with locator {locator} already exists")]
    KeyExists {
        /// Repository name.
        repository: String,
        /// The locator asked for.
        locator: Locator,
    },
    /// The private key exists but its public key cannot be read from the token.
    #[error("repository {repository}: cannot read the public key of {locator}: {why}")]
    PublicKeyUnavailable {
        /// Repository name.
        repository: String,
        /// The key's locator.
        locator: Locator,
        /// Why not, and what to do.
        why: String,
    },
    /// The HSM did not answer in time; the call may still complete inside the HSM.
    #[error("repository {repository}: the HSM did not answer {op} in time")]
    Timeout {
        /// Repository name.
        repository: String,
        /// The operation (`generate`, `sign`, …).
        op: &'static str,
    },
    /// Any other PKCS#11 failure.
    #[error("repository {repository}: {op} failed: {detail}")]
    Pkcs11 {
        /// Repository name.
        repository: String,
        /// The operation (`generate`, `sign`, …).
        op: &'static str,
        /// The PKCS#11 function and return value, or what was wrong with its answer.
        detail: String,
    },
}

/// A repository of DNSSEC key pairs, addressed by locator.
///
/// Methods take `&mut self` because a store owns one PKCS#11 session, which is not
/// `Sync`; share a store across threads through [`crate::HsmThread`].
pub trait KeyStore {
    /// 16 fresh random bytes from the token (`C_GenerateRandom`) for a new key's
    /// locator. Not checked against the token (a clash has odds of 2^-128); `generate`
    /// refuses a locator that is taken.
    fn random_locator(&mut self) -> Result<Locator, HsmError>;

    /// Generates a key pair with CKA_ID = `locator` in OpenDNSSEC's layout and returns
    /// the DNSKEY public-key field. `bits` is the RSA modulus size and ignored for the
    /// curve algorithms. Refuses ([`HsmError::KeyExists`]) when the locator is taken, so
    /// retrying a call that timed out never makes a second key with the same CKA_ID;
    /// refuses ([`HsmError::CapacityReached`]) when the repository is full.
    fn generate(
        &mut self,
        locator: &Locator,
        algorithm: Algorithm,
        bits: u32,
    ) -> Result<Vec<u8>, HsmError>;

    /// Whether the token can generate and sign with `algorithm` keys of `bits` (the RSA
    /// modulus size; ignored for the curve algorithms), asked of the token's mechanism
    /// list and `C_GetMechanismInfo` without generating anything. Refuses with
    /// [`HsmError::AlgorithmUnsupported`]. A curve the mechanism cannot handle may still
    /// only show at `generate`.
    fn check_support(&mut self, algorithm: Algorithm, bits: u32) -> Result<(), HsmError>;

    /// Whether a private key with CKA_ID = `locator` exists.
    fn exists(&mut self, locator: &Locator) -> Result<bool, HsmError>;

    /// The DNSKEY public-key field of the key (RFC 3110 / 6605 / 8080 encoding), also
    /// for keys OpenDNSSEC made.
    fn public_key(&mut self, locator: &Locator, algorithm: Algorithm) -> Result<Vec<u8>, HsmError>;

    /// A DNSSEC-format signature (the RRSIG signature field) over `data`.
    fn sign(
        &mut self,
        locator: &Locator,
        algorithm: Algorithm,
        data: &[u8],
    ) -> Result<Vec<u8>, HsmError>;

    /// Destroys the private key and any public-key objects with that CKA_ID.
    fn destroy(&mut self, locator: &Locator) -> Result<(), HsmError>;

    /// The CKA_IDs of every private key that has a 16-byte CKA_ID, in token order. A
    /// store may keep what this token-wide scan saw to answer later calls for many keys
    /// without a token search each (crates/hsm/src/pkcs11.rs).
    fn list(&mut self) -> Result<Vec<Locator>, HsmError>;

    /// The number of private-key objects on the token (what `<Capacity>` limits).
    fn count(&mut self) -> Result<usize, HsmError>;
}

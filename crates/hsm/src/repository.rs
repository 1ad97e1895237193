//! A key repository as conf.xml declares it (`<Repository>`), and the PIN wrapper that
//! keeps the token PIN out of logs, error messages and memory dumps after use.

use std::fmt;
use std::path::PathBuf;

/// One `<Repository>` of conf.xml: which PKCS#11 module, which token, and the
/// policy switches that affect key generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryConfig {
    /// `Repository@name`, used in every message and in kasp.xml `<Repository>`.
    pub name: String,
    /// `<Module>`: path of the PKCS#11 shared library.
    pub module: PathBuf,
    /// `<TokenLabel>`: the token is looked up by this label every time it is opened.
    pub token_label: String,
    /// `<PIN>`: the user PIN. kasp-ledger needs it here (no prompt, no shared memory).
    pub pin: Option<Secret>,
    /// `<Capacity>`: the most private keys the token may hold; generation stops there.
    pub capacity: Option<u64>,
    /// `<RequireBackup/>`: new keys start as "backup required" (enforced by the caller).
    pub require_backup: bool,
    /// `<SkipPublicKey/>`: do not keep RSA public keys as token objects.
    pub skip_public_key: bool,
    /// `<AllowExtraction/>`: private keys are generated with `CKA_EXTRACTABLE` true.
    pub allow_extraction: bool,
}

impl RepositoryConfig {
    /// A repository with the given identity and PIN and every option off.
    pub fn new(
        name: impl Into<String>,
        module: impl Into<PathBuf>,
        token_label: impl Into<String>,
        pin: Option<Secret>,
    ) -> RepositoryConfig {
        RepositoryConfig {
            name: name.into(),
            module: module.into(),
            token_label: token_label.into(),
            pin,
            capacity: None,
            require_backup: false,
            skip_public_key: false,
            allow_extraction: false,
        }
    }
}

/// A PIN. `Debug` and `Display` print `***`; the bytes are overwritten with zeros when
/// the value is dropped. Only [`Secret::expose`] gives the text, for the login call.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Box<str>);

impl Secret {
    /// Wraps a PIN.
    pub fn new(pin: impl Into<String>) -> Secret {
        Secret(pin.into().into_boxed_str())
    }

    /// The PIN text. Pass it straight to the login call; never log or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Secret {
    fn from(pin: &str) -> Secret {
        Secret::new(pin)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // SAFETY: zero bytes keep the str valid UTF-8, and the box is not used again.
        let bytes = unsafe { self.0.as_bytes_mut() };
        for b in bytes.iter_mut() {
            // SAFETY: `b` is a valid, aligned, exclusive reference. Volatile so the
            // compiler cannot drop the stores as dead before the deallocation.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
        std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("1234");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "***");
        let cfg = RepositoryConfig::new("SoftHSM", "/x.so", "tok", Some(s.clone()));
        assert!(!format!("{cfg:?}").contains("1234"));
        assert_eq!(s.expose(), "1234");
    }
}

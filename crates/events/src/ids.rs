//! Identifiers, validated on construction. All persisted.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Position of a record in the log, contiguous from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Seq(pub u64);

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("invalid zone name '{name}': {why}")]
    Zone { name: String, why: &'static str },
    #[error("invalid policy name '{name}': {why}")]
    Policy { name: String, why: &'static str },
    #[error("invalid locator '{text}': {why}")]
    Locator { text: String, why: &'static str },
}

/// A zone name exactly as the operator typed it (OpenDNSSEC stores names unchanged),
/// checked to be a usable DNS name. Two names that differ only in letter case or a
/// trailing dot name the same zone: see [`ZoneName::key`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ZoneName(String);

impl ZoneName {
    /// Validates a zone name: the root `.`, or dot-separated labels of 1 to 63 octets
    /// made of letters, digits, `-` and `_`, at most 253 characters without the final
    /// dot. Anything else (spaces, slashes, empty labels) would break signconf paths or
    /// the signer, so it is refused.
    pub fn new(name: &str) -> Result<Self, IdError> {
        let bad = |why| IdError::Zone {
            name: name.to_string(),
            why,
        };
        if name == "." {
            return Ok(ZoneName(name.to_string()));
        }
        let body = name.strip_suffix('.').unwrap_or(name);
        if body.is_empty() {
            return Err(bad("the name is empty"));
        }
        if body.len() > 253 {
            return Err(bad("the name is longer than 253 characters"));
        }
        for label in body.split('.') {
            if label.is_empty() {
                return Err(bad("the name has an empty label"));
            }
            if label.len() > 63 {
                return Err(bad("a label is longer than 63 characters"));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(bad("a label starts or ends with '-'"));
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(bad(
                    "only letters, digits, '-' and '_' are allowed in a label",
                ));
            }
        }
        Ok(ZoneName(name.to_string()))
    }

    /// The name as typed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lookup key: lower case, without the trailing dot (except for the root).
    pub fn key(&self) -> String {
        if self.0 == "." {
            return ".".to_string();
        }
        self.0
            .strip_suffix('.')
            .unwrap_or(&self.0)
            .to_ascii_lowercase()
    }
}

impl fmt::Display for ZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// A policy name as it appears in kasp.xml (`Policy@name`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PolicyName(String);

impl PolicyName {
    /// A policy name must be non-empty and free of whitespace and control characters
    /// (OpenDNSSEC's command line splits on spaces, so such a policy could never be named).
    pub fn new(name: &str) -> Result<Self, IdError> {
        let bad = |why| IdError::Policy {
            name: name.to_string(),
            why,
        };
        if name.is_empty() {
            return Err(bad("the name is empty"));
        }
        if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("the name contains white space or control characters"));
        }
        if name.len() > 255 {
            return Err(bad("the name is longer than 255 characters"));
        }
        Ok(PolicyName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PolicyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// An HSM key's locator: 16 random bytes, written as 32 lower-case hex digits, used as
/// both CKA_ID (the bytes) and CKA_LABEL (the hex) — OpenDNSSEC's layout, so keys move
/// between OpenDNSSEC and kasp-ledger unchanged. Persisted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Locator(pub [u8; 16]);

impl Locator {
    /// Parses 32 hex digits (either case).
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let bad = |why| IdError::Locator {
            text: text.to_string(),
            why,
        };
        if text.len() != 32 {
            return Err(bad("a locator has 32 hex digits"));
        }
        let mut b = [0u8; 16];
        for (i, pair) in text.as_bytes().chunks(2).enumerate() {
            let hex = std::str::from_utf8(pair).map_err(|_| bad("not hex"))?;
            b[i] = u8::from_str_radix(hex, 16).map_err(|_| bad("not hex"))?;
        }
        Ok(Locator(b))
    }

    /// The CKA_ID bytes.
    pub fn id(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for Locator {
    /// Lower-case hex, as OpenDNSSEC shows it (`CKA_ID:` in `key list`) and as CKA_LABEL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(32);
        for b in self.0 {
            s.push_str(&format!("{b:02x}"));
        }
        f.pad(&s)
    }
}

/// Random identity of one log, fixed at `setup`. Persisted in `LogCreated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InstanceId(pub [u8; 16]);

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

// Names are validated when decoded too (same bytes as a plain string on the wire), so a
// record can never carry a name `new` would refuse.
impl TryFrom<String> for ZoneName {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        ZoneName::new(&s)
    }
}

impl From<ZoneName> for String {
    fn from(z: ZoneName) -> String {
        z.0
    }
}

impl TryFrom<String> for PolicyName {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        PolicyName::new(&s)
    }
}

impl From<PolicyName> for String {
    fn from(p: PolicyName) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_names() {
        for ok in [
            "example.com",
            "Example.COM.",
            ".",
            "a",
            "_dmarc.x-y.org",
            "xn--bcher-kva.de",
        ] {
            assert!(ZoneName::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "..",
            "a..b",
            "a b",
            "a/b",
            ".com",
            &"x".repeat(64),
            "é.com",
        ] {
            assert!(ZoneName::new(bad).is_err(), "{bad}");
        }
        assert_eq!(ZoneName::new("Example.COM.").unwrap().key(), "example.com");
        assert_eq!(
            ZoneName::new("Example.COM.").unwrap().as_str(),
            "Example.COM."
        );
    }

    #[test]
    fn locators() {
        let l = Locator::parse("6f8a0c6b1d2e4f5a9b3c7d8e9f0a1b2c").unwrap();
        assert_eq!(l.to_string(), "6f8a0c6b1d2e4f5a9b3c7d8e9f0a1b2c");
        assert_eq!(Locator::parse("6F8A0C6B1D2E4F5A9B3C7D8E9F0A1B2C"), Ok(l));
        for bad in [
            "",
            "6f8a",
            "zz8a0c6b1d2e4f5a9b3c7d8e9f0a1b2c",
            "é8a0c6b1d2e4f5a9b3c7d8e9f0a1b2",
        ] {
            assert!(Locator::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn policy_names() {
        assert!(PolicyName::new("default").is_ok());
        assert!(PolicyName::new("").is_err());
        assert!(PolicyName::new("a b").is_err());
    }
}

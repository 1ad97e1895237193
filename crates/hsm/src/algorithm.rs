//! DNSSEC signing algorithms kasp-ledger can keep keys for, and what each one means
//! for an HSM: which key pair to generate, what to hand the token when signing, and
//! how long the public key is.
//!
//! The set is OpenDNSSEC 2.1's minus the algorithms RFC 8624 retired (DSA 3/6, GOST 12,
//! RSAMD5 1): 5, 7, 8, 10 (RSA), 13, 14 (ECDSA) and 15, 16 (EdDSA).
//!
//! Hashing happens here, in software, exactly as OpenDNSSEC's libhsm does it: the token
//! only ever sees `CKM_RSA_PKCS` over a DigestInfo, `CKM_ECDSA` over a digest, or
//! `CKM_EDDSA` over the data itself. Some HSMs handle the combined hash-and-sign
//! mechanisms badly, and PKCS#1 v1.5 is deterministic, so the signatures are the same.

use std::fmt;

use ring::digest;

use crate::store::HsmError;

/// A DNSSEC algorithm (IANA "DNS Security Algorithm Numbers") kasp-ledger supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    /// 5, RSASHA1 (RFC 3110).
    RsaSha1,
    /// 7, RSASHA1-NSEC3-SHA1 (RFC 5155): the same keys and signatures as 5.
    RsaSha1Nsec3Sha1,
    /// 8, RSASHA256 (RFC 5702).
    RsaSha256,
    /// 10, RSASHA512 (RFC 5702).
    RsaSha512,
    /// 13, ECDSAP256SHA256 (RFC 6605).
    EcdsaP256Sha256,
    /// 14, ECDSAP384SHA384 (RFC 6605).
    EcdsaP384Sha384,
    /// 15, ED25519 (RFC 8080).
    Ed25519,
    /// 16, ED448 (RFC 8080).
    Ed448,
}

/// The kind of key pair an algorithm needs, with what the token must be told to make it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFamily {
    /// RSA with public exponent 65537 (`CKM_RSA_PKCS_KEY_PAIR_GEN`, `CKK_RSA`); the
    /// modulus size comes from the policy.
    Rsa,
    /// ECDSA on a named curve (`CKM_EC_KEY_PAIR_GEN`, `CKK_EC`); `ec_params` is the
    /// DER-encoded curve OID for `CKA_EC_PARAMS`.
    Ecdsa {
        /// DER of the curve's object identifier.
        ec_params: &'static [u8],
    },
    /// EdDSA (`CKM_EC_EDWARDS_KEY_PAIR_GEN`, `CKK_EC_EDWARDS`); `ec_params` is the
    /// DER-encoded curve OID (RFC 8410) for `CKA_EC_PARAMS`.
    EdDsa {
        /// DER of the curve's object identifier.
        ec_params: &'static [u8],
    },
}

/// DER of OID 1.2.840.10045.3.1.7 (prime256v1, P-256), as OpenDNSSEC sends it.
pub const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// DER of OID 1.3.132.0.34 (secp384r1, P-384).
pub const OID_P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
/// DER of OID 1.3.101.112 (id-Ed25519).
pub const OID_ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
/// DER of OID 1.3.101.113 (id-Ed448).
pub const OID_ED448: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x71];

// DigestInfo prefixes (RFC 8017 section 9.2, note 1) that CKM_RSA_PKCS cannot add itself.
const SHA1_PREFIX: &[u8] = &[
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
];
const SHA256_PREFIX: &[u8] = &[
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];
const SHA512_PREFIX: &[u8] = &[
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];

impl Algorithm {
    /// Every supported algorithm, in number order.
    pub const ALL: [Algorithm; 8] = [
        Algorithm::RsaSha1,
        Algorithm::RsaSha1Nsec3Sha1,
        Algorithm::RsaSha256,
        Algorithm::RsaSha512,
        Algorithm::EcdsaP256Sha256,
        Algorithm::EcdsaP384Sha384,
        Algorithm::Ed25519,
        Algorithm::Ed448,
    ];

    /// The algorithm with this IANA number. Retired algorithms (1 RSAMD5, 3 DSA,
    /// 6 DSA-NSEC3-SHA1, 12 ECC-GOST) and unknown numbers are refused with
    /// [`HsmError::AlgorithmUnknown`].
    pub fn from_number(number: u8) -> Result<Algorithm, HsmError> {
        match number {
            5 => Ok(Algorithm::RsaSha1),
            7 => Ok(Algorithm::RsaSha1Nsec3Sha1),
            8 => Ok(Algorithm::RsaSha256),
            10 => Ok(Algorithm::RsaSha512),
            13 => Ok(Algorithm::EcdsaP256Sha256),
            14 => Ok(Algorithm::EcdsaP384Sha384),
            15 => Ok(Algorithm::Ed25519),
            16 => Ok(Algorithm::Ed448),
            other => Err(HsmError::AlgorithmUnknown {
                algorithm: other,
                name: retired_name(other),
            }),
        }
    }

    /// The IANA number, as in DNSKEY, DS, RRSIG and kasp.xml.
    pub fn number(self) -> u8 {
        match self {
            Algorithm::RsaSha1 => 5,
            Algorithm::RsaSha1Nsec3Sha1 => 7,
            Algorithm::RsaSha256 => 8,
            Algorithm::RsaSha512 => 10,
            Algorithm::EcdsaP256Sha256 => 13,
            Algorithm::EcdsaP384Sha384 => 14,
            Algorithm::Ed25519 => 15,
            Algorithm::Ed448 => 16,
        }
    }

    /// The IANA mnemonic (`RSASHA256`, `ECDSAP256SHA256`, …).
    pub fn mnemonic(self) -> &'static str {
        match self {
            Algorithm::RsaSha1 => "RSASHA1",
            Algorithm::RsaSha1Nsec3Sha1 => "RSASHA1-NSEC3-SHA1",
            Algorithm::RsaSha256 => "RSASHA256",
            Algorithm::RsaSha512 => "RSASHA512",
            Algorithm::EcdsaP256Sha256 => "ECDSAP256SHA256",
            Algorithm::EcdsaP384Sha384 => "ECDSAP384SHA384",
            Algorithm::Ed25519 => "ED25519",
            Algorithm::Ed448 => "ED448",
        }
    }

    /// What key pair to generate. For RSA the modulus size is the policy's `bits`; for
    /// the curve algorithms the size is fixed and the policy's bits are ignored, as in
    /// OpenDNSSEC.
    pub fn family(self) -> KeyFamily {
        match self {
            Algorithm::RsaSha1
            | Algorithm::RsaSha1Nsec3Sha1
            | Algorithm::RsaSha256
            | Algorithm::RsaSha512 => KeyFamily::Rsa,
            Algorithm::EcdsaP256Sha256 => KeyFamily::Ecdsa {
                ec_params: OID_P256,
            },
            Algorithm::EcdsaP384Sha384 => KeyFamily::Ecdsa {
                ec_params: OID_P384,
            },
            Algorithm::Ed25519 => KeyFamily::EdDsa {
                ec_params: OID_ED25519,
            },
            Algorithm::Ed448 => KeyFamily::EdDsa {
                ec_params: OID_ED448,
            },
        }
    }

    /// Whether the key is RSA.
    pub fn is_rsa(self) -> bool {
        self.family() == KeyFamily::Rsa
    }

    /// Length of the DNSKEY public-key field for the curve algorithms (RFC 6605: X||Y;
    /// RFC 8080: the encoded point); `None` for RSA, whose length follows the modulus.
    pub fn curve_public_key_len(self) -> Option<usize> {
        match self {
            Algorithm::EcdsaP256Sha256 => Some(64),
            Algorithm::EcdsaP384Sha384 => Some(96),
            Algorithm::Ed25519 => Some(32),
            Algorithm::Ed448 => Some(57),
            _ => None,
        }
    }

    /// The bytes to give the token for a DNSSEC signature over `data` (the RRSIG RDATA
    /// prefix plus the canonical RRset): for RSA the DER DigestInfo of the algorithm's
    /// hash (`CKM_RSA_PKCS` pads it), for ECDSA the bare digest (`CKM_ECDSA`), for EdDSA
    /// the data itself (`CKM_EDDSA`, pure mode).
    pub fn sign_input(self, data: &[u8]) -> Vec<u8> {
        let with_prefix = |prefix: &[u8], alg: &'static digest::Algorithm| {
            let mut out = prefix.to_vec();
            out.extend_from_slice(digest::digest(alg, data).as_ref());
            out
        };
        match self {
            Algorithm::RsaSha1 | Algorithm::RsaSha1Nsec3Sha1 => {
                with_prefix(SHA1_PREFIX, &digest::SHA1_FOR_LEGACY_USE_ONLY)
            }
            Algorithm::RsaSha256 => with_prefix(SHA256_PREFIX, &digest::SHA256),
            Algorithm::RsaSha512 => with_prefix(SHA512_PREFIX, &digest::SHA512),
            Algorithm::EcdsaP256Sha256 => digest::digest(&digest::SHA256, data).as_ref().to_vec(),
            Algorithm::EcdsaP384Sha384 => digest::digest(&digest::SHA384, data).as_ref().to_vec(),
            Algorithm::Ed25519 | Algorithm::Ed448 => data.to_vec(),
        }
    }
}

impl fmt::Display for Algorithm {
    /// `8 (RSASHA256)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.number(), self.mnemonic())
    }
}

/// Names of the numbers OpenDNSSEC knows but kasp-ledger refuses, for the error text.
fn retired_name(number: u8) -> &'static str {
    match number {
        1 => "RSAMD5",
        3 => "DSA",
        6 => "DSA-NSEC3-SHA1",
        12 => "ECC-GOST",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_number(alg.number()).unwrap(), alg);
        }
    }

    #[test]
    fn retired_and_unknown_numbers_are_refused_clearly() {
        for (n, name) in [
            (1, "RSAMD5"),
            (3, "DSA"),
            (6, "DSA-NSEC3-SHA1"),
            (12, "ECC-GOST"),
        ] {
            let text = Algorithm::from_number(n).unwrap_err().to_string();
            assert!(text.contains(&format!("algorithm {n} ({name})")), "{text}");
            assert!(text.contains("not supported"), "{text}");
        }
        for n in [0, 2, 4, 9, 11, 17, 253, 255] {
            let text = Algorithm::from_number(n).unwrap_err().to_string();
            assert!(text.contains("not supported"), "{text}");
        }
    }

    #[test]
    fn sign_input_shapes() {
        let data = b"abc";
        // SHA-256 DigestInfo is 19 + 32 bytes and ends with the digest.
        let rsa = Algorithm::RsaSha256.sign_input(data);
        assert_eq!(rsa.len(), 51);
        assert_eq!(&rsa[19..], digest::digest(&digest::SHA256, data).as_ref());
        assert_eq!(Algorithm::RsaSha1.sign_input(data).len(), 35);
        assert_eq!(Algorithm::RsaSha512.sign_input(data).len(), 83);
        assert_eq!(Algorithm::EcdsaP256Sha256.sign_input(data).len(), 32);
        assert_eq!(Algorithm::EcdsaP384Sha384.sign_input(data).len(), 48);
        assert_eq!(Algorithm::Ed448.sign_input(data), data.to_vec());
    }

    #[test]
    fn display_names_number_and_mnemonic() {
        assert_eq!(Algorithm::RsaSha256.to_string(), "8 (RSASHA256)");
        assert_eq!(Algorithm::Ed448.to_string(), "16 (ED448)");
    }
}

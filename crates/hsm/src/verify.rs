//! Signature checks in software, against a DNSKEY public-key field: how a signature an
//! HSM key made (audit checkpoints) is verified by anyone holding the public key only.

use crate::algorithm::Algorithm;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ED25519, UnparsedPublicKey,
};

/// Why a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The algorithm has no software check here (RSA, Ed448).
    #[error("signatures of algorithm {0} cannot be checked (ECDSA and Ed25519 only)")]
    Unsupported(Algorithm),
    /// The signature does not match the data and the key (or either is malformed).
    #[error("the signature does not match")]
    Invalid,
}

/// Checks a DNSSEC-format signature (ECDSA r || s, Ed25519) over `data` against a
/// DNSKEY public-key field (ECDSA: x || y; Ed25519: the 32-byte key).
pub fn verify_signature(
    algorithm: Algorithm,
    public_key: &[u8],
    data: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let uncompressed = |key: &[u8]| {
        let mut point = vec![0x04];
        point.extend_from_slice(key);
        point
    };
    let ok = match algorithm {
        Algorithm::EcdsaP256Sha256 if public_key.len() == 64 => {
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, uncompressed(public_key))
                .verify(data, signature)
                .is_ok()
        }
        Algorithm::EcdsaP384Sha384 if public_key.len() == 96 => {
            UnparsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, uncompressed(public_key))
                .verify(data, signature)
                .is_ok()
        }
        Algorithm::EcdsaP256Sha256 | Algorithm::EcdsaP384Sha384 => false,
        Algorithm::Ed25519 => UnparsedPublicKey::new(&ED25519, public_key)
            .verify(data, signature)
            .is_ok(),
        other => return Err(SignatureError::Unsupported(other)),
    };
    if ok {
        Ok(())
    } else {
        Err(SignatureError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};

    #[test]
    fn p256_signatures_verify_and_changes_are_caught() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        // The DNSKEY field is the point without its 0x04 prefix.
        let public_key = &pair.public_key().as_ref()[1..];
        let sig = pair.sign(&rng, b"head 41").unwrap();
        let alg = Algorithm::EcdsaP256Sha256;
        assert_eq!(
            verify_signature(alg, public_key, b"head 41", sig.as_ref()),
            Ok(())
        );
        assert_eq!(
            verify_signature(alg, public_key, b"head 42", sig.as_ref()),
            Err(SignatureError::Invalid)
        );
        let mut bad = sig.as_ref().to_vec();
        bad[10] ^= 1;
        assert_eq!(
            verify_signature(alg, public_key, b"head 41", &bad),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify_signature(alg, &public_key[1..], b"head 41", sig.as_ref()),
            Err(SignatureError::Invalid)
        );
        assert!(matches!(
            verify_signature(Algorithm::RsaSha256, public_key, b"x", sig.as_ref()),
            Err(SignatureError::Unsupported(_))
        ));
    }
}

//! Audit events: the audit key that signs checkpoints, the checkpoint interval, and the
//! signed checkpoints themselves. Persisted.
//!
//! A hash chain alone is recomputable by anyone who can write the log file. A
//! checkpoint is the head (seq and hash) at some moment, signed by a key that lives in
//! an HSM: rewriting any record at or before the signed seq changes that record's
//! hash, and nobody without the HSM key can sign the new one. The signed bytes are
//! [`checkpoint_message`]; they bind the log instance, so a checkpoint of one log never
//! vouches for another.

use crate::envelope::Hash;
use crate::ids::{InstanceId, Locator, Seq};
use crate::time::Seconds;
use serde::{Deserialize, Serialize};

/// An audit key pair was generated in an HSM repository (after the HSM made it);
/// checkpoints from here on are signed with it. Keys configured earlier stay in the
/// HSM so that the checkpoints they signed can still be verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditKeyConfigured {
    /// conf.xml `Repository@name`.
    pub repository: String,
    /// CKA_ID of the key pair.
    pub locator: Locator,
    /// DNSSEC algorithm number (13: ECDSA P-256 with SHA-256).
    pub algorithm: u8,
    /// The DNSKEY public-key field, as the HSM returned it.
    pub public_key: Vec<u8>,
}

/// Runs of the enforcer append a checkpoint every `interval` (when the log grew since
/// the last one); `None` turns interval checkpoints off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointIntervalSet {
    pub interval: Option<Seconds>,
}

/// The head of the log at `seq` had hash `hash`; `signature` is the audit key's
/// signature over [`checkpoint_message`] of the log's instance, `seq` and `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The record signed (the head when the checkpoint was made).
    pub seq: Seq,
    /// That record's chain hash.
    pub hash: Hash,
    /// The audit key that signed (see [`AuditKeyConfigured`]).
    pub locator: Locator,
    /// DNSSEC-format signature (ECDSA: r || s).
    pub signature: Vec<u8>,
}

/// The domain separator in front of every signed checkpoint; fixed forever.
pub const CHECKPOINT_DOMAIN: &[u8] = b"kasp-ledger checkpoint v1\0";

/// The bytes an audit key signs for a checkpoint: [`CHECKPOINT_DOMAIN`], the log's
/// instance id (16 bytes), the seq (8 bytes, big-endian) and the record hash (32 bytes).
pub fn checkpoint_message(instance: &InstanceId, seq: Seq, hash: &Hash) -> Vec<u8> {
    let mut m = Vec::with_capacity(CHECKPOINT_DOMAIN.len() + 16 + 8 + 32);
    m.extend_from_slice(CHECKPOINT_DOMAIN);
    m.extend_from_slice(&instance.0);
    m.extend_from_slice(&seq.0.to_be_bytes());
    m.extend_from_slice(&hash.0);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_binds_instance_seq_and_hash() {
        let m = checkpoint_message(&InstanceId([1; 16]), Seq(258), &Hash([7; 32]));
        assert!(m.starts_with(CHECKPOINT_DOMAIN));
        assert_eq!(m.len(), CHECKPOINT_DOMAIN.len() + 56);
        let tail = &m[CHECKPOINT_DOMAIN.len()..];
        assert_eq!(&tail[..16], &[1; 16]);
        assert_eq!(&tail[16..24], &[0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(&tail[24..], &[7; 32]);
        assert_ne!(
            m,
            checkpoint_message(&InstanceId([2; 16]), Seq(258), &Hash([7; 32]))
        );
    }
}

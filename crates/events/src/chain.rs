//! The hash chain: each record stores the hash of the one before it, and a record's
//! hash is blake3 in derive-key mode over its exact stored bytes. Changing any byte of
//! record n changes its hash, which no longer matches record n+1's `prev` (or the head
//! kept in the meta table, for the last record).

use crate::envelope::Hash;

/// blake3 derive-key context; fixed forever for log format 1.
pub const CONTEXT: &str = "kasp-ledger 2026-11-27 event log record v1";

/// The chain hash of one stored record.
pub fn hash_record(stored: &[u8]) -> Hash {
    let mut h = blake3::Hasher::new_derive_key(CONTEXT);
    h.update(stored);
    Hash(*h.finalize().as_bytes())
}

//! The hash chain: each record stores the hash of the one before it, and a record's
//! hash is blake3 in derive-key mode over its exact stored bytes. Changing any byte of
//! record n changes its hash, which no longer matches record n+1's `prev` (or the head
//! kept in the meta table, for the last record).

use crate::envelope::Hash;

/// blake3 derive-key context; fixed forever for log format 1.
pub const CONTEXT: &str = "kasp-ledger 2026-11-27 event log record v1";

/// The chain hash of one stored record.
pub fn hash_record(stored: &[u8]) -> Hash {
    // Deriving the context key costs a hash of its own; derive it once and clone.
    static BASE: std::sync::OnceLock<blake3::Hasher> = std::sync::OnceLock::new();
    let mut h = BASE
        .get_or_init(|| blake3::Hasher::new_derive_key(CONTEXT))
        .clone();
    h.update(stored);
    Hash(*h.finalize().as_bytes())
}

use crate::codec::decode_record;
use crate::envelope::{Head, Record};
use crate::event::Event;
use crate::ids::Seq;

/// The end of a chain read in order: what the next record must store as its `prev`.
/// [`verify_records`] and the replay in [`crate::replay`] both check each record's
/// link with it, and the head with [`Tip::is_head`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tip(Option<Hash>);

impl Tip {
    /// Before record 0: it must store [`Hash::GENESIS`].
    pub const GENESIS: Tip = Tip(Some(Hash::GENESIS));

    /// After a record whose stored bytes hash to `hash`; `None` when that record is
    /// missing, so that no record links to it.
    pub fn after(hash: Option<Hash>) -> Tip {
        Tip(hash)
    }

    /// Whether `record` links to the chain read so far.
    pub fn links(self, record: &Record) -> bool {
        self.0 == Some(record.prev)
    }

    /// Moves past a record that linked, whose stored bytes hash to `hash`.
    pub fn advance(&mut self, hash: Hash) {
        self.0 = Some(hash);
    }

    /// Whether the chain read so far ends at `head`: its last record, `last`, is the
    /// head's seq and hashes to the head's hash.
    pub fn is_head(self, head: Head, last: Option<Seq>) -> bool {
        self.0 == Some(head.hash) && last == Some(head.seq)
    }
}

/// Where and why a chain failed to verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record {seq}: {reason}")]
pub struct VerifyError {
    /// The first record that is wrong.
    pub seq: Seq,
    pub reason: String,
}

/// Verifies stored records in key order against each other and the stored head.
///
/// `records` yields (key, stored bytes) from key 0 upwards; `head` is the head the
/// meta table claims. Returns the verified head, or the first bad seq.
///
/// A change to the bytes of record n is reported as record n, wherever it is: a record
/// that decodes but whose hash no longer matches the `prev` of record n+1 looks, from
/// that link alone, just like a record n+1 whose `prev` was changed. The two are told
/// apart by record n+1's own hash: if record n+2 (or the head, for the last record)
/// still vouches for record n+1, record n+1 is intact and record n is the one that
/// changed.
pub fn verify_records<'a>(
    records: impl IntoIterator<Item = (u64, &'a [u8])>,
    head: Option<Head>,
) -> Result<Head, VerifyError> {
    verify_records_from(
        records,
        Head {
            seq: Seq(0),
            hash: Hash::GENESIS,
        },
        head,
    )
}

/// [`verify_records`] for the tail of a log that starts at `start.seq`: the first
/// record must be stored under `start.seq` and its own hash must be `start.hash` (a
/// hash vouched for from outside the tail, e.g. by a signed checkpoint), or, for a
/// start at seq 0 with [`Hash::GENESIS`], the whole log is checked as
/// [`verify_records`] does.
pub fn verify_records_from<'a>(
    records: impl IntoIterator<Item = (u64, &'a [u8])>,
    start: Head,
    head: Option<Head>,
) -> Result<Head, VerifyError> {
    let rows: Vec<(u64, &[u8])> = records.into_iter().collect();
    let whole = start.seq.0 == 0 && start.hash == Hash::GENESIS;
    let hashes: Vec<Hash> = rows.iter().map(|(_, bytes)| hash_record(bytes)).collect();
    let fail = |seq: u64, reason: String| VerifyError {
        seq: Seq(seq),
        reason,
    };
    // Whether the bytes of rows[i] are confirmed by what follows them: the next
    // record's `prev`, or the head for the last row.
    let vouched = |i: usize| match rows.get(i + 1) {
        Some((key, bytes)) => {
            *key == rows[i].0 + 1 && decode_record(bytes).is_ok_and(|next| next.prev == hashes[i])
        }
        None => head.is_some_and(|h| h.seq.0 == rows[i].0 && h.hash == hashes[i]),
    };
    let mut expected = start.seq.0;
    let mut tip = Tip::GENESIS;
    if !whole {
        match rows.first() {
            Some(&(key, _)) if key == start.seq.0 && hashes[0] == start.hash => {}
            Some(&(key, _)) if key == start.seq.0 => {
                return Err(fail(
                    key,
                    format!("its hash is not the one vouched for ({})", start.hash),
                ));
            }
            _ => return Err(fail(start.seq.0, "missing".to_string())),
        }
    }
    for (i, &(key, bytes)) in rows.iter().enumerate() {
        if key != expected {
            return Err(fail(
                expected,
                format!("missing (next stored record is {key})"),
            ));
        }
        let record = decode_record(bytes).map_err(|e| fail(key, e.to_string()))?;
        if record.seq.0 != key {
            return Err(fail(
                key,
                format!("stored under {key} but says seq {}", record.seq),
            ));
        }
        if i == 0 && !whole {
            // Vouched for by `start`; its `prev` points outside the tail.
            tip.advance(hashes[0]);
            expected += 1;
            continue;
        }
        if !tip.links(&record) {
            // In a tail, the first record is vouched for by `start` itself.
            if i > 0 && (whole || i > 1) && vouched(i) {
                return Err(fail(
                    key - 1,
                    format!("its hash does not match the previous-hash stored in record {key}"),
                ));
            }
            return Err(fail(
                key,
                "its previous-hash does not match the record before it".to_string(),
            ));
        }
        if key == 0 && whole && !matches!(record.event, Event::LogCreated(_)) {
            return Err(fail(0, "record 0 is not LogCreated".to_string()));
        }
        tip.advance(hashes[i]);
        expected += 1;
    }
    let Some(head) = head else {
        return Err(fail(expected, "the log has no head".to_string()));
    };
    if rows.is_empty() {
        return Err(fail(start.seq.0, "the log has no records".to_string()));
    }
    let last = expected - 1;
    if head.seq.0 > last {
        return Err(fail(last + 1, format!("missing (head says {})", head.seq)));
    }
    if head.seq.0 < last {
        return Err(fail(
            head.seq.0 + 1,
            format!("stored beyond the head ({})", head.seq),
        ));
    }
    if !tip.is_head(head, Some(Seq(last))) {
        return Err(fail(
            last,
            "its hash does not match the stored head".to_string(),
        ));
    }
    Ok(head)
}

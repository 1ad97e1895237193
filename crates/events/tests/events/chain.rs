//! The hash chain: a valid chain verifies, and any change to the stored bytes of record
//! n is reported as record n, wherever in the record the change is.

use crate::common::{Chain, log_created, new_event};
use kasp_events::chain::{VerifyError, verify_records};
use kasp_events::testgen::{arb_actor, arb_log_created, arb_new_event, arb_text, arb_timestamp};
use kasp_events::{Actor, Hash, Head, Seq, Timestamp};
use proptest::prelude::*;
use proptest::sample::Index;

fn arb_chain() -> impl Strategy<Value = Chain> {
    (
        arb_log_created(),
        arb_timestamp(),
        arb_actor(),
        arb_text(),
        prop::collection::vec(arb_new_event(), 0..6),
    )
        .prop_map(|(created, at, actor, cause, rest)| {
            let mut chain = Chain::new(created, at, actor, &cause);
            for e in rest {
                chain.push(e);
            }
            chain
        })
}

/// A fixed chain of 5 records with a policy-sized body in the middle.
fn fixed_chain() -> Chain {
    let mut chain = Chain::new(
        log_created(),
        Timestamp(1_735_689_600),
        Actor::System,
        "setup",
    );
    for n in 1..=4 {
        chain.push(new_event(n, &format!("command {n}")));
    }
    chain
}

fn verify_changed(chain: &Chain, record: usize, bytes: Vec<u8>) -> Result<Head, VerifyError> {
    let mut stored = chain.stored.clone();
    stored[record] = bytes;
    let rows: Vec<(u64, &[u8])> = stored
        .iter()
        .enumerate()
        .map(|(i, b)| (i as u64, b.as_slice()))
        .collect();
    verify_records(rows, Some(chain.head))
}

fn assert_reports(chain: &Chain, record: usize, bytes: Vec<u8>, what: &str) {
    match verify_changed(chain, record, bytes) {
        Ok(_) => panic!("{what}: record {record} changed but the chain verified"),
        Err(e) => assert_eq!(e.seq, Seq(record as u64), "{what}: {e}"),
    }
}

proptest! {
    #[test]
    fn valid_chain_verifies(chain in arb_chain()) {
        prop_assert_eq!(verify_records(chain.rows(), Some(chain.head)), Ok(chain.head));
    }

    #[test]
    fn any_bit_flip_is_reported_at_its_record(
        chain in arb_chain(),
        record in any::<Index>(),
        pos in any::<Index>(),
        bit in 0u8..8,
    ) {
        let r = record.index(chain.stored.len());
        let mut bytes = chain.stored[r].clone();
        let p = pos.index(bytes.len());
        bytes[p] ^= 1 << bit;
        let err = verify_changed(&chain, r, bytes).expect_err("a flipped bit verified");
        prop_assert_eq!(err.seq, Seq(r as u64), "{}", err);
    }

    #[test]
    fn any_byte_change_is_reported_at_its_record(
        chain in arb_chain(),
        record in any::<Index>(),
        pos in any::<Index>(),
        xor in 1u8..=255,
    ) {
        let r = record.index(chain.stored.len());
        let mut bytes = chain.stored[r].clone();
        let p = pos.index(bytes.len());
        bytes[p] ^= xor;
        let err = verify_changed(&chain, r, bytes).expect_err("a changed byte verified");
        prop_assert_eq!(err.seq, Seq(r as u64), "{}", err);
    }

    #[test]
    fn any_resize_is_reported_at_its_record(
        chain in arb_chain(),
        record in any::<Index>(),
        cut in any::<Index>(),
        extra in prop::collection::vec(any::<u8>(), 1..4),
    ) {
        let r = record.index(chain.stored.len());
        let full = &chain.stored[r];
        let shorter = full[..cut.index(full.len())].to_vec();
        let err = verify_changed(&chain, r, shorter).expect_err("a truncated record verified");
        prop_assert_eq!(err.seq, Seq(r as u64), "{}", err);
        let mut longer = full.clone();
        longer.extend_from_slice(&extra);
        let err = verify_changed(&chain, r, longer).expect_err("an extended record verified");
        prop_assert_eq!(err.seq, Seq(r as u64), "{}", err);
    }
}

/// Every bit of every record, including the seq varint, the prev hash, the envelope,
/// the payload, and the last record (checked against the head).
#[test]
fn every_single_bit_flip_is_reported_at_its_record() {
    let chain = fixed_chain();
    for (r, stored) in chain.stored.iter().enumerate() {
        for p in 0..stored.len() {
            for bit in 0..8 {
                let mut bytes = stored.clone();
                bytes[p] ^= 1 << bit;
                assert_reports(&chain, r, bytes, &format!("byte {p} bit {bit}"));
            }
        }
    }
}

/// The prev field (right after the one-byte seq varint) of each record, explicitly:
/// a changed prev must blame its own record, not the one before it.
#[test]
fn prev_field_change_blames_its_own_record() {
    let chain = fixed_chain();
    for r in 0..chain.stored.len() {
        let mut bytes = chain.stored[r].clone();
        assert_eq!(&bytes[1..33], &chain.records[r].prev.0);
        bytes[1 + 31] ^= 0x80;
        assert_reports(&chain, r, bytes, "prev");
        // A record re-encoded with a wrong prev but a self-consistent body.
        let mut record = chain.records[r].clone();
        record.prev = Hash([0x55; 32]);
        let bytes = kasp_events::codec::encode_record(&record).unwrap();
        assert_reports(&chain, r, bytes, "re-encoded prev");
    }
}

/// A record replaced by a different valid record (same seq and prev, other content)
/// is reported as itself, not as the record after it.
#[test]
fn substituted_record_is_reported_as_itself() {
    let chain = fixed_chain();
    for r in 1..chain.stored.len() {
        let mut record = chain.records[r].clone();
        record.cause.push('!');
        let bytes = kasp_events::codec::encode_record(&record).unwrap();
        assert_reports(&chain, r, bytes, "substituted");
    }
}

#[test]
fn missing_records_are_reported() {
    let chain = fixed_chain();
    let last = chain.stored.len() - 1;
    for gone in 0..=last {
        let rows: Vec<(u64, &[u8])> = chain
            .rows()
            .into_iter()
            .filter(|(k, _)| *k != gone as u64)
            .collect();
        let err = verify_records(rows, Some(chain.head)).unwrap_err();
        assert_eq!(err.seq, Seq(gone as u64), "{err}");
    }
    let err = verify_records(Vec::new(), Some(chain.head)).unwrap_err();
    assert_eq!(err.seq, Seq(0), "{err}");
}

#[test]
fn records_beyond_the_head_are_reported() {
    let mut longer = fixed_chain();
    let head = longer.head;
    longer.push(new_event(5, "after the head"));
    let err = verify_records(longer.rows(), Some(head)).unwrap_err();
    assert_eq!(err.seq, Seq(head.seq.0 + 1), "{err}");

    let chain = fixed_chain();
    let mut rows = chain.rows();
    let garbage = [0xffu8; 7];
    rows.push((rows.len() as u64, &garbage));
    let err = verify_records(rows, Some(chain.head)).unwrap_err();
    assert_eq!(err.seq, Seq(chain.head.seq.0 + 1), "{err}");
}

#[test]
fn wrong_head_is_reported() {
    let chain = fixed_chain();
    let last = chain.head.seq;
    let mut head = chain.head;
    head.hash.0[0] ^= 1;
    assert_eq!(
        verify_records(chain.rows(), Some(head)).unwrap_err().seq,
        last
    );
    let head = Head {
        seq: Seq(last.0 + 1),
        ..chain.head
    };
    assert_eq!(
        verify_records(chain.rows(), Some(head)).unwrap_err().seq,
        Seq(last.0 + 1)
    );
    let head = Head {
        seq: Seq(last.0 - 1),
        ..chain.head
    };
    assert_eq!(
        verify_records(chain.rows(), Some(head)).unwrap_err().seq,
        last
    );
    assert_eq!(
        verify_records(chain.rows(), None).unwrap_err().seq,
        Seq(last.0 + 1)
    );
}

#[test]
fn record_zero_must_be_log_created() {
    let e = new_event(1, "not a log");
    let mut chain = Chain::new(log_created(), Timestamp(0), Actor::System, "setup");
    let mut record = chain.records[0].clone();
    record.event = e.event;
    chain.stored[0] = kasp_events::codec::encode_record(&record).unwrap();
    chain.head.hash = kasp_events::chain::hash_record(&chain.stored[0]);
    let err = verify_records(chain.rows(), Some(chain.head)).unwrap_err();
    assert_eq!(err.seq, Seq(0), "{err}");
}

#[test]
fn swapped_records_are_reported() {
    let chain = fixed_chain();
    let mut rows = chain.rows();
    rows.swap(2, 3);
    // Keys stay in order; the bytes under keys 2 and 3 are exchanged.
    let rows: Vec<(u64, &[u8])> = rows
        .into_iter()
        .enumerate()
        .map(|(i, (_, b))| (i as u64, b))
        .collect();
    let err = verify_records(rows, Some(chain.head)).unwrap_err();
    assert_eq!(err.seq, Seq(2), "{err}");
}

/// A tail verifies from a record whose hash is vouched for; a wrong anchor, a changed
/// record in the tail and a tail that does not reach the head are reported.
#[test]
fn tails_verify_from_a_vouched_record() {
    use kasp_events::chain::{hash_record, verify_records_from};
    let chain = fixed_chain();
    let rows = |stored: &[Vec<u8>], from: usize| -> Vec<(u64, Vec<u8>)> {
        stored
            .iter()
            .enumerate()
            .skip(from)
            .map(|(i, b)| (i as u64, b.clone()))
            .collect()
    };
    let check = |rows: &[(u64, Vec<u8>)], start: Head| {
        verify_records_from(
            rows.iter().map(|(k, v)| (*k, v.as_slice())),
            start,
            Some(chain.head),
        )
    };
    let anchor = Head {
        seq: Seq(2),
        hash: hash_record(&chain.stored[2]),
    };
    assert_eq!(check(&rows(&chain.stored, 2), anchor), Ok(chain.head));
    // The whole log, from record 0 and the genesis hash.
    let genesis = Head {
        seq: Seq(0),
        hash: Hash::GENESIS,
    };
    assert_eq!(check(&rows(&chain.stored, 0), genesis), Ok(chain.head));
    // An anchor that does not match the record.
    let wrong = Head {
        seq: Seq(2),
        hash: Hash([9; 32]),
    };
    assert_eq!(
        check(&rows(&chain.stored, 2), wrong).unwrap_err().seq,
        Seq(2)
    );
    // A changed record inside the tail.
    let mut stored = chain.stored.clone();
    let last = stored[3].len() - 1;
    stored[3][last] ^= 1;
    assert!(check(&rows(&stored, 2), anchor).is_err());
    // Rows that do not start at the anchor.
    assert_eq!(
        check(&rows(&chain.stored, 3), anchor).unwrap_err().seq,
        Seq(2)
    );
}

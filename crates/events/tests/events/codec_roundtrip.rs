//! The codec: every event kind and every record survives encode then decode, and
//! decoding refuses what it cannot account for.

use kasp_events::codec::{
    CodecError, decode_event, decode_record, decode_value, encode_event, encode_record,
    encode_value,
};
use kasp_events::testgen::{arb_actor, arb_event, arb_event_of, arb_text, arb_timestamp};
use kasp_events::{Event, Hash, Record, Seq};
use proptest::prelude::*;

fn arb_record() -> impl Strategy<Value = Record> {
    (
        any::<u64>(),
        any::<[u8; 32]>(),
        arb_timestamp(),
        arb_actor(),
        arb_text(),
        arb_event(),
    )
        .prop_map(|(seq, prev, at, actor, cause, event)| Record {
            seq: Seq(seq),
            prev: Hash(prev),
            at,
            actor,
            cause,
            event,
        })
}

proptest! {
    #[test]
    fn event_roundtrip(e in arb_event()) {
        let (kind, version, payload) = encode_event(&e).unwrap();
        prop_assert_eq!(kind.as_str(), e.kind());
        prop_assert_eq!(version, e.version());
        prop_assert_eq!(decode_event(&kind, version, &payload), Ok(e));
    }

    #[test]
    fn record_roundtrip(r in arb_record()) {
        let bytes = encode_record(&r).unwrap();
        prop_assert_eq!(decode_record(&bytes), Ok(r));
    }

    #[test]
    fn record_with_trailing_bytes_is_refused(r in arb_record(), extra in prop::collection::vec(any::<u8>(), 1..8)) {
        let mut bytes = encode_record(&r).unwrap();
        bytes.extend_from_slice(&extra);
        prop_assert_eq!(decode_record(&bytes), Err(CodecError::Trailing));
    }

    #[test]
    fn truncated_record_is_refused(r in arb_record(), cut in any::<prop::sample::Index>()) {
        let bytes = encode_record(&r).unwrap();
        let cut = cut.index(bytes.len());
        prop_assert!(decode_record(&bytes[..cut]).is_err());
    }

    #[test]
    fn payload_with_trailing_bytes_is_refused(e in arb_event(), extra in any::<u8>()) {
        let (kind, version, mut payload) = encode_event(&e).unwrap();
        payload.push(extra);
        prop_assert!(matches!(decode_event(&kind, version, &payload), Err(CodecError::Malformed(_))));
    }

    /// Arbitrary bytes never panic the decoder.
    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode_record(&bytes);
        for (kind, version) in Event::KINDS {
            let _ = decode_event(kind, *version, &bytes);
        }
    }

    #[test]
    fn value_roundtrip(v in prop::collection::vec((any::<u64>(), arb_text()), 0..8)) {
        let bytes = encode_value(&v).unwrap();
        prop_assert_eq!(decode_value::<Vec<(u64, String)>>(&bytes), Ok(v));
    }
}

/// Each kind's own strategy, so a rare kind gets as many cases as a common one.
#[test]
fn every_kind_roundtrips() {
    use proptest::test_runner::{Config, TestRunner};
    for (kind, _) in Event::KINDS {
        let mut runner = TestRunner::new(Config {
            cases: 64,
            ..Config::default()
        });
        runner
            .run(&arb_event_of(kind), |e| {
                let (k, v, payload) = encode_event(&e).unwrap();
                prop_assert_eq!(k.as_str(), *kind);
                prop_assert_eq!(decode_event(&k, v, &payload), Ok(e));
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
}

#[test]
fn unknown_kind_or_version_is_reported() {
    let e = Event::ZoneDeleted(kasp_events::ZoneDeleted {
        zone: crate::common::zone("example.com"),
    });
    let (kind, version, payload) = encode_event(&e).unwrap();
    assert_eq!(
        decode_event(&kind, version + 1, &payload),
        Err(CodecError::UnknownKind {
            kind: kind.clone(),
            version: version + 1
        })
    );
    assert_eq!(
        decode_event("ZoneExploded", 1, &payload),
        Err(CodecError::UnknownKind {
            kind: "ZoneExploded".to_string(),
            version: 1
        })
    );
    assert_eq!(decode_event(&kind, version, &payload), Ok(e));
}

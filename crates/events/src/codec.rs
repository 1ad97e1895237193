//! The one place that knows the byte encoding (postcard). Swapping the codec means
//! changing this module and the golden file, nothing else.
//!
//! A stored record is `StoredRecord` encoded with postcard; its `payload` is the
//! postcard encoding of the event body, interpreted by (kind, version). Decoding an
//! older version goes through an upcaster here ([`upcast`]).

use crate::envelope::{Actor, Hash, Record};
use crate::event::Event;
use crate::ids::Seq;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// The persisted envelope, field order fixed forever for format 1.
#[derive(Debug, Serialize, Deserialize)]
struct StoredRecord {
    seq: u64,
    prev: [u8; 32],
    at: i64,
    actor: Actor,
    cause: String,
    kind: String,
    version: u16,
    payload: Vec<u8>,
}

/// [`StoredRecord`] read without copying `kind` and `payload` (postcard writes a
/// `String` like a `&str` and a `Vec<u8>` like a `&[u8]`, so the bytes are the same).
#[derive(Debug, Deserialize)]
struct StoredRecordRef<'a> {
    seq: u64,
    prev: [u8; 32],
    at: i64,
    actor: Actor,
    cause: String,
    kind: &'a str,
    version: u16,
    payload: &'a [u8],
}

/// Why bytes could not be turned into a record, or the reverse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("undecodable record: {0}")]
    Malformed(String),
    #[error("unknown event kind {kind} version {version} (written by a newer kasp-ledger?)")]
    UnknownKind { kind: String, version: u16 },
    #[error("trailing bytes after the record")]
    Trailing,
}

pub(crate) fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, postcard::Error> {
    let (v, rest) = postcard::take_from_bytes(bytes)?;
    if rest.is_empty() {
        Ok(v)
    } else {
        Err(postcard::Error::DeserializeBadEncoding)
    }
}

/// Encodes an event body alone (kind and version are returned beside it).
pub fn encode_event(event: &Event) -> Result<(String, u16, Vec<u8>), CodecError> {
    let payload = event
        .encode_body()
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    Ok((event.kind().to_string(), event.version(), payload))
}

/// Decodes an event body of a given kind and version, upcasting older versions.
pub fn decode_event(kind: &str, version: u16, payload: &[u8]) -> Result<Event, CodecError> {
    match Event::decode_current(kind, version, payload).or_else(|| upcast(kind, version, payload)) {
        Some(r) => r.map_err(|e| CodecError::Malformed(format!("{kind} v{version}: {e}"))),
        None => Err(CodecError::UnknownKind {
            kind: kind.to_string(),
            version,
        }),
    }
}

/// Older versions of a kind, read into the current shape. `None` for a (kind, version)
/// that never existed.
///
/// * `DsStateChanged` 1: before `next_change_now` (read as `true`).
/// * `KeysPurged` 1: before `signconf_needed` (read as `true`).
/// * `ZoneEnforced` 1: before `no_key` (read as empty).
/// * `LogCreated` 1: `clock` had two variants, `System` and `Simulated`; version 2
///   added `Testing` after them, so a version 1 body reads as version 2 unchanged, but
///   a `Testing` tag in it is refused.
fn upcast(kind: &str, version: u16, bytes: &[u8]) -> Option<Result<Event, postcard::Error>> {
    use crate::enforcement::{
        DsStateChanged, DsStateChangedV1, KeysPurged, KeysPurgedV1, ZoneEnforced, ZoneEnforcedV1,
    };
    match (kind, version) {
        ("DsStateChanged", 1) => {
            Some(body::<DsStateChangedV1>(bytes).map(|v1| Event::from(DsStateChanged::from(v1))))
        }
        ("KeysPurged", 1) => Some(body::<KeysPurgedV1>(bytes).map(|v| KeysPurged::from(v).into())),
        ("ZoneEnforced", 1) => {
            Some(body::<ZoneEnforcedV1>(bytes).map(|v| ZoneEnforced::from(v).into()))
        }
        ("LogCreated", 1) => Some(body::<crate::event::LogCreated>(bytes).and_then(
            |e| match e.clock {
                crate::event::ClockMode::Testing => Err(postcard::Error::DeserializeBadEnum),
                _ => Ok(Event::LogCreated(e)),
            },
        )),
        _ => None,
    }
}

/// Encodes a whole record into the bytes that are stored and hashed.
pub fn encode_record(record: &Record) -> Result<Vec<u8>, CodecError> {
    let (kind, version, payload) = encode_event(&record.event)?;
    let stored = StoredRecord {
        seq: record.seq.0,
        prev: record.prev.0,
        at: record.at.0,
        actor: record.actor.clone(),
        cause: record.cause.clone(),
        kind,
        version,
        payload,
    };
    postcard::to_stdvec(&stored).map_err(|e| CodecError::Malformed(e.to_string()))
}

/// The kind and version a stored record was written with (older versions are upcast by
/// [`decode_record`], so the record alone no longer tells).
pub fn stored_kind_version(bytes: &[u8]) -> Result<(String, u16), CodecError> {
    let (stored, _): (StoredRecordRef<'_>, _) =
        postcard::take_from_bytes(bytes).map_err(|e| CodecError::Malformed(e.to_string()))?;
    Ok((stored.kind.to_string(), stored.version))
}

/// Decodes stored bytes into a record.
pub fn decode_record(bytes: &[u8]) -> Result<Record, CodecError> {
    let (stored, rest): (StoredRecordRef<'_>, _) =
        postcard::take_from_bytes(bytes).map_err(|e| CodecError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(CodecError::Trailing);
    }
    let event = decode_event(stored.kind, stored.version, stored.payload)?;
    Ok(Record {
        seq: Seq(stored.seq),
        prev: Hash(stored.prev),
        at: Timestamp(stored.at),
        actor: stored.actor,
        cause: stored.cause,
        event,
    })
}

/// Encodes any serde value with the log's codec (used for snapshots).
pub fn encode_value<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    postcard::to_stdvec(value).map_err(|e| CodecError::Malformed(e.to_string()))
}

/// Decodes a value written by [`encode_value`]; trailing bytes are an error.
pub fn decode_value<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    body(bytes).map_err(|e| CodecError::Malformed(e.to_string()))
}

//! Helpers shared by the integration tests (each test file uses some of them).
#![allow(dead_code)]

use kasp_events::chain::hash_record;
use kasp_events::codec::encode_record;
use kasp_events::{
    Actor, ClockMode, Event, Hash, Head, InstanceId, LogCreated, NewEvent, PolicyName, Record, Seq,
    Timestamp, ZoneDeleted, ZoneName, ZonePolicyChanged,
};

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A chain built exactly as `EventLog::create` and `EventLog::append` build one.
#[derive(Debug, Clone)]
pub struct Chain {
    pub records: Vec<Record>,
    pub stored: Vec<Vec<u8>>,
    pub head: Head,
}

impl Chain {
    pub fn new(created: LogCreated, at: Timestamp, actor: Actor, cause: &str) -> Chain {
        let record = Record {
            seq: Seq(0),
            prev: Hash::GENESIS,
            at,
            actor,
            cause: cause.to_string(),
            event: Event::LogCreated(created),
        };
        let bytes = encode_record(&record).expect("encodable");
        let head = Head {
            seq: Seq(0),
            hash: hash_record(&bytes),
        };
        Chain {
            records: vec![record],
            stored: vec![bytes],
            head,
        }
    }

    pub fn push(&mut self, e: NewEvent) {
        let record = Record {
            seq: Seq(self.head.seq.0 + 1),
            prev: self.head.hash,
            at: e.at,
            actor: e.actor,
            cause: e.cause,
            event: e.event,
        };
        let bytes = encode_record(&record).expect("encodable");
        self.head = Head {
            seq: record.seq,
            hash: hash_record(&bytes),
        };
        self.records.push(record);
        self.stored.push(bytes);
    }

    /// (key, bytes) rows as the events table yields them.
    pub fn rows(&self) -> Vec<(u64, &[u8])> {
        self.stored
            .iter()
            .enumerate()
            .map(|(i, b)| (i as u64, b.as_slice()))
            .collect()
    }
}

pub fn log_created() -> LogCreated {
    LogCreated {
        format: kasp_events::FORMAT,
        instance: InstanceId(*b"kasp-ledger-test"),
        clock: ClockMode::Simulated {
            start: Timestamp(1_735_689_600),
        },
    }
}

pub fn zone(name: &str) -> ZoneName {
    ZoneName::new(name).expect("valid zone name")
}

pub fn policy(name: &str) -> PolicyName {
    PolicyName::new(name).expect("valid policy name")
}

/// A small event whose cause string is `cause`.
pub fn new_event(n: u64, cause: &str) -> NewEvent {
    let event = if n.is_multiple_of(2) {
        Event::ZoneDeleted(ZoneDeleted {
            zone: zone(&format!("z{n}.example")),
        })
    } else {
        Event::ZonePolicyChanged(ZonePolicyChanged {
            zone: zone(&format!("z{n}.example")),
            from: policy("default"),
            to: policy("lab"),
        })
    };
    NewEvent {
        at: Timestamp(1_735_689_600 + n as i64 * 3600),
        actor: Actor::Operator("alice".to_string()),
        cause: cause.to_string(),
        event,
    }
}

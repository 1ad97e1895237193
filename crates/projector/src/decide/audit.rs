//! Signed checkpoints, the pure part: what the state knows about the audit key and the
//! last checkpoint, what the audit commands decide, and when the next interval
//! checkpoint is due. Generating the key and signing are HSM I/O and live in the shell;
//! its facts come back here as commands.

use crate::decide::{Decision, Rejection};
use crate::state::State;
use kasp_events::{
    AuditKeyConfigured, Checkpoint, CheckpointIntervalSet, Event, Hash, Locator, Seconds, Seq,
    Timestamp,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The DNSSEC algorithm of audit keys: ECDSA P-256 with SHA-256.
pub const AUDIT_ALGORITHM: u8 = 13;

/// An audit key as the log recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditKeyView {
    pub repository: String,
    pub locator: Locator,
    pub algorithm: u8,
    pub public_key: Vec<u8>,
    /// The record that configured it.
    pub configured: Seq,
}

/// The newest checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointView {
    /// The checkpoint's own record.
    pub record: Seq,
    /// The record it signed.
    pub signed: Seq,
    pub at: Timestamp,
}

/// Everything the log says about signed checkpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    /// Every audit key ever configured (older ones verify older checkpoints).
    pub keys: BTreeMap<Locator, AuditKeyView>,
    /// The key new checkpoints are signed with.
    pub current: Option<Locator>,
    /// Interval checkpoints: how often, and since when the interval counts when there
    /// is no checkpoint yet.
    pub interval: Option<Seconds>,
    pub interval_since: Option<Timestamp>,
    pub last_checkpoint: Option<CheckpointView>,
}

impl AuditView {
    /// The key new checkpoints are signed with.
    pub fn current_key(&self) -> Option<&AuditKeyView> {
        self.current.and_then(|l| self.keys.get(&l))
    }

    /// Folds an audit event recorded at `at` as record `seq`.
    pub(crate) fn apply(&mut self, event: Event, seq: Seq, at: Timestamp) {
        match event {
            Event::AuditKeyConfigured(e) => {
                self.current = Some(e.locator);
                self.keys.insert(
                    e.locator,
                    AuditKeyView {
                        repository: e.repository,
                        locator: e.locator,
                        algorithm: e.algorithm,
                        public_key: e.public_key,
                        configured: seq,
                    },
                );
            }
            Event::CheckpointIntervalSet(e) => {
                self.interval = e.interval;
                self.interval_since = Some(at);
            }
            Event::Checkpoint(e) => {
                self.last_checkpoint = Some(CheckpointView {
                    record: seq,
                    signed: e.seq,
                    at,
                });
            }
            _ => {}
        }
    }
}

/// The audit commands, with the facts of the HSM I/O the shell already did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditCommand {
    /// `log checkpoint --setup`: the HSM made this key; `interval` when given.
    Configure {
        repository: String,
        locator: Locator,
        algorithm: u8,
        public_key: Vec<u8>,
        interval: Option<Option<Seconds>>,
    },
    /// `log checkpoint --interval`.
    SetInterval { interval: Option<Seconds> },
    /// The audit key signed the head (`seq`, `hash`).
    Checkpoint {
        seq: Seq,
        hash: Hash,
        locator: Locator,
        signature: Vec<u8>,
    },
}

/// The refusal when no audit key is configured.
pub const NO_AUDIT_KEY: &str = "No audit key is configured for this log; run \
'ods-enforcer log checkpoint --setup --repository <name>' first";

/// Decides an audit command.
pub fn decide_audit(state: &State, command: &AuditCommand) -> Result<Decision, Rejection> {
    let audit = &state.audit;
    let mut d = Decision::default();
    match command {
        AuditCommand::Configure {
            repository,
            locator,
            algorithm,
            public_key,
            interval,
        } => {
            if audit.keys.contains_key(locator) {
                return Err(Rejection::refused(format!(
                    "Audit key {locator} is already configured"
                )));
            }
            d.events.push(
                AuditKeyConfigured {
                    repository: repository.clone(),
                    locator: *locator,
                    algorithm: *algorithm,
                    public_key: public_key.clone(),
                }
                .into(),
            );
            if let Some(interval) = interval
                && *interval != audit.interval
            {
                d.events.push(
                    CheckpointIntervalSet {
                        interval: *interval,
                    }
                    .into(),
                );
            }
        }
        AuditCommand::SetInterval { interval } => {
            if audit.current.is_none() {
                return Err(Rejection::refused(NO_AUDIT_KEY));
            }
            if *interval != audit.interval {
                d.events.push(
                    CheckpointIntervalSet {
                        interval: *interval,
                    }
                    .into(),
                );
            }
        }
        AuditCommand::Checkpoint {
            seq,
            hash,
            locator,
            signature,
        } => {
            if audit.current.is_none() {
                return Err(Rejection::refused(NO_AUDIT_KEY));
            }
            if audit.current != Some(*locator) {
                return Err(Rejection::refused(format!(
                    "Key {locator} is not the current audit key; nothing was appended"
                )));
            }
            if state.last_seq != Some(*seq) {
                return Err(Rejection::refused(
                    "The log moved on while the checkpoint was being signed; nothing was \
                     appended, try again",
                ));
            }
            d.events.push(
                Checkpoint {
                    seq: *seq,
                    hash: *hash,
                    locator: *locator,
                    signature: signature.clone(),
                }
                .into(),
            );
        }
    }
    Ok(d)
}

/// When the next interval checkpoint is due: `None` when interval checkpoints are off
/// or the log has not grown since the last checkpoint (nothing new to sign).
pub fn next_checkpoint(state: &State) -> Option<Timestamp> {
    let audit = &state.audit;
    audit.current?;
    let interval = audit.interval.filter(|s| s.0 > 0)?;
    let (since, record) = match audit.last_checkpoint {
        Some(c) => (c.at, Some(c.record)),
        None => (audit.interval_since?, None),
    };
    if record.is_some() && state.last_seq <= record {
        return None;
    }
    Some(since.plus(interval))
}

/// Whether an interval checkpoint is due at `now`.
pub fn checkpoint_due(state: &State, now: Timestamp) -> bool {
    next_checkpoint(state).is_some_and(|t| t <= now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kasp_events::{Actor, Record};

    fn fold(state: &mut State, seq: u64, at: i64, event: Event) {
        state.apply(&Record {
            seq: Seq(seq),
            prev: Hash::GENESIS,
            at: Timestamp(at),
            actor: Actor::System,
            cause: String::new(),
            event,
        });
    }

    fn configure(interval: Option<Option<Seconds>>) -> AuditCommand {
        AuditCommand::Configure {
            repository: "SoftHSM".to_string(),
            locator: Locator([1; 16]),
            algorithm: AUDIT_ALGORITHM,
            public_key: vec![4; 64],
            interval,
        }
    }

    fn checkpoint(seq: u64) -> AuditCommand {
        AuditCommand::Checkpoint {
            seq: Seq(seq),
            hash: Hash([2; 32]),
            locator: Locator([1; 16]),
            signature: vec![3; 64],
        }
    }

    #[test]
    fn checkpoints_need_a_configured_key_and_the_current_head() {
        let mut state = State::default();
        state.last_seq = Some(Seq(4));
        assert_eq!(
            decide_audit(&state, &checkpoint(4)).unwrap_err().message,
            NO_AUDIT_KEY
        );
        let set = AuditCommand::SetInterval {
            interval: Some(Seconds(60)),
        };
        assert!(decide_audit(&state, &set).is_err());
        let d = decide_audit(&state, &configure(Some(Some(Seconds(3600))))).unwrap();
        assert_eq!(d.events.len(), 2);
        for (i, e) in d.events.into_iter().enumerate() {
            fold(&mut state, 5 + i as u64, 100, e);
        }
        assert_eq!(state.audit.interval, Some(Seconds(3600)));
        assert!(decide_audit(&state, &checkpoint(4)).is_err(), "stale head");
        let d = decide_audit(&state, &checkpoint(6)).unwrap();
        assert_eq!(d.events.len(), 1);
        // The same interval again changes nothing.
        let same = AuditCommand::SetInterval {
            interval: Some(Seconds(3600)),
        };
        assert!(decide_audit(&state, &same).unwrap().events.is_empty());
        assert!(decide_audit(&state, &configure(None)).is_err(), "same key");
    }

    #[test]
    fn interval_checkpoints_are_due_only_after_growth() {
        let mut state = State::default();
        fold(
            &mut state,
            0,
            0,
            kasp_events::LogCreated {
                format: 1,
                instance: kasp_events::InstanceId([0; 16]),
                clock: kasp_events::ClockMode::System,
            }
            .into(),
        );
        assert_eq!(next_checkpoint(&state), None);
        let d = decide_audit(&state, &configure(Some(Some(Seconds(100))))).unwrap();
        for (i, e) in d.events.into_iter().enumerate() {
            fold(&mut state, 1 + i as u64, 1000, e);
        }
        assert_eq!(next_checkpoint(&state), Some(Timestamp(1100)));
        assert!(!checkpoint_due(&state, Timestamp(1099)));
        assert!(checkpoint_due(&state, Timestamp(1100)));
        let d = decide_audit(&state, &checkpoint(2)).unwrap();
        fold(&mut state, 3, 1200, d.events[0].clone());
        // Nothing new since the checkpoint: nothing to sign, however late.
        assert_eq!(next_checkpoint(&state), None);
        fold(
            &mut state,
            4,
            1250,
            CheckpointIntervalSet {
                interval: Some(Seconds(100)),
            }
            .into(),
        );
        assert_eq!(next_checkpoint(&state), Some(Timestamp(1300)));
        fold(
            &mut state,
            5,
            1260,
            CheckpointIntervalSet { interval: None }.into(),
        );
        assert_eq!(next_checkpoint(&state), None);
    }
}

//! Why records do not move — issue 6 `explain`, after spec `state-machine.md` §4.4.
//!
//! [`explain_records`] evaluates every record of a zone at `now` exactly as the first
//! pass of a run would ([`super::update::Run::check`]: same gates in the same order,
//! same overlay flag carried from record to record), without committing anything, and
//! reports for each record the gate that holds it ([`Gate`]): its goal reached, an
//! operator DS command, a roll-type ordering (§4.6), a validity rule (§4.7), a timer
//! (§4.8, with the terms of its interval) or the backup gate.
//!
//! For a record held by an ordering or a rule, [`Waits`] names the records it waits
//! for: the zone is driven forward with the real state machine, every timer expired
//! and every DS confirmation given, until the record moves; the other records (of the
//! keys and types the hold is about) that changed before it are what it waits for.

use super::model::{DsAtParent, HsmKeyId, KeyId, ZoneModel, has_ksk};
use super::record::{RecordState, RecordType};
use super::rules::Rule;
use super::timing::{WaitPart, transition_wait};
use super::update::{Hold, PolicyHold, Run, prepared, update_zone};
use kasp_events::{KeyRole, Policy, Timestamp};

/// The gate that holds one record (or that none does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// The record is at its goal; no move is wanted.
    Settled,
    /// A DS waits for `ds_at_parent` to become `needs` (operator command or DS task);
    /// after that the DS still needs `then` seconds (§4.8, from the command's time).
    Operator {
        /// SEEN (to become omnipresent) or UNSUBMITTED (to become hidden).
        needs: DsAtParent,
        /// The key's `ds_at_parent` now.
        has: DsAtParent,
        /// The DS interval counted from the command.
        then: i64,
    },
    /// A roll-type ordering refuses the move (§4.6).
    Policy {
        /// Which ordering.
        hold: PolicyHold,
        /// What frees it.
        waits: Waits,
    },
    /// The move would break a validity rule (§4.7).
    Rule {
        /// Which rule.
        rule: Rule,
        /// What frees it.
        waits: Waits,
    },
    /// The record's interval has not passed.
    Timer {
        /// The exact second the record may move.
        at: Timestamp,
        /// The record's last change, where the interval starts.
        since: Timestamp,
        /// The terms of the interval, in seconds.
        parts: Vec<(WaitPart, i64)>,
    },
    /// The key material waits for its backup; the zone retries at `retry`.
    Backup {
        /// The retry time.
        retry: Timestamp,
    },
    /// No gate holds the record: the zone's next run moves it.
    Ready,
    /// The policy is passthrough: no state machine runs (set by the caller).
    Passthrough,
}

/// What a record held by an ordering or a rule waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waits {
    /// These records reaching these states (in the order they first move); empty when
    /// only records outside the hold's scope move first.
    For(Vec<Awaited>),
    /// With every timer expired and every DS confirmation given the record still never
    /// moves: it needs something else (a new key, a policy change).
    Never,
}

/// One record another one waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Awaited {
    /// The key.
    pub key: KeyId,
    /// Its role.
    pub role: KeyRole,
    /// The record.
    pub record: RecordType,
    /// The state it must reach.
    pub to: RecordState,
}

/// One applicable record of a key: its state, the state it wants and its gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFinding {
    /// The record type.
    pub record: RecordType,
    /// The current state.
    pub state: RecordState,
    /// The desired next state (§4.1); equal to `state` when settled.
    pub desired: RecordState,
    /// What holds it.
    pub gate: Gate,
}

/// One key and its applicable (non-NA) records in DS, DNSKEY, RRSIGDNSKEY, RRSIG order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFindings {
    /// The key.
    pub key: KeyId,
    /// KSK, ZSK or CSK.
    pub role: KeyRole,
    /// DNSSEC algorithm.
    pub algorithm: u8,
    /// Key tag.
    pub key_tag: u16,
    /// The key's goal.
    pub introducing: bool,
    /// DS state at the parent.
    pub ds_at_parent: DsAtParent,
    /// Key material.
    pub hsm: Option<HsmKeyId>,
    /// `false`: the key states do not exist yet; the findings are for the states the
    /// next run creates.
    pub states_created: bool,
    /// The records.
    pub records: Vec<RecordFinding>,
}

/// Explains every record of `zone` under `policy` at `now` (see the module text).
pub fn explain_records(zone: &ZoneModel, policy: &Policy, now: Timestamp) -> Vec<KeyFindings> {
    let z = prepared(zone, policy, now);
    let mut run = Run::new(policy, now, &z);
    let mut out = Vec::new();
    for (k, key) in z.keys.iter().enumerate() {
        let mut records = Vec::new();
        for t in RecordType::ALL {
            let state = key.state(t);
            if state == RecordState::Na {
                continue;
            }
            let desired = state.desired(key.introducing);
            let gate = match run.check(&z, k, t) {
                Ok(_) => Gate::Ready,
                Err(hold) => gate(&z, policy, now, k, t, hold),
            };
            records.push(RecordFinding {
                record: t,
                state,
                desired,
                gate,
            });
        }
        out.push(KeyFindings {
            key: key.id,
            role: key.role,
            algorithm: key.algorithm,
            key_tag: key.key_tag,
            introducing: key.introducing,
            ds_at_parent: key.ds_at_parent,
            hsm: key.hsm,
            states_created: zone.keys.get(k).is_some_and(|k| k.states_created),
            records,
        });
    }
    out
}

/// The [`Gate`] of a hold.
fn gate(
    z: &ZoneModel,
    policy: &Policy,
    now: Timestamp,
    k: usize,
    t: RecordType,
    hold: Hold,
) -> Gate {
    let key = &z.keys[k];
    let next = key.state(t).desired(key.introducing);
    match hold {
        Hold::AtGoal => Gate::Settled,
        Hold::Operator { needs } => {
            let ttl = z.ttl_windows.ttl(policy, t, now);
            let then = transition_wait(policy, t, next, ttl, false)
                .iter()
                .map(|(_, s)| s)
                .sum();
            Gate::Operator {
                needs,
                has: key.ds_at_parent,
                then,
            }
        }
        Hold::Policy(hold) => {
            // The records of its own key that the ordering names.
            let types: &[RecordType] = match hold {
                PolicyHold::DsAfterDnskey
                | PolicyHold::RrsigDnskeyAfterDnskey
                | PolicyHold::RrsigAfterDnskey => &[RecordType::Dnskey],
                PolicyHold::DnskeyAfterDsOrRrsig => &[RecordType::Ds, RecordType::Rrsig],
            };
            let id = key.id;
            Gate::Policy {
                hold,
                waits: waits(z, policy, now, k, t, |a: &Scoped| {
                    a.key == id && types.contains(&a.record)
                }),
            }
        }
        Hold::Rule(rule) => {
            let alg = key.algorithm;
            let in_scope = move |a: &Scoped| {
                let types: &[RecordType] = match rule {
                    Rule::One => &[RecordType::Ds],
                    Rule::Two => &[RecordType::Ds, RecordType::Dnskey, RecordType::RrsigDnskey],
                    Rule::Three => &[RecordType::Ds, RecordType::Dnskey, RecordType::Rrsig],
                };
                (!rule.same_algorithm() || a.algorithm == alg) && types.contains(&a.record)
            };
            Gate::Rule {
                rule,
                waits: waits(z, policy, now, k, t, in_scope),
            }
        }
        Hold::Timer { at, ttl, smooth } => Gate::Timer {
            at,
            since: key.records.get(t).last_change,
            parts: transition_wait(policy, t, next, ttl, smooth),
        },
        Hold::Backup { retry } => Gate::Backup { retry },
    }
}

/// A record move seen while driving forward, with what scoping needs.
struct Scoped {
    key: KeyId,
    algorithm: u8,
    record: RecordType,
}

/// How many runs [`waits`] drives forward at most.
const MAX_RUNS: i64 = 24;
/// Time between two of those runs: longer than any interval a policy can give (four
/// 32-bit durations), so every timer has expired at the next run.
const RUN_STEP: i64 = 1 << 36;

/// Drives `z` forward (every timer expired, every DS confirmation given, backups done)
/// until record `t` of key number `k` moves; the records matching `scope` (other than
/// the subject) whose state just before that move differs from now, in the order they
/// first moved.
fn waits(
    z: &ZoneModel,
    policy: &Policy,
    now: Timestamp,
    k: usize,
    t: RecordType,
    scope: impl Fn(&Scoped) -> bool,
) -> Waits {
    let subject = z.keys[k].id;
    let mut zone = z.clone();
    let mut moved: Vec<Awaited> = Vec::new();
    for i in 1..=MAX_RUNS {
        let confirmed = confirm_all(&mut zone);
        let out = update_zone(&zone, policy, Timestamp(now.0.saturating_add(i * RUN_STEP)));
        for tr in &out.transitions {
            if tr.key == subject && tr.record == t {
                let changed = |a: &Awaited| {
                    z.key(a.key).is_some_and(|k| {
                        let scoped = Scoped {
                            key: a.key,
                            algorithm: k.algorithm,
                            record: a.record,
                        };
                        k.state(a.record) != a.to && scope(&scoped)
                    })
                };
                return Waits::For(moved.into_iter().filter(changed).collect());
            }
            match moved
                .iter_mut()
                .find(|a| a.key == tr.key && a.record == tr.record)
            {
                Some(a) => a.to = tr.to,
                None => moved.push(Awaited {
                    key: tr.key,
                    role: z.key(tr.key).map_or(KeyRole::Ksk, |k| k.role),
                    record: tr.record,
                    to: tr.to,
                }),
            }
        }
        if out.transitions.is_empty() && !confirmed {
            break;
        }
        zone = out.zone;
    }
    Waits::Never
}

/// The operator of a forward drive: the DS tasks and `ds-seen` / `ds-gone` for every
/// DS that waits for them, and every backup done. True if anything changed.
fn confirm_all(zone: &mut ZoneModel) -> bool {
    let mut changed = false;
    for key in zone.keys.iter_mut() {
        let ds = key.state(RecordType::Ds);
        let wanted = match ds.desired(key.introducing) {
            RecordState::Omnipresent if has_ksk(key.role) => Some(DsAtParent::Seen),
            RecordState::Hidden if ds != RecordState::Hidden => Some(DsAtParent::Unsubmitted),
            _ => None,
        };
        if let Some(w) = wanted.filter(|w| *w != key.ds_at_parent) {
            key.ds_at_parent = w;
            changed = true;
        }
        if key.backup_pending {
            key.backup_pending = false;
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
#[path = "explain_tests.rs"]
mod tests;

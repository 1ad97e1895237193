//! Why records do not move (`explain`), after docs/state-machine.md, Gates.
//!
//! [`explain_records`] evaluates every record of a zone at `now` exactly as the first pass
//! of a run would ([`super::update::Run::check`]: same gates in the same order, same
//! overlay flag carried from record to record), without committing anything, and reports
//! for each record the gate that holds it ([`Gate`]): its goal reached, an operator DS
//! command, a roll-type ordering (docs/state-machine.md, Policy approval), a validity rule
//! (docs/state-machine.md, Validity rules), a timer (docs/state-machine.md, Timing, with
//! the terms of its interval) or the backup gate.
//!
//! Like the first pass of a run, the evaluation sees the zone as stored: when a record
//! is [`Gate::Ready`] (the zone's run is due), the records after it are explained as if
//! it had not moved yet; the run itself then continues from the moved record.
//!
//! For a record held by an ordering or a rule, [`Waits`] names the records it waits
//! for: a copy of the zone is driven forward with the real state machine, every timer
//! expired and every DS confirmation given, until the record moves. Of the records (of
//! the keys and types the hold is about) that changed before it, those the move needs
//! remain: in the zone just before the move, each in turn is put back in its present
//! state, and dropped if the ordering, or the held rule and every rule the move itself
//! would break, still let the move pass (the same rule functions the gates use).

use super::model::{Dependency, DsAtParent, HsmKeyId, KeyId, ZoneModel, has_ksk};
use super::record::{RecordState, RecordType};
use super::rules::{Eval, Rule, dnssec_verdict};
use super::timing::{WaitPart, transition_wait};
use super::update::{
    Hold, PolicyHold, Run, Transition, policy_verdict, prepared, rule_keys, update_zone,
};
use kasp_events::{KeyRole, Policy, Timestamp};

/// The gate that holds one record (or that none does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// The record is at its goal; no move is wanted.
    Settled,
    /// A DS waits for `ds_at_parent` to become `needs` (operator command or DS task); after
    /// that the DS still needs `then` seconds (docs/state-machine.md, Timing, from the
    /// command's time).
    Operator {
        /// SEEN (to become omnipresent) or UNSUBMITTED (to become hidden).
        needs: DsAtParent,
        /// The key's `ds_at_parent` now.
        has: DsAtParent,
        /// The DS interval counted from the command.
        then: i64,
    },
    /// A roll-type ordering refuses the move (docs/state-machine.md, Policy approval).
    Policy {
        /// Which ordering.
        hold: PolicyHold,
        /// What frees it.
        waits: Waits,
    },
    /// The move would break a validity rule (docs/state-machine.md, Validity rules).
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
    /// The desired next state (docs/state-machine.md, Goals); equal to `state` when
    /// settled.
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
        Hold::Policy(ordering) => {
            // The records of its own key that the ordering names.
            let types: &[RecordType] = match ordering {
                PolicyHold::DsAfterDnskey
                | PolicyHold::RrsigDnskeyAfterDnskey
                | PolicyHold::RrsigAfterDnskey => &[RecordType::Dnskey],
                PolicyHold::DnskeyAfterDsOrRrsig => &[RecordType::Ds, RecordType::Rrsig],
            };
            let id = key.id;
            Gate::Policy {
                hold: ordering,
                waits: waits(z, policy, now, (k, t, hold), |a: &Scoped| {
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
                waits: waits(z, policy, now, (k, t, hold), in_scope),
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
/// first moved, reduced to those the move needs: one by one, a record put back in its
/// present state while `hold` still lets the move pass is dropped.
fn waits(
    z: &ZoneModel,
    policy: &Policy,
    now: Timestamp,
    (k, t, hold): (usize, RecordType, Hold),
    scope: impl Fn(&Scoped) -> bool,
) -> Waits {
    let subject = z.keys[k].id;
    let mut zone = z.clone();
    let mut moved: Vec<Awaited> = Vec::new();
    for i in 1..=MAX_RUNS {
        let confirmed = confirm_all(&mut zone);
        let out = update_zone(&zone, policy, Timestamp(now.0.saturating_add(i * RUN_STEP)));
        for (j, tr) in out.transitions.iter().enumerate() {
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
                let moved: Vec<Awaited> = moved.into_iter().filter(changed).collect();
                let before = before_move(&zone, &out.transitions[..j]);
                let ctx = Lift {
                    policy,
                    policy_deps: &zone.dependencies,
                    k,
                    t,
                    hold,
                };
                return Waits::For(needed(z, before, moved, &ctx));
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

/// What decides whether the subject's hold is lifted.
struct Lift<'a> {
    policy: &'a Policy,
    /// The dependency rows at the start of the run (policyApproval's, Q17).
    policy_deps: &'a [Dependency],
    k: usize,
    t: RecordType,
    hold: Hold,
}

impl Lift<'_> {
    /// The evaluation of the subject's move in `zone`.
    fn with_eval<R>(&self, zone: &ZoneModel, f: impl FnOnce(Eval<'_>, RecordState) -> R) -> R {
        let key = zone.keys[self.k];
        let next = key.state(self.t).desired(key.introducing);
        let keys = rule_keys(zone);
        let ev = Eval {
            keys: &keys,
            deps: &zone.dependencies,
            subject: self.k,
            record: self.t,
            next,
            pretend: false,
        };
        f(ev, next)
    }

    /// Whether the hold lets the subject move in `zone` (the real gate, for the zone
    /// just before the move).
    fn passes(&self, zone: &ZoneModel) -> bool {
        self.with_eval(zone, |ev, next| match self.hold {
            Hold::Policy(_) => {
                let ev = Eval {
                    deps: self.policy_deps,
                    ..ev
                };
                policy_verdict(&ev, &zone.keys[self.k], self.t, next).is_ok()
            }
            _ => dnssec_verdict(ev, self.policy.keys.keys.is_empty())
                .0
                .is_ok(),
        })
    }

    /// Which of rules 1–3 hold in `zone`, with the subject moved (`moved`) or not;
    /// rule 1 counts only when the zone may not go unsigned.
    fn rules(&self, zone: &ZoneModel, moved: bool) -> [bool; 3] {
        self.with_eval(zone, |ev, _| {
            let ev = ev.with_pretend(moved);
            [
                !self.policy.keys.keys.is_empty() && ev.rule1(),
                ev.rule2(),
                ev.rule3(),
            ]
        })
    }

    /// Whether `trial` (the zone before the move with some records put back) still lets
    /// the subject move for the reason it could in the zone before the move (`base`,
    /// the rules that held there after the move). For a policy hold: the ordering
    /// passes. For a rule hold: the held rule holds after the move, and any other rule
    /// that held after the move at `base` either still does or is already broken in
    /// `trial` before the move (then the put-back record breaks it, not the move).
    fn keeps(&self, trial: &ZoneModel, base: [bool; 3]) -> bool {
        let Hold::Rule(held) = self.hold else {
            return self.passes(trial);
        };
        let after = self.rules(trial, true);
        let before = self.rules(trial, false);
        (0..3).all(|i| {
            let this = usize::from(held.number() - 1) == i;
            !base[i] || after[i] || (!this && !before[i])
        })
    }
}

/// `zone` with the transitions `done` committed (states, `ds_at_parent`, dependency
/// rows as markSuccessors changed them): the zone just before the subject moved.
fn before_move(zone: &ZoneModel, done: &[Transition]) -> ZoneModel {
    let mut z = zone.clone();
    for tr in done {
        if let Some(key) = z.keys.iter_mut().find(|k| k.id == tr.key) {
            key.records.get_mut(tr.record).state = tr.to;
            if let Some((_, to)) = tr.ds_at_parent {
                key.ds_at_parent = to;
            }
        }
        if tr.to == RecordState::Omnipresent {
            z.dependencies
                .retain(|d| !(d.to == tr.key && d.record == tr.record));
        }
        z.dependencies
            .extend(tr.successors.iter().map(|s| Dependency {
                from: tr.key,
                to: *s,
                record: tr.record,
            }));
    }
    z
}

/// The records of `moved` the subject's move needs in `before`: each in turn is put
/// back in its state in `start`; if the hold is still lifted it is dropped (and stays
/// put back).
fn needed(
    start: &ZoneModel,
    before: ZoneModel,
    moved: Vec<Awaited>,
    lift: &Lift<'_>,
) -> Vec<Awaited> {
    if !lift.passes(&before) {
        return moved;
    }
    let base = lift.rules(&before, true);
    let mut current = before;
    let mut out = Vec::new();
    for a in moved {
        let Some(was) = start.key(a.key).map(|k| k.state(a.record)) else {
            out.push(a);
            continue;
        };
        let mut trial = current.clone();
        if let Some(key) = trial.keys.iter_mut().find(|k| k.id == a.key) {
            key.records.get_mut(a.record).state = was;
        }
        if lift.keeps(&trial, base) {
            current = trial;
        } else {
            out.push(a);
        }
    }
    out
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

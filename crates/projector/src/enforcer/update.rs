//! `updateZone`, the state machine proper — docs/state-machine.md, State machine:
//! Evaluation order (iteration order and fixpoint), Gates (in order), Policy approval,
//! Wake-up time, DS side effects and Marking successors; the rules come from
//! [`super::rules`] (Validity rules), the times from [`super::timing`] (TTL windows,
//! Timing).
//!
//! OpenDNSSEC 2.1 semantics, including two quirks kept on purpose (Q17): policyApproval
//! sees the dependency rows as they were when the run started, and the overlay flag
//! left by the last rule call is reused by the next policyApproval and by the
//! smooth-rollover test.

use super::model::{Dependency, DsAtParent, KeyId, KeyModel, ZoneModel, has_ksk, has_zsk};
use super::record::{RecordState, RecordType};
use super::rules::{Eval, Rule, RuleKey, dnssec_verdict};
use super::timing::min_transition_time;
use RecordState::{Hidden, Na, Omnipresent as O, Rumoured as R, Unretentive as U};
use kasp_events::{Policy, Seconds, Timestamp};

/// One committed record transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The key.
    pub key: KeyId,
    /// The record.
    pub record: RecordType,
    /// State before.
    pub from: RecordState,
    /// State after.
    pub to: RecordState,
    /// `ds_at_parent` change made with a DS transition (docs/state-machine.md, DS side
    /// effects), as (before, after).
    pub ds_at_parent: Option<(DsAtParent, DsAtParent)>,
    /// The rule that allowed it: the earliest time (docs/state-machine.md, Timing), with
    /// the TTL it used and whether the smooth-rollover extra applied.
    pub earliest: Timestamp,
    pub ttl: Seconds,
    pub smooth: bool,
    /// Dependency rows created by markSuccessors (docs/state-machine.md, Marking
    /// successors), their successor keys.
    pub successors: Vec<KeyId>,
}

/// The result of one `updateZone` run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateOutcome {
    /// Committed transitions in commit order.
    pub transitions: Vec<Transition>,
    /// Earliest time a record that passed the approval gates may move
    /// (docs/state-machine.md, Wake-up time); `None` when nothing waits for time
    /// (operator-gated or rule-blocked records do not count, Q5).
    pub next_wakeup: Option<Timestamp>,
    /// The zone after the run: states, last changes and TTLs, `ds_at_parent`,
    /// dependency rows and refreshed TTL windows.
    pub zone: ZoneModel,
}

/// Runs the state machine on `zone` at `now` until no record can move
/// (docs/state-machine.md, Evaluation order). Keys without key states get their initial
/// ones first (docs/state-machine.md, Records, at `now` with the refreshed windows' TTLs).
/// Keys are evaluated in `zone.keys` order, records in DS, DNSKEY, RRSIGDNSKEY, RRSIG
/// order; every transition is visible to later evaluations. A policy without keys allows
/// the zone to go unsigned (rule 1 is skipped, Q29).
pub fn update_zone(zone: &ZoneModel, policy: &Policy, now: Timestamp) -> UpdateOutcome {
    let mut zone = prepared(zone, policy, now);
    let mut run = Run::new(policy, now, &zone);
    loop {
        let mut changed = false;
        for k in 0..zone.keys.len() {
            for t in RecordType::ALL {
                changed |= run.evaluate(&mut zone, k, t);
            }
        }
        if !changed {
            break;
        }
    }
    UpdateOutcome {
        transitions: run.transitions,
        next_wakeup: run.next_wakeup,
        zone,
    }
}

/// The zone as a run at `now` starts on it: TTL windows refreshed (docs/state-machine.md,
/// TTL windows) and the initial key states of keys that have none (docs/state-machine.md,
/// Records).
pub(crate) fn prepared(zone: &ZoneModel, policy: &Policy, now: Timestamp) -> ZoneModel {
    let mut zone = zone.clone();
    zone.ttl_windows = zone.ttl_windows.refreshed(policy, now);
    let ttls = RecordType::ALL.map(|t| zone.ttl_windows.ttl(policy, t, now));
    for key in zone.keys.iter_mut().filter(|k| !k.states_created) {
        *key = key.with_initial_states(now, ttls);
    }
    zone
}

/// Why a record does not move in an evaluation: the first gate that holds it
/// (docs/state-machine.md, Gates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Gate 1: the record is at its goal (desired state = current state).
    AtGoal,
    /// Gate 2: a DS waits for the operator: `ds_at_parent` must be `needs` (SEEN to
    /// become omnipresent, UNSUBMITTED to become hidden).
    Operator {
        /// The `ds_at_parent` the move needs.
        needs: DsAtParent,
    },
    /// Gate 3: policyApproval, the roll type's ordering (docs/state-machine.md, Policy
    /// approval).
    Policy(PolicyHold),
    /// Gate 4: dnssecApproval, the move would break this validity rule
    /// (docs/state-machine.md, Validity rules).
    Rule(Rule),
    /// Gate 5: the record's interval (docs/state-machine.md, Timing) has not passed yet.
    Timer {
        /// The earliest time of the move.
        at: Timestamp,
        /// The zone TTL the interval used.
        ttl: Seconds,
        /// Whether the smooth-rollover extra applied.
        smooth: bool,
    },
    /// Gate 6: the key material waits for its backup; retried at `retry`.
    Backup {
        /// `now + 60`.
        retry: Timestamp,
    },
}

/// Which ordering (docs/state-machine.md, Policy approval) refuses a move into rumoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyHold {
    /// DS → RUM with minimize DS: the key's own DNSKEY is not omnipresent.
    DsAfterDnskey,
    /// DNSKEY → RUM with minimize DNSKEY: the key's own DS (KSK bit) / RRSIG (ZSK bit)
    /// is not omnipresent (or NA) while another good KSK of the algorithm exists.
    DnskeyAfterDsOrRrsig,
    /// RRSIGDNSKEY → RUM: the key's own DNSKEY is hidden.
    RrsigDnskeyAfterDnskey,
    /// RRSIG → RUM with minimize RRSIG: the key's own DNSKEY is not omnipresent while
    /// another good ZSK of the algorithm exists.
    RrsigAfterDnskey,
}

/// A record that passed every gate: its move, the earliest time (docs/state-machine.md,
/// Timing), the TTL it used and whether the smooth-rollover extra applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Go {
    pub(crate) next: RecordState,
    pub(crate) at: Timestamp,
    pub(crate) ttl: Seconds,
    pub(crate) smooth: bool,
}

/// State carried through one run.
pub(crate) struct Run<'p> {
    policy: &'p Policy,
    now: Timestamp,
    allow_unsigned: bool,
    /// Dependency rows at the start of the run, as policyApproval sees them (Q17).
    policy_deps: Vec<Dependency>,
    /// The overlay flag left by the last rule call (docs/state-machine.md, Overlay, Q17).
    pretend: bool,
    next_wakeup: Option<Timestamp>,
    transitions: Vec<Transition>,
}

pub(crate) fn rule_keys(zone: &ZoneModel) -> Vec<RuleKey> {
    zone.keys
        .iter()
        .map(|k| RuleKey {
            id: k.id,
            algorithm: k.algorithm,
            states: k.records.states(),
        })
        .collect()
}

impl<'p> Run<'p> {
    /// A run at `now` over `zone` as [`prepared`] left it.
    pub(crate) fn new(policy: &'p Policy, now: Timestamp, zone: &ZoneModel) -> Run<'p> {
        Run {
            policy,
            now,
            allow_unsigned: policy.keys.keys.is_empty(),
            policy_deps: zone.dependencies.clone(),
            pretend: false,
            next_wakeup: None,
            transitions: Vec::new(),
        }
    }

    fn wake(&mut self, at: Timestamp) {
        self.next_wakeup = Some(self.next_wakeup.map_or(at, |w| w.min(at)));
    }

    /// The gates (docs/state-machine.md, Gates) for record `t` of key number `k`; true
    /// when a transition was committed.
    fn evaluate(&mut self, zone: &mut ZoneModel, k: usize, t: RecordType) -> bool {
        match self.check(zone, k, t) {
            Ok(go) => {
                self.commit(zone, k, t, go);
                true
            }
            Err(_) => false,
        }
    }

    /// Gates 1–6 (docs/state-machine.md, Gates) for record `t` of key number `k`, without
    /// committing: the move if every gate passes, else the gate that holds the record.
    /// Updates the overlay flag and the wake-up time as the evaluation does.
    pub(crate) fn check(&mut self, zone: &ZoneModel, k: usize, t: RecordType) -> Result<Go, Hold> {
        let key = zone.keys[k];
        let from = key.state(t);
        let next = from.desired(key.introducing);
        // 1. Stable.
        if next == from {
            return Err(Hold::AtGoal);
        }
        // 2. DS user gate: no wake-up, the operator's command re-triggers the zone.
        if t == RecordType::Ds {
            let needs = match next {
                O => Some(DsAtParent::Seen),
                Hidden => Some(DsAtParent::Unsubmitted),
                _ => None,
            };
            if let Some(needs) = needs.filter(|n| *n != key.ds_at_parent) {
                return Err(Hold::Operator { needs });
            }
        }
        let keys = rule_keys(zone);
        let ev = Eval {
            keys: &keys,
            deps: &self.policy_deps,
            subject: k,
            record: t,
            next,
            pretend: self.pretend,
        };
        // 3. policyApproval (stale dependency rows, stale overlay flag).
        policy_verdict(&ev, &key, t, next).map_err(Hold::Policy)?;
        // 4. dnssecApproval (current dependency rows).
        let ev = Eval {
            deps: &zone.dependencies,
            ..ev
        };
        let (verdict, pretend) = dnssec_verdict(ev, self.allow_unsigned);
        self.pretend = pretend;
        verdict.map_err(Hold::Rule)?;
        // 5. Timing, with the smooth-rollover extra for RRSIG (docs/state-machine.md,
        //    Timing).
        let ev = ev.with_pretend(self.pretend);
        let smooth = t == RecordType::Rrsig
            && key.state(RecordType::Dnskey) == O
            && ((next == O && ev.exists_signer(O, U))
                || (next == Hidden && ev.exists_signer(O, R)));
        let ttl = zone.ttl_windows.ttl(self.policy, t, self.now);
        let rec = key.records.get(t);
        let at = min_transition_time(self.policy, t, next, rec.last_change, ttl, smooth);
        if at > self.now {
            self.wake(at);
            return Err(Hold::Timer { at, ttl, smooth });
        }
        // 6. Backup gate: retry in 60 s.
        if next == O && key.backup_pending {
            let retry = self.now.plus(kasp_events::Seconds(60));
            self.wake(retry);
            return Err(Hold::Backup { retry });
        }
        Ok(Go {
            next,
            at,
            ttl,
            smooth,
        })
    }

    /// Gates 7 and 8 (docs/state-machine.md, Gates): the DS side effects, the commit and
    /// markSuccessors.
    fn commit(&mut self, zone: &mut ZoneModel, k: usize, t: RecordType, go: Go) {
        let Go {
            next,
            at,
            ttl,
            smooth,
        } = go;
        let key = zone.keys[k];
        let from = key.state(t);
        let keys = rule_keys(zone);
        let ev = Eval {
            keys: &keys,
            deps: &zone.dependencies,
            subject: k,
            record: t,
            next,
            pretend: self.pretend,
        };
        // 7. DS side effects.
        let ds_change = if t == RecordType::Ds {
            ds_side_effect(key.ds_at_parent, next).map(|to| (key.ds_at_parent, to))
        } else {
            None
        };
        // 8. Commit and markSuccessors.
        let new_deps = mark_successors(ev, &key, t, next);
        let stored = &mut zone.keys[k];
        if let Some((_, to)) = ds_change {
            stored.ds_at_parent = to;
        }
        let r = stored.records.get_mut(t);
        r.state = next;
        r.last_change = self.now;
        r.ttl = ttl;
        if next == O {
            zone.dependencies
                .retain(|d| !(d.to == key.id && d.record == t));
        }
        let successors = new_deps.iter().map(|d| d.to).collect();
        zone.dependencies.extend(new_deps);
        self.transitions.push(Transition {
            key: key.id,
            record: t,
            from,
            to: next,
            ds_at_parent: ds_change,
            earliest: at,
            ttl,
            smooth,
            successors,
        });
    }
}

/// `E:policyApproval` (docs/state-machine.md, Policy approval): the roll type's ordering of
/// moves into rumoured. The key's own states are read as stored; the "good key" searches go
/// through `ev`.
pub fn policy_approval(ev: &Eval<'_>, key: &KeyModel, t: RecordType, next: RecordState) -> bool {
    policy_verdict(ev, key, t, next).is_ok()
}

/// [`policy_approval`] naming the ordering that refuses the move.
pub fn policy_verdict(
    ev: &Eval<'_>,
    key: &KeyModel,
    t: RecordType,
    next: RecordState,
) -> Result<(), PolicyHold> {
    if next != R {
        return Ok(());
    }
    let rec = key.records.get(t);
    let own = |t: RecordType| key.state(t);
    let (ok, hold) = match t {
        RecordType::Ds => (
            !(rec.minimize && own(RecordType::Dnskey) != O),
            PolicyHold::DsAfterDnskey,
        ),
        RecordType::Dnskey => (
            !rec.minimize
                || (has_zsk(key.role) && matches!(own(RecordType::Rrsig), O | Na))
                || (has_ksk(key.role) && matches!(own(RecordType::Ds), O | Na))
                || !ev.good_ksk(),
            PolicyHold::DnskeyAfterDsOrRrsig,
        ),
        RecordType::RrsigDnskey => (
            own(RecordType::Dnskey) != Hidden,
            PolicyHold::RrsigDnskeyAfterDnskey,
        ),
        RecordType::Rrsig => (
            !rec.minimize || own(RecordType::Dnskey) == O || !ev.good_zsk(),
            PolicyHold::RrsigAfterDnskey,
        ),
    };
    if ok { Ok(()) } else { Err(hold) }
}

/// The `ds_at_parent` a DS moving to `next` asks for, if it changes
/// (docs/state-machine.md, DS side effects).
pub fn ds_side_effect(current: DsAtParent, next: RecordState) -> Option<DsAtParent> {
    use DsAtParent::*;
    match (next, current) {
        (R, Retract) => Some(Submitted),
        (R, Unsubmitted | Retracted) => Some(Submit),
        (U, Submit) => Some(Unsubmitted),
        (U, Submitted | Seen) => Some(Retract),
        _ => None,
    }
}

/// `E:markSuccessors`, insertions (docs/state-machine.md, Marking successors): after key
/// `key` moved record `t` to unretentive, every potential successor gets a dependency row
/// from `key`, provided `key` can be succeeded for `t` (DS/RRSIG: own DNSKEY omnipresent;
/// DNSKEY: own DS or RRSIG omnipresent; RRSIGDNSKEY: never). Deletions on omnipresent are
/// the caller's.
fn mark_successors(
    ev: Eval<'_>,
    key: &KeyModel,
    t: RecordType,
    next: RecordState,
) -> Vec<Dependency> {
    let successable = next == U
        && match t {
            RecordType::Ds | RecordType::Rrsig => key.state(RecordType::Dnskey) == O,
            RecordType::Dnskey => {
                key.state(RecordType::Ds) == O || key.state(RecordType::Rrsig) == O
            }
            RecordType::RrsigDnskey => false,
        };
    if !successable {
        return Vec::new();
    }
    (0..ev.keys.len())
        .filter(|&s| ev.potential(s, ev.subject, t))
        .map(|s| Dependency {
            from: key.id,
            to: ev.keys[s].id,
            record: t,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ds_side_effects_of_4_10() {
        use DsAtParent::*;
        assert_eq!(ds_side_effect(Unsubmitted, R), Some(Submit));
        assert_eq!(ds_side_effect(Retracted, R), Some(Submit));
        assert_eq!(ds_side_effect(Retract, R), Some(Submitted));
        for s in [Seen, Submit, Submitted] {
            assert_eq!(ds_side_effect(s, R), None);
        }
        assert_eq!(ds_side_effect(Submit, U), Some(Unsubmitted));
        assert_eq!(ds_side_effect(Submitted, U), Some(Retract));
        assert_eq!(ds_side_effect(Seen, U), Some(Retract));
        for s in [Unsubmitted, Retract, Retracted] {
            assert_eq!(ds_side_effect(s, U), None);
        }
        assert_eq!(ds_side_effect(Seen, O), None);
        assert_eq!(ds_side_effect(Unsubmitted, Hidden), None);
    }
}

//! The three DNSSEC validity rules and the successor relation — docs/state-machine.md,
//! Overlay (future-key overlay) and docs/state-machine.md, Validity rules
//! (`E:dnssecApproval`, `rule1..3`, `exists_with_successor`, `successor`, `successor_rec`,
//! `isPotentialSuccessor`, `unsignedOk`, `all_DS_hidden`).
//!
//! Everything is a pure predicate over a list of keys (id, algorithm, four states),
//! the dependency rows and an optional overlay that pretends one record of the key
//! under evaluation is already in its next state.

use super::model::{Dependency, KeyId};
use super::record::{RecordState, RecordType};
use RecordState::{Hidden, Na, Omnipresent as O, Rumoured as R, Unretentive as U};

/// What the rules see of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleKey {
    /// Identity (dependency rows refer to it).
    pub id: KeyId,
    /// DNSSEC algorithm number.
    pub algorithm: u8,
    /// States in [`RecordType::ALL`] order.
    pub states: [RecordState; 4],
}

/// A state mask over (DS, DNSKEY, RRSIGDNSKEY, RRSIG); `None` = don't care.
type Mask = [Option<RecordState>; 4];

const W: Option<RecordState> = None;

const fn m(ds: RecordState, dk: RecordState, rd: RecordState) -> Mask {
    [Some(ds), Some(dk), Some(rd), W]
}

const fn sig(dk: RecordState, rs: RecordState) -> Mask {
    [W, Some(dk), W, Some(rs)]
}

/// One evaluation context: the keys, the dependency rows, and the record under
/// evaluation (`subject` indexes `keys`) with its desired `next` state. `pretend`
/// switches the overlay of docs/state-machine.md, Overlay on ("after") or off ("current").
#[derive(Debug, Clone, Copy)]
pub struct Eval<'a> {
    /// The zone's keys in evaluation order.
    pub keys: &'a [RuleKey],
    /// Dependency rows.
    pub deps: &'a [Dependency],
    /// Index in `keys` of the key under evaluation.
    pub subject: usize,
    /// Record type under evaluation.
    pub record: RecordType,
    /// Its desired next state.
    pub next: RecordState,
    /// Overlay on: the subject's record reads as `next`; successor clauses (ii) and
    /// (iv) are active.
    pub pretend: bool,
}

impl Eval<'_> {
    /// The same context with the overlay switched to `pretend`.
    pub fn with_pretend(self, pretend: bool) -> Self {
        Eval { pretend, ..self }
    }

    /// `E:getState`: a key's state for a type, through the overlay.
    pub fn state(&self, k: usize, t: RecordType) -> RecordState {
        if self.pretend && k == self.subject && t == self.record {
            self.next
        } else {
            self.keys[k].states[t.index()]
        }
    }

    fn index_of(&self, id: KeyId) -> Option<usize> {
        self.keys.iter().position(|k| k.id == id)
    }

    fn same_alg(&self, k: usize) -> bool {
        self.keys[k].algorithm == self.keys[self.subject].algorithm
    }

    fn matches(&self, k: usize, same_algorithm: bool, mask: &Mask) -> bool {
        if same_algorithm && !self.same_alg(k) {
            return false;
        }
        RecordType::ALL
            .into_iter()
            .all(|t| mask[t.index()].is_none_or(|s| self.state(k, t) == s))
    }

    fn exists(&self, same_algorithm: bool, mask: &Mask) -> bool {
        (0..self.keys.len()).any(|k| self.matches(k, same_algorithm, mask))
    }

    /// Whether some key of the subject's algorithm has (DNSKEY, RRSIG) = (`dk`, `rs`).
    pub fn exists_signer(&self, dk: RecordState, rs: RecordState) -> bool {
        self.exists(true, &sig(dk, rs))
    }

    /// `E:isPotentialSuccessor(S, P, T)`.
    pub fn potential(&self, s: usize, p: usize, t: RecordType) -> bool {
        use RecordType::*;
        if s == p || self.state(s, t) != R || self.keys[s].algorithm != self.keys[p].algorithm {
            return false;
        }
        match t {
            Ds | Rrsig => self.state(s, Dnskey) == O,
            Dnskey => {
                (self.state(p, Ds) == O && self.state(s, Ds) == O)
                    || (self.state(p, Rrsig) == O && self.state(s, Rrsig) == O)
            }
            RrsigDnskey => false,
        }
    }

    fn same_core_states(&self, a: usize, b: usize) -> bool {
        [RecordType::Ds, RecordType::Dnskey, RecordType::Rrsig]
            .into_iter()
            .all(|t| self.state(a, t) == self.state(b, t))
    }

    /// `E:successor_rec`: is `s` a successor of `p` for `t`? `skip` is the number of
    /// leading keys dropped from the list (clause iv recurses on `list + 1`); `depth`
    /// bounds recursion through cyclic dependency rows, which 2.1 would loop on.
    fn succ_rec(&self, s: usize, p: usize, t: RecordType, skip: usize, depth: usize) -> bool {
        if depth > self.deps.len() + self.keys.len() + 1 {
            return false;
        }
        let (sid, pid) = (self.keys[s].id, self.keys[p].id);
        let typed = || self.deps.iter().filter(move |d| d.record == t);
        // (i) an existing row P → S of type T.
        if typed().any(|d| d.from == pid && d.to == sid) {
            return true;
        }
        // (ii) the transition under evaluation would make S succeed P.
        if self.pretend && p == self.subject && self.potential(s, p, t) {
            return true;
        }
        // (iii) X → S exists, X is in P's situation and X succeeds P.
        for d in typed().filter(|d| d.to == sid) {
            let Some(x) = self.index_of(d.from) else {
                continue;
            };
            if self.same_core_states(p, x) && self.succ_rec(x, p, t, skip, depth + 1) {
                return true;
            }
        }
        // (iv) a sibling K in P's situation that S would succeed.
        if self.pretend {
            for k in skip..self.keys.len() {
                if k == p || !self.potential(s, k, t) || !self.same_core_states(p, k) {
                    continue;
                }
                if self.succ_rec(s, k, t, skip + 1, depth + 1) {
                    return true;
                }
            }
        }
        false
    }

    /// `E:successor`: nothing (of any type) may depend on `p`, then [`Self::succ_rec`].
    fn successor(&self, s: usize, p: usize, t: RecordType) -> bool {
        let pid = self.keys[p].id;
        !self.deps.iter().any(|d| d.to == pid) && self.succ_rec(s, p, t, 0, 0)
    }

    /// `E:exists_with_successor` (same algorithm): a key S matching `succ` succeeds a
    /// distinct key P matching `pred` for type `t`.
    fn exists_with_successor(&self, pred: &Mask, succ: &Mask, t: RecordType) -> bool {
        let n = self.keys.len();
        (0..n).any(|s| {
            self.matches(s, true, succ)
                && (0..n).any(|p| p != s && self.matches(p, true, pred) && self.successor(s, p, t))
        })
    }

    /// `E:unsignedOk`: every key of the subject's algorithm whose `t` record is neither
    /// hidden nor NA is matched by some key having the same `t` state and `mask`.
    fn unsigned_ok(&self, mask: &Mask, t: RecordType) -> bool {
        (0..self.keys.len()).filter(|&k| self.same_alg(k)).all(|k| {
            let st = self.state(k, t);
            if st == Hidden || st == Na {
                return true;
            }
            let mut cmp = *mask;
            cmp[t.index()] = Some(st);
            self.exists(true, &cmp)
        })
    }

    /// A "good KSK" of the subject's algorithm (docs/state-machine.md, Policy approval):
    /// (DS, DNSKEY, RRSIGDNSKEY) all omnipresent, or a DS pair (UNR,OMN,OMN) →
    /// (RUM,OMN,OMN), or a DNSKEY pair (OMN,UNR,UNR) → (OMN,RUM,RUM).
    pub fn good_ksk(&self) -> bool {
        use RecordType::{Dnskey, Ds};
        self.exists(true, &m(O, O, O))
            || self.exists_with_successor(&m(U, O, O), &m(R, O, O), Ds)
            || self.exists_with_successor(&m(O, U, U), &m(O, R, R), Dnskey)
    }

    /// A "good ZSK" of the subject's algorithm (docs/state-machine.md, Policy approval):
    /// (DNSKEY, RRSIG) both omnipresent, or a DNSKEY pair (UNR,OMN) → (RUM,OMN), or an
    /// RRSIG pair (OMN,UNR) → (OMN,RUM).
    pub fn good_zsk(&self) -> bool {
        use RecordType::{Dnskey, Rrsig};
        self.exists(true, &sig(O, O))
            || self.exists_with_successor(&sig(U, O), &sig(R, O), Dnskey)
            || self.exists_with_successor(&sig(O, U), &sig(O, R), Rrsig)
    }

    /// Rule 1 (any algorithm): some DS is omnipresent or rumoured.
    pub fn rule1(&self) -> bool {
        self.exists(false, &[Some(O), W, W, W]) || self.exists(false, &[Some(R), W, W, W])
    }

    /// Rule 2 (same algorithm): the DNSKEY chain from the DS is sound (2a–2g).
    pub fn rule2(&self) -> bool {
        use RecordType::{Dnskey, Ds};
        self.exists(true, &m(O, O, O))
            || self.exists_with_successor(&m(U, O, O), &m(R, O, O), Ds)
            || self.exists_with_successor(&m(O, U, U), &m(O, R, R), Dnskey)
            || self.exists_with_successor(&m(O, U, U), &m(O, O, R), Dnskey)
            || self.exists_with_successor(&m(O, U, O), &m(O, R, R), Dnskey)
            || self.exists_with_successor(&m(O, U, O), &m(O, O, R), Dnskey)
            || self.unsigned_ok(&m(Hidden, O, O), Ds)
    }

    /// Rule 3 (same algorithm): the signatures are sound (3a–3e).
    pub fn rule3(&self) -> bool {
        use RecordType::{Dnskey, Ds, Rrsig};
        self.exists(true, &sig(O, O))
            || self.exists_with_successor(&sig(U, O), &sig(R, O), Dnskey)
            || self.exists_with_successor(&sig(O, U), &sig(O, R), Rrsig)
            || self.unsigned_ok(&sig(Hidden, O), Dnskey)
            || (0..self.keys.len())
                .filter(|&k| self.same_alg(k))
                .all(|k| matches!(self.state(k, Ds), Hidden | Na))
    }
}

/// One of the three DNSSEC validity rules of docs/state-machine.md, Validity rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// Rule 1: a DS exists (any algorithm).
    One,
    /// Rule 2: the DNSKEY chain from the DS is sound (same algorithm).
    Two,
    /// Rule 3: the signatures are sound (same algorithm).
    Three,
}

impl Rule {
    /// The rule's number (1, 2 or 3).
    pub fn number(self) -> u8 {
        match self {
            Rule::One => 1,
            Rule::Two => 2,
            Rule::Three => 3,
        }
    }

    /// The rule's name as docs/state-machine.md, Validity rules, gives it.
    pub fn title(self) -> &'static str {
        match self {
            Rule::One => "a DS exists",
            Rule::Two => "DNSKEY chain from DS is sound",
            Rule::Three => "signatures are sound",
        }
    }

    /// Whether the rule only looks at keys of the subject's algorithm.
    pub fn same_algorithm(self) -> bool {
        self != Rule::One
    }
}

/// `r(current) ⇒ r(after)` for one rule; `last` gets the overlay flag the call leaves.
fn keeps<'a>(ev: &Eval<'a>, rule: fn(&Eval<'a>) -> bool, last: &mut bool) -> bool {
    *last = false;
    if !rule(&ev.with_pretend(false)) {
        return true;
    }
    *last = true;
    rule(&ev.with_pretend(true))
}

/// [`dnssec_approval`] naming the first rule (in the order 1, 2, 3) that the
/// transition would break, with the overlay flag the last rule call left behind.
pub fn dnssec_verdict(ev: Eval<'_>, allow_unsigned: bool) -> (Result<(), Rule>, bool) {
    let mut last = ev.pretend;
    if !allow_unsigned && !keeps(&ev, Eval::rule1, &mut last) {
        return (Err(Rule::One), last);
    }
    if !keeps(&ev, Eval::rule2, &mut last) {
        return (Err(Rule::Two), last);
    }
    if !keeps(&ev, Eval::rule3, &mut last) {
        return (Err(Rule::Three), last);
    }
    (Ok(()), last)
}

/// `E:dnssecApproval`: for each rule (rule 1 skipped if `allow_unsigned`), a rule that
/// holds now must still hold after the transition. Returns the verdict and the overlay
/// flag the last rule call left behind (2.1 does not reset it, Q17).
pub fn dnssec_approval(ev: Eval<'_>, allow_unsigned: bool) -> (bool, bool) {
    let (verdict, last) = dnssec_verdict(ev, allow_unsigned);
    (verdict.is_ok(), last)
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;

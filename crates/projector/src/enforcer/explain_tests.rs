//! Unit tests of `explain_records`: one per gate kind, on the default policy with an
//! operator who acts only when told, and a check that the timers it prints are the
//! wake-ups the state machine really uses.

use super::*;
use crate::enforcer::tests::{Sim, at};
use RecordState::{Hidden as H, Omnipresent as O, Rumoured as R, Unretentive as U};
use RecordType::{Dnskey as DK, Ds, Rrsig as RS, RrsigDnskey as RD};
use kasp_events::KeyRole;

const P: i64 = 50_400;
const S: i64 = 129_600;
const D: i64 = 13_599;
const ROLL: i64 = 10_000_000;

fn finding(s: &Sim, now: i64, key: KeyId, t: RecordType) -> RecordFinding {
    explain_records(&s.zone, &s.policy, at(now))
        .into_iter()
        .find(|k| k.key == key)
        .and_then(|k| k.records.into_iter().find(|r| r.record == t))
        .expect("record explained")
}

/// KSK (KskDoubleSignature) and ZSK (ZskPrePublication) introduced and settled: the
/// DS was submitted at S, seen at S and is omnipresent at S + D.
fn settled() -> (Sim, KeyId, KeyId) {
    let mut s = Sim::new();
    let k = s.add_key(KeyRole::Ksk, 4, at(0));
    let z = s.add_key(KeyRole::Zsk, 1, at(0));
    s.run(at(0));
    s.run(at(P));
    s.run(at(S));
    s.ds(k, DsAtParent::Submitted, at(S));
    s.ds(k, DsAtParent::Seen, at(S));
    s.run(at(S + D));
    assert_eq!(s.states(k), [O, O, O, RecordState::Na]);
    (s, k, z)
}

#[test]
fn a_submitted_ds_waits_for_ds_seen() {
    let mut s = Sim::new();
    let k = s.add_key(KeyRole::Ksk, 4, at(0));
    s.add_key(KeyRole::Zsk, 1, at(0));
    s.run(at(0));
    s.run(at(P));
    s.run(at(S));
    s.ds(k, DsAtParent::Submitted, at(S));
    let f = finding(&s, S, k, Ds);
    assert_eq!((f.state, f.desired), (R, O));
    assert_eq!(
        f.gate,
        Gate::Operator {
            needs: DsAtParent::Seen,
            has: DsAtParent::Submitted,
            then: D,
        }
    );
    // Before the submit task ran, the DS waits for the submission.
    s.ds(k, DsAtParent::Submit, at(S));
    assert!(matches!(
        finding(&s, S, k, Ds).gate,
        Gate::Operator {
            has: DsAtParent::Submit,
            ..
        }
    ));
}

#[test]
fn records_at_their_goal_are_settled() {
    let (s, k, z) = settled();
    let all = explain_records(&s.zone, &s.policy, at(S + D));
    assert_eq!(all.len(), 2);
    let ksk = &all[0];
    assert_eq!(ksk.key, k);
    // NA records are not listed; every other record is, in record order.
    let types: Vec<RecordType> = ksk.records.iter().map(|r| r.record).collect();
    assert_eq!(types, [Ds, DK, RD]);
    let zsk = &all[1];
    assert_eq!(zsk.key, z);
    assert_eq!(zsk.records.len(), 2);
    for r in all.iter().flat_map(|k| &k.records) {
        assert_eq!(r.gate, Gate::Settled, "{r:?}");
        assert_eq!(r.state, r.desired);
    }
}

#[test]
fn a_timer_names_its_exact_second_and_terms() {
    let (mut s, old, _) = settled();
    let new = s.add_key(KeyRole::Ksk, 4, at(ROLL));
    s.retire(old);
    let out = s.run(at(ROLL));
    assert_eq!(s.states(new), [H, R, R, RecordState::Na]);
    let f = finding(&s, ROLL, new, DK);
    let Gate::Timer {
        at: when,
        since,
        parts,
    } = f.gate
    else {
        panic!("{f:?}")
    };
    assert_eq!(when, at(ROLL + P));
    assert_eq!(since, at(ROLL));
    assert_eq!(parts.iter().map(|(_, s)| s).sum::<i64>(), P);
    assert_eq!(parts[0], (crate::enforcer::timing::WaitPart::Ttl(DK), 3600));
    // The zone's wake-up is that second, and the run then moves the record.
    assert_eq!(out.next_wakeup, Some(when));
    let moved = s.run(when);
    assert!(
        moved
            .transitions
            .iter()
            .any(|t| t.key == new && t.record == DK && t.to == O)
    );
}

#[test]
fn the_roll_type_holds_the_new_ds_until_its_dnskey_is_omnipresent() {
    let (mut s, old, _) = settled();
    let new = s.add_key(KeyRole::Ksk, 4, at(ROLL));
    s.retire(old);
    s.run(at(ROLL));
    let f = finding(&s, ROLL, new, Ds);
    assert_eq!((f.state, f.desired), (H, R));
    let Gate::Policy { hold, waits } = f.gate else {
        panic!("{f:?}")
    };
    assert_eq!(hold, PolicyHold::DsAfterDnskey);
    let Waits::For(w) = waits else {
        panic!("{waits:?}")
    };
    assert!(
        w.iter()
            .any(|a| a.key == new && a.record == DK && a.to == O),
        "{w:?}"
    );
    assert!(w.iter().all(|a| a.key == new), "own records only: {w:?}");
}

#[test]
fn a_validity_rule_names_the_other_key() {
    let (mut s, old, _) = settled();
    let new = s.add_key(KeyRole::Ksk, 4, at(ROLL));
    s.retire(old);
    s.run(at(ROLL));
    // The old DS may not leave while it is the only DS (rule 1): it waits for the new
    // KSK's DS, and only DS records count for rule 1.
    let f = finding(&s, ROLL, old, Ds);
    assert_eq!((f.state, f.desired), (O, U));
    let Gate::Rule { rule, waits } = f.gate else {
        panic!("{f:?}")
    };
    assert_eq!(rule, Rule::One);
    assert_eq!(
        waits,
        Waits::For(vec![Awaited {
            key: new,
            role: KeyRole::Ksk,
            record: Ds,
            to: R
        }])
    );
    // The old DNSKEY may not leave before the new KSK can take over the chain (rule 2):
    // the new KSK's DNSKEY and RRSIGDNSKEY, and its own DS gone, in the order they
    // change. (The new DS, which rule 1 needs, is what the old DS waits for, above.)
    let f = finding(&s, ROLL, old, DK);
    let want = [(new, DK, O), (new, RD, O), (old, Ds, H)].map(|(key, record, to)| Awaited {
        key,
        role: KeyRole::Ksk,
        record,
        to,
    });
    assert_eq!(
        f.gate,
        Gate::Rule {
            rule: Rule::Two,
            waits: Waits::For(want.to_vec())
        }
    );
    // After the publish interval both DS move; the old DNSKEY now waits for the new
    // DS, which waits for ds-seen.
    s.run(at(ROLL + P));
    assert_eq!(s.states(new)[0], R);
    assert_eq!(s.states(old)[0], U);
    s.ds(new, DsAtParent::Submitted, at(ROLL + P));
    s.ds(old, DsAtParent::Retracted, at(ROLL + P));
    let f = finding(&s, ROLL + P, old, DK);
    let Gate::Rule {
        rule,
        waits: Waits::For(w),
    } = f.gate
    else {
        panic!("{f:?}")
    };
    assert_eq!(rule, Rule::Two, "{w:?}");
    // It leaves in the same run as its own DS, once that DS is hidden.
    assert_eq!(
        w,
        [Awaited {
            key: old,
            role: KeyRole::Ksk,
            record: Ds,
            to: H
        }]
    );
    // The DS records themselves wait for the operator.
    assert!(matches!(
        finding(&s, ROLL + P, old, Ds).gate,
        Gate::Operator {
            needs: DsAtParent::Unsubmitted,
            has: DsAtParent::Retracted,
            ..
        }
    ));
    assert!(matches!(
        finding(&s, ROLL + P, new, Ds).gate,
        Gate::Operator {
            needs: DsAtParent::Seen,
            has: DsAtParent::Submitted,
            ..
        }
    ));
}

#[test]
fn a_record_whose_time_has_come_is_ready_and_explaining_changes_nothing() {
    let mut s = Sim::new();
    let k = s.add_key(KeyRole::Ksk, 4, at(0));
    s.add_key(KeyRole::Zsk, 1, at(0));
    s.run(at(0));
    let before = s.zone.clone();
    let f = finding(&s, P, k, DK);
    assert_eq!(f.gate, Gate::Ready);
    assert_eq!(s.zone, before);
}

#[test]
fn the_earliest_timer_is_the_zones_wake_up_through_a_zsk_roll() {
    let (mut s, _, old) = settled();
    let new = s.add_key(KeyRole::Zsk, 1, at(ROLL));
    s.retire(old);
    let mut now = at(ROLL);
    for _ in 0..10 {
        let out = s.run(now);
        let timers: Vec<Timestamp> = explain_records(&s.zone, &s.policy, now)
            .iter()
            .flat_map(|k| &k.records)
            .filter_map(|r| match r.gate {
                Gate::Timer { at, .. } => Some(at),
                _ => None,
            })
            .collect();
        assert_eq!(timers.iter().min().copied(), out.next_wakeup);
        match out.next_wakeup {
            Some(w) => now = w,
            None => break,
        }
    }
    assert_eq!(s.states(new)[RS.index()], O);
    assert_eq!(s.states(old), [RecordState::Na, H, RecordState::Na, H]);
}

#[test]
fn a_key_that_cannot_be_replaced_never_leaves() {
    // The only KSK retires without a successor: its DS would break rule 1 for ever.
    let (mut s, k, _) = settled();
    s.retire(k);
    s.run(at(ROLL));
    let f = finding(&s, ROLL, k, Ds);
    assert_eq!(
        f.gate,
        Gate::Rule {
            rule: Rule::One,
            waits: Waits::Never
        }
    );
}

#[test]
fn records_that_move_first_but_are_not_needed_are_left_out() {
    // A ZSK roll at the same time as the KSK roll: the new ZSK's DNSKEY is in rule 2's
    // scope and becomes omnipresent before the old KSK's DNSKEY may leave, but the
    // move does not need it.
    let (mut s, old, zsk) = settled();
    let new = s.add_key(KeyRole::Ksk, 4, at(ROLL));
    let new_zsk = s.add_key(KeyRole::Zsk, 1, at(ROLL));
    s.retire(old);
    s.retire(zsk);
    s.run(at(ROLL));
    let f = finding(&s, ROLL, old, DK);
    let Gate::Rule {
        rule: Rule::Two,
        waits: Waits::For(w),
    } = f.gate
    else {
        panic!("{f:?}")
    };
    assert!(w.iter().any(|a| a.key == new), "{w:?}");
    assert!(w.iter().all(|a| a.key != new_zsk && a.key != zsk), "{w:?}");
}

#[test]
fn key_material_without_backup_holds_records_at_the_backup_gate() {
    let mut s = Sim::new();
    let k = s.add_key(KeyRole::Ksk, 4, at(0));
    s.add_key(KeyRole::Zsk, 1, at(0));
    s.key_mut(k).backup_pending = true;
    s.run(at(0));
    // Moves into rumoured do not need the backup; into omnipresent they do, once the
    // timer has passed: the zone retries a minute later.
    assert_eq!(s.states(k)[DK.index()], R);
    let f = finding(&s, P, k, DK);
    assert_eq!(f.gate, Gate::Backup { retry: at(P + 60) });
    let out = s.run(at(P));
    assert_eq!(s.states(k)[DK.index()], R);
    assert_eq!(out.next_wakeup, Some(at(P + 60)));
}

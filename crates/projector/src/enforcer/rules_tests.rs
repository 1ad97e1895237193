//! Unit tests of the validity rules (docs/state-machine.md, Validity rules) on hand-built
//! key sets.

use super::*;

const N: RecordState = Na;
const H: RecordState = Hidden;

fn key(id: u64, states: [RecordState; 4]) -> RuleKey {
    RuleKey {
        id: KeyId(id),
        algorithm: 8,
        states,
    }
}

fn dep(from: u64, to: u64, record: RecordType) -> Dependency {
    Dependency {
        from: KeyId(from),
        to: KeyId(to),
        record,
    }
}

fn eval<'a>(
    keys: &'a [RuleKey],
    deps: &'a [Dependency],
    subject: usize,
    record: RecordType,
    next: RecordState,
) -> Eval<'a> {
    Eval {
        keys,
        deps,
        subject,
        record,
        next,
        pretend: false,
    }
}

#[test]
fn new_zone_ds_waits_for_an_omnipresent_signer() {
    // docs/state-machine.md, Timeline at T+50400: K1 (H,O,O,NA), Z1 (NA,O,NA,R). K1 DS →
    // RUM breaks rule 3 (3e "all DS hidden" no longer holds, no (OMN,OMN) signer yet).
    let keys = [key(1, [H, O, O, N]), key(2, [N, O, N, R])];
    let ev = eval(&keys, &[], 0, RecordType::Ds, R);
    assert!(ev.rule3());
    assert!(!ev.with_pretend(true).rule3());
    assert_eq!(dnssec_approval(ev, false), (false, true));
    // At T+129600 the ZSK signatures are omnipresent: approved.
    let keys = [key(1, [H, O, O, N]), key(2, [N, O, N, O])];
    let ev = eval(&keys, &[], 0, RecordType::Ds, R);
    assert_eq!(dnssec_approval(ev, false), (true, true));
}

#[test]
fn rule1_is_algorithm_agnostic_and_skippable() {
    let mut keys = [key(1, [O, O, O, N]), key(2, [H, R, R, N])];
    keys[1].algorithm = 13;
    let ev = eval(&keys, &[], 1, RecordType::Dnskey, R);
    assert!(ev.rule1());
    // Retiring the only DS breaks rule 1 unless the zone may go unsigned.
    let ev = eval(&keys, &[], 0, RecordType::Ds, U);
    assert!(!ev.with_pretend(true).rule1());
    assert!(!dnssec_approval(ev, false).0);
    assert_eq!(dnssec_approval(ev, true).0, ev.with_pretend(true).rule2());
}

#[test]
fn rule2_unsigned_ok_matches_each_ds_state() {
    // A rumoured DS is fine when its own DNSKEY/RRSIGDNSKEY are omnipresent (2g).
    let keys = [key(1, [R, O, O, N])];
    assert!(eval(&keys, &[], 0, RecordType::Ds, O).rule2());
    let keys = [key(1, [R, R, R, N])];
    assert!(!eval(&keys, &[], 0, RecordType::Ds, O).rule2());
    // No DS at all: trivially sound.
    let keys = [key(1, [H, R, R, N])];
    assert!(eval(&keys, &[], 0, RecordType::Ds, R).rule2());
}

#[test]
fn zsk_roll_old_rrsig_leaves_through_the_pending_relation() {
    // docs/state-machine.md, Timeline at T+7826400: Z2 RRSIG just went RUM, Z1 RRSIG → UNR
    // is allowed by pair 3c through clause (ii) (no dependency row yet).
    let keys = [
        key(1, [O, O, O, N]),
        key(2, [N, O, N, O]),
        key(3, [N, O, N, R]),
    ];
    let ev = eval(&keys, &[], 1, RecordType::Rrsig, U);
    assert_eq!(dnssec_approval(ev, false), (true, true));
    // Before Z2 signs, Z1 cannot leave.
    let keys = [
        key(1, [O, O, O, N]),
        key(2, [N, O, N, O]),
        key(3, [N, O, N, H]),
    ];
    let ev = eval(&keys, &[], 1, RecordType::Rrsig, U);
    assert!(!dnssec_approval(ev, false).0);
}

#[test]
fn old_rrsig_stays_until_the_new_one_is_omnipresent() {
    let keys = [
        key(1, [O, O, O, N]),
        key(2, [N, O, N, U]),
        key(3, [N, O, N, R]),
    ];
    let deps = [dep(2, 3, RecordType::Rrsig)];
    let ev = eval(&keys, &deps, 1, RecordType::Rrsig, H);
    assert!(ev.rule3(), "3c holds through the dependency row (clause i)");
    assert!(!ev.with_pretend(true).rule3());
    assert!(!dnssec_approval(ev, false).0);
    // Nothing may depend on the predecessor (any type): the pair no longer counts.
    let deps = [dep(2, 3, RecordType::Rrsig), dep(3, 2, RecordType::Dnskey)];
    assert!(!eval(&keys, &deps, 1, RecordType::Rrsig, H).rule3());
}

#[test]
fn chain_through_a_key_in_the_same_situation_clause_iii() {
    // Z1 → Z2 → Z3 (RRSIG), Z1 and Z2 both (OMN, UNR): Z3 succeeds Z1 via Z2.
    let keys = [
        key(9, [O, O, O, N]),
        key(1, [N, O, N, U]),
        key(2, [N, O, N, U]),
        key(3, [N, O, N, R]),
    ];
    let deps = [dep(1, 2, RecordType::Rrsig), dep(2, 3, RecordType::Rrsig)];
    assert!(eval(&keys, &deps, 0, RecordType::Ds, O).rule3());
    // If Z2 is not in Z1's situation the chain breaks.
    let mut keys2 = keys;
    keys2[2].states = [N, O, N, H];
    assert!(!eval(&keys2, &deps, 0, RecordType::Ds, O).rule3());
}

#[test]
fn sibling_predecessor_only_after_clause_iv() {
    // Z1 and Z2 both (OMN, UNR); Z2 → Z3 exists, Z2 itself is somebody's successor
    // (DNSKEY row from the KSK), so only Z1 can be P. Z3 succeeds Z1 only through the
    // sibling clause (iv), which exists in the "after" evaluation only.
    let keys = [
        key(9, [O, O, O, N]),
        key(1, [N, O, N, U]),
        key(2, [N, O, N, U]),
        key(3, [N, O, N, R]),
    ];
    let deps = [dep(2, 3, RecordType::Rrsig), dep(9, 2, RecordType::Dnskey)];
    let ev = eval(&keys, &deps, 0, RecordType::Ds, O);
    assert!(!ev.rule3());
    assert!(ev.with_pretend(true).rule3());
}

#[test]
fn potential_successor_conditions() {
    let keys = [
        key(1, [O, O, O, N]),
        key(2, [O, R, R, N]),
        key(3, [N, O, N, R]),
        key(4, [N, O, N, O]),
    ];
    let ev = eval(&keys, &[], 0, RecordType::Ds, O);
    // DNSKEY: both DS omnipresent.
    assert!(ev.potential(1, 0, RecordType::Dnskey));
    // RRSIG: successor's DNSKEY omnipresent.
    assert!(ev.potential(2, 3, RecordType::Rrsig));
    assert!(
        !ev.potential(2, 2, RecordType::Rrsig),
        "not its own successor"
    );
    assert!(
        !ev.potential(1, 0, RecordType::RrsigDnskey),
        "never for RRSIGDNSKEY"
    );
    assert!(
        !ev.potential(3, 2, RecordType::Rrsig),
        "successor must be rumoured"
    );
}

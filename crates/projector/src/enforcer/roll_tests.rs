//! Oracles of docs/state-machine.md, Roll types: every roll type on the default timing
//! values, driven through `update_zone` with an operator who answers ds-seen / ds-gone at
//! once. Intervals: P = 50400 (DNSKEY), S = 129600 (RRSIG), D = 13599 (DS), E = 1000800.

use super::model::{DsAtParent, KeyId};
use super::record::{RecordState, RecordType};
use super::tests::{Sim, at};
use RecordState::{Hidden as H, Omnipresent as O, Rumoured as R, Unretentive as U};
use RecordType::{Dnskey as DK, Ds, Rrsig as RS, RrsigDnskey as RD};
use kasp_events::KeyRole;

const P: i64 = 50_400;
const S: i64 = 129_600;
const D: i64 = 13_599;
const E: i64 = 1_000_800;

/// (seconds after the roll, key, record, new state)
type Log = Vec<(i64, KeyId, RecordType, RecordState)>;

impl Sim {
    /// The operator of docs/state-machine.md, Timeline: the submit/retract tasks run and
    /// ds-seen / ds-gone are given as soon as a key waits for them. True if anything
    /// changed.
    fn operator(&mut self, now: i64) -> bool {
        let mut acted = false;
        let ids: Vec<KeyId> = self.zone.keys.iter().map(|k| k.id).collect();
        for id in ids {
            let next = match self.ds_at_parent(id) {
                DsAtParent::Submit | DsAtParent::Submitted => DsAtParent::Seen,
                DsAtParent::Retract | DsAtParent::Retracted => DsAtParent::Unsubmitted,
                _ => continue,
            };
            self.ds(id, next, at(now));
            acted = true;
        }
        acted
    }

    /// Runs at `from` and at every wake-up up to `until` (relative seconds), with the
    /// operator reacting; returns the transitions relative to `base`.
    fn drive(&mut self, from: i64, until: i64, base: i64) -> Log {
        let mut log = Log::new();
        let mut now = from;
        loop {
            let out = self.run(at(now));
            for t in &out.transitions {
                log.push((now - base, t.key, t.record, t.to));
            }
            if self.operator(now) {
                continue;
            }
            match out.next_wakeup {
                Some(w) if w.0 - at(0).0 <= until => now = w.0 - at(0).0,
                _ => break,
            }
        }
        log.sort_by_key(|e| (e.0, e.1, e.2));
        log
    }
}

/// A zone with one KSK and one ZSK (or one CSK) fully introduced; returns the ids and
/// the time (relative) at which everything is settled.
fn settled(csk: Option<u8>, ksk_min: u8, zsk_min: u8) -> (Sim, Vec<KeyId>) {
    let mut s = Sim::new();
    let ids = match csk {
        Some(m) => vec![s.add_key(KeyRole::Csk, m, at(0))],
        None => vec![
            s.add_key(KeyRole::Ksk, ksk_min, at(0)),
            s.add_key(KeyRole::Zsk, zsk_min, at(0)),
        ],
    };
    s.drive(0, 1_000_000, 0);
    for id in &ids {
        let st = s.states(*id);
        assert!(
            st.iter().all(|x| matches!(x, O | RecordState::Na)),
            "{st:?}"
        );
    }
    (s, ids)
}

const ROLL: i64 = 10_000_000;

fn roll(s: &mut Sim, old: KeyId, role: KeyRole, minimize: u8) -> KeyId {
    let n = s.add_key(role, minimize, at(ROLL));
    s.retire(old);
    n
}

fn sorted(mut v: Log) -> Log {
    v.sort_by_key(|e| (e.0, e.1, e.2));
    v
}

#[test]
fn zsk_pre_publication() {
    let (mut s, ids) = settled(None, 4, 1);
    let o = ids[1];
    let n = roll(&mut s, o, KeyRole::Zsk, 1);
    let log = s.drive(ROLL, ROLL + 10_000_000, ROLL);
    let want = vec![
        (0, n, DK, R),
        (P, o, RS, U),
        (P, n, DK, O),
        (P, n, RS, R),
        (P + S + E, o, DK, U),
        (P + S + E, o, RS, H),
        (P + S + E, n, RS, O),
        (P + S + E + P, o, DK, H),
    ];
    assert_eq!(log, sorted(want));
}

#[test]
fn zsk_double_signature() {
    let (mut s, ids) = settled(None, 4, 0);
    let o = ids[1];
    let n = roll(&mut s, o, KeyRole::Zsk, 0);
    let log = s.drive(ROLL, ROLL + 10_000_000, ROLL);
    let want = vec![
        (0, n, DK, R),
        (0, n, RS, R),
        (P, o, RS, U),
        (P, n, DK, O),
        (S + E, o, DK, U),
        (S + E, o, RS, H),
        (S + E, n, RS, O),
        (S + E + P, o, DK, H),
    ];
    assert_eq!(log, sorted(want));
}

#[test]
fn zsk_double_rrsig() {
    let (mut s, ids) = settled(None, 4, 2);
    let o = ids[1];
    let n = roll(&mut s, o, KeyRole::Zsk, 2);
    let log = s.drive(ROLL, ROLL + 10_000_000, ROLL);
    let want = vec![
        (0, n, RS, R),
        (S, o, DK, U),
        (S, n, DK, R),
        (S, n, RS, O),
        (S + P, o, DK, H),
        (S + P, o, RS, U),
        (S + P, n, DK, O),
        (2 * S + P, o, RS, H),
    ];
    assert_eq!(log, sorted(want));
}

#[test]
fn ksk_double_signature() {
    let (mut s, ids) = settled(None, 4, 1);
    let o = ids[0];
    let n = roll(&mut s, o, KeyRole::Ksk, 4);
    let log = s.drive(ROLL, ROLL + 10_000_000, ROLL);
    let want = vec![
        (0, n, DK, R),
        (0, n, RD, R),
        (P, o, Ds, U),
        (P, n, Ds, R),
        (P, n, DK, O),
        (P, n, RD, O),
        (P + D, o, Ds, H),
        (P + D, o, DK, U),
        (P + D, o, RD, U),
        (P + D, n, Ds, O),
        (P + D + P, o, DK, H),
        (P + D + P, o, RD, H),
    ];
    assert_eq!(log, sorted(want));
}

#[test]
fn ksk_double_rrset() {
    let (mut s, ids) = settled(None, 0, 1);
    let o = ids[0];
    let n = roll(&mut s, o, KeyRole::Ksk, 0);
    let log = s.drive(ROLL, ROLL + 10_000_000, ROLL);
    let want = vec![
        (0, n, Ds, R),
        (0, n, DK, R),
        (0, n, RD, R),
        (D, o, DK, U),
        (D, o, RD, U),
        (D, n, Ds, O),
        (P, o, Ds, U),
        (P, n, DK, O),
        (P, n, RD, O),
        (D + P, o, DK, H),
        (D + P, o, RD, H),
        (P + D, o, Ds, H),
    ];
    assert_eq!(log, sorted(want));
}

#[test]
fn ksk_double_ds() {
    let (mut s, ids) = settled(None, 2, 1);
    let o = ids[0];
    let n = roll(&mut s, o, KeyRole::Ksk, 2);
    let log = s.drive(ROLL, ROLL + 10_000_000, ROLL);
    let want = vec![
        (0, n, Ds, R),
        (D, o, DK, U),
        (D, o, RD, U),
        (D, n, Ds, O),
        (D, n, DK, R),
        (D, n, RD, R),
        (D + P, o, Ds, U),
        (D + P, o, DK, H),
        (D + P, o, RD, H),
        (D + P, n, DK, O),
        (D + P, n, RD, O),
        (D + P + D, o, Ds, H),
    ];
    assert_eq!(log, sorted(want));
}

#[test]
fn csk_pre_publication() {
    let (mut s, ids) = settled(Some(5), 0, 0);
    let o = ids[0];
    let n = roll(&mut s, o, KeyRole::Csk, 5);
    let log = s.drive(ROLL, ROLL + 10_000_000, ROLL);
    let want = vec![
        (0, n, DK, R),
        (0, n, RD, R),
        (P, o, Ds, U),
        (P, o, RS, U),
        (P, n, Ds, R),
        (P, n, DK, O),
        (P, n, RD, O),
        (P, n, RS, R),
        (P + D, o, Ds, H),
        (P + D, o, RD, U),
        (P + D, n, Ds, O),
        (P + D + P, o, RD, H),
        (P + S + E, o, DK, U),
        (P + S + E, o, RS, H),
        (P + S + E, n, RS, O),
        (P + S + E + P, o, DK, H),
    ];
    assert_eq!(log, sorted(want));
}

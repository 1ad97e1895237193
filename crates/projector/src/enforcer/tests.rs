//! Shared test fixtures — the default policy of `conf/kasp.xml.in` (docs/state-machine.md,
//! Worked example) and a hand-driven zone ([`Sim`]) — and the tests of
//! `update_zone` along docs/state-machine.md, Timeline.

use kasp_events::{
    Denial, KeyRole, Keys, Nsec3, ParentTiming, Policy, PolicyKey, PolicyName, Seconds, SerialKind,
    Signatures, ZoneTiming,
};

fn pk(role: KeyRole, bits: u32, lifetime: u32, minimize: u8) -> PolicyKey {
    PolicyKey {
        role,
        algorithm: 8,
        bits,
        lifetime: Seconds(lifetime),
        repository: "SoftHSM".to_string(),
        standby: 0,
        manual_rollover: false,
        rfc5011: false,
        minimize,
    }
}

/// The default policy of docs/state-machine.md, Worked example (KskDoubleSignature,
/// ZskPrePublication).
pub(crate) fn default_policy() -> Policy {
    Policy {
        name: PolicyName::new("default").expect("valid name"),
        description: String::new(),
        passthrough: false,
        signatures: Signatures {
            resign: Seconds(7200),
            refresh: Seconds(259_200),
            validity_default: Seconds(1_209_600),
            validity_denial: Seconds(1_209_600),
            validity_keyset: Seconds(0),
            jitter: Seconds(43_200),
            inception_offset: Seconds(3600),
            max_zone_ttl: Seconds(86_400),
        },
        denial: Denial::Nsec3(Nsec3 {
            ttl: Seconds(0),
            opt_out: false,
            resalt: Seconds(8_640_000),
            algorithm: 1,
            iterations: 5,
            salt_length: 8,
        }),
        keys: Keys {
            ttl: Seconds(3600),
            retire_safety: Seconds(3600),
            publish_safety: Seconds(3600),
            share_keys: false,
            purge: Seconds(1_209_600),
            keys: vec![
                pk(KeyRole::Ksk, 2048, 31_536_000, 4),
                pk(KeyRole::Zsk, 1024, 7_776_000, 1),
            ],
        },
        zone: ZoneTiming {
            propagation_delay: Seconds(43_200),
            soa_ttl: Seconds(3600),
            soa_minimum: Seconds(3600),
            soa_serial: SerialKind::UnixTime,
        },
        parent: ParentTiming {
            registration_delay: Seconds(0),
            propagation_delay: Seconds(9999),
            ds_ttl: Seconds(3600),
            soa_ttl: Seconds(172_800),
            soa_minimum: Seconds(10_800),
        },
    }
}

// ---------------------------------------------------------------------------------
// update_zone on the default policy: the timeline of docs/state-machine.md, Timeline,
// checked against the KEY lines (DS DNSKEY RRSIGDNSKEY RRSIG) and `next=` of the golden
// trace fixtures/conformance/golden/a-default-zsk-rollover/trace-cli.txt.

use super::model::{Dependency, DsAtParent, KeyId, KeyModel, ZoneModel};
use super::record::{RecordState, RecordType};
use super::update::{UpdateOutcome, update_zone};
use kasp_events::Timestamp;

const H: RecordState = RecordState::Hidden;
const R: RecordState = RecordState::Rumoured;
const O: RecordState = RecordState::Omnipresent;
const U: RecordState = RecordState::Unretentive;
const N: RecordState = RecordState::Na;

/// T of the golden traces (2025-01-01T00:00:00Z).
const T: i64 = 1_735_689_600;

pub(crate) fn at(d: i64) -> Timestamp {
    Timestamp(T + d)
}

/// A zone driven by hand: keys are added, the enforcer runs, operator commands are applied
/// the way docs/state-machine.md, DS at the parent describes them (ds_at_parent changes, DS
/// last_change = now).
pub(crate) struct Sim {
    pub(crate) policy: Policy,
    pub(crate) zone: ZoneModel,
    next_id: u64,
}

impl Sim {
    pub(crate) fn new() -> Sim {
        Sim {
            policy: default_policy(),
            zone: ZoneModel::empty(),
            next_id: 1,
        }
    }

    pub(crate) fn add_key(&mut self, role: KeyRole, minimize: u8, now: Timestamp) -> KeyId {
        let id = KeyId(self.next_id);
        self.next_id += 1;
        self.add_key_with_id(id, role, minimize, now)
    }

    pub(crate) fn add_key_with_id(
        &mut self,
        id: KeyId,
        role: KeyRole,
        minimize: u8,
        now: Timestamp,
    ) -> KeyId {
        let w = self.zone.ttl_windows.refreshed(&self.policy, now);
        let ttls = RecordType::ALL.map(|t| w.ttl(&self.policy, t, now));
        let key = KeyModel::new(id, role, 8, minimize, now, ttls);
        self.zone.keys.push(key);
        id
    }

    pub(crate) fn retire(&mut self, id: KeyId) {
        self.key_mut(id).introducing = false;
    }

    pub(crate) fn key_mut(&mut self, id: KeyId) -> &mut KeyModel {
        self.zone.keys.iter_mut().find(|k| k.id == id).expect("key")
    }

    /// A DS task or command: new ds_at_parent, DS timer restarts (Q6).
    pub(crate) fn ds(&mut self, id: KeyId, to: DsAtParent, now: Timestamp) {
        let k = self.key_mut(id);
        k.ds_at_parent = to;
        k.records.get_mut(RecordType::Ds).last_change = now;
    }

    pub(crate) fn run(&mut self, now: Timestamp) -> UpdateOutcome {
        let out = update_zone(&self.zone, &self.policy, now);
        self.zone = out.zone.clone();
        out
    }

    pub(crate) fn states(&self, id: KeyId) -> [RecordState; 4] {
        self.zone.key(id).expect("key").records.states()
    }

    pub(crate) fn ds_at_parent(&self, id: KeyId) -> DsAtParent {
        self.zone.key(id).expect("key").ds_at_parent
    }
}

/// Introduces KSK1 and ZSK1 at T and runs the trace up to KSK1's DS omnipresent
/// (STEP 001–005).
fn introduced() -> (Sim, KeyId, KeyId) {
    let mut s = Sim::new();
    let k1 = s.add_key(KeyRole::Ksk, 4, at(0));
    let z1 = s.add_key(KeyRole::Zsk, 1, at(0));
    // STEP 001
    let out = s.run(at(0));
    assert_eq!(s.states(k1), [H, R, R, N]);
    assert_eq!(s.states(z1), [N, R, N, R]);
    assert_eq!(out.next_wakeup, Some(at(50_400)));
    assert_eq!(out.transitions.len(), 4);
    // STEP 002
    let out = s.run(at(50_400));
    assert_eq!(s.states(k1), [H, O, O, N]);
    assert_eq!(s.states(z1), [N, O, N, R]);
    assert_eq!(out.next_wakeup, Some(at(129_600)));
    // STEP 003: the ZSK signs, then the DS is requested; the DS waits for ds-seen.
    let out = s.run(at(129_600));
    assert_eq!(s.states(k1), [R, O, O, N]);
    assert_eq!(s.states(z1), [N, O, N, O]);
    assert_eq!(s.ds_at_parent(k1), DsAtParent::Submit);
    assert_eq!(out.next_wakeup, None);
    let ds = out
        .transitions
        .iter()
        .find(|t| t.record == RecordType::Ds)
        .expect("DS moved");
    assert_eq!(
        ds.ds_at_parent,
        Some((DsAtParent::Unsubmitted, DsAtParent::Submit))
    );
    // Submit task, then STEP 004: ds-seen at T+129600.
    s.ds(k1, DsAtParent::Submitted, at(129_600));
    s.ds(k1, DsAtParent::Seen, at(129_600));
    let out = s.run(at(129_600));
    assert!(out.transitions.is_empty());
    assert_eq!(out.next_wakeup, Some(at(143_199)));
    // STEP 005
    let out = s.run(at(143_199));
    assert_eq!(s.states(k1), [O, O, O, N]);
    assert_eq!(out.next_wakeup, None);
    assert!(s.zone.dependencies.is_empty());
    (s, k1, z1)
}

#[test]
fn default_policy_first_keys_follow_the_golden_trace() {
    let (s, k1, _) = introduced();
    let k = s.zone.key(k1).expect("key");
    assert_eq!(k.records.get(RecordType::Ds).last_change, at(143_199));
    assert_eq!(k.records.get(RecordType::Dnskey).last_change, at(50_400));
}

#[test]
fn default_policy_zsk_prepublication_roll_follows_the_golden_trace() {
    let (mut s, k1, z1) = introduced();
    // STEP 006: ZSK roll at T+7776000.
    let z2 = s.add_key(KeyRole::Zsk, 1, at(7_776_000));
    s.retire(z1);
    let out = s.run(at(7_776_000));
    assert_eq!(s.states(z1), [N, O, N, O]);
    assert_eq!(s.states(z2), [N, R, N, H]);
    assert_eq!(out.next_wakeup, Some(at(7_826_400)));
    // STEP 007
    let out = s.run(at(7_826_400));
    assert_eq!(s.states(z1), [N, O, N, U]);
    assert_eq!(s.states(z2), [N, O, N, R]);
    assert_eq!(
        s.zone.dependencies,
        [Dependency {
            from: z1,
            to: z2,
            record: RecordType::Rrsig
        }]
    );
    assert_eq!(out.next_wakeup, Some(at(8_956_800)));
    // STEP 008: a resalt run in between changes nothing.
    let out = s.run(at(8_640_000));
    assert!(out.transitions.is_empty());
    assert_eq!(out.next_wakeup, Some(at(8_956_800)));
    // STEP 009
    let out = s.run(at(8_956_800));
    assert_eq!(s.states(z1), [N, U, N, H]);
    assert_eq!(s.states(z2), [N, O, N, O]);
    assert!(s.zone.dependencies.is_empty());
    assert_eq!(out.next_wakeup, Some(at(9_007_200)));
    // STEP 010
    let out = s.run(at(9_007_200));
    assert_eq!(s.states(z1), [N, H, N, H]);
    assert_eq!(s.states(k1), [O, O, O, N]);
    assert_eq!(out.next_wakeup, None);
}

#[test]
fn default_policy_ksk_double_signature_roll_of_12_3() {
    let (mut s, k1, z1) = introduced();
    // KSK roll at 365 d (a stable ZSK stands in for the ZSK rolls of that year).
    let r = 31_536_000;
    let k2 = s.add_key(KeyRole::Ksk, 4, at(r));
    s.retire(k1);
    let out = s.run(at(r));
    assert_eq!(s.states(k1), [O, O, O, N], "K1 blocked by rules 1/2");
    assert_eq!(s.states(k2), [H, R, R, N]);
    assert_eq!(out.next_wakeup, Some(at(r + 50_400)));
    // R+P: K2 published, DS swap requested; dependency K1 → K2 (DS).
    let out = s.run(at(r + 50_400));
    assert_eq!(s.states(k2), [R, O, O, N]);
    assert_eq!(s.states(k1), [U, O, O, N]);
    assert_eq!(s.ds_at_parent(k2), DsAtParent::Submit);
    assert_eq!(s.ds_at_parent(k1), DsAtParent::Retract);
    assert_eq!(
        s.zone.dependencies,
        [Dependency {
            from: k1,
            to: k2,
            record: RecordType::Ds
        }]
    );
    assert_eq!(out.next_wakeup, None, "both DS wait for the operator");
    // Tasks and operator at C2 = R+P: submit/retract, ds-seen K2, ds-gone K1.
    let c2 = r + 50_400;
    s.ds(k2, DsAtParent::Submitted, at(c2));
    s.ds(k1, DsAtParent::Retracted, at(c2));
    s.ds(k2, DsAtParent::Seen, at(c2));
    s.ds(k1, DsAtParent::Unsubmitted, at(c2));
    let out = s.run(at(c2));
    assert!(out.transitions.is_empty());
    assert_eq!(out.next_wakeup, Some(at(31_599_999)));
    // C2+D: K1 DS hidden, K1 DNSKEY/RRSIGDNSKEY leave, K2 DS omnipresent.
    let out = s.run(at(31_599_999));
    assert_eq!(s.states(k1), [H, U, U, N]);
    assert_eq!(s.states(k2), [O, O, O, N]);
    assert!(s.zone.dependencies.is_empty());
    assert_eq!(out.next_wakeup, Some(at(31_650_399)));
    let out = s.run(at(31_650_399));
    assert_eq!(s.states(k1), [H, H, H, N]);
    assert_eq!(s.states(z1), [N, O, N, O]);
    assert_eq!(out.next_wakeup, None);
}

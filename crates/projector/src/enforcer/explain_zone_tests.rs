//! Unit tests of explain_zone: the DS command lines and the rendered text.

use super::*;

#[test]
fn ds_commands_follow_the_ds_state() {
    let k = KeyFindings {
        key: KeyId(3),
        role: KeyRole::Ksk,
        algorithm: 8,
        key_tag: 4242,
        introducing: true,
        ds_at_parent: DsAtParent::Submitted,
        hsm: None,
        states_created: true,
        records: Vec::new(),
    };
    let e = ZoneExplanation {
        zone: "example.com".into(),
        policy: "default".into(),
        now: Timestamp(0),
        passthrough: false,
        keys: Vec::new(),
        next_run: None,
        expected: None,
        ds_retry: None,
        hooks: (false, false),
    };
    use DsAtParent::*;
    let cmd = |n, h| ds_command(&e, &k, n, h);
    assert_eq!(
        cmd(Seen, Submitted),
        "key ds-seen --zone example.com --keytag 4242"
    );
    assert_eq!(
        cmd(Seen, Submit),
        "key ds-submit --zone example.com --keytag 4242"
    );
    assert_eq!(
        cmd(Unsubmitted, Retracted),
        "key ds-gone --zone example.com --keytag 4242"
    );
    assert_eq!(
        cmd(Unsubmitted, Retract),
        "key ds-retract --zone example.com --keytag 4242"
    );
}

#[test]
fn render_prints_one_line_per_record_and_the_next_event() {
    use super::super::explain::{Awaited, RecordFinding};
    use super::super::record::RecordType;
    use super::super::rules::Rule;
    use super::super::timing::WaitPart;
    use RecordState::*;
    let rec = |record, state, desired, gate| RecordFinding {
        record,
        state,
        desired,
        gate,
    };
    let ksk = KeyFindings {
        key: KeyId(1),
        role: KeyRole::Ksk,
        algorithm: 8,
        key_tag: 111,
        introducing: false,
        ds_at_parent: DsAtParent::Seen,
        hsm: None,
        states_created: true,
        records: vec![
            rec(
                RecordType::Ds,
                Omnipresent,
                Unretentive,
                Gate::Rule {
                    rule: Rule::One,
                    waits: Waits::For(vec![Awaited {
                        key: KeyId(3),
                        role: KeyRole::Ksk,
                        record: RecordType::Ds,
                        to: Rumoured,
                    }]),
                },
            ),
            rec(
                RecordType::Dnskey,
                Omnipresent,
                Unretentive,
                Gate::Backup {
                    retry: Timestamp(60),
                },
            ),
            rec(
                RecordType::RrsigDnskey,
                Omnipresent,
                Unretentive,
                Gate::Ready,
            ),
        ],
    };
    let new = KeyFindings {
        key: KeyId(3),
        role: KeyRole::Ksk,
        algorithm: 8,
        key_tag: 333,
        introducing: true,
        ds_at_parent: DsAtParent::Unsubmitted,
        hsm: None,
        states_created: true,
        records: vec![
            rec(
                RecordType::Ds,
                Hidden,
                Rumoured,
                Gate::Policy {
                    hold: PolicyHold::DsAfterDnskey,
                    waits: Waits::Never,
                },
            ),
            rec(
                RecordType::Dnskey,
                Rumoured,
                Omnipresent,
                Gate::Timer {
                    at: Timestamp(50_400),
                    since: Timestamp(0),
                    parts: vec![
                        (WaitPart::Ttl(RecordType::Dnskey), 3600),
                        (WaitPart::ZonePropagation, 43_200),
                        (WaitPart::PublishSafety, 3600),
                    ],
                },
            ),
            rec(
                RecordType::RrsigDnskey,
                Omnipresent,
                Omnipresent,
                Gate::Settled,
            ),
        ],
    };
    let e = ZoneExplanation {
        zone: "example.com".into(),
        policy: "default".into(),
        now: Timestamp(0),
        passthrough: false,
        keys: vec![(ksk, None), (new, Some(Locator([0xab; 16])))],
        next_run: Some(Timestamp(50_400)),
        expected: Some(Expected {
            new_keys: Vec::new(),
            retired: Vec::new(),
            purged: Vec::new(),
            hsm_deleted: 0,
            transitions: Vec::new(),
            then: None,
        }),
        ds_retry: None,
        hooks: (false, false),
    };
    let want = "\
Zone example.com, policy default, at 1970-01-01 00:00:00 (times are UTC)
KSK #1, keytag 111, algorithm 8, locator (none), active, retiring
  DS          omnipresent -> unretentive: validity rule 1 (a DS exists) would break; waits for KSK #3 DS rumoured
  DNSKEY      omnipresent -> unretentive: waits for the backup of its key material (backup prepare, backup commit); the zone retries at 1970-01-01 00:01:00
  RRSIGDNSKEY omnipresent -> unretentive: no gate holds it: the zone's next run moves it
KSK #3, keytag 333, algorithm 8, locator abababab, publish, introducing
  DS          hidden -> rumoured: roll-type order: the DS is introduced only once this key's DNSKEY is omnipresent; no timer or DS confirmation frees it with the keys the zone has
  DNSKEY      rumoured -> omnipresent: timer: may move at 1970-01-01 14:00:00 (last change 1970-01-01 00:00:00 + 50400 s: DNSKEY TTL 3600 + zone propagation delay 43200 + publish safety 3600)
  RRSIGDNSKEY omnipresent: settled (at its goal)
Next event: 1970-01-01 14:00:00 (in 50400 s): the zone's next run
Next run: 1970-01-01 14:00:00 (in 50400 s)
  expected: no record moves
  after it: no run scheduled
";
    assert_eq!(render(&e), want);
}

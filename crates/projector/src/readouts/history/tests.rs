//! Timelines from hand-made records: an enforcer run split into its facts, two lives
//! of a zone, a key followed by locator across generation, zones and deletion.

use super::*;
use kasp_events::{
    Adapter, KeyGenerated, KeyGenerationStarted, KeyMaterialDeleted, KeySpec, NewZoneKey,
    RecordState, RecordTransition, RecordType, StateMachineRun, TransitionRule, ZoneAdded,
    ZoneConfig, ZoneDeleted,
};

const L1: Locator = Locator([1; 16]);

fn zone(name: &str) -> ZoneName {
    ZoneName::new(name).unwrap()
}

fn added(name: &str) -> Event {
    let adapter = |uri: &str| Adapter {
        kind: "File".into(),
        uri: uri.into(),
    };
    ZoneAdded {
        zone: ZoneConfig {
            name: zone(name),
            policy: PolicyName::new("lab").unwrap(),
            signconf_path: format!("/s/{name}.xml"),
            input: adapter("/in"),
            output: adapter("/out"),
        },
        suspended: false,
    }
    .into()
}

fn enforced(name: &str, id: u64, locator: Locator) -> Event {
    let transition = |record, from, to| RecordTransition {
        key: KeyId(id),
        record,
        from,
        to,
        rule: TransitionRule {
            earliest: Timestamp(5),
            ttl: kasp_events::Seconds(3600),
            smooth: false,
            unsigned: false,
        },
        ds_at_parent: None,
        successors: vec![],
    };
    ZoneEnforced {
        zone: zone(name),
        new_keys: vec![NewZoneKey {
            id: KeyId(id),
            locator,
            role: KeyRole::Ksk,
            algorithm: 13,
            key_tag: 4711,
            minimize: 0,
            shared: false,
        }],
        retired: vec![],
        next_roll: [Some(Timestamp(86_400)), None, None],
        roll_cleared: vec![],
        state_machine: Some(StateMachineRun {
            ttl_windows: [Timestamp(0); 3],
            created_states: vec![KeyId(id)],
            initial_ttls: [kasp_events::Seconds(0); 4],
            transitions: vec![
                transition(
                    RecordType::Dnskey,
                    RecordState::Hidden,
                    RecordState::Rumoured,
                ),
                transition(
                    RecordType::RrsigDnskey,
                    RecordState::Hidden,
                    RecordState::Rumoured,
                ),
            ],
        }),
        purged: vec![],
        purged_dependencies: vec![],
        released: vec![],
        destroyed: vec![],
        signconf_needed: true,
        next_change: None,
        updated: true,
        no_key: vec![],
    }
    .into()
}

fn records(events: Vec<Event>) -> Vec<Record> {
    events
        .into_iter()
        .enumerate()
        .map(|(i, event)| Record {
            seq: Seq(i as u64),
            prev: kasp_events::Hash::GENESIS,
            at: Timestamp(i as i64),
            actor: Actor::Scheduler,
            cause: "time leap".into(),
            event,
        })
        .collect()
}

fn texts(t: &Timeline) -> Vec<&str> {
    t.lines().iter().map(|l| l.text.as_str()).collect()
}

#[test]
fn a_zone_timeline_splits_runs_and_shows_every_life() {
    let log = records(vec![
        added("example.com"),
        added("other.example"),
        enforced("other.example", 1, Locator([9; 16])),
        enforced("example.com", 2, L1),
        ZoneDeleted {
            zone: zone("EXAMPLE.com."),
        }
        .into(),
        added("example.com"),
    ]);
    let mut t = Timeline::new(Subject::Zone(zone("example.com")));
    for r in &log {
        t.record(r);
    }
    assert!(t.found());
    let l1 = L1.to_string();
    assert_eq!(
        texts(&t),
        vec![
            "zone added with policy lab (input File /in, output File /out, signconf /s/example.com.xml)",
            &format!("KSK #2 (keytag 4711): introduced, locator {l1}, algorithm 13"),
            "next KSK rollover at 1970-01-02T00:00:00Z",
            "KSK #2 (keytag 4711): DNSKEY hidden -> rumoured (allowed from 1970-01-01T00:00:05Z)",
            "KSK #2 (keytag 4711): RRSIGDNSKEY hidden -> rumoured (allowed from 1970-01-01T00:00:05Z)",
            "zone deleted",
            "zone added with policy lab (input File /in, output File /out, signconf /s/example.com.xml)",
        ]
    );
    let rendered = t.render();
    assert!(
        rendered.starts_with("     0 1970-01-01T00:00:00Z scheduler \"time leap\" zone added"),
        "{rendered}"
    );
    assert_eq!(rendered.lines().count(), 7);
    let mut none = Timeline::new(Subject::Zone(zone("nosuch.example")));
    for r in &log {
        none.record(r);
    }
    assert!(!none.found() && none.render().is_empty());
}

#[test]
fn a_key_timeline_follows_its_locator() {
    let spec = KeySpec {
        repository: "SoftHSM".into(),
        policy: PolicyName::new("lab").unwrap(),
        role: KeyRole::Ksk,
        algorithm: 13,
        bits: 256,
    };
    let log = records(vec![
        KeyGenerationStarted {
            locator: L1,
            spec: spec.clone(),
        }
        .into(),
        KeyGenerated {
            locator: L1,
            spec,
            public_key: vec![],
            backup: kasp_events::BackupState::NotRequired,
            adopted: false,
        }
        .into(),
        added("example.com"),
        enforced("example.com", 7, L1),
        ZoneDeleted {
            zone: zone("example.com"),
        }
        .into(),
        KeyMaterialDeleted { locators: vec![L1] }.into(),
    ]);
    let mut search = TagSearch::new(zone("example.com"), 4711);
    for r in &log {
        search.record(r);
    }
    assert_eq!(search.found, BTreeSet::from([L1]));
    let mut t = Timeline::new(Subject::Keys(search.found));
    for r in &log {
        t.record(r);
    }
    let l1 = L1.to_string();
    assert_eq!(
        texts(&t),
        vec![
            "generation started: KSK for policy lab, algorithm 13, 256 bits, repository SoftHSM",
            "generated in repository SoftHSM (backup Not Required)",
            &format!(
                "zone example.com KSK #7 (keytag 4711): introduced, locator {l1}, algorithm 13"
            ),
            "zone example.com KSK #7 (keytag 4711): DNSKEY hidden -> rumoured (allowed from 1970-01-01T00:00:05Z)",
            "zone example.com KSK #7 (keytag 4711): RRSIGDNSKEY hidden -> rumoured (allowed from 1970-01-01T00:00:05Z)",
            "zone example.com KSK #7 (keytag 4711): zone deleted, the key went with it",
            "key material deleted from the HSM",
        ]
    );
}

//! Replay of the verification run of docs/state-machine.md, Roll types
//! (`mechanisms_2.1.12.txt`, four zones, one per roll-type family, KSK 20 d / ZSK 7 d / CSK
//! 10 d lifetimes, so rollovers overlap and dependency chains build up, exercising
//! successor clauses iii/iv).
//!
//! Key creation, retirement (updatePolicy, docs/state-machine.md, Policy step) and purge
//! (docs/state-machine.md, Dead keys and purge) are taken from the trace; the state machine
//! must reproduce every record state, `ds_at_parent` and dependency row of every snapshot.

use super::model::{Dependency, DsAtParent, KeyId};
use super::record::{RecordState, RecordType};
use super::tests::{Sim, at};
use kasp_events::KeyRole;

const TRACE: &str = include_str!("../../../../fixtures/conformance/mechanisms_2.1.12.compact.txt");

/// Zones in the order of the trace's next_change column.
const ZONES: [&str; 4] = ["pre_dsig", "dsig_rrset", "rrsig_dds", "csk"];

#[derive(Debug, Clone)]
struct KeyLine {
    zone: String,
    id: u64,
    role: KeyRole,
    intro: bool,
    ds_at_parent: DsAtParent,
    states: [RecordState; 4],
    inception: i64,
}

#[derive(Debug, Default)]
struct Snapshot {
    t: i64,
    /// next_change per zone, in [`ZONES`] order.
    next_change: Vec<i64>,
    deps: Vec<Dependency>,
    keys: Vec<KeyLine>,
    /// (seen?, key id)
    commands: Vec<(bool, u64)>,
}

fn state(s: &str) -> RecordState {
    match s {
        "hid" => RecordState::Hidden,
        "rum" => RecordState::Rumoured,
        "omn" => RecordState::Omnipresent,
        "unr" => RecordState::Unretentive,
        "NA" => RecordState::Na,
        _ => panic!("state {s}"),
    }
}

fn ds_at_parent(s: &str) -> DsAtParent {
    match s {
        "unsubmitted" => DsAtParent::Unsubmitted,
        "submit" => DsAtParent::Submit,
        "submitted" => DsAtParent::Submitted,
        "seen" => DsAtParent::Seen,
        "retract" => DsAtParent::Retract,
        "retracted" => DsAtParent::Retracted,
        _ => panic!("ds_at_parent {s}"),
    }
}

fn num(s: &str) -> i64 {
    s.parse().expect("number")
}

fn parse() -> Vec<Snapshot> {
    let mut snaps: Vec<Snapshot> = Vec::new();
    for line in TRACE.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split(' ').collect();
        let last = || snaps.len() - 1;
        match f[0] {
            "T" => snaps.push(Snapshot {
                t: num(f[1]),
                ..Snapshot::default()
            }),
            "N" => {
                let i = last();
                snaps[i].next_change = f[1..].iter().map(|x| num(x)).collect();
            }
            "D" => {
                let i = last();
                snaps[i].deps.push(Dependency {
                    from: KeyId(num(f[1]) as u64),
                    to: KeyId(num(f[2]) as u64),
                    record: match f[3] {
                        "0" => RecordType::Ds,
                        "1" => RecordType::Rrsig,
                        "2" => RecordType::Dnskey,
                        _ => RecordType::RrsigDnskey,
                    },
                });
            }
            "K" => {
                let i = last();
                snaps[i].keys.push(KeyLine {
                    zone: f[1].to_string(),
                    id: num(f[2]) as u64,
                    role: match f[3] {
                        "KSK" => KeyRole::Ksk,
                        "ZSK" => KeyRole::Zsk,
                        _ => KeyRole::Csk,
                    },
                    intro: f[4] == "1",
                    ds_at_parent: ds_at_parent(f[5]),
                    states: [state(f[6]), state(f[7]), state(f[8]), state(f[9])],
                    inception: num(f[10]),
                });
            }
            "C" => {
                let i = last();
                snaps[i].commands.push((f[1] == "seen", num(f[2]) as u64));
            }
            _ => panic!("line {line}"),
        }
    }
    snaps
}

impl Sim {
    /// The DS submit/retract tasks of 2.1 (Q11): always advance, restart the DS timer.
    fn tasks(&mut self, now: i64) {
        let ids: Vec<KeyId> = self.zone.keys.iter().map(|k| k.id).collect();
        for id in ids {
            match self.ds_at_parent(id) {
                DsAtParent::Submit => self.ds(id, DsAtParent::Submitted, at(now)),
                DsAtParent::Retract => self.ds(id, DsAtParent::Retracted, at(now)),
                _ => {}
            }
        }
    }

    /// removeDeadKeys' side effect (docs/state-machine.md, Dead keys and purge): dependency
    /// rows from dead keys go away.
    fn drop_dead_deps(&mut self) {
        let dead: Vec<KeyId> = self
            .zone
            .keys
            .iter()
            .filter(|k| {
                !k.introducing
                    && k.records
                        .states()
                        .iter()
                        .all(|s| matches!(s, RecordState::Hidden | RecordState::Na))
            })
            .map(|k| k.id)
            .collect();
        self.zone.dependencies.retain(|d| !dead.contains(&d.from));
    }

    /// One enforcer run of the zone at `now`; returns the state machine's wake-up.
    fn enforce(&mut self, now: i64) -> Option<i64> {
        self.drop_dead_deps();
        let out = self.run(at(now));
        self.tasks(now);
        out.next_wakeup.map(|w| w.0 - at(0).0)
    }
}

fn replay(zone: &str, minimize: fn(KeyRole) -> u8) {
    let z = ZONES.iter().position(|n| *n == zone).expect("zone");
    let mut sim = Sim::new();
    // The zone runs when due (its next_change) and after every operator command.
    let mut due = 0;
    for snap in parse() {
        let t = snap.t;
        let lines: Vec<&KeyLine> = snap.keys.iter().filter(|k| k.zone == zone).collect();
        // Purged keys vanish; that run stops before updateZone (Q4).
        let before = sim.zone.keys.len();
        sim.zone
            .keys
            .retain(|k| lines.iter().any(|l| KeyId(l.id) == k.id));
        let purged = sim.zone.keys.len() != before;
        let live: Vec<KeyId> = sim.zone.keys.iter().map(|k| k.id).collect();
        sim.zone
            .dependencies
            .retain(|d| live.contains(&d.from) && live.contains(&d.to));
        // updatePolicy of this run: new keys and retirements.
        for l in &lines {
            let id = KeyId(l.id);
            if sim.zone.key(id).is_none() {
                assert_eq!(
                    l.inception, t,
                    "{zone} key{} created between snapshots",
                    l.id
                );
                sim.add_key_with_id(id, l.role, minimize(l.role), at(t));
            }
            if !l.intro {
                sim.retire(id);
            }
        }
        if due <= t && !purged {
            let _ = sim.enforce(t);
        }
        due = snap.next_change[z];
        // Compare.
        for l in &lines {
            let id = KeyId(l.id);
            assert_eq!(
                sim.states(id),
                l.states,
                "{zone} key{} states at +{t}",
                l.id
            );
            assert_eq!(
                sim.ds_at_parent(id),
                l.ds_at_parent,
                "{zone} key{} ds@p at +{t}",
                l.id
            );
        }
        let mine: Vec<Dependency> = sim.zone.dependencies.clone();
        let theirs: Vec<Dependency> = snap
            .deps
            .iter()
            .filter(|d| live_in(&lines, d.from) && live_in(&lines, d.to))
            .copied()
            .collect();
        assert_eq!(sorted(mine), sorted(theirs), "{zone} deps at +{t}");
        // Operator commands flush every zone.
        if !snap.commands.is_empty() {
            for (seen, id) in &snap.commands {
                let id = KeyId(*id);
                if sim.zone.key(id).is_some() {
                    let to = if *seen {
                        DsAtParent::Seen
                    } else {
                        DsAtParent::Unsubmitted
                    };
                    sim.ds(id, to, at(t));
                }
            }
            // The snapshot's next_change predates this run.
            if let Some(w) = sim.enforce(t) {
                due = due.min(w);
            }
        }
    }
}

fn live_in(lines: &[&KeyLine], id: KeyId) -> bool {
    lines.iter().any(|l| KeyId(l.id) == id)
}

fn sorted(mut v: Vec<Dependency>) -> Vec<Dependency> {
    v.sort();
    v
}

#[test]
fn pre_dsig_ksk_double_signature_zsk_pre_publication() {
    replay("pre_dsig", |r| if r == KeyRole::Ksk { 4 } else { 1 });
}

#[test]
fn dsig_rrset_ksk_double_rrset_zsk_double_signature() {
    replay("dsig_rrset", |_| 0);
}

#[test]
fn rrsig_dds_ksk_double_ds_zsk_double_rrsig() {
    replay("rrsig_dds", |_| 2);
}

#[test]
fn csk_pre_publication() {
    replay("csk", |_| 5);
}

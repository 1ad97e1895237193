//! Command latency: client threads, each sending a fixed cycle of commands to the
//! daemon, one connection per command as `ods-enforcer` does. The daemon runs every
//! command on its one writer thread, so under load a command's latency is its own
//! service time plus the time it queues behind the other clients' commands.

use crate::daemon::command;
use crate::prep::Targets;
use anyhow::{Result, bail};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// The kinds of command in the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Running,
    KeyList,
    RolloverList,
    DsSeen,
    Enforce,
    ZoneAdd,
    ZoneDelete,
    ZoneList,
    Queue,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Running,
        Kind::KeyList,
        Kind::RolloverList,
        Kind::DsSeen,
        Kind::Enforce,
        Kind::ZoneAdd,
        Kind::ZoneDelete,
        Kind::ZoneList,
        Kind::Queue,
    ];

    /// The table's name of the kind.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Running => "`running` (no state read)",
            Kind::KeyList => "`key list --zone Z`",
            Kind::RolloverList => "`rollover list --zone Z`",
            Kind::DsSeen => "`key ds-seen --zone Z --cka_id K` (already seen: no-op)",
            Kind::Enforce => "`enforce --zone Z` (flush + run one zone)",
            Kind::ZoneAdd => "`zone add` (keys from the pool, signconf, zones.xml)",
            Kind::ZoneDelete => "`zone delete --zone Z` (zones.xml)",
            Kind::ZoneList => "`zone list` (all N zones)",
            Kind::Queue => "`queue` (all N tasks)",
        }
    }
}

/// One client's commands per cycle (the last slot alternates `zone list` / `queue`).
const CYCLE: [Kind; 10] = [
    Kind::Running,
    Kind::KeyList,
    Kind::RolloverList,
    Kind::Enforce,
    Kind::DsSeen,
    Kind::ZoneAdd,
    Kind::KeyList,
    Kind::ZoneDelete,
    Kind::RolloverList,
    Kind::ZoneList,
];

/// A small deterministic generator (xorshift64*), one per client.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n.max(1)
    }
}

/// The latencies of one phase.
#[derive(Debug, Default)]
pub struct Phase {
    pub clients: usize,
    pub wall: Duration,
    pub by_kind: BTreeMap<Kind, Vec<Duration>>,
    /// Answers that were not what the kind should give (count, first example).
    pub unexpected: BTreeMap<Kind, (usize, String)>,
    /// The exit codes seen per kind.
    pub codes: BTreeMap<Kind, BTreeMap<i32, usize>>,
}

impl Phase {
    pub fn all(&self) -> Vec<Duration> {
        self.by_kind.values().flatten().copied().collect()
    }

    pub fn count(&self) -> usize {
        self.by_kind.values().map(Vec::len).sum()
    }
}

/// The nearest-rank percentile `p` (0–100) of some durations.
pub fn percentile(runs: &[Duration], p: f64) -> Duration {
    let mut v = runs.to_vec();
    v.sort();
    if v.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// Whether an answer is what `kind` gives at steady state; else a description.
fn check(kind: Kind, code: i32, out: &str, err: &str, n: usize) -> Option<String> {
    let bad = |why: &str| {
        let first = |t: &str| t.lines().next().unwrap_or_default().to_string();
        Some(format!(
            "{why}: exit {code}, stdout `{}`, stderr `{}`",
            first(out),
            first(err)
        ))
    };
    match kind {
        // A KSK that is already seen: 2.1.12's "No KSK in state ready" kind of answer;
        // any exit code, but nothing broken.
        Kind::DsSeen if err.contains("error:") => bad("ds-seen failed"),
        Kind::DsSeen => None,
        _ if code != 0 => bad("non-zero exit"),
        Kind::ZoneAdd if !out.contains("added successfully") => bad("zone not added"),
        Kind::ZoneDelete if !out.contains("successfully") => bad("zone not deleted"),
        Kind::ZoneList if out.lines().count() < n => bad("fewer lines than zones"),
        Kind::KeyList if out.lines().count() < 3 => bad("no keys listed"),
        _ if !err.is_empty() => bad("stderr not empty"),
        _ => None,
    }
}

/// The command line of `kind` for a client's `cycle` (zone add/delete use the
/// client's own extra zone of that cycle).
fn line(kind: Kind, t: &Targets, rng: &mut Rng, extra: &str) -> String {
    let i = rng.below(t.zones.len());
    let z = &t.zones[i];
    match kind {
        Kind::Running => "running".into(),
        Kind::KeyList => format!("key list --zone {z}"),
        Kind::RolloverList => format!("rollover list --zone {z}"),
        Kind::DsSeen => format!("key ds-seen --zone {z} --cka_id {}", t.ksk[i]),
        Kind::Enforce => format!("enforce --zone {z}"),
        Kind::ZoneAdd => format!(
            "zone add --zone {extra} --policy {} --input {} --output {}/{extra}",
            t.policy, t.input, t.signed_dir
        ),
        Kind::ZoneDelete => format!("zone delete --zone {extra}"),
        Kind::ZoneList => "zone list".into(),
        Kind::Queue => "queue".into(),
    }
}

/// Runs `clients` threads, each `cycles` cycles of [`CYCLE`]; `tag` keeps the extra
/// zones of different phases apart.
pub fn run(socket: &Path, t: &Targets, clients: usize, cycles: usize, tag: &str) -> Result<Phase> {
    let barrier = Barrier::new(clients);
    let n = t.zones.len();
    let start = Instant::now();
    type Sample = (Kind, Duration, i32, Option<String>);
    let results: Vec<Result<Vec<Sample>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let barrier = &barrier;
                s.spawn(move || -> Result<Vec<Sample>> {
                    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((c as u64 + 1) << 17));
                    let mut samples = Vec::new();
                    barrier.wait();
                    for cycle in 0..cycles {
                        let extra = format!("{tag}-c{c}-k{cycle}.bench");
                        for (slot, &kind) in CYCLE.iter().enumerate() {
                            // The last slot: zone list and queue by turns (clients
                            // start on different ones).
                            let kind = if slot == CYCLE.len() - 1 && (cycle + c) % 2 == 1 {
                                Kind::Queue
                            } else {
                                kind
                            };
                            let l = line(kind, t, &mut rng, &extra);
                            let a = command(socket, &l)?;
                            let problem = check(kind, a.code, &a.out.out, &a.out.err, n)
                                .map(|p| format!("`{l}`: {p}"));
                            samples.push((kind, a.time, a.code, problem));
                        }
                    }
                    Ok(samples)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a client thread panicked")))
            })
            .collect()
    });
    let mut phase = Phase {
        clients,
        wall: start.elapsed(),
        ..Phase::default()
    };
    for r in results {
        for (kind, time, code, problem) in r? {
            phase.by_kind.entry(kind).or_default().push(time);
            *phase
                .codes
                .entry(kind)
                .or_default()
                .entry(code)
                .or_default() += 1;
            if let Some(p) = problem {
                let e = phase.unexpected.entry(kind).or_insert((0, p));
                e.0 += 1;
            }
        }
    }
    if phase.count() == 0 {
        bail!("no command was sent");
    }
    Ok(phase)
}

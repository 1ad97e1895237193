//! The operator of a random run. Every command goes through `kasp_cli::client::run`,
//! the code the `ods-enforcer` binary runs, daemonless, against the sandbox's conf.xml.
//! Between commands the operator reads the log (folded incrementally, read-only) to
//! see which keys wait for the parent and when the next task is due.
//!
//! Operator actions are planned up front from the seed (zones added in waves, moved to
//! another policy, rolled by hand, deleted; the changed kasp.xml imported mid-run;
//! forced resalts), except the DS answers: a key waiting for `ds-seen` or `ds-gone` is
//! answered 1 to 72 hours after the operator first sees it waiting.

use crate::Settings;
use crate::sandbox::policy_names;
use kasp_cli::output::Sink;
use kasp_events::{Access, DsAtParent, EventLog, KeyRole, LogError, Seq, Timestamp};
use kasp_projector::State;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// 2025-01-01T00:00:00Z.
const START: i64 = 1_735_689_600;
const DAY: i64 = 86_400;
/// A run gives up after this many steps (a stuck loop, not a long run).
const MAX_STEPS: u32 = 200_000;

/// splitmix64 (no new crates), as the tests' PRNG.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// `true` with probability `percent` %.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Output of one in-process command.
#[derive(Default)]
struct Capture {
    out: String,
    err: String,
}

impl Sink for Capture {
    fn out(&mut self, text: &str) {
        self.out.push_str(text);
    }
    fn err(&mut self, text: &str) {
        self.err.push_str(text);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    AddZone(usize),
    SetPolicy(usize, usize),
    Rollover(usize, u8),
    DeleteZone(usize),
    ImportChanged,
    Resalt,
    DsSeen(String, u64),
    DsGone(String, u64),
}

struct Driver {
    dir: PathBuf,
    conf: String,
    state: State,
    rng: Rng,
    /// Planned operator actions by time (a counter keeps equal times in plan order).
    ops: BTreeMap<(i64, u64), Op>,
    counter: u64,
    /// DS answers already planned: (zone, key id, the state answered).
    answered: BTreeSet<(String, u64, DsAtParent)>,
    commands: u32,
    refused: u32,
}

/// Runs the whole operator in the sandbox `dir`.
pub fn drive(s: &Settings, dir: &Path) -> Result<(), String> {
    let mut d = Driver {
        dir: dir.to_path_buf(),
        conf: dir.join("conf.xml").display().to_string(),
        state: State::default(),
        rng: Rng(s.seed),
        ops: BTreeMap::new(),
        counter: 0,
        answered: BTreeSet::new(),
        commands: 0,
        refused: 0,
    };
    d.must(&format!("setup --simulated-time {START}"))?;
    d.must("policy import")?;
    let end = START + i64::from(s.years) * 365 * DAY;
    d.plan(s.zones as usize, end);
    let mut steps = 0;
    loop {
        d.refresh()?;
        d.plan_ds_answers();
        let now = d.state.now(Timestamp(START)).0;
        if now >= end {
            break;
        }
        steps += 1;
        if steps > MAX_STEPS {
            return Err(format!("gave up after {MAX_STEPS} steps at {now}"));
        }
        let due = d.ops.keys().next().filter(|k| k.0 <= now).copied();
        if let Some(op) = due.and_then(|k| d.ops.remove(&k)) {
            d.act(op)?;
            continue;
        }
        let task = kasp_cli::commands::next_task(&d.state).map_or(i64::MAX, |t| t.0);
        let op = d.ops.keys().next().map_or(i64::MAX, |k| k.0);
        let mut next = task.min(op).min(end);
        if next <= now {
            next = now + 60;
        }
        d.run(&format!("time leap --time {}", leap_time(next)))?;
    }
    eprintln!(
        "kasp-record-random: {} commands ({} refused), {} records, {} zones at the end",
        d.commands,
        d.refused,
        d.state.last_seq.map_or(0, |s| s.0 + 1),
        d.state.zones.len()
    );
    Ok(())
}

impl Driver {
    fn at(&mut self, t: i64, op: Op) {
        self.counter += 1;
        self.ops.insert((t, self.counter), op);
    }

    /// The operator's plan, from the seed.
    fn plan(&mut self, zones: usize, end: i64) {
        let span = end - START;
        let hour = |t: i64| t - t.rem_euclid(3600);
        for i in 0..zones {
            // Waves: most zones at the start, the rest in the first two thirds.
            let added = if self.rng.chance(60) {
                START
            } else {
                hour(START + self.rng.below((span * 2 / 3) as u64) as i64)
            };
            self.at(added, Op::AddZone(i));
            let years = (span / (365 * DAY)).max(1) as u64;
            for _ in 0..years {
                if self.rng.chance(40) {
                    let t = added + DAY + self.rng.below(span as u64) as i64;
                    let which = self.rng.below(2) as u8;
                    self.at(hour(t.min(end - DAY)), Op::Rollover(i, which));
                }
            }
            if self.rng.chance(15) {
                let p = self.rng.below(policy_names().len() as u64) as usize;
                let t = added + 30 * DAY + self.rng.below((span / 2) as u64) as i64;
                self.at(hour(t), Op::SetPolicy(i, p));
            }
            if self.rng.chance(12) {
                let t = START + span / 2 + self.rng.below((span * 2 / 5) as u64) as i64;
                self.at(hour(t.max(added + 60 * DAY)), Op::DeleteZone(i));
            }
        }
        self.at(hour(START + span / 2), Op::ImportChanged);
        self.at(hour(START + span / 3), Op::Resalt);
        self.at(hour(START + span * 5 / 6), Op::Resalt);
    }

    /// Plans `ds-seen` / `ds-gone` for keys newly waiting for them.
    fn plan_ds_answers(&mut self) {
        let now = self.state.now(Timestamp(START)).0;
        let mut new = Vec::new();
        for z in self.state.zones_in_order() {
            for k in &z.model.keys {
                let s = k.ds_at_parent;
                if matches!(s, DsAtParent::Submitted | DsAtParent::Retracted) {
                    let key = (z.config.name.to_string(), k.id.0, s);
                    if !self.answered.contains(&key) {
                        new.push(key);
                    }
                }
            }
        }
        for key in new {
            let delay = 3600 + self.rng.below(71 * 3600) as i64;
            let delay = delay - delay.rem_euclid(60);
            let op = match key.2 {
                DsAtParent::Submitted => Op::DsSeen(key.0.clone(), key.1),
                _ => Op::DsGone(key.0.clone(), key.1),
            };
            self.answered.insert(key);
            self.at(now + delay, op);
        }
    }

    fn zone_name(i: usize) -> String {
        format!("zone{i:02}.test")
    }

    fn act(&mut self, op: Op) -> Result<(), String> {
        let policies = policy_names();
        match op {
            Op::AddZone(i) => {
                let z = Self::zone_name(i);
                let p = policies[self.rng.below(policies.len() as u64) as usize];
                let d = self.dir.display().to_string();
                self.run(&format!(
                    "zone add --zone {z} --policy {p} --signerconf {d}/signconf/{z}.xml \
                     --input {d}/unsigned/{z} --output {d}/signed/{z}"
                ))
            }
            Op::SetPolicy(i, p) => {
                let z = Self::zone_name(i);
                if self.zone_policy(&z).is_none() {
                    return Ok(());
                }
                self.run(&format!(
                    "zone set-policy --zone {z} --policy {}",
                    policies[p]
                ))
            }
            Op::Rollover(i, which) => {
                let z = Self::zone_name(i);
                let Some(policy) = self.zone_policy(&z) else {
                    return Ok(());
                };
                let csk = self
                    .state
                    .policies
                    .get(&policy)
                    .is_some_and(|v| v.policy.keys.keys.iter().any(|k| k.role == KeyRole::Csk));
                let t = match (csk, which) {
                    (true, _) => "CSK",
                    (false, 0) => "KSK",
                    (false, _) => "ZSK",
                };
                self.run(&format!("key rollover --zone {z} --keytype {t}"))
            }
            Op::DeleteZone(i) => {
                let z = Self::zone_name(i);
                if self.zone_policy(&z).is_none() {
                    return Ok(());
                }
                self.run(&format!("zone delete --zone {z}"))
            }
            Op::ImportChanged => {
                std::fs::copy(self.dir.join("kasp2.xml"), self.dir.join("kasp.xml"))
                    .map_err(|e| format!("cannot copy kasp2.xml: {e}"))?;
                self.must("policy import")
            }
            Op::Resalt => self.run("policy resalt"),
            Op::DsSeen(z, id) => self.answer(&z, id, DsAtParent::Submitted, "ds-seen"),
            Op::DsGone(z, id) => self.answer(&z, id, DsAtParent::Retracted, "ds-gone"),
        }
    }

    /// `key ds-seen|ds-gone` for a key still in `expected`.
    fn answer(&mut self, z: &str, id: u64, expected: DsAtParent, what: &str) -> Result<(), String> {
        let tag = self
            .state
            .zones
            .values()
            .find(|v| v.config.name.as_str() == z)
            .and_then(|v| v.model.keys.iter().find(|k| k.id.0 == id))
            .filter(|k| k.ds_at_parent == expected)
            .map(|k| k.key_tag);
        match tag {
            Some(tag) => self.run(&format!("key {what} --zone {z} --keytag {tag}")),
            None => Ok(()),
        }
    }

    fn zone_policy(&self, z: &str) -> Option<kasp_events::PolicyName> {
        self.state
            .zones
            .values()
            .find(|v| v.config.name.as_str() == z)
            .map(|v| v.config.policy.clone())
    }

    /// Runs a command line in-process; a refusal is counted, not fatal.
    fn run(&mut self, line: &str) -> Result<(), String> {
        let code = self.exec(line);
        if code.0 != 0 {
            self.refused += 1;
            if code.0 >= 3 && code.0 != 11 && code.0 != 255 {
                return Err(format!("{line}: exit {}: {}", code.0, code.1.trim()));
            }
        }
        Ok(())
    }

    /// Runs a command that must succeed.
    fn must(&mut self, line: &str) -> Result<(), String> {
        match self.exec(line) {
            (0, _) => Ok(()),
            (c, err) => Err(format!("{line}: exit {c}: {}", err.trim())),
        }
    }

    fn exec(&mut self, line: &str) -> (i32, String) {
        self.commands += 1;
        let mut args = vec!["-c".to_string(), self.conf.clone()];
        args.extend(line.split_whitespace().map(str::to_string));
        let mut sink = Capture::default();
        let code = kasp_cli::client::run(&args, &mut sink);
        if !sink.err.is_empty() {
            eprint!("{line}: {}", sink.err);
        }
        (code, sink.err)
    }

    /// Folds the records appended since the last look.
    fn refresh(&mut self) -> Result<(), String> {
        let path = self.dir.join("enforcer/events.redb");
        let log = EventLog::open(&path, Access::ReadOnly).map_err(|e| e.to_string())?;
        let from = self.state.last_seq.map_or(Seq(0), |s| Seq(s.0 + 1));
        let state = &mut self.state;
        log.for_each(from, |sealed| {
            state.apply_owned(sealed.record);
            Ok::<(), LogError>(())
        })
        .map_err(|e| e.to_string())
    }
}

/// `YYYY-MM-DD-HH:MM:SS` (UTC), the format of `time leap --time`.
fn leap_time(epoch: i64) -> String {
    let c = Timestamp(epoch).civil();
    format!(
        "{:04}-{:02}-{:02}-{:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

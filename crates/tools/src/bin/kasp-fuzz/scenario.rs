//! Random operator scenarios in the scenario language (shared/conformance/README.md):
//! zones added, deleted and moved to another policy; DS seen and gone by keytag and with
//! `--all`; rollovers by zone and by policy; purges; a changed kasp.xml imported; the
//! clock leapt (up to two simulated years); restarts. The generator does not simulate the
//! enforcer: it keeps the few facts it needs (which zones exist, on which policy, how far
//! the clock may have gone) and a budget of expected `time leap` steps, so that one run on
//! OpenDNSSEC takes a minute or two at most.

use crate::policy::{self, DAY, HOUR, Pace, Policy, Role};
use crate::rng::Rng;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Zone names the scenarios use.
const ZONES: [&str; 4] = ["z1.example", "z2.example", "z3.example", "z4.example"];
/// About this many `time leap` steps per scenario (each costs the oracle ~2 s).
const LEAP_BUDGET: f64 = 45.0;
/// About as many runs a freshly added zone needs before its keys are all omnipresent.
const RUNS_TO_SETTLE: f64 = 6.0;

/// One generated case: the scenario text and its kasp files (name, text).
pub struct Case {
    pub scenario: String,
    pub files: Vec<(String, String)>,
}

struct Gen {
    rng: Rng,
    pace: Pace,
    policies: Vec<Policy>,
    /// The changed policies, imported once by `kasp kasp2.xml`.
    changed: Vec<Policy>,
    changed_imported: bool,
    zones: BTreeMap<&'static str, usize>,
    /// Manual rollovers asked per zone, to guess how many keys a zone has seen.
    rolls: BTreeMap<&'static str, u64>,
    /// The latest time (seconds after the start) a step moved the clock to, at most.
    horizon: u64,
    /// Whether the clock is known to be at or before `horizon` (a bare `leap` may pass it).
    clock_bounded: bool,
    leaps_left: f64,
    auto_ds: bool,
    lines: Vec<String>,
}

/// The case of `seed`.
pub fn generate(seed: u64) -> Case {
    let mut rng = Rng::new(seed);
    let pace = if rng.chance(25) {
        Pace::Long
    } else {
        Pace::Short
    };
    let count = rng.weighted(&[50, 35, 15]) + 1;
    let policies: Vec<Policy> = (0..count)
        .map(|i| policy::generate(&mut rng, &format!("p{i}"), pace))
        .collect();
    let changed = policy::change(&mut rng, &policies, pace);
    let keygen = match pace {
        Pace::Short => *rng.pick(&["P30D", "P60D", "P90D"]),
        Pace::Long => *rng.pick(&["P180D", "P365D"]),
    };
    let mut g = Gen {
        rng,
        pace,
        policies,
        changed,
        changed_imported: false,
        zones: BTreeMap::new(),
        rolls: BTreeMap::new(),
        horizon: 0,
        clock_bounded: true,
        leaps_left: LEAP_BUDGET,
        auto_ds: false,
        lines: Vec::new(),
    };
    let mut head = String::new();
    let _ = writeln!(head, "# kasp-fuzz seed {seed} ({:?} pace)", g.pace);
    head.push_str("#@kasp kasp.xml\n");
    let _ = writeln!(head, "#@conf AutomaticKeyGenerationPeriod {keygen}");
    if g.rng.chance(40) {
        g.auto_ds = true;
        g.lines.push("auto-ds on".to_string());
    }
    let first = g.rng.range(1, 2);
    for _ in 0..first {
        g.zone_add();
    }
    let ops = g.rng.range(6, 20);
    for _ in 0..ops {
        g.step();
    }
    let mut files = vec![(
        "kasp.xml".to_string(),
        policy::render(&g.policies, &format!("kasp-fuzz seed {seed}")),
    )];
    if g.changed_imported {
        files.push((
            "kasp2.xml".to_string(),
            policy::render(&g.changed, &format!("kasp-fuzz seed {seed}, changed")),
        ));
    }
    let mut scenario = head;
    for l in &g.lines {
        scenario.push_str(l);
        scenario.push('\n');
    }
    Case { scenario, files }
}

impl Gen {
    /// The policies `policy import` last loaded.
    fn current(&self) -> &[Policy] {
        if self.changed_imported {
            &self.changed
        } else {
            &self.policies
        }
    }

    fn push(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }

    /// Runs per day all present zones cause.
    fn rate(&self) -> f64 {
        let current = self.current();
        self.zones
            .values()
            .map(|p| current.get(*p).map_or(0.0, Policy::runs_per_day))
            .sum::<f64>()
            .max(0.05)
    }

    fn any_zone(&mut self) -> Option<(&'static str, usize)> {
        let zones: Vec<(&'static str, usize)> = self.zones.iter().map(|(z, p)| (*z, *p)).collect();
        if zones.is_empty() {
            None
        } else {
            Some(*self.rng.pick(&zones))
        }
    }

    fn any_policy(&mut self) -> (usize, String) {
        let n = self.current().len() as u64;
        let i = self.rng.below(n) as usize;
        (i, self.current()[i].name.clone())
    }

    fn step(&mut self) {
        let weights = [
            18, // leap-until-time
            7,  // leap
            8,  // zone add
            4,  // zone delete
            4,  // zone set-policy
            9,  // ds-seen by keytag
            5,  // ds-seen --all
            3,  // ds-gone by keytag
            4,  // ds-gone --all
            2,  // list form of the DS commands
            2,  // ds-submit / ds-retract
            7,  // rollover by zone
            4,  // rollover by policy
            3,  // purge
            5,  // changed kasp.xml
            3,  // policy import, unchanged
            4,  // restart-at
            6,  // a command that only shows
            3,  // auto-ds on/off
            2,  // zonelist export/import
        ];
        match self.rng.weighted(&weights) {
            0 => self.leap_until_time(),
            1 => self.leap(),
            2 => self.zone_add(),
            3 => self.zone_delete(),
            4 => self.set_policy(),
            5 => self.ds_by_keytag("ds-seen"),
            6 => self.push("key ds-seen --all"),
            7 => self.ds_by_keytag("ds-gone"),
            8 => self.push("key ds-gone --all"),
            9 => {
                let c = *self
                    .rng
                    .pick(&["ds-seen", "ds-gone", "ds-submit", "ds-retract"]);
                self.push(format!("key {c}"));
            }
            10 => self.ds_submit(),
            11 => self.rollover_zone(),
            12 => self.rollover_policy(),
            13 => self.purge(),
            14 => self.change_kasp(),
            15 => self.push("policy import"),
            16 => self.restart(),
            17 => {
                let c = *self.rng.pick(&[
                    "queue",
                    "enforce",
                    "zone list",
                    "key list --verbose",
                    "key list --debug",
                    "rollover list",
                    "policy list",
                ]);
                self.push(c);
            }
            18 => {
                self.auto_ds = !self.auto_ds;
                let l = if self.auto_ds {
                    "auto-ds on"
                } else {
                    "auto-ds off"
                };
                self.push(l);
            }
            _ => {
                let c = *self.rng.pick(&["zonelist export", "zonelist import"]);
                self.push(c);
            }
        }
    }

    fn zone_add(&mut self) {
        let free: Vec<&'static str> = ZONES
            .iter()
            .copied()
            .filter(|z| !self.zones.contains_key(z))
            .collect();
        if free.is_empty() || self.leaps_left < RUNS_TO_SETTLE {
            return self.leap();
        }
        let zone = *self.rng.pick(&free);
        let (p, name) = self.any_policy();
        self.zones.insert(zone, p);
        self.leaps_left -= RUNS_TO_SETTLE / 2.0;
        self.push(format!("zone add --zone {zone} --policy {name}"));
    }

    fn zone_delete(&mut self) {
        if let Some((zone, _)) = self.any_zone() {
            self.zones.remove(zone);
            self.push(format!("zone delete --zone {zone}"));
        }
    }

    fn set_policy(&mut self) {
        if let Some((zone, _)) = self.any_zone() {
            let (p, name) = self.any_policy();
            self.zones.insert(zone, p);
            self.push(format!("zone set-policy --zone {zone} --policy {name}"));
        }
    }

    /// Clock forward to a time: days (or hours) past the horizon, within the budget.
    fn leap_until_time(&mut self) {
        if self.leaps_left < 2.0 {
            return self.info();
        }
        let rate = self.rate();
        let settle = RUNS_TO_SETTLE * self.zones.len() as f64 / 2.0;
        let affordable = ((self.leaps_left - settle).max(1.0) / rate).min(730.0);
        let wanted = match self.pace {
            Pace::Short => self.rng.range(1, 40) as f64,
            Pace::Long => self.rng.range(30, 400) as f64,
        };
        let days = wanted.min(affordable).max(1.0).floor();
        let mut secs = days as u64 * DAY;
        if self.rng.chance(25) {
            secs = secs.saturating_sub(self.rng.range(1, 23) * HOUR).max(HOUR);
        }
        let target = (self.horizon + secs).min(730 * DAY);
        self.leaps_left -= days * rate + settle;
        self.horizon = self.horizon.max(target);
        self.push(format!("leap-until-time +{}", rel(target)));
    }

    fn leap(&mut self) {
        if self.leaps_left < 1.0 {
            return self.info();
        }
        let n = self.rng.weighted(&[60, 25, 15]) as u64 + 1;
        self.leaps_left -= n as f64;
        self.clock_bounded = false;
        if n == 1 {
            self.push("leap");
        } else {
            self.push(format!("leap {n}"));
        }
    }

    fn info(&mut self) {
        let c = *self.rng.pick(&["queue", "enforce", "key list --verbose"]);
        self.push(c);
    }

    /// The keytag placeholder of a zone's key that talks to the parent (KSK or CSK),
    /// numbered after a guess of how many such keys the zone has had.
    fn parent_key(&mut self, zone: &'static str, p: usize) -> String {
        let role = if self.current()[p].is_csk() {
            Role::Csk
        } else {
            Role::Ksk
        };
        let lifetime = self.current()[p]
            .keys
            .iter()
            .find(|k| k.role == role)
            .map_or(DAY, |k| k.lifetime.0.max(DAY));
        let guess =
            1 + (self.horizon / lifetime).min(3) + self.rolls.get(zone).copied().unwrap_or(0);
        let n = 1 + self.rng.below(guess.min(4));
        format!("{{{zone}/{}{n}}}", role.name())
    }

    fn ds_by_keytag(&mut self, command: &str) {
        let Some((zone, p)) = self.any_zone() else {
            return self.push(format!("key {command} --all"));
        };
        if !self.auto_ds && self.leaps_left >= 6.0 && self.rng.chance(45) {
            let what = if command == "ds-seen" {
                "waiting for ds-seen"
            } else {
                "waiting for ds-gone"
            };
            self.leaps_left -= 6.0;
            self.clock_bounded = false;
            self.push(format!("leap-until max=6 {what}"));
        }
        let key = self.parent_key(zone, p);
        self.push(format!("key {command} --zone {zone} --keytag {key}"));
    }

    fn ds_submit(&mut self) {
        let c = *self.rng.pick(&["ds-submit", "ds-retract"]);
        match self.any_zone() {
            Some((zone, p)) if self.rng.chance(60) => {
                let key = self.parent_key(zone, p);
                self.push(format!("key {c} --zone {zone} --keytag {key}"));
            }
            _ => self.push(format!("key {c} --all")),
        }
    }

    fn keytype(&mut self, p: usize) -> Option<&'static str> {
        let roles = self.current()[p].roles();
        if self.rng.chance(12) {
            // Every key of the zone, or a type the policy does not have.
            return if self.rng.chance(50) {
                None
            } else {
                Some(*self.rng.pick(&["KSK", "ZSK", "CSK"]))
            };
        }
        Some(self.rng.pick(&roles).name())
    }

    fn rollover_zone(&mut self) {
        let Some((zone, p)) = self.any_zone() else {
            return self.info();
        };
        *self.rolls.entry(zone).or_default() += 1;
        match self.keytype(p) {
            Some(t) => self.push(format!("key rollover --zone {zone} --keytype {t}")),
            None => self.push(format!("key rollover --zone {zone}")),
        }
    }

    fn rollover_policy(&mut self) {
        let (p, name) = self.any_policy();
        for (z, zp) in self.zones.clone() {
            if zp == p {
                *self.rolls.entry(z).or_default() += 1;
            }
        }
        match self.keytype(p) {
            Some(t) => self.push(format!("key rollover --policy {name} --keytype {t}")),
            None => self.push(format!("key rollover --policy {name}")),
        }
    }

    fn purge(&mut self) {
        match self.any_zone() {
            Some((zone, _)) if self.rng.chance(60) => {
                self.push(format!("key purge --zone {zone}"));
            }
            _ => {
                let (_, name) = self.any_policy();
                self.push(format!("key purge --policy {name}"));
            }
        }
    }

    fn change_kasp(&mut self) {
        if self.changed_imported {
            return self.push("policy import");
        }
        self.changed_imported = true;
        self.push("kasp kasp2.xml");
        self.push("policy import");
    }

    /// A restart some hours or days after the horizon (only while the clock cannot have
    /// passed it, so the restart never moves the clock back).
    fn restart(&mut self) {
        if !self.clock_bounded || self.leaps_left < 2.0 {
            return self.leap_until_time();
        }
        let after = if self.rng.chance(30) {
            self.rng.range(1, 23) * HOUR
        } else {
            self.rng.range(1, 5) * DAY
        };
        self.horizon = (self.horizon + after).min(730 * DAY);
        self.leaps_left -= 2.0;
        self.push(format!("restart-at +{}", rel(self.horizon)));
    }
}

/// Seconds after the start in the scenario language, in one unit as kasp-scenario's
/// parser reads it (crates/tools/src/scenario.rs `parse_when`): `45d`, `84h`, `300s`.
pub fn rel(secs: u64) -> String {
    if secs > 0 && secs.is_multiple_of(DAY) {
        format!("{}d", secs / DAY)
    } else if secs > 0 && secs.is_multiple_of(HOUR) {
        format!("{}h", secs / HOUR)
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kasp_engine::schema::{Schema, validate};
    use kasp_projector::formats::kaspcheck::{Severity, check_kasp};

    /// Every case is the same for the same seed, parses in the scenario language, and its
    /// kasp files pass kasp.rng and the checks that make `policy import` refuse a file.
    #[test]
    fn cases_are_deterministic_and_valid() {
        let mut warnings = std::collections::BTreeSet::new();
        for seed in 1..=300 {
            let case = generate(seed);
            assert_eq!(case.scenario, generate(seed).scenario, "seed {seed}");
            if let Err(e) = kasp_tools::scenario::parse(&case.scenario, "scenario.scn") {
                panic!("seed {seed}: {e}\n{}", case.scenario);
            }
            for (name, text) in &case.files {
                if let Err(e) = validate(text, name, Schema::Kasp) {
                    panic!("seed {seed} {name}: {e:?}");
                }
                let details = kasp_projector::formats::kasp::parse_kasp_detailed(text, name)
                    .unwrap_or_else(|e| panic!("seed {seed} {name}: {e:?}"));
                for f in check_kasp(&details, &["SoftHSM"], name) {
                    assert!(
                        f.severity != Severity::Error,
                        "seed {seed} {name}: {}",
                        f.message
                    );
                    warnings.insert(f.message.split(' ').take(6).collect::<Vec<_>>().join(" "));
                }
            }
        }
        eprintln!("kaspcheck warnings seen: {warnings:#?}");
    }
}

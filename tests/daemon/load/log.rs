//! The load test's log check: the records of `log export --jsonl` and the events
//! the commands sent imply.

use super::plan::*;
use std::collections::BTreeMap;

/// A record of `log export --jsonl`, the parts the checks read.
#[derive(Debug)]
pub struct Record {
    pub kind: String,
    pub cause: String,
    pub actor: String,
    /// The zone a ZoneAdded / ZoneDeleted / ZoneEnforced / RolloverRequested /
    /// DsStateChanged is about.
    pub zone: Option<String>,
    /// EnforceRequested of every zone.
    pub flush_all: bool,
}

pub fn records(jsonl: &str) -> Vec<Record> {
    jsonl
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("jsonl");
            let kind = v["kind"].as_str().unwrap().to_string();
            let e = &v["event"];
            let zone = match kind.as_str() {
                "ZoneAdded" => e["zone"]["name"].as_str(),
                "ZoneDeleted" | "ZoneEnforced" | "RolloverRequested" | "DsStateChanged" => {
                    e["zone"].as_str()
                }
                _ => None,
            }
            .map(str::to_string);
            Record {
                flush_all: kind == "EnforceRequested" && e["zones"].is_null(),
                kind,
                cause: v["cause"].as_str().unwrap().to_string(),
                actor: v["actor"].as_str().unwrap().to_string(),
                zone,
            }
        })
        .collect()
}

/// The kinds a command line determines, counted exactly per line.
pub const DETERMINED: [&str; 5] = [
    "ZoneAdded",
    "ZoneDeleted",
    "RolloverRequested",
    "EnforceRequested",
    "DsStateChanged",
];

/// Events per (cause, kind).
pub type KindCounts = BTreeMap<(String, &'static str), usize>;
/// ZoneEnforced events per (cause, zone).
pub type ZoneCounts = BTreeMap<(String, String), usize>;

/// What the commands sent imply: per (cause, kind) the count of the determined kinds,
/// and per (cause, zone) the enforcements of the command's own zone.
pub fn implied(plans: &[Vec<Planned>]) -> (KindCounts, ZoneCounts) {
    let mut kinds = BTreeMap::new();
    let mut own = BTreeMap::new();
    for p in plans.iter().flatten() {
        let implied: &[&'static str] = match p.effect {
            Effect::Nothing => &[],
            Effect::Added => &["ZoneAdded"],
            Effect::Deleted => &["ZoneDeleted"],
            Effect::Rolled => &["RolloverRequested", "EnforceRequested"],
            Effect::RollRefused => &["EnforceRequested"],
            Effect::DsMoved => &["DsStateChanged", "EnforceRequested"],
        };
        for k in DETERMINED {
            *kinds.entry((p.line.clone(), k)).or_insert(0) += usize::from(implied.contains(&k));
        }
        if let Some(z) = &p.zone {
            // A DS command moving a key of the zone it names runs that zone at once and
            // again in the flush of every zone (kasp_projector::decide::ds
            // `DsReport::runs_changed_zones_first`).
            let enforced = match p.effect {
                Effect::Added | Effect::Rolled => 1,
                Effect::DsMoved => 2,
                _ => 0,
            };
            *own.entry((p.line.clone(), z.clone())).or_insert(0) += enforced;
        }
    }
    (kinds, own)
}

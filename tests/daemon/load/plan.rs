//! The load test's plans: per client a deterministic command sequence with the
//! outcome its own model predicts.

use crate::daemon::support::Rng;
use std::collections::BTreeSet;

pub const CLIENTS: usize = 50;
pub const COMMANDS: usize = 200;
/// Rotating zones per client, `c<i>-z<slot>.test`, added and deleted during the run.
pub const SLOTS: usize = 2;

/// How a client reaches the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// One connection for all its commands (as the interactive client).
    Session,
    /// A connection per command (as `ods-enforcer <command>`).
    PerCommand,
    /// The real `ods-enforcer` binary (a process per command).
    Process,
}

/// What one command implies, for the log check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// A read, or a refusal that records nothing.
    Nothing,
    /// `zone add` of a new zone: ZoneAdded, and its zone enforced.
    Added,
    /// `zone delete` of an existing zone: ZoneDeleted.
    Deleted,
    /// `key rollover` of an existing zone: RolloverRequested, a flush of all zones.
    Rolled,
    /// `key rollover` of a missing zone: refused, but OpenDNSSEC flushes all zones.
    RollRefused,
    /// `key ds-submit` / `ds-seen` (zone form) that moved the KSK: DsStateChanged, its zone
    /// run, a flush of every zone.
    DsMoved,
}

/// What a read must show about the client's zones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shows {
    /// Nothing to check beyond the exit code.
    Any,
    /// `zone list`: exactly these of the client's zones are listed.
    Zones(BTreeSet<String>),
    /// `key list --zone Z`: Z's keys are listed iff it exists.
    Keys { zone: String, exists: bool },
}

/// One planned command: the line, the exit code it must get, a text its output must
/// contain, what a read must show, and what it implies for the log.
#[derive(Debug, Clone)]
pub struct Planned {
    pub line: String,
    pub code: i32,
    pub needle: String,
    pub shows: Shows,
    pub effect: Effect,
    /// The client's zone the command is about (its enforcement is counted).
    pub zone: Option<String>,
    pub via: Via,
}

/// The DS state of a client's pre-aged zone's KSK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ds {
    Submit,
    Submitted,
    Seen,
}

/// The KSK of a client's pre-aged zone: key tag and CKA_ID.
#[derive(Debug, Clone)]
pub struct Ksk {
    pub tag: String,
    pub cka_id: String,
}

pub fn ds_zone(client: usize) -> String {
    format!("c{client}-ds.test")
}

pub fn slot_zone(client: usize, slot: usize) -> String {
    format!("c{client}-z{slot}.test")
}

pub fn via_of(client: usize, k: usize) -> Via {
    match client % 3 {
        0 => Via::Session,
        1 => Via::PerCommand,
        _ if k % 25 == 7 => Via::Process,
        _ => Via::PerCommand,
    }
}

/// Client `client`'s commands, with the outcomes its own model predicts. `exists` is
/// the model (which rotating slots exist); the pre-aged zone always exists.
pub fn plan(client: usize, ksk: &Ksk, exists: &mut [bool; SLOTS]) -> Vec<Planned> {
    let mut rng = Rng(0x6b61_7370 ^ (client as u64).wrapping_mul(0x1000_0001));
    let mut ds = Ds::Submit;
    let dz = ds_zone(client);
    let mut out = Vec::with_capacity(COMMANDS);
    for k in 0..COMMANDS {
        let slot = rng.below(SLOTS as u64) as usize;
        let z = slot_zone(client, slot);
        let here = exists[slot];
        let roll = rng.below(1000);
        let p =
            |line: String, code: i32, needle: &str, effect: Effect, zone: Option<&str>| Planned {
                line,
                code,
                needle: needle.to_string(),
                shows: Shows::Any,
                effect,
                zone: zone.map(str::to_string),
                via: via_of(client, k),
            };
        let cmd = match roll {
            // Reads.
            0..=129 => {
                let mine: BTreeSet<String> = (0..SLOTS)
                    .filter(|&s| exists[s])
                    .map(|s| slot_zone(client, s))
                    .chain([dz.clone()])
                    .collect();
                Planned {
                    shows: Shows::Zones(mine),
                    ..p("zone list".into(), 0, "Zones:", Effect::Nothing, None)
                }
            }
            130..=379 => Planned {
                shows: Shows::Keys {
                    zone: z.clone(),
                    exists: here,
                },
                ..p(
                    format!("key list --zone {z}"),
                    0,
                    "Keys:",
                    Effect::Nothing,
                    None,
                )
            },
            380..=529 => p("queue".into(), 0, "It is now", Effect::Nothing, None),
            530..=539 => p(
                "key list --verbose".into(),
                0,
                "Keys:",
                Effect::Nothing,
                None,
            ),
            // Zone add and delete of a rotating zone.
            540..=709 => {
                let line = if rng.below(2) == 0 {
                    format!("zone add --zone {z} --policy fast")
                } else {
                    format!("zone add -z {z} -p fast")
                };
                exists[slot] = true;
                if here {
                    p(
                        line,
                        1,
                        "Unable to add zone, zone already exists!",
                        Effect::Nothing,
                        None,
                    )
                } else {
                    p(
                        line,
                        0,
                        &format!("Zone {z} added successfully"),
                        Effect::Added,
                        Some(&z),
                    )
                }
            }
            710..=719 => {
                let line = format!("zone delete --zone {z}");
                exists[slot] = false;
                if here {
                    p(
                        line,
                        0,
                        &format!("Deleted zone {z} successfully"),
                        Effect::Deleted,
                        Some(&z),
                    )
                } else {
                    p(
                        line,
                        1,
                        &format!("Unable to delete zone, zone {z} not found!"),
                        Effect::Nothing,
                        None,
                    )
                }
            }
            // DS commands on the pre-aged zone: each moves the KSK once.
            720..=754 => {
                let line = format!("key ds-submit --zone {dz} --keytag {}", ksk.tag);
                if ds == Ds::Submit {
                    ds = Ds::Submitted;
                    p(line, 0, "1 KSKs changed.", Effect::DsMoved, Some(&dz))
                } else {
                    p(line, 11, "0 KSKs changed.", Effect::Nothing, None)
                }
            }
            755..=789 => {
                let line = if rng.below(2) == 0 {
                    format!("key ds-seen --zone {dz} --cka_id {}", ksk.cka_id)
                } else {
                    format!("key ds-seen -z {dz} -x {}", ksk.tag)
                };
                if ds == Ds::Submitted {
                    ds = Ds::Seen;
                    p(line, 0, "1 KSKs changed.", Effect::DsMoved, Some(&dz))
                } else {
                    p(line, 11, "0 KSKs changed.", Effect::Nothing, None)
                }
            }
            // ds-seen on a rotating zone: its KSK was never submitted; an unknown zone
            // is a usage error.
            790..=989 => {
                let line = format!("key ds-seen --zone {z} --keytag {}", 1 + rng.below(65535));
                if here {
                    p(line, 11, "0 KSKs changed.", Effect::Nothing, None)
                } else {
                    p(
                        line,
                        255,
                        &format!("Unable to find a zone named \"{z}\""),
                        Effect::Nothing,
                        None,
                    )
                }
            }
            // ZSK rollovers (each flushes every zone, as OpenDNSSEC).
            990..=996 => {
                let line = format!("key rollover --zone {z} --keytype ZSK");
                if here {
                    p(
                        line,
                        0,
                        &format!("rolling ZSK for zone {z}"),
                        Effect::Rolled,
                        Some(&z),
                    )
                } else {
                    p(
                        line,
                        1,
                        &format!("zone {z} not found"),
                        Effect::RollRefused,
                        Some(&z),
                    )
                }
            }
            _ => {
                let line = format!("key rollover --zone {dz} --keytype ZSK");
                p(
                    line,
                    0,
                    &format!("rolling ZSK for zone {dz}"),
                    Effect::Rolled,
                    Some(&dz),
                )
            }
        };
        out.push(cmd);
    }
    out
}

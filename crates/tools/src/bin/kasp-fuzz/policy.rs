//! Random valid kasp.xml policies, and the changed kasp.xml a scenario imports later.
//!
//! Every value stays where OpenDNSSEC 2.1.12's `policy import` accepts it (its kasp.rng
//! is crates/engine/schemas/kasp.rng): durations in whole days, hours or minutes; algorithms
//! SoftHSM2 generates quickly (RSASHA256 8 with 1024 bits, ECDSAP256SHA256 13 and
//! ED25519 15 with 256 bits); every roll type of the schema.

use crate::rng::Rng;
use std::fmt::Write as _;

pub const HOUR: u64 = 3600;
pub const DAY: u64 = 86_400;

/// The three algorithms the generated policies use, with their key length.
const ALGORITHMS: [(u8, u32); 3] = [(8, 1024), (13, 256), (15, 256)];

/// A duration in seconds, written the shortest exact ISO 8601 way (`P3D`, `PT2H`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub u64);

impl std::fmt::Display for Dur {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.0;
        if s > 0 && s.is_multiple_of(DAY) {
            write!(f, "P{}D", s / DAY)
        } else if s > 0 && s.is_multiple_of(HOUR) {
            write!(f, "PT{}H", s / HOUR)
        } else if s > 0 && s.is_multiple_of(60) {
            write!(f, "PT{}M", s / 60)
        } else {
            write!(f, "PT{s}S")
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Ksk,
    Zsk,
    Csk,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Ksk => "KSK",
            Role::Zsk => "ZSK",
            Role::Csk => "CSK",
        }
    }

    fn roll_types(self) -> &'static [&'static str] {
        match self {
            Role::Ksk => &["KskDoubleRRset", "KskDoubleDS", "KskDoubleSignature"],
            Role::Zsk => &["ZskDoubleSignature", "ZskPrePublication", "ZskDoubleRRsig"],
            Role::Csk => &[
                "CskDoubleRRset",
                "CskSingleSignature",
                "CskDoubleDS",
                "CskDoubleSignature",
                "CskPrePublication",
            ],
        }
    }
}

#[derive(Debug, Clone)]
pub struct KeySpec {
    pub role: Role,
    pub algorithm: u8,
    pub bits: u32,
    pub lifetime: Dur,
    pub manual: bool,
    /// `None`: the element is left out (OpenDNSSEC's default applies).
    pub roll_type: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub enum Denial {
    Nsec,
    Nsec3 {
        ttl: Option<Dur>,
        opt_out: bool,
        resalt: Dur,
        iterations: u32,
        salt_length: u32,
    },
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    pub resign: Dur,
    pub refresh: Dur,
    pub validity_default: Dur,
    pub validity_denial: Dur,
    pub jitter: Dur,
    pub inception_offset: Dur,
    pub max_zone_ttl: Dur,
    pub denial: Denial,
    pub key_ttl: Dur,
    pub retire_safety: Dur,
    pub publish_safety: Dur,
    pub share_keys: bool,
    pub purge: Option<Dur>,
    pub keys: Vec<KeySpec>,
    pub zone_propagation: Dur,
    pub zone_soa_ttl: Dur,
    pub zone_soa_minimum: Dur,
    pub serial: &'static str,
    pub parent_propagation: Dur,
    pub ds_ttl: Dur,
    pub parent_soa_ttl: Dur,
    pub parent_soa_minimum: Dur,
}

/// How fast a policy's keys roll: short lifetimes (days, a run of weeks shows several
/// rollovers) or long ones (months, for leaps over one to two years).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    Short,
    Long,
}

impl Policy {
    /// Whether the policy signs with one combined key.
    pub fn is_csk(&self) -> bool {
        self.keys.iter().any(|k| k.role == Role::Csk)
    }

    /// The key roles a zone on this policy has.
    pub fn roles(&self) -> Vec<Role> {
        let mut r: Vec<Role> = Vec::new();
        for k in &self.keys {
            if !r.contains(&k.role) {
                r.push(k.role);
            }
        }
        r
    }

    /// About how many scheduled runs one zone on this policy causes per day: a rollover
    /// takes some six runs, a resalt one.
    pub fn runs_per_day(&self) -> f64 {
        let mut rate: f64 = self
            .keys
            .iter()
            .filter(|k| !k.manual)
            .map(|k| 6.0 * DAY as f64 / k.lifetime.0.max(DAY) as f64)
            .sum();
        if let Denial::Nsec3 { resalt, .. } = self.denial {
            rate += DAY as f64 / resalt.0.max(DAY) as f64;
        }
        rate
    }
}

fn days(rng: &mut Rng, lo: u64, hi: u64) -> Dur {
    Dur(rng.range(lo, hi) * DAY)
}

fn hours(rng: &mut Rng, lo: u64, hi: u64) -> Dur {
    Dur(rng.range(lo, hi) * HOUR)
}

/// A TTL-like duration: minutes, hours or a day.
fn ttl(rng: &mut Rng) -> Dur {
    Dur(*rng.pick(&[300, 600, HOUR, 2 * HOUR, 6 * HOUR, 12 * HOUR, DAY]))
}

fn lifetime(rng: &mut Rng, role: Role, pace: Pace) -> Dur {
    match (pace, role) {
        (Pace::Short, Role::Zsk) => days(rng, 4, 30),
        (Pace::Short, _) => days(rng, 7, 60),
        (Pace::Long, Role::Zsk) => days(rng, 60, 180),
        (Pace::Long, _) => days(rng, 120, 365),
    }
}

fn key(rng: &mut Rng, role: Role, algorithm: (u8, u32), pace: Pace) -> KeySpec {
    KeySpec {
        role,
        algorithm: algorithm.0,
        bits: algorithm.1,
        lifetime: lifetime(rng, role, pace),
        manual: rng.chance(12),
        roll_type: if rng.chance(85) {
            Some(*rng.pick(role.roll_types()))
        } else {
            None
        },
    }
}

fn denial(rng: &mut Rng, pace: Pace) -> Denial {
    if rng.chance(45) {
        return Denial::Nsec;
    }
    Denial::Nsec3 {
        ttl: if rng.chance(30) { Some(ttl(rng)) } else { None },
        opt_out: rng.chance(25),
        resalt: match pace {
            Pace::Short => days(rng, 3, 40),
            Pace::Long => days(rng, 60, 200),
        },
        iterations: *rng.pick(&[0, 1, 5, 10]),
        salt_length: *rng.pick(&[0, 4, 8, 16]),
    }
}

/// One random policy.
pub fn generate(rng: &mut Rng, name: &str, pace: Pace) -> Policy {
    let algorithm = *rng.pick(&ALGORITHMS);
    let keys = if rng.chance(28) {
        vec![key(rng, Role::Csk, algorithm, pace)]
    } else {
        // One algorithm for both: `policy import` refuses a KSK and ZSK of different
        // algorithms (kaspcheck's "algorithm mismatch", crates/projector/src/formats/kaspcheck.rs).
        vec![
            key(rng, Role::Ksk, algorithm, pace),
            key(rng, Role::Zsk, algorithm, pace),
        ]
    };
    let refresh = days(rng, 2, 4);
    Policy {
        name: name.to_string(),
        resign: hours(rng, 1, 4),
        refresh,
        validity_default: Dur(refresh.0 + days(rng, 3, 11).0),
        validity_denial: Dur(refresh.0 + days(rng, 2, 11).0),
        jitter: hours(rng, 0, 12),
        inception_offset: Dur(HOUR),
        max_zone_ttl: ttl(rng),
        denial: denial(rng, pace),
        key_ttl: ttl(rng),
        retire_safety: *rng.pick(&[Dur(HOUR), Dur(2 * HOUR), Dur(DAY)]),
        publish_safety: *rng.pick(&[Dur(HOUR), Dur(2 * HOUR), Dur(DAY)]),
        share_keys: rng.chance(20),
        purge: if rng.chance(50) {
            Some(days(rng, 1, 14))
        } else {
            None
        },
        keys,
        zone_propagation: *rng.pick(&[Dur(HOUR), Dur(12 * HOUR), Dur(DAY)]),
        zone_soa_ttl: ttl(rng),
        zone_soa_minimum: ttl(rng),
        serial: rng.pick::<&str>(&["counter", "datecounter", "unixtime", "keep"]),
        parent_propagation: *rng.pick(&[Dur(HOUR), Dur(12 * HOUR), Dur(DAY)]),
        ds_ttl: ttl(rng),
        parent_soa_ttl: ttl(rng),
        parent_soa_minimum: ttl(rng),
    }
}

/// The changed policies a scenario's `kasp kasp2.xml` imports: one to three changes
/// (algorithm, lifetimes, TTL, Purge, denial, salt, ManualRollover, roll type,
/// ShareKeys, KSK+ZSK ↔ CSK, one more policy). Policies are never removed.
pub fn change(rng: &mut Rng, policies: &[Policy], pace: Pace) -> Vec<Policy> {
    let mut out = policies.to_vec();
    let n = rng.range(1, 3);
    for _ in 0..n {
        let which = rng.weighted(&[14, 14, 8, 8, 10, 8, 8, 8, 5, 8, 6]);
        if which == 10 {
            let name = format!("p{}", out.len());
            out.push(generate(rng, &name, pace));
            continue;
        }
        let i = rng.below(out.len() as u64) as usize;
        let p = &mut out[i];
        match which {
            0 => {
                let a = *rng.pick(&ALGORITHMS);
                for k in &mut p.keys {
                    (k.algorithm, k.bits) = a;
                }
            }
            1 => {
                let k = rng.below(p.keys.len() as u64) as usize;
                let role = p.keys[k].role;
                p.keys[k].lifetime = lifetime(rng, role, pace);
            }
            2 => p.key_ttl = ttl(rng),
            3 => {
                p.purge = match p.purge {
                    Some(_) => None,
                    None => Some(days(rng, 1, 14)),
                }
            }
            4 => {
                p.denial = match p.denial {
                    Denial::Nsec => denial(rng, pace),
                    Denial::Nsec3 { .. } if rng.chance(50) => Denial::Nsec,
                    Denial::Nsec3 { .. } => denial(rng, pace),
                }
            }
            5 => {
                let k = rng.below(p.keys.len() as u64) as usize;
                p.keys[k].manual = !p.keys[k].manual;
            }
            6 => {
                let k = rng.below(p.keys.len() as u64) as usize;
                let role = p.keys[k].role;
                p.keys[k].roll_type = Some(*rng.pick(role.roll_types()));
            }
            7 => p.share_keys = !p.share_keys,
            8 => {
                p.zone_propagation = *rng.pick(&[Dur(HOUR), Dur(12 * HOUR), Dur(DAY)]);
                p.ds_ttl = ttl(rng);
            }
            _ => {
                let a = (p.keys[0].algorithm, p.keys[0].bits);
                p.keys = if p.is_csk() {
                    vec![key(rng, Role::Ksk, a, pace), key(rng, Role::Zsk, a, pace)]
                } else {
                    vec![key(rng, Role::Csk, a, pace)]
                };
            }
        }
    }
    out
}

/// The kasp.xml text of `policies`.
pub fn render(policies: &[Policy], comment: &str) -> String {
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(x, "<!-- {comment} -->");
    x.push_str("<KASP>\n");
    for p in policies {
        render_policy(&mut x, p);
    }
    x.push_str("</KASP>\n");
    x
}

fn render_policy(x: &mut String, p: &Policy) {
    let _ = writeln!(x, "\t<Policy name=\"{}\">", p.name);
    let _ = writeln!(x, "\t\t<Description>fuzz policy {}</Description>", p.name);
    let _ = write!(
        x,
        "\t\t<Signatures>\n\t\t\t<Resign>{}</Resign>\n\t\t\t<Refresh>{}</Refresh>\n\
         \t\t\t<Validity>\n\t\t\t\t<Default>{}</Default>\n\t\t\t\t<Denial>{}</Denial>\n\
         \t\t\t</Validity>\n\t\t\t<Jitter>{}</Jitter>\n\
         \t\t\t<InceptionOffset>{}</InceptionOffset>\n\t\t\t<MaxZoneTTL>{}</MaxZoneTTL>\n\
         \t\t</Signatures>\n",
        p.resign,
        p.refresh,
        p.validity_default,
        p.validity_denial,
        p.jitter,
        p.inception_offset,
        p.max_zone_ttl
    );
    x.push_str("\t\t<Denial>\n");
    match &p.denial {
        Denial::Nsec => x.push_str("\t\t\t<NSEC/>\n"),
        Denial::Nsec3 {
            ttl,
            opt_out,
            resalt,
            iterations,
            salt_length,
        } => {
            x.push_str("\t\t\t<NSEC3>\n");
            if let Some(t) = ttl {
                let _ = writeln!(x, "\t\t\t\t<TTL>{t}</TTL>");
            }
            if *opt_out {
                x.push_str("\t\t\t\t<OptOut/>\n");
            }
            let _ = write!(
                x,
                "\t\t\t\t<Resalt>{resalt}</Resalt>\n\t\t\t\t<Hash>\n\
                 \t\t\t\t\t<Algorithm>1</Algorithm>\n\
                 \t\t\t\t\t<Iterations>{iterations}</Iterations>\n\
                 \t\t\t\t\t<Salt length=\"{salt_length}\"/>\n\t\t\t\t</Hash>\n\t\t\t</NSEC3>\n"
            );
        }
    }
    x.push_str("\t\t</Denial>\n\t\t<Keys>\n");
    let _ = write!(
        x,
        "\t\t\t<TTL>{}</TTL>\n\t\t\t<RetireSafety>{}</RetireSafety>\n\
         \t\t\t<PublishSafety>{}</PublishSafety>\n",
        p.key_ttl, p.retire_safety, p.publish_safety
    );
    if p.share_keys {
        x.push_str("\t\t\t<ShareKeys/>\n");
    }
    if let Some(purge) = p.purge {
        let _ = writeln!(x, "\t\t\t<Purge>{purge}</Purge>");
    }
    for k in &p.keys {
        let role = k.role.name();
        let _ = write!(
            x,
            "\t\t\t<{role}>\n\t\t\t\t<Algorithm length=\"{}\">{}</Algorithm>\n\
             \t\t\t\t<Lifetime>{}</Lifetime>\n\t\t\t\t<Repository>SoftHSM</Repository>\n",
            k.bits, k.algorithm, k.lifetime
        );
        if k.manual {
            x.push_str("\t\t\t\t<ManualRollover/>\n");
        }
        if let Some(t) = k.roll_type {
            let tag = match k.role {
                Role::Ksk => "KskRollType",
                Role::Zsk => "ZskRollType",
                Role::Csk => "CskRollType",
            };
            let _ = writeln!(x, "\t\t\t\t<{tag}>{t}</{tag}>");
        }
        let _ = writeln!(x, "\t\t\t</{role}>");
    }
    x.push_str("\t\t</Keys>\n");
    let _ = write!(
        x,
        "\t\t<Zone>\n\t\t\t<PropagationDelay>{}</PropagationDelay>\n\t\t\t<SOA>\n\
         \t\t\t\t<TTL>{}</TTL>\n\t\t\t\t<Minimum>{}</Minimum>\n\t\t\t\t<Serial>{}</Serial>\n\
         \t\t\t</SOA>\n\t\t</Zone>\n",
        p.zone_propagation, p.zone_soa_ttl, p.zone_soa_minimum, p.serial
    );
    let _ = write!(
        x,
        "\t\t<Parent>\n\t\t\t<PropagationDelay>{}</PropagationDelay>\n\t\t\t<DS>\n\
         \t\t\t\t<TTL>{}</TTL>\n\t\t\t</DS>\n\t\t\t<SOA>\n\t\t\t\t<TTL>{}</TTL>\n\
         \t\t\t\t<Minimum>{}</Minimum>\n\t\t\t</SOA>\n\t\t</Parent>\n",
        p.parent_propagation, p.ds_ttl, p.parent_soa_ttl, p.parent_soa_minimum
    );
    x.push_str("\t</Policy>\n");
}

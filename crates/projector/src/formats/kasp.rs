//! kasp.xml in: a strict reader that checks what OpenDNSSEC's RelaxNG schema
//! (`kasp.rnc`) checks and then builds the policies as `policy import`
//! (`policy_ext.c:__xmlNode2policy`, `policy_key_ext.c:policy_key_create_from_xml`)
//! would store them. The writer for `policy export` is in [`crate::formats::kasp_export`].
//!
//! Strictness: elements in schema order, every required element present, unknown
//! elements and attributes refused, stray text refused, numbers range-checked,
//! durations through [`crate::formats::duration`] (white space around them ignored, weeks
//! refused as `xsd:duration` has none). Defaults for absent optional elements are
//! OpenDNSSEC's: OptOut, ShareKeys, Passthrough off; Purge, NSEC3 TTL, Keyset,
//! RegistrationDelay and Standby 0; MaxZoneTTL 86400; roll types KskDoubleSignature
//! (minimize 4), ZskPrePublication (1) and CskPrePublication (5).
//!
//! One deliberate leniency: `Parent/RegistrationDelay` is accepted either last (where
//! the schema wants it) or first (where `policy export` writes it), so an exported file
//! reads back.

pub use crate::formats::kasp_export::export_kasp;
pub use crate::formats::xmlin::FormatError;
use crate::formats::xmlin::{Ctx, Seq, XML_SPACE, parse_document};
use kasp_events::policy::{
    Denial, KeyRole, Keys, Nsec3, ParentTiming, Policy, PolicyKey, SerialKind, Signatures,
    ZoneTiming,
};
use kasp_events::{PolicyName, Seconds};
use roxmltree::Node;

/// One duration field as written in kasp.xml, for the checks that look at the text
/// (ods-kaspcheck warns when M or Y is used). Only the fields ods-kaspcheck looks at
/// are recorded, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationUse {
    /// Index of the policy in [`KaspDetails::policies`].
    pub policy: usize,
    /// ods-kaspcheck's name for the field, e.g. `Signatures/Resign`, `Keys/KSK Lifetime`.
    pub field: &'static str,
    /// The text, without surrounding white space.
    pub value: String,
    /// The value in seconds.
    pub seconds: Seconds,
}

/// Everything read from kasp.xml: the policies in file order, plus the raw duration
/// texts the semantic checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KaspDetails {
    /// The policies, in file order (duplicate names are kept; see `kaspcheck`).
    pub policies: Vec<Policy>,
    /// The duration fields ods-kaspcheck examines, in document order.
    pub durations: Vec<DurationUse>,
}

/// Reads kasp.xml into policies (file order). `file` is used only in messages.
pub fn parse_kasp(text: &str, file: &str) -> Result<Vec<Policy>, FormatError> {
    parse_kasp_detailed(text, file).map(|d| d.policies)
}

/// Reads kasp.xml into policies plus the raw duration fields (for `check_kasp`).
pub fn parse_kasp_detailed(text: &str, file: &str) -> Result<KaspDetails, FormatError> {
    let doc = parse_document(text, file)?;
    let ctx = Ctx { doc: &doc, file };
    let root = doc.root_element();
    ctx.expect_root(root, "KASP")?;
    let mut reader = Reader {
        ctx,
        durations: Vec::new(),
        policy: 0,
    };
    let mut policies = Vec::new();
    let mut seq = Seq::new(ctx, root, &[])?;
    while let Some(node) = seq.optional("Policy") {
        reader.policy = policies.len();
        policies.push(reader.policy(node)?);
    }
    seq.finish()?;
    Ok(KaspDetails {
        policies,
        durations: reader.durations,
    })
}

/// The minimize value OpenDNSSEC stores when a key has no `*RollType`.
pub fn default_minimize(role: KeyRole) -> u8 {
    match role {
        KeyRole::Ksk => 4,
        KeyRole::Zsk => 1,
        KeyRole::Csk => 5,
    }
}

const ROLL_TYPES: &[(KeyRole, &str, u8)] = &[
    (KeyRole::Ksk, "KskDoubleRRset", 0),
    (KeyRole::Ksk, "KskDoubleDS", 2),
    (KeyRole::Ksk, "KskDoubleSignature", 4),
    (KeyRole::Zsk, "ZskDoubleSignature", 0),
    (KeyRole::Zsk, "ZskPrePublication", 1),
    (KeyRole::Zsk, "ZskDoubleRRsig", 2),
    (KeyRole::Csk, "CskDoubleRRset", 0),
    (KeyRole::Csk, "CskSingleSignature", 1),
    (KeyRole::Csk, "CskDoubleDS", 2),
    (KeyRole::Csk, "CskDoubleSignature", 4),
    (KeyRole::Csk, "CskPrePublication", 5),
];

/// The minimize bit set for a roll type name of this role (`KskDoubleDS` → 2).
pub fn roll_type_minimize(role: KeyRole, name: &str) -> Option<u8> {
    ROLL_TYPES
        .iter()
        .find(|(r, n, _)| *r == role && *n == name)
        .map(|(_, _, m)| *m)
}

/// The roll type name for a stored minimize value (`policy export`), if it has one.
pub fn roll_type_name(role: KeyRole, minimize: u8) -> Option<&'static str> {
    ROLL_TYPES
        .iter()
        .find(|(r, _, m)| *r == role && *m == minimize)
        .map(|(_, n, _)| *n)
}

/// The element holding a role's roll type: `KskRollType`, `ZskRollType`, `CskRollType`.
pub fn roll_type_element(role: KeyRole) -> &'static str {
    match role {
        KeyRole::Ksk => "KskRollType",
        KeyRole::Zsk => "ZskRollType",
        KeyRole::Csk => "CskRollType",
    }
}

/// Largest value of the integers OpenDNSSEC reads with `atoi` into an `int`.
const INT_MAX: u64 = i32::MAX as u64;

struct Reader<'a, 'i> {
    ctx: Ctx<'a, 'i>,
    durations: Vec<DurationUse>,
    policy: usize,
}

type R<T> = Result<T, FormatError>;

impl<'a, 'i> Reader<'a, 'i> {
    /// A duration element; recorded for kaspcheck when `field` is one it checks.
    fn dur(&mut self, node: Node<'a, 'i>, field: &'static str, checked: bool) -> R<Seconds> {
        let (value, seconds) = self.ctx.duration(node, field)?;
        if checked {
            self.durations.push(DurationUse {
                policy: self.policy,
                field,
                value,
                seconds,
            });
        }
        Ok(seconds)
    }

    fn policy(&mut self, node: Node<'a, 'i>) -> R<Policy> {
        let ctx = self.ctx;
        let mut seq = Seq::new(ctx, node, &["name"])?;
        let raw_name = ctx.attr(node, "name")?;
        let name = PolicyName::new(raw_name).map_err(|e| ctx.err(node, e.to_string()))?;
        let passthrough = match seq.optional("Passthrough") {
            Some(n) => {
                ctx.empty(n)?;
                true
            }
            None => false,
        };
        let description = ctx.text(seq.required("Description")?)?;
        let signatures = self.signatures(seq.required("Signatures")?)?;
        let denial = self.denial(seq.required("Denial")?)?;
        let keys = self.keys(seq.required("Keys")?)?;
        let zone = self.zone(seq.required("Zone")?)?;
        let parent = self.parent(seq.required("Parent")?)?;
        seq.finish()?;
        Ok(Policy {
            name,
            description,
            passthrough,
            signatures,
            denial,
            keys,
            zone,
            parent,
        })
    }

    fn signatures(&mut self, node: Node<'a, 'i>) -> R<Signatures> {
        let mut seq = Seq::new(self.ctx, node, &[])?;
        let resign = self.dur(seq.required("Resign")?, "Signatures/Resign", true)?;
        let refresh = self.dur(seq.required("Refresh")?, "Signatures/Refresh", true)?;
        let validity = seq.required("Validity")?;
        let mut v = Seq::new(self.ctx, validity, &[])?;
        let default = self.dur(v.required("Default")?, "Signatures/Validity/Default", true)?;
        let denial = self.dur(v.required("Denial")?, "Signatures/Validity/Denial", true)?;
        let keyset = match v.optional("Keyset") {
            Some(n) => self.dur(n, "Signatures/Validity/Keyset", false)?,
            None => Seconds(0),
        };
        v.finish()?;
        let jitter = self.dur(seq.required("Jitter")?, "Signatures/Jitter", true)?;
        let inception = self.dur(
            seq.required("InceptionOffset")?,
            "Signatures/InceptionOffset",
            true,
        )?;
        let max_zone_ttl = match seq.optional("MaxZoneTTL") {
            Some(n) => self.dur(n, "Signatures/MaxZoneTTL", true)?,
            None => Seconds(86400),
        };
        seq.finish()?;
        Ok(Signatures {
            resign,
            refresh,
            validity_default: default,
            validity_denial: denial,
            validity_keyset: keyset,
            jitter,
            inception_offset: inception,
            max_zone_ttl,
        })
    }

    fn denial(&mut self, node: Node<'a, 'i>) -> R<Denial> {
        let ctx = self.ctx;
        let mut seq = Seq::new(ctx, node, &[])?;
        if let Some(n) = seq.optional("NSEC") {
            ctx.empty(n)?;
            seq.finish()?;
            return Ok(Denial::Nsec);
        }
        let Some(nsec3) = seq.optional("NSEC3") else {
            return Err(seq.fail("<NSEC> or <NSEC3>"));
        };
        seq.finish()?;
        let mut s = Seq::new(ctx, nsec3, &[])?;
        let ttl = match s.optional("TTL") {
            Some(n) => self.dur(n, "Denial/NSEC3/TTL", false)?,
            None => Seconds(0),
        };
        let opt_out = match s.optional("OptOut") {
            Some(n) => {
                ctx.empty(n)?;
                true
            }
            None => false,
        };
        let resalt = self.dur(s.required("Resalt")?, "Denial/NSEC3/Resalt", true)?;
        let hash = s.required("Hash")?;
        s.finish()?;
        let mut h = Seq::new(ctx, hash, &[])?;
        let algorithm = ctx.number(h.required("Algorithm")?, 0, 255)?;
        let iterations = ctx.number(h.required("Iterations")?, 0, 65535)?;
        let salt = h.required("Salt")?;
        h.finish()?;
        // The salt text, if any, is ignored: the enforcer generates the salt.
        ctx.text_with(salt, &["length"])?;
        let length = ctx.attr(salt, "length")?;
        let salt_length = ctx.number_in(salt, "Salt@length", length, 0, 255)?;
        Ok(Denial::Nsec3(Nsec3 {
            ttl,
            opt_out,
            resalt,
            algorithm: algorithm as u8,
            iterations: iterations as u16,
            salt_length: salt_length as u8,
        }))
    }

    fn keys(&mut self, node: Node<'a, 'i>) -> R<Keys> {
        let ctx = self.ctx;
        let mut seq = Seq::new(ctx, node, &[])?;
        let ttl = self.dur(seq.required("TTL")?, "Keys/TTL", true)?;
        let retire_safety = self.dur(seq.required("RetireSafety")?, "Keys/RetireSafety", true)?;
        let publish_safety =
            self.dur(seq.required("PublishSafety")?, "Keys/PublishSafety", true)?;
        let share_keys = match seq.optional("ShareKeys") {
            Some(n) => {
                ctx.empty(n)?;
                true
            }
            None => false,
        };
        let purge = match seq.optional("Purge") {
            Some(n) => self.dur(n, "Keys/Purge", false)?,
            None => Seconds(0),
        };
        let mut keys: Vec<PolicyKey> = Vec::new();
        for role in [KeyRole::Ksk, KeyRole::Zsk, KeyRole::Csk] {
            while let Some(n) = seq.optional(role.as_str()) {
                keys.push(self.key(n, role)?);
            }
        }
        if let (Some(n), Some(last)) = (seq.peek(), keys.last())
            && ["KSK", "ZSK", "CSK"]
                .iter()
                .any(|r| crate::formats::xmlin::is(n, r))
        {
            return Err(ctx.err(
                n,
                format!(
                    "<{}> after <{}>: key elements must come in the order KSK, ZSK, CSK",
                    n.tag_name().name(),
                    last.role.as_str()
                ),
            ));
        }
        seq.finish()?;
        Ok(Keys {
            ttl,
            retire_safety,
            publish_safety,
            share_keys,
            purge,
            keys,
        })
    }

    fn key(&mut self, node: Node<'a, 'i>, role: KeyRole) -> R<PolicyKey> {
        let ctx = self.ctx;
        let mut seq = Seq::new(ctx, node, &[])?;
        let alg = seq.required("Algorithm")?;
        let alg_text = ctx.text_with(alg, &["length"])?;
        let length = ctx.attr(alg, "length")?;
        let bits = ctx.number_in(alg, "Algorithm@length", length, 1, INT_MAX)?;
        let algorithm = ctx.number_in(alg, "<Algorithm>", &alg_text, 0, 255)?;
        let field = match role {
            KeyRole::Ksk => "Keys/KSK Lifetime",
            KeyRole::Zsk => "Keys/ZSK Lifetime",
            KeyRole::Csk => "Keys/CSK Lifetime",
        };
        let lifetime = self.dur(seq.required("Lifetime")?, field, true)?;
        let repository = ctx.text(seq.required("Repository")?)?;
        let standby = match seq.optional("Standby") {
            Some(n) => ctx.number(n, 0, INT_MAX)?,
            None => 0,
        };
        let manual_rollover = match seq.optional("ManualRollover") {
            Some(n) => {
                ctx.empty(n)?;
                true
            }
            None => false,
        };
        let element = roll_type_element(role);
        let minimize = match seq.optional(element) {
            Some(n) => {
                let raw = ctx.text(n)?;
                let t = raw.trim_matches(XML_SPACE);
                roll_type_minimize(role, t).ok_or_else(|| {
                    let allowed: Vec<&str> = ROLL_TYPES
                        .iter()
                        .filter(|(r, _, _)| *r == role)
                        .map(|(_, n, _)| *n)
                        .collect();
                    ctx.err(
                        n,
                        format!(
                            "<{element}> must be one of {}, found '{t}'",
                            allowed.join(", ")
                        ),
                    )
                })?
            }
            None => default_minimize(role),
        };
        let rfc5011 = match role {
            KeyRole::Ksk | KeyRole::Csk => match seq.optional("RFC5011") {
                Some(n) => {
                    ctx.empty(n)?;
                    true
                }
                None => false,
            },
            KeyRole::Zsk => false,
        };
        seq.finish()?;
        Ok(PolicyKey {
            role,
            algorithm: algorithm as u8,
            bits: bits as u32,
            lifetime,
            repository,
            standby: standby as u32,
            manual_rollover,
            rfc5011,
            minimize,
        })
    }

    fn zone(&mut self, node: Node<'a, 'i>) -> R<ZoneTiming> {
        let ctx = self.ctx;
        let mut seq = Seq::new(ctx, node, &[])?;
        let propagation_delay = self.dur(
            seq.required("PropagationDelay")?,
            "Zone/PropagationDelay",
            false,
        )?;
        let soa = seq.required("SOA")?;
        seq.finish()?;
        let mut s = Seq::new(ctx, soa, &[])?;
        let soa_ttl = self.dur(s.required("TTL")?, "Zone/SOA/TTL", false)?;
        let soa_minimum = self.dur(s.required("Minimum")?, "Zone/SOA/Minimum", false)?;
        let serial = s.required("Serial")?;
        s.finish()?;
        let raw = ctx.text(serial)?;
        let t = raw.trim_matches(XML_SPACE);
        let soa_serial = SerialKind::parse(t).ok_or_else(|| {
            ctx.err(
                serial,
                format!(
                    "<Serial> must be one of counter, datecounter, unixtime, keep; found '{t}'"
                ),
            )
        })?;
        Ok(ZoneTiming {
            propagation_delay,
            soa_ttl,
            soa_minimum,
            soa_serial,
        })
    }

    fn parent(&mut self, node: Node<'a, 'i>) -> R<ParentTiming> {
        let mut seq = Seq::new(self.ctx, node, &[])?;
        // Accepted first as well: `policy export` writes it there (see the module docs).
        let early = match seq.optional("RegistrationDelay") {
            Some(n) => Some(self.dur(n, "Parent/RegistrationDelay", false)?),
            None => None,
        };
        let propagation_delay = self.dur(
            seq.required("PropagationDelay")?,
            "Parent/PropagationDelay",
            false,
        )?;
        let mut ds = Seq::new(self.ctx, seq.required("DS")?, &[])?;
        let ds_ttl = self.dur(ds.required("TTL")?, "Parent/DS/TTL", true)?;
        ds.finish()?;
        let mut soa = Seq::new(self.ctx, seq.required("SOA")?, &[])?;
        let soa_ttl = self.dur(soa.required("TTL")?, "Parent/SOA/TTL", false)?;
        let soa_minimum = self.dur(soa.required("Minimum")?, "Parent/SOA/Minimum", false)?;
        soa.finish()?;
        let registration_delay = match early {
            Some(s) => s,
            None => match seq.optional("RegistrationDelay") {
                Some(n) => self.dur(n, "Parent/RegistrationDelay", false)?,
                None => Seconds(0),
            },
        };
        seq.finish()?;
        Ok(ParentTiming {
            registration_delay,
            propagation_delay,
            ds_ttl,
            soa_ttl,
            soa_minimum,
        })
    }
}

#[cfg(test)]
mod errors;
#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

//! kasp.xml out: `policy export` (`policy/policy_export.c:__policy_export`), byte for
//! byte as OpenDNSSEC 2.1.12 writes it through libxml2.
//!
//! What OpenDNSSEC omits or reorders is copied: `Validity/Keyset`, NSEC3 `TTL`,
//! `Resalt` and `Keys/Purge` only when non-zero; `OptOut/`, `ShareKeys/`,
//! `ManualRollover/` and `RFC5011/` only when set; `Standby` always for KSK and ZSK but
//! only when non-zero for CSK; the roll type always, named from the stored minimize
//! value (nothing when the value has no name for the role).
//!
//! Two OpenDNSSEC bugs are not copied, so that every export validates against kasp.rng
//! and imports back to the same policy: `Parent/RegistrationDelay` (when non-zero) is
//! written last in `Parent`, where the schema wants it (OpenDNSSEC writes it first), and
//! `Passthrough/` is exported (OpenDNSSEC drops it). See the README's differences.
//! Durations are re-rendered from seconds ([`crate::formats::duration::render`]).

use crate::formats::duration::render;
use crate::formats::kasp::{roll_type_element, roll_type_name};
use crate::formats::xmlout::XmlWriter;
use kasp_events::Seconds;
use kasp_events::policy::{Denial, KeyRole, Policy, PolicyKey};

/// The `policy export` document for these policies, in the given order. With no
/// policies it is `<KASP/>`.
pub fn export_kasp(policies: &[&Policy]) -> String {
    let mut w = XmlWriter::new();
    w.open("KASP", &[]);
    for p in policies {
        policy(&mut w, p);
    }
    w.finish()
}

fn dur(w: &mut XmlWriter, name: &str, s: Seconds) {
    w.leaf(name, &render(s));
}

fn policy(w: &mut XmlWriter, p: &Policy) {
    w.open("Policy", &[("name", p.name.as_str())]);
    if p.passthrough {
        w.empty("Passthrough", &[]);
    }
    w.leaf("Description", &p.description);

    let s = &p.signatures;
    w.open("Signatures", &[]);
    dur(w, "Resign", s.resign);
    dur(w, "Refresh", s.refresh);
    w.open("Validity", &[]);
    dur(w, "Default", s.validity_default);
    dur(w, "Denial", s.validity_denial);
    if s.validity_keyset.0 != 0 {
        dur(w, "Keyset", s.validity_keyset);
    }
    w.close();
    dur(w, "Jitter", s.jitter);
    dur(w, "InceptionOffset", s.inception_offset);
    dur(w, "MaxZoneTTL", s.max_zone_ttl);
    w.close();

    w.open("Denial", &[]);
    match &p.denial {
        Denial::Nsec => {
            w.empty("NSEC", &[]);
        }
        Denial::Nsec3(n) => {
            w.open("NSEC3", &[]);
            if n.ttl.0 != 0 {
                dur(w, "TTL", n.ttl);
            }
            if n.opt_out {
                w.empty("OptOut", &[]);
            }
            if n.resalt.0 != 0 {
                dur(w, "Resalt", n.resalt);
            }
            w.open("Hash", &[]);
            w.leaf("Algorithm", &n.algorithm.to_string());
            w.leaf("Iterations", &n.iterations.to_string());
            w.empty("Salt", &[("length", &n.salt_length.to_string())]);
            w.close();
            w.close();
        }
    }
    w.close();

    let k = &p.keys;
    w.open("Keys", &[]);
    dur(w, "TTL", k.ttl);
    dur(w, "RetireSafety", k.retire_safety);
    dur(w, "PublishSafety", k.publish_safety);
    if k.share_keys {
        w.empty("ShareKeys", &[]);
    }
    if k.purge.0 != 0 {
        dur(w, "Purge", k.purge);
    }
    for key in &k.keys {
        policy_key(w, key);
    }
    w.close();

    let z = &p.zone;
    w.open("Zone", &[]);
    dur(w, "PropagationDelay", z.propagation_delay);
    w.open("SOA", &[]);
    dur(w, "TTL", z.soa_ttl);
    dur(w, "Minimum", z.soa_minimum);
    w.leaf("Serial", z.soa_serial.as_str());
    w.close();
    w.close();

    let pa = &p.parent;
    w.open("Parent", &[]);
    dur(w, "PropagationDelay", pa.propagation_delay);
    w.open("DS", &[]);
    dur(w, "TTL", pa.ds_ttl);
    w.close();
    w.open("SOA", &[]);
    dur(w, "TTL", pa.soa_ttl);
    dur(w, "Minimum", pa.soa_minimum);
    w.close();
    if pa.registration_delay.0 != 0 {
        dur(w, "RegistrationDelay", pa.registration_delay);
    }
    w.close();

    w.close();
}

fn policy_key(w: &mut XmlWriter, key: &PolicyKey) {
    w.open(key.role.as_str(), &[]);
    w.leaf_with(
        "Algorithm",
        &[("length", &key.bits.to_string())],
        &key.algorithm.to_string(),
    );
    dur(w, "Lifetime", key.lifetime);
    w.leaf("Repository", &key.repository);
    if key.role != KeyRole::Csk || key.standby != 0 {
        w.leaf("Standby", &key.standby.to_string());
    }
    if key.manual_rollover {
        w.empty("ManualRollover", &[]);
    }
    if let Some(name) = roll_type_name(key.role, key.minimize) {
        w.leaf(roll_type_element(key.role), name);
    }
    // ZSKs have no RFC5011 element in the schema, and OpenDNSSEC never writes one.
    if key.rfc5011 && key.role != KeyRole::Zsk {
        w.empty("RFC5011", &[]);
    }
    w.close();
}

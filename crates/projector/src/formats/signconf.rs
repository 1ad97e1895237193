//! The signer configuration of one zone (OpenDNSSEC's `signconf_xml_export`; schema
//! crates/engine/schemas/signconf.rng), byte for byte as OpenDNSSEC 2.1.12 writes it: the
//! policy's signature and denial parameters, the NSEC3 salt, the keys with their flags and
//! roles, the SOA settings. Pure: the caller says which keys are published and active (the
//! state machine's flags, docs/state-machine.md, Flags and signconf keys) and writes the
//! file.

use crate::formats::duration::render;
use crate::formats::xmlout::XmlWriter;
use kasp_events::{Denial, KeyRole, Locator, Policy, Seconds, ZoneName};

/// One key as the signer should use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignconfKey {
    pub role: KeyRole,
    pub algorithm: u8,
    pub locator: Locator,
    /// Sign the DNSKEY RRset with it (`<KSK/>`, KSK and CSK only).
    pub active_ksk: bool,
    /// Sign the zone's other RRsets with it (`<ZSK/>`, ZSK and CSK only).
    pub active_zsk: bool,
    /// Put its DNSKEY in the zone (`<Publish/>`).
    pub publish: bool,
}

/// The signconf XML of a zone as the state says it should be: its policy, the
/// policy's current salt, the keys the state machine publishes and activates. `None`
/// when the zone's policy is unknown.
pub fn zone_signconf(state: &crate::State, zone: &crate::state::ZoneView) -> Option<String> {
    let view = state.policies.get(&zone.config.policy)?;
    let keys = crate::enforcer::flags::signconf_keys(&zone.model, |k| {
        k.hsm
            .and_then(|h| state.pool.by_id.get(&h.0).copied())
            .unwrap_or(Locator([0; 16]))
    });
    let salt = view.salt.as_ref().map(|(s, _)| s.as_str());
    Some(render_signconf(
        &zone.config.name,
        &view.policy,
        salt,
        &keys,
    ))
}

fn dur(w: &mut XmlWriter, name: &str, s: Seconds) {
    w.leaf(name, &render(s));
}

/// Renders the signconf of `zone` under `policy`, with the policy's current NSEC3
/// `salt` (hex) and the keys in the order they should appear.
pub fn render_signconf(
    zone: &ZoneName,
    policy: &Policy,
    salt: Option<&str>,
    keys: &[SignconfKey],
) -> String {
    let mut w = XmlWriter::new();
    w.open("SignerConfiguration", &[]);
    w.open("Zone", &[("name", zone.as_str())]);
    if policy.passthrough {
        w.empty("Passthrough", &[]);
    }
    let s = &policy.signatures;
    w.open("Signatures", &[]);
    dur(&mut w, "Resign", s.resign);
    dur(&mut w, "Refresh", s.refresh);
    w.open("Validity", &[]);
    dur(&mut w, "Default", s.validity_default);
    dur(&mut w, "Denial", s.validity_denial);
    if s.validity_keyset.0 > 0 {
        dur(&mut w, "Keyset", s.validity_keyset);
    }
    w.close();
    dur(&mut w, "Jitter", s.jitter);
    dur(&mut w, "InceptionOffset", s.inception_offset);
    if s.max_zone_ttl.0 != 0 {
        dur(&mut w, "MaxZoneTTL", s.max_zone_ttl);
    }
    w.close();
    w.open("Denial", &[]);
    match &policy.denial {
        Denial::Nsec => {
            w.empty("NSEC", &[]);
        }
        Denial::Nsec3(n) => {
            w.open("NSEC3", &[]);
            if n.ttl.0 != 0 {
                dur(&mut w, "TTL", n.ttl);
            }
            if n.opt_out {
                w.empty("OptOut", &[]);
            }
            w.open("Hash", &[]);
            w.leaf("Algorithm", &n.algorithm.to_string());
            w.leaf("Iterations", &n.iterations.to_string());
            w.leaf("Salt", salt.unwrap_or(""));
            w.close();
            w.close();
        }
    }
    w.close();
    w.open("Keys", &[]);
    dur(&mut w, "TTL", policy.keys.ttl);
    for k in keys {
        w.open("Key", &[]);
        let flags = if k.role == KeyRole::Zsk { "256" } else { "257" };
        w.leaf("Flags", flags);
        w.leaf("Algorithm", &k.algorithm.to_string());
        w.leaf("Locator", &k.locator.to_string());
        if k.active_ksk && matches!(k.role, KeyRole::Ksk | KeyRole::Csk) {
            w.empty("KSK", &[]);
        }
        if k.active_zsk && matches!(k.role, KeyRole::Zsk | KeyRole::Csk) {
            w.empty("ZSK", &[]);
        }
        if k.publish {
            w.empty("Publish", &[]);
        }
        w.close();
    }
    w.close();
    let z = &policy.zone;
    w.open("SOA", &[]);
    dur(&mut w, "TTL", z.soa_ttl);
    dur(&mut w, "Minimum", z.soa_minimum);
    w.leaf("Serial", z.soa_serial.as_str());
    w.close();
    w.close();
    w.close();
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::kasp::parse_kasp;

    const KASP: &str = include_str!("../../../../fixtures/ods/kasp.xml");

    fn policy(name: &str) -> Policy {
        parse_kasp(KASP, "kasp.xml")
            .unwrap()
            .into_iter()
            .find(|p| p.name.as_str() == name)
            .unwrap()
    }

    fn key(role: KeyRole, locator: &str) -> SignconfKey {
        SignconfKey {
            role,
            algorithm: 8,
            locator: Locator::parse(locator).unwrap(),
            active_ksk: role == KeyRole::Ksk,
            active_zsk: role == KeyRole::Zsk,
            publish: true,
        }
    }

    /// What OpenDNSSEC 2.1.12 wrote for the default policy right after `zone add`
    /// (conformance scenario a, step 001).
    #[test]
    fn default_policy_matches_opendnssec() {
        let out = render_signconf(
            &ZoneName::new("example.com").unwrap(),
            &policy("default"),
            Some("44676c6aec854d1d"),
            &[
                key(KeyRole::Ksk, "8eca0f5069420e23766c59669ce681ec"),
                key(KeyRole::Zsk, "b5a1dc7843cdeaa0132dd960cdb7c574"),
            ],
        );
        let golden = include_str!("../../../../fixtures/conformance/signconf/default-nsec3.xml");
        assert_eq!(out, golden);
    }

    /// The lab policy (NSEC), conformance scenario d, step 003.
    #[test]
    fn lab_policy_matches_opendnssec() {
        let out = render_signconf(
            &ZoneName::new("example.com").unwrap(),
            &policy("lab"),
            None,
            &[
                key(KeyRole::Ksk, "b3253ea20dec6758990896a5898a8ea9"),
                key(KeyRole::Zsk, "745ce98229fe5e545742c677e7245e26"),
            ],
        );
        let golden = include_str!("../../../../fixtures/conformance/signconf/lab-nsec.xml");
        assert_eq!(out, golden);
    }

    #[test]
    fn flags_follow_role_and_activity() {
        let mut csk = key(KeyRole::Csk, "00112233445566778899aabbccddeeff");
        csk.active_ksk = true;
        csk.active_zsk = true;
        let mut prepublished = key(KeyRole::Zsk, "ffeeddccbbaa99887766554433221100");
        prepublished.active_zsk = false;
        let out = render_signconf(
            &ZoneName::new("example.org").unwrap(),
            &policy("default"),
            Some("00"),
            &[csk, prepublished],
        );
        assert!(out.contains(
            "<Flags>257</Flags>\n        <Algorithm>8</Algorithm>\n        \
             <Locator>00112233445566778899aabbccddeeff</Locator>\n        <KSK/>\n        \
             <ZSK/>\n        <Publish/>"
        ));
        assert!(out.contains(
            "<Locator>ffeeddccbbaa99887766554433221100</Locator>\n        <Publish/>\n      </Key>"
        ));
    }
}

//! Publish / active flags of a key and the signconf key list — docs/state-machine.md, Flags
//! and signconf keys (`E:update` flag recomputation, `signconf_xml_export`).
//!
//! * publish = DNSKEY ∈ {rumoured, omnipresent};
//! * active_ksk = RRSIGDNSKEY ∈ {rumoured, omnipresent};
//! * active_zsk = RRSIG ∈ {rumoured, omnipresent}.
//!
//! A key whose key states were not created yet (docs/state-machine.md, Records,
//! [`KeyModel::states_created`]) has all flags clear, as OpenDNSSEC 2.1.12 shows it
//! (`key list -d`: `0 0`).
//!
//! The signconf lists every key of the zone in key_data (creation) order, including
//! fully hidden keys that are not purged yet; the role restriction of `<KSK/>` and
//! `<ZSK/>` is applied by [`crate::formats::signconf::render_signconf`].

use super::model::{KeyModel, ZoneModel};
use super::record::{RecordState, RecordType};
use crate::formats::signconf::SignconfKey;
use kasp_events::Locator;

/// The three flags OpenDNSSEC stores per key_data (docs/state-machine.md, Flags and
/// signconf keys).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyFlags {
    /// The DNSKEY is (being) published.
    pub publish: bool,
    /// The key signs the DNSKEY RRset.
    pub active_ksk: bool,
    /// The key signs the zone data.
    pub active_zsk: bool,
}

/// Whether a record counts as "in" for the flags: rumoured or omnipresent.
fn shown(state: RecordState) -> bool {
    matches!(state, RecordState::Rumoured | RecordState::Omnipresent)
}

impl KeyFlags {
    /// The flags of `key` from its record states (docs/state-machine.md, Flags and signconf
    /// keys); all clear without key states.
    pub fn of(key: &KeyModel) -> KeyFlags {
        if !key.states_created {
            return KeyFlags::default();
        }
        KeyFlags {
            publish: shown(key.state(RecordType::Dnskey)),
            active_ksk: shown(key.state(RecordType::RrsigDnskey)),
            active_zsk: shown(key.state(RecordType::Rrsig)),
        }
    }

    /// `active_ksk | active_zsk`, the `Act:` column of `key list -d`
    /// (docs/state-machine.md, Key list states).
    pub fn active(self) -> bool {
        self.active_ksk || self.active_zsk
    }
}

/// The signconf `<Key>` list of a zone (docs/state-machine.md, Flags and signconf keys):
/// one entry per key in [`ZoneModel::keys`] order, with the key's HSM locator from
/// `locator_of`.
pub fn signconf_keys(
    zone: &ZoneModel,
    mut locator_of: impl FnMut(&KeyModel) -> Locator,
) -> Vec<SignconfKey> {
    zone.keys
        .iter()
        .map(|k| {
            let f = KeyFlags::of(k);
            SignconfKey {
                role: k.role,
                algorithm: k.algorithm,
                locator: locator_of(k),
                active_ksk: f.active_ksk,
                active_zsk: f.active_zsk,
                publish: f.publish,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::model::KeyId;
    use super::*;
    use crate::formats::kasp::parse_kasp;
    use crate::formats::signconf::render_signconf;
    use RecordState::*;
    use kasp_events::{KeyRole, Policy, Seconds, Timestamp, ZoneName};

    const KASP: &str = include_str!("../../../../fixtures/conformance/kasp/default.xml");

    /// Real locators and salts of scenario a, with the placeholders of the golden files.
    const PLACEHOLDERS: [(&str, &str); 5] = [
        ("8eca0f5069420e23766c59669ce681ec", "KSK1"),
        ("b5a1dc7843cdeaa0132dd960cdb7c574", "ZSK1"),
        ("e8c087e8710e6d73606a132e62433018", "ZSK2"),
        ("44676c6aec854d1d", "SALT1"),
        ("68efabc881c9d2e5", "SALT2"),
    ];

    fn policy() -> Policy {
        parse_kasp(KASP, "default.xml")
            .expect("valid kasp")
            .into_iter()
            .find(|p| p.name.as_str() == "default")
            .expect("default policy")
    }

    fn key(id: u64, role: KeyRole, states: [RecordState; 4]) -> KeyModel {
        let mut k = KeyModel::new(KeyId(id), role, 8, 0, Timestamp(0), [Seconds(3600); 4]);
        for (r, s) in k.records.0.iter_mut().zip(states) {
            r.state = s;
        }
        k
    }

    /// Scenario a's keys: KSK1 (id 1), ZSK1 (id 2) and, if given, ZSK2 (id 3).
    fn zone(
        ksk: [RecordState; 4],
        zsk1: [RecordState; 4],
        zsk2: Option<[RecordState; 4]>,
    ) -> ZoneModel {
        let mut z = ZoneModel::empty();
        z.keys.push(key(1, KeyRole::Ksk, ksk));
        z.keys.push(key(2, KeyRole::Zsk, zsk1));
        z.keys.extend(zsk2.map(|s| key(3, KeyRole::Zsk, s)));
        z
    }

    fn locator(k: &KeyModel) -> Locator {
        Locator::parse(PLACEHOLDERS[(k.id.0 - 1) as usize].0).expect("hex locator")
    }

    fn render(z: &ZoneModel, salt: &str) -> String {
        let name = ZoneName::new("example.com").expect("zone name");
        let mut out = render_signconf(&name, &policy(), Some(salt), &signconf_keys(z, locator));
        for (real, placeholder) in PLACEHOLDERS {
            out = out.replace(real, placeholder);
        }
        out
    }

    const SALT1: &str = "44676c6aec854d1d";
    const SALT2: &str = "68efabc881c9d2e5";
    const KSK_OMN: [RecordState; 4] = [Omnipresent, Omnipresent, Omnipresent, Na];
    const ZSK_OMN: [RecordState; 4] = [Na, Omnipresent, Na, Omnipresent];

    #[test]
    fn step_001_first_keys() {
        let z = zone(
            [Hidden, Rumoured, Rumoured, Na],
            [Na, Rumoured, Na, Rumoured],
            None,
        );
        let golden = include_str!("../../../../fixtures/conformance/keylist/signconf-001.xml");
        assert_eq!(render(&z, SALT1), golden);
    }

    #[test]
    fn step_006_successor_zsk_is_published_not_active() {
        let z = zone(KSK_OMN, ZSK_OMN, Some([Na, Rumoured, Na, Hidden]));
        let golden = include_str!("../../../../fixtures/conformance/keylist/signconf-006.xml");
        assert_eq!(render(&z, SALT1), golden);
    }

    #[test]
    fn steps_007_008_signatures_switch_to_the_successor() {
        let z = zone(
            KSK_OMN,
            [Na, Omnipresent, Na, Unretentive],
            Some([Na, Omnipresent, Na, Rumoured]),
        );
        let golden = include_str!("../../../../fixtures/conformance/keylist/signconf-007.xml");
        assert_eq!(render(&z, SALT1), golden);
        let golden = include_str!("../../../../fixtures/conformance/keylist/signconf-008.xml");
        assert_eq!(render(&z, SALT2), golden);
    }

    #[test]
    fn step_009_withdrawn_dnskey_keeps_the_key_without_flags() {
        let z = zone(KSK_OMN, [Na, Unretentive, Na, Hidden], Some(ZSK_OMN));
        let golden = include_str!("../../../../fixtures/conformance/keylist/signconf-009.xml");
        assert_eq!(render(&z, SALT2), golden);
    }

    #[test]
    fn flags_follow_the_records() {
        let f = KeyFlags::of(&key(
            1,
            KeyRole::Csk,
            [Hidden, Rumoured, Omnipresent, Hidden],
        ));
        assert_eq!(
            f,
            KeyFlags {
                publish: true,
                active_ksk: true,
                active_zsk: false
            }
        );
        assert!(f.active());
        let f = KeyFlags::of(&key(1, KeyRole::Zsk, [Na, Unretentive, Na, Unretentive]));
        assert_eq!(f, KeyFlags::default());
        assert!(!f.active());
    }

    #[test]
    fn keys_without_states_have_no_flags() {
        let mut k = key(1, KeyRole::Zsk, ZSK_OMN);
        k.states_created = false;
        assert_eq!(KeyFlags::of(&k), KeyFlags::default());
    }

    #[test]
    fn fully_hidden_keys_stay_in_the_list() {
        let z = zone(KSK_OMN, [Na, Hidden, Na, Hidden], Some(ZSK_OMN));
        let keys = signconf_keys(&z, locator);
        assert_eq!(keys.len(), 3);
        assert!(!keys[1].publish && !keys[1].active_zsk && !keys[1].active_ksk);
        assert_eq!(keys[2].locator, locator(&z.keys[2]));
    }
}

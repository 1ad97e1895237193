//! Property tests of kasp.xml reading and writing, and of all three readers against
//! random and mutated input.

use super::*;
use crate::formats::conf::parse_conf;
use crate::formats::zonelist::parse_zonelist;
use proptest::prelude::*;

const STOCK: &str = include_str!("../../../../../fixtures/ods/kasp.xml");
const STOCK_CONF: &str = include_str!("../../../../../fixtures/ods/conf.xml");
const STOCK_ZONELIST: &str = include_str!("../../../../../fixtures/ods/zonelist.xml");
const DEFAULT_EXPORT: &str = include_str!("../../../../../fixtures/ods/default-policy-export.xml");

fn arb_seconds() -> impl Strategy<Value = Seconds> {
    prop_oneof![Just(0u32), 1u32..100_000, 0u32..=i32::MAX as u32].prop_map(Seconds)
}

fn arb_key() -> impl Strategy<Value = PolicyKey> {
    (
        prop_oneof![Just(KeyRole::Ksk), Just(KeyRole::Zsk), Just(KeyRole::Csk)],
        any::<u8>(),
        1u32..=i32::MAX as u32,
        arb_seconds(),
        "[ -~]{0,12}",
        0u32..5,
        any::<bool>(),
        any::<bool>(),
        0usize..5,
    )
        .prop_map(
            |(role, algorithm, bits, lifetime, repository, standby, manual, rfc, m)| {
                let names: Vec<u8> = ROLL_TYPES
                    .iter()
                    .filter(|(r, _, _)| *r == role)
                    .map(|(_, _, v)| *v)
                    .collect();
                PolicyKey {
                    role,
                    algorithm,
                    bits,
                    lifetime,
                    repository,
                    standby,
                    manual_rollover: manual,
                    rfc5011: rfc && role != KeyRole::Zsk,
                    minimize: names[m % names.len()],
                }
            },
        )
}

prop_compose! {
    fn arb_policy()(
        name in "[a-zA-Z0-9_.-]{1,12}",
        description in "[ -~\u{e9}\u{20ac}\n\t]{0,30}",
        sig in proptest::collection::vec(arb_seconds(), 8),
        nsec3 in proptest::option::of((arb_seconds(), any::<bool>(), 1u32..=i32::MAX as u32, any::<u8>(), any::<u16>(), any::<u8>())),
        ktimes in proptest::collection::vec(arb_seconds(), 4),
        share in any::<bool>(),
        mut keys in proptest::collection::vec(arb_key(), 0..5),
        ztimes in proptest::collection::vec(arb_seconds(), 8),
        serial in 0usize..4,
    ) -> Policy {
        keys.sort_by_key(|k| k.role);
        Policy {
            name: PolicyName::new(&name).unwrap(),
            description,
            passthrough: false,
            signatures: Signatures {
                resign: sig[0], refresh: sig[1], validity_default: sig[2],
                validity_denial: sig[3], validity_keyset: sig[4], jitter: sig[5],
                inception_offset: sig[6], max_zone_ttl: sig[7],
            },
            denial: match nsec3 {
                None => Denial::Nsec,
                Some((ttl, opt_out, resalt, algorithm, iterations, salt_length)) => Denial::Nsec3(Nsec3 {
                    ttl, opt_out, resalt: Seconds(resalt), algorithm, iterations, salt_length,
                }),
            },
            keys: Keys {
                ttl: ktimes[0], retire_safety: ktimes[1], publish_safety: ktimes[2],
                share_keys: share, purge: ktimes[3], keys,
            },
            zone: ZoneTiming {
                propagation_delay: ztimes[0], soa_ttl: ztimes[1], soa_minimum: ztimes[2],
                soa_serial: [SerialKind::Counter, SerialKind::DateCounter, SerialKind::UnixTime, SerialKind::Keep][serial],
            },
            parent: ParentTiming {
                registration_delay: ztimes[3], propagation_delay: ztimes[4], ds_ttl: ztimes[5],
                soa_ttl: ztimes[6], soa_minimum: ztimes[7],
            },
        }
    }
}

/// Random byte edits of a text, read back as (lossy) UTF-8.
fn mutate(base: &str, edits: &[(usize, u8, u8)]) -> String {
    let mut bytes = base.as_bytes().to_vec();
    for &(at, op, b) in edits {
        if bytes.is_empty() {
            break;
        }
        let i = at % bytes.len();
        match op % 3 {
            0 => bytes[i] = b,
            1 => {
                bytes.remove(i);
            }
            _ => bytes.insert(i, b),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #[test]
    fn export_then_parse_is_identity(policies in proptest::collection::vec(arb_policy(), 0..3)) {
        let refs: Vec<&Policy> = policies.iter().collect();
        let out = export_kasp(&refs);
        prop_assert_eq!(parse_kasp(&out, "x").unwrap(), policies);
    }

    #[test]
    fn mutated_files_never_panic(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8)
    ) {
        let _ = parse_kasp(&mutate(STOCK, &edits), "k");
        let _ = parse_conf(&mutate(STOCK_CONF, &edits), "c");
        let _ = parse_zonelist(&mutate(STOCK_ZONELIST, &edits), "z");
        let _ = parse_kasp(&mutate(DEFAULT_EXPORT, &edits), "k");
    }

    #[test]
    fn random_strings_never_panic(text in "\\PC{0,200}") {
        let _ = parse_kasp(&text, "k");
        let _ = parse_conf(&text, "c");
        let _ = parse_zonelist(&text, "z");
    }

    #[test]
    fn random_xml_like_strings_never_panic(text in "(<[A-Za-z]{1,6}( [a-z]{1,4}=\"[^\"<]{0,5}\")?/?>|</[A-Za-z]{1,6}>|[A-Za-z0-9 PTYMDHS]{0,6}){0,30}") {
        let _ = parse_kasp(&text, "k");
        let _ = parse_conf(&text, "c");
        let _ = parse_zonelist(&text, "z");
    }
}

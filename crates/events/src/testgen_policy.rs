//! Proptest strategies for policies (feature `testgen`), split from
//! [`crate::testgen`] to keep files small.

use crate::policy::{
    Denial, Keys, Nsec3, ParentTiming, Policy, PolicyKey, SerialKind, Signatures, ZoneTiming,
};
use crate::testgen::{arb_policy_name, arb_role, arb_seconds, arb_text};
use proptest::collection::vec;
use proptest::prelude::*;

fn arb_serial() -> impl Strategy<Value = SerialKind> {
    prop_oneof![
        Just(SerialKind::Counter),
        Just(SerialKind::DateCounter),
        Just(SerialKind::UnixTime),
        Just(SerialKind::Keep),
    ]
}

/// One `<KSK>`, `<ZSK>` or `<CSK>`.
pub fn arb_policy_key() -> impl Strategy<Value = PolicyKey> {
    (
        arb_role(),
        any::<u8>(),
        any::<u32>(),
        arb_seconds(),
        arb_text(),
        any::<u32>(),
        any::<bool>(),
        any::<bool>(),
        any::<u8>(),
    )
        .prop_map(
            |(
                role,
                algorithm,
                bits,
                lifetime,
                repository,
                standby,
                manual_rollover,
                rfc5011,
                minimize,
            )| {
                PolicyKey {
                    role,
                    algorithm,
                    bits,
                    lifetime,
                    repository,
                    standby,
                    manual_rollover,
                    rfc5011,
                    minimize,
                }
            },
        )
}

fn arb_signatures() -> impl Strategy<Value = Signatures> {
    vec(arb_seconds(), 8).prop_map(|s| Signatures {
        resign: s[0],
        refresh: s[1],
        validity_default: s[2],
        validity_denial: s[3],
        validity_keyset: s[4],
        jitter: s[5],
        inception_offset: s[6],
        max_zone_ttl: s[7],
    })
}

fn arb_denial() -> impl Strategy<Value = Denial> {
    prop_oneof![
        Just(Denial::Nsec),
        (
            arb_seconds(),
            any::<bool>(),
            arb_seconds(),
            any::<u8>(),
            any::<u16>(),
            any::<u8>(),
        )
            .prop_map(
                |(ttl, opt_out, resalt, algorithm, iterations, salt_length)| {
                    Denial::Nsec3(Nsec3 {
                        ttl,
                        opt_out,
                        resalt,
                        algorithm,
                        iterations,
                        salt_length,
                    })
                }
            ),
    ]
}

fn arb_keys() -> impl Strategy<Value = Keys> {
    (
        vec(arb_seconds(), 4),
        any::<bool>(),
        vec(arb_policy_key(), 0..4),
    )
        .prop_map(|(s, share_keys, keys)| Keys {
            ttl: s[0],
            retire_safety: s[1],
            publish_safety: s[2],
            share_keys,
            purge: s[3],
            keys,
        })
}

fn arb_zone_timing() -> impl Strategy<Value = ZoneTiming> {
    (vec(arb_seconds(), 3), arb_serial()).prop_map(|(s, soa_serial)| ZoneTiming {
        propagation_delay: s[0],
        soa_ttl: s[1],
        soa_minimum: s[2],
        soa_serial,
    })
}

fn arb_parent_timing() -> impl Strategy<Value = ParentTiming> {
    vec(arb_seconds(), 5).prop_map(|s| ParentTiming {
        registration_delay: s[0],
        propagation_delay: s[1],
        ds_ttl: s[2],
        soa_ttl: s[3],
        soa_minimum: s[4],
    })
}

/// A whole policy, any field values.
pub fn arb_policy() -> impl Strategy<Value = Policy> {
    (
        arb_policy_name(),
        arb_text(),
        any::<bool>(),
        arb_signatures(),
        arb_denial(),
        arb_keys(),
        arb_zone_timing(),
        arb_parent_timing(),
    )
        .prop_map(
            |(name, description, passthrough, signatures, denial, keys, zone, parent)| Policy {
                name,
                description,
                passthrough,
                signatures,
                denial,
                keys,
                zone,
                parent,
            },
        )
}

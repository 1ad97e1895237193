//! Proptest strategies for the events of an OpenDNSSEC import (feature `testgen`), split
//! from [`crate::testgen`] to keep files small.

use crate::enforcement::KeyDependency;
use crate::event::Event;
use crate::takeover::*;
use crate::testgen::{
    arb_backup, arb_key_spec, arb_locator, arb_role, arb_seconds, arb_text, arb_timestamp,
    arb_zone_config,
};
use crate::testgen_enforce::{arb_ds, arb_key_id, arb_record, arb_state};
use crate::testgen_policy::arb_policy;
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;

fn arb_row() -> impl Strategy<Value = OdsRow> {
    (any::<i64>(), any::<i64>()).prop_map(|(id, rev)| OdsRow { id, rev })
}

fn arb_ods_record() -> impl Strategy<Value = OdsRecord> {
    (
        arb_row(),
        arb_state(),
        arb_timestamp(),
        arb_seconds(),
        any::<bool>(),
    )
        .prop_map(|(row, state, last_change, ttl, minimize)| OdsRecord {
            row,
            state,
            last_change,
            ttl,
            minimize,
        })
}

fn arb_zone_key() -> impl Strategy<Value = OdsZoneKey> {
    (
        (
            arb_row(),
            arb_key_id(),
            arb_locator(),
            arb_role(),
            any::<u8>(),
            arb_timestamp(),
        ),
        any::<[bool; 6]>(),
        (arb_ds(), any::<u16>(), 0u8..8),
        of([
            arb_ods_record(),
            arb_ods_record(),
            arb_ods_record(),
            arb_ods_record(),
        ]),
    )
        .prop_map(
            |(
                (row, id, locator, role, algorithm, inception),
                [
                    introducing,
                    publish,
                    active_ksk,
                    active_zsk,
                    standby,
                    should_revoke,
                ],
                (ds_at_parent, key_tag, minimize),
                records,
            )| OdsZoneKey {
                row,
                id,
                locator,
                role,
                algorithm,
                inception,
                introducing,
                publish,
                active_ksk,
                active_zsk,
                standby,
                should_revoke,
                ds_at_parent,
                key_tag,
                minimize,
                records,
            },
        )
}

fn arb_usage() -> impl Strategy<Value = OdsKeyUse> {
    prop::sample::select(vec![
        OdsKeyUse::Unused,
        OdsKeyUse::Private,
        OdsKeyUse::Shared,
        OdsKeyUse::Delete,
    ])
}

/// A strategy for one of the import's kinds, `None` for another kind.
pub(crate) fn arb_takeover_event_of(kind: &str) -> Option<BoxedStrategy<Event>> {
    Some(match kind {
        "OdsImported" => (
            prop::sample::select(vec![OdsDatastore::Sqlite, OdsDatastore::Mysql]),
            arb_text(),
            any::<u32>(),
            "[0-9a-f]{64}",
            any::<[u64; 7]>(),
            vec(arb_text(), 0..3),
        )
            .prop_map(
                |(datastore, location, schema_version, digest, rows, findings)| {
                    OdsImported {
                        datastore,
                        location,
                        schema_version,
                        digest,
                        rows,
                        findings,
                    }
                    .into()
                },
            )
            .boxed(),
        "OdsPolicyImported" => (
            arb_row(),
            vec(arb_row(), 0..3),
            arb_policy(),
            of(("[0-9a-f]{0,16}", arb_timestamp())),
        )
            .prop_map(|(row, key_rows, policy, salt)| {
                OdsPolicyImported {
                    row,
                    key_rows,
                    policy,
                    salt,
                }
                .into()
            })
            .boxed(),
        "OdsHsmKeyImported" => (
            (arb_row(), arb_locator(), arb_key_spec(), arb_usage()),
            (arb_backup(), arb_timestamp(), any::<bool>()),
            vec(any::<u8>(), 0..80),
        )
            .prop_map(
                |((row, locator, spec, usage), (backup, inception, revoked), public_key)| {
                    OdsHsmKeyImported {
                        row,
                        locator,
                        spec,
                        usage,
                        backup,
                        inception,
                        revoked,
                        public_key,
                    }
                    .into()
                },
            )
            .boxed(),
        "OdsZoneImported" => (
            (
                arb_row(),
                arb_zone_config(),
                of(arb_timestamp()),
                any::<bool>(),
            ),
            (
                [arb_timestamp(), arb_timestamp(), arb_timestamp()],
                vec(arb_role(), 0..3),
                [
                    of(arb_timestamp()),
                    of(arb_timestamp()),
                    of(arb_timestamp()),
                ],
            ),
            vec(arb_zone_key(), 0..4),
            vec(
                (arb_row(), arb_key_id(), arb_key_id(), arb_record()).prop_map(
                    |(row, from, to, record)| OdsDependency {
                        row,
                        dependency: KeyDependency { from, to, record },
                    },
                ),
                0..3,
            ),
        )
            .prop_map(
                |(
                    (row, zone, next_change, signconf_needed),
                    (ttl_windows, roll_now, next_roll),
                    keys,
                    dependencies,
                )| {
                    OdsZoneImported {
                        row,
                        zone,
                        next_change,
                        signconf_needed,
                        ttl_windows,
                        roll_now,
                        next_roll,
                        keys,
                        dependencies,
                    }
                    .into()
                },
            )
            .boxed(),
        "OdsShadowed" => (
            "[0-9a-f]{64}",
            vec(arb_text(), 0..3),
            vec(arb_text(), 0..2),
            vec(
                (
                    arb_text(),
                    of(arb_text()),
                    (arb_text(), arb_text(), arb_text()),
                    arb_timestamp(),
                )
                    .prop_map(|(zone, key, (what, theirs, ours), at)| {
                        ShadowDivergence {
                            zone,
                            key,
                            what,
                            theirs,
                            ours,
                            at,
                        }
                    }),
                0..3,
            ),
        )
            .prop_map(|(digest, zones, not_compared, divergences)| {
                OdsShadowed {
                    digest,
                    zones,
                    not_compared,
                    divergences,
                }
                .into()
            })
            .boxed(),
        _ => return None,
    })
}

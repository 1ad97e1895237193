//! The events of an imported log, from the rows of OpenDNSSEC's database
//! (crates/events/src/takeover.rs): value for value, refusing what kasp-ledger could not
//! carry exactly or what contradicts itself. Pure: the HSM's public keys come in as a map,
//! read beforehand (crates/engine/src/ods_import/checks.rs).

use super::checks::policy_from_database;
use kasp_events::{
    Adapter, BackupState, DsAtParent, Event, KeyDependency, KeyId, KeyRole, KeySpec, Locator,
    OdsDependency, OdsHsmKeyImported, OdsImported, OdsKeyUse, OdsPolicyImported, OdsRecord, OdsRow,
    OdsZoneImported, OdsZoneKey, PolicyName, RecordState, RecordType, Seconds, Timestamp,
    ZoneConfig, ZoneName,
};
use kasp_ods_database::Snapshot;
use kasp_ods_database::enums as db;
use kasp_ods_database::rows::{self, RowId};
use std::collections::{BTreeMap, HashMap};

/// What the import was told and found besides the rows.
#[derive(Debug)]
pub struct GenesisInput<'a> {
    pub datastore: kasp_events::OdsDatastore,
    /// The file, or `host:port/database`.
    pub location: String,
    /// The DNSKEY public-key field of each key the HSM was asked for, by locator.
    pub public_keys: &'a BTreeMap<Locator, Vec<u8>>,
    /// The differences from kasp.xml, recorded with the provenance.
    pub kasp_differences: Vec<String>,
    /// Zones whose signconf OpenDNSSEC still had to write may be imported (kasp-ledger
    /// writes them at its first run); else they are refused.
    pub write_signconfs: bool,
}

/// Every reason the rows cannot be imported, one line each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub Vec<String>);

fn row(r: RowId) -> OdsRow {
    OdsRow {
        id: r.id,
        rev: r.rev,
    }
}

fn role(r: db::Role) -> KeyRole {
    match r {
        db::Role::Ksk => KeyRole::Ksk,
        db::Role::Zsk => KeyRole::Zsk,
        db::Role::Csk => KeyRole::Csk,
    }
}

fn time(t: u32) -> Timestamp {
    Timestamp(i64::from(t))
}

fn optional_time(t: u32) -> Option<Timestamp> {
    (t != 0).then(|| time(t))
}

fn record_type(t: db::RecordType) -> RecordType {
    match t {
        db::RecordType::Ds => RecordType::Ds,
        db::RecordType::Dnskey => RecordType::Dnskey,
        db::RecordType::RrsigDnskey => RecordType::RrsigDnskey,
        db::RecordType::Rrsig => RecordType::Rrsig,
    }
}

fn record_state(s: db::RecordState) -> RecordState {
    match s {
        db::RecordState::Hidden => RecordState::Hidden,
        db::RecordState::Rumoured => RecordState::Rumoured,
        db::RecordState::Omnipresent => RecordState::Omnipresent,
        db::RecordState::Unretentive => RecordState::Unretentive,
        db::RecordState::Na => RecordState::Na,
    }
}

fn ds_at_parent(d: db::DsAtParent) -> DsAtParent {
    match d {
        db::DsAtParent::Unsubmitted => DsAtParent::Unsubmitted,
        db::DsAtParent::Submit => DsAtParent::Submit,
        db::DsAtParent::Submitted => DsAtParent::Submitted,
        db::DsAtParent::Seen => DsAtParent::Seen,
        db::DsAtParent::Retract => DsAtParent::Retract,
        db::DsAtParent::Retracted => DsAtParent::Retracted,
    }
}

fn backup(b: db::Backup) -> BackupState {
    match b {
        db::Backup::NotRequired => BackupState::NotRequired,
        db::Backup::Required => BackupState::Required,
        db::Backup::Prepared => BackupState::Prepared,
        db::Backup::Done => BackupState::Done,
    }
}

fn usage(s: db::HsmKeyState) -> OdsKeyUse {
    match s {
        db::HsmKeyState::Unused => OdsKeyUse::Unused,
        db::HsmKeyState::Private => OdsKeyUse::Private,
        db::HsmKeyState::Shared => OdsKeyUse::Shared,
        db::HsmKeyState::Delete => OdsKeyUse::Delete,
    }
}

/// The rows that hang on a zone and on a zone key, found by id: each list in row order.
/// Built once, so that the genesis of a database of N zones is linear in its rows, not
/// N times a scan of all of them.
struct RowsOf<'a> {
    keys_of_zone: HashMap<i64, Vec<&'a rows::KeyData>>,
    states_of_key: HashMap<i64, Vec<&'a rows::KeyState>>,
    dependencies_of_zone: HashMap<i64, Vec<&'a rows::KeyDependency>>,
}

impl<'a> RowsOf<'a> {
    fn new(snapshot: &'a Snapshot) -> RowsOf<'a> {
        let mut r = RowsOf {
            keys_of_zone: HashMap::new(),
            states_of_key: HashMap::new(),
            dependencies_of_zone: HashMap::new(),
        };
        for k in &snapshot.key_data {
            r.keys_of_zone.entry(k.zone_id).or_default().push(k);
        }
        for s in &snapshot.key_states {
            r.states_of_key.entry(s.key_data_id).or_default().push(s);
        }
        for d in snapshot.live_dependencies() {
            r.dependencies_of_zone.entry(d.zone_id).or_default().push(d);
        }
        r
    }
}

/// The events of an imported log after `LogCreated`, and what the import found besides.
#[derive(Debug)]
pub struct Genesis {
    pub events: Vec<Event>,
    /// What the operator should know and was not refused (also in [`OdsImported`]).
    pub findings: Vec<String>,
}

/// The events after `LogCreated` of a log imported from `snapshot`: the provenance, the
/// policies, the HSM keys, the zones, each in row order.
pub fn genesis(snapshot: &Snapshot, input: GenesisInput<'_>) -> Result<Genesis, Refusal> {
    let mut problems = Vec::new();
    let mut findings = input.kasp_differences.clone();
    let mut events: Vec<Event> = Vec::new();
    let provenance = |findings: Vec<String>| -> Event {
        OdsImported {
            datastore: input.datastore,
            location: input.location.clone(),
            schema_version: snapshot.version.version,
            digest: snapshot.digest.to_string(),
            rows: [
                snapshot.policies.len(),
                snapshot.policy_keys.len(),
                snapshot.zones.len(),
                snapshot.hsm_keys.len(),
                snapshot.key_data.len(),
                snapshot.key_states.len(),
                snapshot.key_dependencies.len(),
            ]
            .map(|n| n as u64),
            findings,
        }
        .into()
    };

    let mut policy_names: BTreeMap<i64, PolicyName> = BTreeMap::new();
    for p in &snapshot.policies {
        match policy_from_database(snapshot, p) {
            Ok(policy) => {
                policy_names.insert(p.row.id, policy.name.clone());
                let salt = (!p.denial_salt.is_empty() || p.denial_salt_last_change != 0)
                    .then(|| (p.denial_salt.clone(), time(p.denial_salt_last_change)));
                events.push(
                    OdsPolicyImported {
                        row: row(p.row),
                        key_rows: snapshot
                            .policy_keys
                            .iter()
                            .filter(|k| k.policy_id == p.row.id)
                            .map(|k| row(k.row))
                            .collect(),
                        policy,
                        salt,
                    }
                    .into(),
                );
            }
            Err(e) => problems.push(e.to_string()),
        }
    }

    let mut locators: BTreeMap<i64, Locator> = BTreeMap::new();
    for h in &snapshot.hsm_keys {
        let Ok(locator) = Locator::parse(&h.locator) else {
            problems.push(format!(
                "HSM key {:?} (row {}): the locator is not 32 hex digits",
                h.locator, h.row.id
            ));
            continue;
        };
        locators.insert(h.row.id, locator);
        let policy = match policy_names.get(&h.policy_id) {
            Some(name) => name.clone(),
            // `policy purge` deletes a policy row and leaves its keys.
            None => match kasp_events::takeover::purged_policy_name(h.policy_id) {
                Some(name) => name,
                None => continue,
            },
        };
        let public_key = match input.public_keys.get(&locator) {
            Some(k) => k.clone(),
            None if h.state == db::HsmKeyState::Delete => Vec::new(),
            None => {
                problems.push(format!(
                    "HSM key {} (row {}): its public key was not read from repository {}",
                    h.locator, h.row.id, h.repository
                ));
                continue;
            }
        };
        events.push(
            OdsHsmKeyImported {
                row: row(h.row),
                locator,
                spec: KeySpec {
                    repository: h.repository.clone(),
                    policy,
                    role: role(h.role),
                    algorithm: h.algorithm,
                    bits: h.bits,
                },
                usage: usage(h.state),
                backup: backup(h.backup),
                inception: time(h.inception),
                revoked: h.is_revoked,
                public_key,
            }
            .into(),
        );
    }

    // Zone keys are numbered in keyData row order across zones: `key list` lists them
    // in that order, as OpenDNSSEC does.
    let key_ids: BTreeMap<i64, KeyId> = snapshot
        .key_data
        .iter()
        .enumerate()
        .map(|(i, k)| (k.row.id, KeyId(i as u64 + 1)))
        .collect();
    let rows_of = RowsOf::new(snapshot);
    for z in &snapshot.zones {
        match zone(
            &rows_of,
            z,
            &policy_names,
            &locators,
            &key_ids,
            &input,
            &mut findings,
        ) {
            Ok(e) => events.push(e.into()),
            Err(mut p) => problems.append(&mut p),
        }
    }
    if !problems.is_empty() {
        return Err(Refusal(problems));
    }
    events.insert(0, provenance(findings.clone()));
    Ok(Genesis { events, findings })
}

fn zone(
    rows_of: &RowsOf<'_>,
    z: &rows::Zone,
    policy_names: &BTreeMap<i64, PolicyName>,
    locators: &BTreeMap<i64, Locator>,
    ids: &BTreeMap<i64, KeyId>,
    input: &GenesisInput<'_>,
    findings: &mut Vec<String>,
) -> Result<OdsZoneImported, Vec<String>> {
    let mut problems = Vec::new();
    let name = ZoneName::new(&z.name).map_err(|e| vec![format!("zone {:?}: {e}", z.name)])?;
    let Some(policy) = policy_names.get(&z.policy_id) else {
        return Err(vec![format!(
            "zone {}: its policy (row {}) is not in the database",
            z.name, z.policy_id
        )]);
    };
    if z.signconf_needs_writing && !input.write_signconfs {
        problems.push(format!(
            "zone {}: OpenDNSSEC had not yet written the signconf its last decisions need \
             (signconfNeedsWriting); let OpenDNSSEC's enforcer write it (ods-enforcer signconf) \
             before the import, or import with --write-signconf to have kasp-ledger write it",
            z.name
        ));
    }
    let mut keys = Vec::new();
    for k in rows_of
        .keys_of_zone
        .get(&z.row.id)
        .map_or(&[][..], |k| &k[..])
    {
        let id = ids[&k.row.id];
        let states = rows_of
            .states_of_key
            .get(&k.row.id)
            .map_or(&[][..], |s| &s[..]);
        match zone_key(&z.name, k, states, id, locators, findings) {
            Ok(key) => keys.push(key),
            Err(p) => problems.push(p),
        }
    }
    let dependencies = rows_of
        .dependencies_of_zone
        .get(&z.row.id)
        .map_or(&[][..], |d| &d[..])
        .iter()
        .filter_map(|d| {
            Some(OdsDependency {
                row: row(d.row),
                dependency: KeyDependency {
                    from: *ids.get(&d.from_key_data_id)?,
                    to: *ids.get(&d.to_key_data_id)?,
                    record: record_type(d.record),
                },
            })
        })
        .collect();
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut roll_now = Vec::new();
    for (set, r) in [
        (z.roll_ksk_now, KeyRole::Ksk),
        (z.roll_zsk_now, KeyRole::Zsk),
        (z.roll_csk_now, KeyRole::Csk),
    ] {
        if set {
            roll_now.push(r);
        }
    }
    Ok(OdsZoneImported {
        row: row(z.row),
        zone: ZoneConfig {
            name,
            policy: policy.clone(),
            signconf_path: z.signconf_path.clone(),
            input: Adapter {
                kind: z.input_adapter_type.clone(),
                uri: z.input_adapter_uri.clone(),
            },
            output: Adapter {
                kind: z.output_adapter_type.clone(),
                uri: z.output_adapter_uri.clone(),
            },
        },
        next_change: (z.next_change >= 0).then(|| Timestamp(i64::from(z.next_change))),
        signconf_needed: z.signconf_needs_writing,
        ttl_windows: [z.ttl_end_ds, z.ttl_end_dk, z.ttl_end_rs].map(time),
        roll_now,
        next_roll: [z.next_ksk_roll, z.next_zsk_roll, z.next_csk_roll].map(optional_time),
        keys,
        dependencies,
    })
}

/// Whether a record counts as shown for OpenDNSSEC's publish and active flags.
fn shown(s: RecordState) -> bool {
    matches!(s, RecordState::Rumoured | RecordState::Omnipresent)
}

/// One zone key, `states` being its keyState rows in row order.
fn zone_key(
    zone: &str,
    k: &rows::KeyData,
    states: &[&rows::KeyState],
    id: KeyId,
    locators: &BTreeMap<i64, Locator>,
    findings: &mut Vec<String>,
) -> Result<OdsZoneKey, String> {
    let what = format!(
        "{} {} of zone {zone} (keyData row {})",
        k.role, k.keytag, k.row.id
    );
    let locator = *locators
        .get(&k.hsm_key_id)
        .ok_or_else(|| format!("{what}: its HSM key (row {}) is not usable", k.hsm_key_id))?;
    let records = if states.is_empty() {
        None
    } else {
        let mut records = [None; 4];
        for s in states {
            let t = record_type(s.record);
            if records[t.index()].is_some() {
                return Err(format!("{what}: two keyState rows for its {}", t.as_str()));
            }
            records[t.index()] = Some(OdsRecord {
                row: row(s.row),
                state: record_state(s.state),
                last_change: time(s.last_change),
                ttl: Seconds(s.ttl),
                minimize: s.minimize,
            });
        }
        let missing: Vec<&str> = RecordType::ALL
            .iter()
            .filter(|t| records[t.index()].is_none())
            .map(|t| t.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "{what}: no keyState row for its {}",
                missing.join(", ")
            ));
        }
        Some(records.map(|r| r.expect("checked above")))
    };
    // OpenDNSSEC sets the flags from the records when it moves one; a key made in a run
    // that also purged one (ShareKeys) keeps them clear until its next move (README,
    // Differences from OpenDNSSEC): kasp-ledger derives them from the records, so shows
    // and signs with such a key from the run that made it rumoured. Reported, not refused.
    let derived = match &records {
        Some(r) => [
            shown(r[RecordType::Dnskey.index()].state),
            shown(r[RecordType::RrsigDnskey.index()].state),
            shown(r[RecordType::Rrsig.index()].state),
        ],
        None => [false; 3],
    };
    if [k.publish, k.active_ksk, k.active_zsk] != derived {
        findings.push(format!(
            "{what}: OpenDNSSEC's flags publish {} activeKsk {} activeZsk {} are not yet \
             those of its records (DNSKEY, RRSIGDNSKEY, RRSIG: {}); kasp-ledger takes them \
             from the records",
            k.publish as u8,
            k.active_ksk as u8,
            k.active_zsk as u8,
            records.as_ref().map_or_else(
                || "none".to_string(),
                |r| [
                    RecordType::Dnskey,
                    RecordType::RrsigDnskey,
                    RecordType::Rrsig
                ]
                .map(|t| r[t.index()].state.as_str())
                .join(" ")
            )
        ));
    }
    if k.standby || k.should_revoke {
        return Err(format!(
            "{what}: standby or revoke is set, which OpenDNSSEC 2.1's enforcer never does \
             and kasp-ledger does not model"
        ));
    }
    Ok(OdsZoneKey {
        row: row(k.row),
        id,
        locator,
        role: role(k.role),
        algorithm: k.algorithm,
        inception: time(k.inception),
        introducing: k.introducing,
        publish: k.publish,
        active_ksk: k.active_ksk,
        active_zsk: k.active_zsk,
        standby: k.standby,
        should_revoke: k.should_revoke,
        ds_at_parent: ds_at_parent(k.ds_at_parent),
        key_tag: k.keytag,
        minimize: k.minimize.to_db() as u8,
        records,
    })
}

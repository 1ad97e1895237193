//! What an OpenDNSSEC 2.1 installation's database says, checked against the HSM, its zone
//! list and its policies before anything of it is believed.
//!
//! The database is read by kasp-ods-database (crates/ods-database), read-only and as one
//! consistent moment. What it says of key material is only a claim: the key a zone is
//! signed with is the object in the HSM. [`check_key_material`] asks the repository for
//! every key the database names there — the zones' keys, the unused pool, keys shared or
//! waiting for deletion — and recomputes each zone key's tag from the public key the HSM
//! holds (the DNSKEY with OpenDNSSEC's flags: 257 for a KSK or CSK, 256 for a ZSK, as
//! `hsm_keytag` in OpenDNSSEC's enforcer computes it), so an import never carries a key
//! whose object is missing or whose tag would name another key at the parent.

use kasp_hsm::dnssec::{dnskey_rdata, key_tag};
use kasp_hsm::{Algorithm, KeyStore, Locator};
use kasp_ods_database::Snapshot;
use kasp_ods_database::enums::{HsmKeyState, Role};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

/// Something the HSM contradicts in what the database says of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMaterialProblem {
    /// The locator (CKA_ID) is not 32 hex digits.
    BadLocator { locator: String },
    /// The algorithm number is not one kasp-ledger signs with.
    UnknownAlgorithm { locator: String, algorithm: u8 },
    /// The repository has no key pair with this locator.
    Missing {
        locator: String,
        repository: String,
        /// The zones whose keys use it (none: an unused pool key or one to delete).
        zones: Vec<String>,
    },
    /// The repository could not be asked.
    Unreadable { locator: String, message: String },
    /// The key tag OpenDNSSEC stored is not that of the public key in the HSM.
    TagMismatch {
        zone: String,
        role: Role,
        locator: String,
        stored: u16,
        computed: u16,
    },
}

impl fmt::Display for KeyMaterialProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyMaterialProblem::BadLocator { locator } => {
                write!(f, "HSM key {locator:?}: the locator is not 32 hex digits")
            }
            KeyMaterialProblem::UnknownAlgorithm { locator, algorithm } => {
                write!(
                    f,
                    "HSM key {locator}: algorithm {algorithm} is not supported"
                )
            }
            KeyMaterialProblem::Missing {
                locator,
                repository,
                zones,
            } if zones.is_empty() => write!(
                f,
                "HSM key {locator} is not in repository {repository} (an unused or \
                 retired key of the database)"
            ),
            KeyMaterialProblem::Missing {
                locator,
                repository,
                zones,
            } => write!(
                f,
                "HSM key {locator} of zone {} is not in repository {repository}",
                zones.join(", ")
            ),
            KeyMaterialProblem::Unreadable { locator, message } => {
                write!(f, "HSM key {locator}: {message}")
            }
            KeyMaterialProblem::TagMismatch {
                zone,
                role,
                locator,
                stored,
                computed,
            } => write!(
                f,
                "{role} {locator} of zone {zone}: the database says key tag {stored}, the \
                 public key in the HSM has key tag {computed}"
            ),
        }
    }
}

/// Checks every key of `repository` the database names against `store`, that
/// repository's key store: each one's object is there, and each zone key's stored tag is
/// that of its public key. Keys OpenDNSSEC marked for deletion (state DELETE) may be
/// gone already and are not asked for. Returns every problem found, in the order of the
/// database's HSM key rows.
pub fn check_key_material(
    snapshot: &Snapshot,
    repository: &str,
    store: &mut dyn KeyStore,
) -> Vec<KeyMaterialProblem> {
    read_key_material(snapshot, repository, store, &BTreeMap::new()).problems
}

/// What the HSM holds of the keys of one repository the database names.
#[derive(Debug, Default)]
pub struct KeyMaterial {
    /// The DNSKEY public-key field of each key found.
    pub public_keys: BTreeMap<Locator, Vec<u8>>,
    pub problems: Vec<KeyMaterialProblem>,
}

/// [`check_key_material`], keeping the public keys read. The keys of `known` (public keys
/// read before, by locator) are not asked for again; their tags are still checked.
pub fn read_key_material(
    snapshot: &Snapshot,
    repository: &str,
    store: &mut dyn KeyStore,
    known: &BTreeMap<Locator, Vec<u8>>,
) -> KeyMaterial {
    let mut problems = Vec::new();
    let mut public_keys = BTreeMap::new();
    // The zone keys of each HSM key and the zone names, found by id (built once: one scan
    // of all keyData rows per HSM key made a large database's check quadratic).
    let mut keys_of_hsm: HashMap<i64, Vec<&kasp_ods_database::rows::KeyData>> = HashMap::new();
    for k in &snapshot.key_data {
        keys_of_hsm.entry(k.hsm_key_id).or_default().push(k);
    }
    let zone_names: HashMap<i64, &str> = snapshot
        .zones
        .iter()
        .map(|z| (z.row.id, z.name.as_str()))
        .collect();
    let zone_of = |zone_id: i64| {
        zone_names
            .get(&zone_id)
            .map_or_else(|| format!("#{zone_id}"), |z| z.to_string())
    };
    // One token-wide scan first: a store keeps what it saw (crates/hsm/src/pkcs11.rs
    // `list`), so each key below costs a few attribute reads instead of a search of the
    // whole token, which made reading a large installation's keys quadratic in their
    // number. Should the scan fail, each key is searched for and reports its own error.
    // Not needed when every key's public key is known already (a shadow's later looks).
    let unknown = snapshot.hsm_keys.iter().any(|h| {
        h.repository == repository
            && h.state != HsmKeyState::Delete
            && Locator::parse(&h.locator).is_ok_and(|l| !known.contains_key(&l))
    });
    if unknown {
        let _ = store.list();
    }
    for hsm in snapshot
        .hsm_keys
        .iter()
        .filter(|h| h.repository == repository && h.state != HsmKeyState::Delete)
    {
        let locator = hsm.locator.clone();
        let Ok(parsed) = Locator::parse(&hsm.locator) else {
            problems.push(KeyMaterialProblem::BadLocator { locator });
            continue;
        };
        let Ok(algorithm) = Algorithm::from_number(hsm.algorithm) else {
            problems.push(KeyMaterialProblem::UnknownAlgorithm {
                locator,
                algorithm: hsm.algorithm,
            });
            continue;
        };
        let keys = keys_of_hsm.get(&hsm.row.id).map_or(&[][..], |k| &k[..]);
        let asked = match known.get(&parsed) {
            Some(public) => Ok(public.clone()),
            None => store.public_key(&parsed, algorithm),
        };
        let public = match asked {
            Ok(public) => public,
            Err(kasp_hsm::HsmError::KeyNotFound { .. }) => {
                let mut zones: Vec<String> = keys.iter().map(|k| zone_of(k.zone_id)).collect();
                zones.dedup();
                problems.push(KeyMaterialProblem::Missing {
                    locator,
                    repository: repository.to_string(),
                    zones,
                });
                continue;
            }
            Err(e) => {
                problems.push(KeyMaterialProblem::Unreadable {
                    locator,
                    message: e.to_string(),
                });
                continue;
            }
        };
        for key in keys {
            let flags = match key.role {
                Role::Zsk => 256,
                Role::Ksk | Role::Csk => 257,
            };
            let computed = key_tag(&dnskey_rdata(flags, algorithm, &public));
            if computed != key.keytag {
                problems.push(KeyMaterialProblem::TagMismatch {
                    zone: zone_of(key.zone_id),
                    role: key.role,
                    locator: hsm.locator.clone(),
                    stored: key.keytag,
                    computed,
                });
            }
        }
        public_keys.insert(parsed, public);
    }
    KeyMaterial {
        public_keys,
        problems,
    }
}

/// A difference between the enforcer's internal zone list (`zones.xml` in its working
/// directory, what `ods-signerd` reads) and the zones of the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneListDifference {
    /// In the database, not in the zone list.
    OnlyInDatabase { zone: String },
    /// In the zone list, not in the database.
    OnlyInZoneList { zone: String },
    /// The same zone, configured otherwise: `what` names the setting.
    Differs {
        zone: String,
        what: &'static str,
        database: String,
        zone_list: String,
    },
}

impl fmt::Display for ZoneListDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZoneListDifference::OnlyInDatabase { zone } => {
                write!(f, "zone {zone} is in the database, not in the zone list")
            }
            ZoneListDifference::OnlyInZoneList { zone } => {
                write!(f, "zone {zone} is in the zone list, not in the database")
            }
            ZoneListDifference::Differs {
                zone,
                what,
                database,
                zone_list,
            } => write!(
                f,
                "zone {zone}: the database's {what} is {database:?}, the zone list's {zone_list:?}"
            ),
        }
    }
}

/// Compares the zones of the database with `zone_list`, the enforcer's internal zone list
/// as parsed (crates/projector/src/formats/zonelist.rs): the same zones, each with the same
/// policy, signconf path and adapters. OpenDNSSEC rewrites the file after every change of
/// its zones, so a difference means the file or the database was changed behind its back,
/// or a write of it failed: the signer then works from another zone list than the
/// enforcer, and an import would have to pick one.
pub fn compare_zone_list(
    snapshot: &Snapshot,
    zone_list: &[kasp_events::ZoneConfig],
) -> Vec<ZoneListDifference> {
    let mut differences = Vec::new();
    // By name, the first of a name as a scan would find it (built once: a scan of the
    // whole list per zone made a large installation's check quadratic).
    let mut by_name: HashMap<&str, &kasp_events::ZoneConfig> = HashMap::new();
    for z in zone_list {
        by_name.entry(z.name.as_str()).or_insert(z);
    }
    let in_database: HashSet<&str> = snapshot.zones.iter().map(|z| z.name.as_str()).collect();
    for zone in &snapshot.zones {
        let Some(listed) = by_name.get(zone.name.as_str()) else {
            differences.push(ZoneListDifference::OnlyInDatabase {
                zone: zone.name.clone(),
            });
            continue;
        };
        let policy = snapshot
            .policies
            .iter()
            .find(|p| p.row.id == zone.policy_id)
            .map_or_else(|| format!("#{}", zone.policy_id), |p| p.name.clone());
        let pairs: [(&'static str, String, String); 6] = [
            ("policy", policy, listed.policy.as_str().to_string()),
            (
                "signconf path",
                zone.signconf_path.clone(),
                listed.signconf_path.clone(),
            ),
            (
                "input adapter type",
                zone.input_adapter_type.clone(),
                listed.input.kind.clone(),
            ),
            (
                "input adapter",
                zone.input_adapter_uri.clone(),
                listed.input.uri.clone(),
            ),
            (
                "output adapter type",
                zone.output_adapter_type.clone(),
                listed.output.kind.clone(),
            ),
            (
                "output adapter",
                zone.output_adapter_uri.clone(),
                listed.output.uri.clone(),
            ),
        ];
        for (what, database, zone_list) in pairs {
            if database != zone_list {
                differences.push(ZoneListDifference::Differs {
                    zone: zone.name.clone(),
                    what,
                    database,
                    zone_list,
                });
            }
        }
    }
    for listed in zone_list {
        if !in_database.contains(listed.name.as_str()) {
            differences.push(ZoneListDifference::OnlyInZoneList {
                zone: listed.name.as_str().to_string(),
            });
        }
    }
    differences
}

/// A policy row the database holds that kasp-ledger's policy cannot carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyProblem {
    pub policy: String,
    pub message: String,
}

impl fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "policy {:?}: {}", self.policy, self.message)
    }
}

/// The policy OpenDNSSEC enforces, from its `policy` row and that row's `policyKey` rows
/// (in row order, which is kasp.xml's order at import): field for field kasp-ledger's
/// [`kasp_events::Policy`], which mirrors those tables. The NSEC3 salt and its last change
/// are not part of the definition (they are the enforcer's, with events of their own).
pub fn policy_from_database(
    snapshot: &Snapshot,
    row: &kasp_ods_database::rows::Policy,
) -> Result<kasp_events::Policy, PolicyProblem> {
    use kasp_events::{
        Denial, KeyRole, Keys, Nsec3, ParentTiming, Policy, PolicyKey, PolicyName, Seconds,
        SerialKind, Signatures, ZoneTiming,
    };
    use kasp_ods_database::enums::{DenialType, SoaSerial};
    let problem = |message: String| PolicyProblem {
        policy: row.name.clone(),
        message,
    };
    let name = PolicyName::new(&row.name).map_err(|e| problem(e.to_string()))?;
    let denial = match row.denial_type {
        DenialType::Nsec => Denial::Nsec,
        DenialType::Nsec3 => Denial::Nsec3(Nsec3 {
            ttl: Seconds(row.denial_ttl),
            opt_out: row.denial_optout,
            resalt: Seconds(row.denial_resalt),
            algorithm: row.denial_algorithm,
            iterations: u16::try_from(row.denial_iterations).map_err(|_| {
                problem(format!(
                    "NSEC3 iterations {} exceed 65535",
                    row.denial_iterations
                ))
            })?,
            salt_length: u8::try_from(row.denial_salt_length).map_err(|_| {
                problem(format!(
                    "NSEC3 salt length {} exceeds 255",
                    row.denial_salt_length
                ))
            })?,
        }),
    };
    let keys = snapshot
        .policy_keys
        .iter()
        .filter(|k| k.policy_id == row.row.id)
        .map(|k| PolicyKey {
            role: match k.role {
                Role::Ksk => KeyRole::Ksk,
                Role::Zsk => KeyRole::Zsk,
                Role::Csk => KeyRole::Csk,
            },
            algorithm: k.algorithm,
            bits: k.bits,
            lifetime: Seconds(k.lifetime),
            repository: k.repository.clone(),
            standby: k.standby,
            manual_rollover: k.manual_rollover,
            rfc5011: k.rfc5011,
            minimize: k.minimize.to_db() as u8,
        })
        .collect();
    Ok(Policy {
        name,
        description: row.description.clone(),
        passthrough: row.passthrough,
        signatures: Signatures {
            resign: Seconds(row.signatures_resign),
            refresh: Seconds(row.signatures_refresh),
            validity_default: Seconds(row.signatures_validity_default),
            validity_denial: Seconds(row.signatures_validity_denial),
            validity_keyset: Seconds(row.signatures_validity_keyset.unwrap_or(0)),
            jitter: Seconds(row.signatures_jitter),
            inception_offset: Seconds(row.signatures_inception_offset),
            max_zone_ttl: Seconds(row.signatures_max_zone_ttl),
        },
        denial,
        keys: Keys {
            ttl: Seconds(row.keys_ttl),
            retire_safety: Seconds(row.keys_retire_safety),
            publish_safety: Seconds(row.keys_publish_safety),
            share_keys: row.keys_shared,
            purge: Seconds(row.keys_purge_after),
            keys,
        },
        zone: ZoneTiming {
            propagation_delay: Seconds(row.zone_propagation_delay),
            soa_ttl: Seconds(row.zone_soa_ttl),
            soa_minimum: Seconds(row.zone_soa_minimum),
            soa_serial: match row.zone_soa_serial {
                SoaSerial::Counter => SerialKind::Counter,
                SoaSerial::Datecounter => SerialKind::DateCounter,
                SoaSerial::Unixtime => SerialKind::UnixTime,
                SoaSerial::Keep => SerialKind::Keep,
            },
        },
        parent: ParentTiming {
            registration_delay: Seconds(row.parent_registration_delay),
            propagation_delay: Seconds(row.parent_propagation_delay),
            ds_ttl: Seconds(row.parent_ds_ttl),
            soa_ttl: Seconds(row.parent_soa_ttl),
            soa_minimum: Seconds(row.parent_soa_minimum),
        },
    })
}

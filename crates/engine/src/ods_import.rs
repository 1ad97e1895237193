//! Taking over an OpenDNSSEC 2.1 installation: what its database says, checked against the
//! HSM before anything of it is believed.
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
    let mut problems = Vec::new();
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
        let keys: Vec<_> = snapshot
            .key_data
            .iter()
            .filter(|k| k.hsm_key_id == hsm.row.id)
            .collect();
        let zone_of = |zone_id: i64| {
            snapshot
                .zones
                .iter()
                .find(|z| z.row.id == zone_id)
                .map_or_else(|| format!("#{zone_id}"), |z| z.name.clone())
        };
        let public = match store.public_key(&parsed, algorithm) {
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
    }
    problems
}

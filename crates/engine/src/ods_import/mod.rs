//! Taking over an OpenDNSSEC 2.1 installation (`setup --import-ods`).
//!
//! [`prepare`] reads the `<Datastore>` conf.xml names as one consistent moment, never
//! writing to it (crates/ods-database), and believes nothing of it before checking it
//! against everything else that is true of the installation ([`checks`]): every HSM key
//! it names is in its repository, every stored key tag is that of the public key there, the
//! enforcer's internal zone list (`zones.xml`, what `ods-signerd` reads) names the same
//! zones with the same settings, every policy row is one kasp-ledger can carry, and no zone
//! waits for a signconf OpenDNSSEC had not written yet (unless told to write it). The
//! differences between the database's policies (what OpenDNSSEC enforced, and what is
//! imported) and kasp.xml are reported, not refused. Then [`genesis`] copies the rows
//! into the events that begin the new log.
//!
//! Every problem found is reported, not only the first, so that one run tells the operator
//! all there is to mend. Nothing is created on a refusal: the caller writes the log only
//! from a complete [`Import`].

pub mod checks;
pub mod genesis;
pub mod shadow;

pub use checks::{
    KeyMaterial, KeyMaterialProblem, PolicyProblem, ZoneListDifference, check_key_material,
    compare_zone_list, policy_from_database, read_key_material,
};
pub use genesis::{Genesis, GenesisInput, Refusal};

use crate::Failure;
use crate::repositories::Repositories;
use kasp_events::{Event, OdsDatastore, Policy};
use kasp_ods_database::Snapshot;
use kasp_ods_database::enums::HsmKeyState;
use kasp_projector::formats::conf::{Conf, Datastore};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Import zones whose signconf OpenDNSSEC had still to write; kasp-ledger writes them.
    pub write_signconfs: bool,
    /// How long to wait for OpenDNSSEC's enforcer to finish a write in progress.
    pub busy_timeout: Duration,
    /// Public keys read from the HSM before (a shadow's earlier look), by locator: not
    /// asked for again.
    pub known_public_keys: BTreeMap<kasp_events::Locator, Vec<u8>>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            write_signconfs: false,
            busy_timeout: Duration::from_secs(5),
            known_public_keys: BTreeMap::new(),
        }
    }
}

/// A database read, checked and turned into the events after `LogCreated`.
#[derive(Debug)]
pub struct Import {
    pub snapshot: Snapshot,
    pub datastore: OdsDatastore,
    /// The file, or `host:port/database`.
    pub location: String,
    pub events: Vec<Event>,
    /// What the operator should know and the import did not refuse: the differences from
    /// kasp.xml (also recorded in the log).
    pub warnings: Vec<String>,
}

/// Reads the database of `conf`'s `<Datastore>`, checks it against the HSM repositories,
/// the internal zone list and kasp.xml, and builds the genesis of the log.
pub fn prepare(
    conf: &Conf,
    conf_path: &Path,
    repositories: &mut Repositories,
    options: &ImportOptions,
) -> Result<Import, Failure> {
    let (snapshot, datastore, location) = read_database(conf, options)?;
    let refuse = |problems: Vec<String>| {
        Failure::refused(format!(
            "cannot import OpenDNSSEC's database {location}; nothing was created:\n{}",
            problems
                .iter()
                .map(|p| format!("  - {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        ))
    };
    let mut problems = Vec::new();

    let zone_list_path = Path::new(&conf.enforcer.working_directory).join("zones.xml");
    problems.extend(zone_list_problems(&snapshot, &zone_list_path));

    let mut public_keys = BTreeMap::new();
    let needed: BTreeSet<&str> = snapshot
        .hsm_keys
        .iter()
        .filter(|h| h.state != HsmKeyState::Delete)
        .map(|h| h.repository.as_str())
        .collect();
    for repository in needed {
        // Without the HSM nothing can be checked: a failure of the environment.
        let store = repositories.get(conf, conf_path, repository).map_err(|f| {
            Failure::env(format!(
                "cannot import OpenDNSSEC's database {location}: {}",
                f.message
            ))
        })?;
        let found = read_key_material(&snapshot, repository, store, &options.known_public_keys);
        public_keys.extend(found.public_keys);
        for p in found.problems {
            // A key already reported is not reported again for its missing public key.
            if let KeyMaterialProblem::Missing { locator, .. }
            | KeyMaterialProblem::Unreadable { locator, .. }
            | KeyMaterialProblem::UnknownAlgorithm { locator, .. } = &p
                && let Ok(l) = kasp_events::Locator::parse(locator)
            {
                public_keys.entry(l).or_default();
            }
            problems.push(p.to_string());
        }
    }

    let kasp_differences = kasp_differences(&snapshot, conf);
    let built = genesis::genesis(
        &snapshot,
        GenesisInput {
            datastore,
            location: location.clone(),
            public_keys: &public_keys,
            kasp_differences,
            write_signconfs: options.write_signconfs,
        },
    );
    let genesis = match built {
        Ok(genesis) if problems.is_empty() => genesis,
        Ok(_) => return Err(refuse(problems)),
        Err(Refusal(mut more)) => {
            problems.append(&mut more);
            return Err(refuse(problems));
        }
    };
    Ok(Import {
        snapshot,
        datastore,
        location,
        events: genesis.events,
        warnings: genesis.findings,
    })
}

/// The database `conf` names, read. A database that cannot be read now (missing, locked,
/// unreadable, a MySQL server unreachable or refusing the login) is a failure of the
/// environment; one that is not OpenDNSSEC 2.1's, or holds what it would not load, is
/// refused.
fn read_database(
    conf: &Conf,
    options: &ImportOptions,
) -> Result<(Snapshot, OdsDatastore, String), Failure> {
    let read_options = kasp_ods_database::ReadOptions {
        busy_timeout: options.busy_timeout,
    };
    let (read, datastore) = match &conf.enforcer.datastore {
        Datastore::Sqlite { path } => (
            kasp_ods_database::read(Path::new(path), &read_options),
            OdsDatastore::Sqlite,
        ),
        Datastore::Mysql {
            host,
            port,
            database,
            username,
            password,
        } => {
            let server = kasp_ods_database::MysqlServer {
                endpoint: mysql_endpoint(host.as_deref(), *port),
                database: database.clone(),
                user: username.clone(),
                password: password.expose().to_string(),
            };
            (
                kasp_ods_database::read_mysql(&server, &read_options),
                OdsDatastore::Mysql,
            )
        }
    };
    let snapshot = read.map_err(|e| {
        use kasp_ods_database::Error as E;
        let message = format!("cannot import OpenDNSSEC's database: {e}");
        match e {
            E::Missing { .. }
            | E::Unreadable { .. }
            | E::Locked { .. }
            | E::Changing { .. }
            | E::Sqlite { .. }
            | E::Unreachable { .. }
            | E::AccessDenied { .. }
            | E::NotPermitted { .. }
            | E::Mysql { .. } => Failure::env(message),
            _ => Failure::refused(message),
        }
    })?;
    let location = snapshot.source.location();
    Ok((snapshot, datastore, location))
}

/// Where OpenDNSSEC's enforcer connects for conf.xml's `<MySQL><Host Port=..>`: it hands
/// them to libmysqlclient's `mysql_real_connect` (enforcer/src/db/db_backend_mysql.c), which
/// goes through the local Unix socket when the host is absent or `localhost` (the socket
/// `MYSQL_UNIX_PORT` names, else Debian's /run/mysqld/mysqld.sock) and otherwise over TCP to
/// the port (absent: `MYSQL_TCP_PORT`, else 3306).
fn mysql_endpoint(host: Option<&str>, port: Option<u16>) -> kasp_ods_database::Endpoint {
    use kasp_ods_database::Endpoint;
    match host {
        None | Some("localhost") => Endpoint::Socket {
            path: std::env::var_os("MYSQL_UNIX_PORT")
                .filter(|p| !p.is_empty())
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| std::path::PathBuf::from("/run/mysqld/mysqld.sock")),
        },
        Some(host) => Endpoint::Tcp {
            host: host.to_string(),
            port: port
                .or_else(|| {
                    std::env::var("MYSQL_TCP_PORT")
                        .ok()
                        .and_then(|p| p.parse().ok())
                })
                .unwrap_or(3306),
        },
    }
}

/// The differences between the database's zones and the internal zone list at `path`.
fn zone_list_problems(snapshot: &Snapshot, path: &Path) -> Vec<String> {
    if snapshot.zones.is_empty() && !path.exists() {
        return Vec::new();
    }
    let text = match crate::files::read_text(path) {
        Ok(text) => text,
        Err(e) => {
            return vec![format!(
                "the enforcer's zone list {}, which the signer reads, cannot be read: {e}",
                path.display()
            )];
        }
    };
    let file = path.display().to_string();
    match kasp_projector::formats::zonelist::parse_zonelist(&text, &file) {
        Ok(zones) => compare_zone_list(snapshot, &zones)
            .iter()
            .map(|d| format!("{file}: {d}"))
            .collect(),
        Err(e) => vec![format!("{e}")],
    }
}

/// The differences between the policies of the database and those of kasp.xml, one line
/// each (the database's are imported).
fn kasp_differences(snapshot: &Snapshot, conf: &Conf) -> Vec<String> {
    let file = &conf.policy_file;
    let kasp: Vec<Policy> = match crate::files::read_text(Path::new(file)).and_then(|text| {
        kasp_projector::formats::kasp::parse_kasp(&text, file).map_err(|e| e.to_string())
    }) {
        Ok(p) => p,
        Err(e) => {
            return vec![format!(
                "kasp.xml {file} could not be read ({e}); the database's policies are imported"
            )];
        }
    };
    let mut lines = Vec::new();
    for row in &snapshot.policies {
        let Ok(ours) = policy_from_database(snapshot, row) else {
            continue;
        };
        match kasp.iter().find(|p| p.name == ours.name) {
            None => lines.push(format!(
                "policy {} is in the database, not in {file}",
                ours.name
            )),
            Some(theirs) if !policy_sections_differing(&ours, theirs).is_empty() => {
                lines.push(format!(
                    "policy {} differs from {file} in {} (the database's is imported; \
                 'policy import' applies the file)",
                    ours.name,
                    policy_sections_differing(&ours, theirs).join(", ")
                ))
            }
            Some(_) => {}
        }
    }
    for p in &kasp {
        if !snapshot.policies.iter().any(|r| r.name == p.name.as_str()) {
            lines.push(format!(
                "policy {} is in {file}, not in the database",
                p.name
            ));
        }
    }
    lines
}

/// The kasp.xml elements in which two policies differ.
fn policy_sections_differing(a: &Policy, b: &Policy) -> Vec<&'static str> {
    let mut v = Vec::new();
    if a.description != b.description {
        v.push("<Description>");
    }
    if a.passthrough != b.passthrough {
        v.push("<Passthrough>");
    }
    if a.signatures != b.signatures {
        v.push("<Signatures>");
    }
    if a.denial != b.denial {
        v.push("<Denial>");
    }
    // OpenDNSSEC 2.1 stores a policy's keys anew at each `policy import`, not always in
    // the file's order: the order is no difference.
    let same_keys = a.keys.keys.len() == b.keys.keys.len()
        && a.keys.keys.iter().all(|k| {
            a.keys.keys.iter().filter(|x| *x == k).count()
                == b.keys.keys.iter().filter(|x| *x == k).count()
        });
    let keys_without_list = |k: &kasp_events::Keys| kasp_events::Keys {
        keys: Vec::new(),
        ..k.clone()
    };
    if !same_keys || keys_without_list(&a.keys) != keys_without_list(&b.keys) {
        v.push("<Keys>");
    }
    if a.zone != b.zone {
        v.push("<Zone>");
    }
    if a.parent != b.parent {
        v.push("<Parent>");
    }
    v
}

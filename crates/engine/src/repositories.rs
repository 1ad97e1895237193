//! The HSM repositories of conf.xml as the shell opens them: each on a thread of its
//! own, opened on first use ([`Repositories`]; a session holds them, the daemon's for its
//! lifetime: crates/engine/src/session.rs). Key
//! generation itself, between its recorded intent and outcome, is the scheduler's
//! (kasp_projector::scheduler::generate_keys) over crates/engine/src/world.rs.

use crate::Failure;
use crate::logger;
use kasp_hsm::{HsmError, HsmThread, RepositoryConfig, Secret, Timeouts};
use kasp_projector::formats::conf::Conf;
use std::collections::BTreeMap;
use std::path::Path;

/// The repository settings of conf.xml, as kasp-hsm takes them.
pub fn repository_config(
    conf: &Conf,
    conf_path: &Path,
    name: &str,
) -> Result<RepositoryConfig, Failure> {
    let r = conf.repository(name).ok_or_else(|| {
        Failure::env(format!(
            "repository {name} is not configured in {}",
            conf_path.display()
        ))
    })?;
    Ok(RepositoryConfig {
        name: r.name.clone(),
        module: r.module.clone().into(),
        token_label: r.token_label.clone(),
        pin: r.pin.as_ref().map(|p| Secret::new(p.expose())),
        capacity: r.capacity,
        require_backup: r.require_backup,
        skip_public_key: r.skip_public_key,
        allow_extraction: r.allow_extraction,
    })
}

/// An HSM failure as the shell reports it (environment, exit 4).
pub fn hsm_failure(e: &HsmError) -> Failure {
    Failure::env(e.to_string())
}

/// Open repositories, each on its own thread.
#[derive(Default)]
pub struct Repositories {
    /// Store, RequireBackup, Capacity.
    stores: BTreeMap<String, (HsmThread, bool, Option<u64>)>,
}

impl std::fmt::Debug for Repositories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.stores.keys()).finish()
    }
}

impl Repositories {
    /// The store of a repository, opening it on first use.
    /// `conf`, read from `conf_path`, configures the repositories.
    pub fn get(
        &mut self,
        conf: &Conf,
        conf_path: &Path,
        name: &str,
    ) -> Result<&mut HsmThread, Failure> {
        // A store whose thread was given up (a timeout) is opened afresh.
        if self
            .stores
            .get(name)
            .is_some_and(|(s, _, _)| s.is_abandoned())
        {
            self.stores.remove(name);
        }
        if !self.stores.contains_key(name) {
            let config = repository_config(conf, conf_path, name)?;
            let (require_backup, capacity) = (config.require_backup, config.capacity);
            let store = HsmThread::open(config, Timeouts::default()).map_err(|e| {
                // OpenDNSSEC's daemon log line for a refused PIN (libhsm's
                // hsm_session_init() error, logged by daemon/engine.c).
                if let HsmError::WrongPin { repository } = &e {
                    logger::error(&format!(
                        "[engine] hsm_session_init(): Incorrect PIN for repository {repository}"
                    ));
                }
                hsm_failure(&e)
            })?;
            self.stores
                .insert(name.to_string(), (store, require_backup, capacity));
        }
        Ok(&mut self.stores.get_mut(name).expect("inserted above").0)
    }

    /// Whether a repository (already opened) requires backups.
    pub fn requires_backup(&self, name: &str) -> bool {
        self.stores.get(name).is_some_and(|(_, rb, _)| *rb)
    }

    /// A repository's Capacity (already opened).
    pub fn capacity(&self, name: &str) -> Option<u64> {
        self.stores.get(name).and_then(|(_, _, c)| *c)
    }
}

//! The HSM repositories of conf.xml as the shell opens them: each on a thread of its
//! own ([`Repositories`]), the daemon's open for its lifetime ([`RepoRef`]). Key
//! generation itself, between its recorded intent and outcome, is the scheduler's
//! (kasp_projector::scheduler::generate_keys) over crates/engine/src/world.rs.

use crate::logger;
use crate::{Context, Failure};
use kasp_hsm::{HsmError, HsmThread, RepositoryConfig, Secret, Timeouts};
use std::collections::BTreeMap;

/// The repository settings of conf.xml, as kasp-hsm takes them.
pub fn repository_config(ctx: &Context, name: &str) -> Result<RepositoryConfig, Failure> {
    let r = ctx.conf.repository(name).ok_or_else(|| {
        Failure::env(format!(
            "repository {name} is not configured in {}",
            ctx.conf_path.display()
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
    pub fn get(&mut self, ctx: &Context, name: &str) -> Result<&mut HsmThread, Failure> {
        // A store whose thread was given up (a timeout) is opened afresh.
        if self
            .stores
            .get(name)
            .is_some_and(|(s, _, _)| s.is_abandoned())
        {
            self.stores.remove(name);
        }
        if !self.stores.contains_key(name) {
            let config = repository_config(ctx, name)?;
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

/// The repositories a command uses: the daemon's, open for its lifetime (one login,
/// not one per command: SoftHSM rewrites its token file on every login, and a process
/// killed during that write loses the token), or opened for this command only.
#[derive(Debug)]
pub enum RepoRef<'a> {
    Own(Repositories),
    Shared(std::cell::RefMut<'a, Repositories>),
}

impl RepoRef<'_> {
    pub fn new(ctx: &Context) -> RepoRef<'_> {
        match &ctx.hsm {
            Some(shared) => RepoRef::Shared(shared.borrow_mut()),
            None => RepoRef::Own(Repositories::default()),
        }
    }
}

impl std::ops::Deref for RepoRef<'_> {
    type Target = Repositories;
    fn deref(&self) -> &Repositories {
        match self {
            RepoRef::Own(r) => r,
            RepoRef::Shared(r) => r,
        }
    }
}

impl std::ops::DerefMut for RepoRef<'_> {
    fn deref_mut(&mut self) -> &mut Repositories {
        match self {
            RepoRef::Own(r) => r,
            RepoRef::Shared(r) => r,
        }
    }
}

//! Key generation as an effect: open the repositories, then for each key the factory's
//! plan asks for, record the intent (`KeyGenerationStarted`), ask the HSM, and record
//! the outcome (`KeyGenerated` after the key exists, or `KeyGenerationAbandoned`).
//!
//! Crash safety: a generation whose outcome was never recorded (the process died
//! between the HSM call and the append) is resolved before anything else: if the HSM
//! has a key under the recorded locator it is adopted, otherwise the intent is
//! recorded as abandoned. A key is never made twice for one intent, and no key the HSM
//! holds is forgotten by the log.

use crate::commands::{Exit, Shell};
use crate::daemon_support::logger;
use crate::engine::{Context, Failure};
use kasp_events::{Actor, KeySpec, Locator};
use kasp_hsm::{Algorithm, HsmError, HsmThread, KeyStore, RepositoryConfig, Secret, Timeouts};
use kasp_projector::State;
use kasp_projector::decide::Command;
use kasp_projector::decide_keys::KeyCommand;
use kasp_projector::factory::KeyNeed;
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
    fn requires_backup(&self, name: &str) -> bool {
        self.stores.get(name).is_some_and(|(_, rb, _)| *rb)
    }

    /// A repository's Capacity (already opened).
    fn capacity(&self, name: &str) -> Option<u64> {
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

/// Records one decided key command; failures are printed.
fn record(
    shell: &mut Shell<'_>,
    ctx: &Context,
    actor: &Actor,
    command: KeyCommand,
) -> Result<std::sync::Arc<State>, Exit> {
    match ctx.run(actor.clone(), &Command::Keys(command)) {
        Ok(done) => Ok(done.state),
        Err(crate::engine::RunError::Rejected(r)) => Err(shell.refuse(&r.message)),
        Err(crate::engine::RunError::Failed(f)) => Err(shell.fail(f)),
    }
}

/// Resolves generations left without an outcome by an interrupted run; the state
/// after the outcomes were recorded (`None` when nothing was pending).
pub fn resolve_pending(
    shell: &mut Shell<'_>,
    ctx: &Context,
    state: &State,
    repos: &mut Repositories,
    actor: &Actor,
) -> Result<Option<std::sync::Arc<State>>, Exit> {
    let mut latest = None;
    let pending: Vec<(Locator, KeySpec)> = state
        .pool
        .pending
        .values()
        .map(|p| (p.locator, p.spec.clone()))
        .collect();
    for (locator, spec) in pending {
        let store = repos
            .get(ctx, &spec.repository)
            .map_err(|f| shell.fail(f))?;
        let found = store
            .exists(&locator)
            .map_err(|e| shell.fail(hsm_failure(&e)))?;
        let command = if found {
            let algorithm =
                Algorithm::from_number(spec.algorithm).map_err(|e| shell.fail(hsm_failure(&e)))?;
            let public_key = match store.public_key(&locator, algorithm) {
                Ok(k) => k,
                // Killed inside the HSM's key-pair generation: the private half exists,
                // the public half does not, so the key can never be published. It is our
                // own unfinished key: destroy it, then record the generation abandoned.
                Err(HsmError::PublicKeyUnavailable { .. }) => {
                    store
                        .destroy(&locator)
                        .map_err(|e| shell.fail(hsm_failure(&e)))?;
                    shell.err(&format!(
                        "Key {locator} of an interrupted generation is incomplete in \
                         repository {} (no public key); destroyed and recorded as abandoned\n",
                        spec.repository
                    ));
                    let command = KeyCommand::Abandon {
                        locator,
                        reason: "incomplete in the HSM after an interrupted generation \
                                 (no public key); destroyed"
                            .to_string(),
                    };
                    latest = Some(record(shell, ctx, actor, command)?);
                    continue;
                }
                Err(e) => return Err(shell.fail(hsm_failure(&e))),
            };
            shell.err(&format!(
                "Adopted key {locator} from an interrupted generation ({} for policy {})\n",
                spec.role.as_str(),
                spec.policy
            ));
            KeyCommand::Generated {
                locator,
                public_key,
                require_backup: repos.requires_backup(&spec.repository),
                adopted: true,
            }
        } else {
            // The HSM may have made the public half only: nothing of it may stay.
            match store.destroy(&locator) {
                Ok(()) | Err(HsmError::KeyNotFound { .. }) => {}
                Err(e) => return Err(shell.fail(hsm_failure(&e))),
            }
            shell.err(&format!(
                "Key {locator} of an interrupted generation is not in repository {}; \
                 recorded as abandoned\n",
                spec.repository
            ));
            KeyCommand::Abandon {
                locator,
                reason: "not found in the HSM after an interrupted generation".to_string(),
            }
        };
        latest = Some(record(shell, ctx, actor, command)?);
    }
    Ok(latest)
}

/// Generates the keys `plan` finds missing. Generations an interrupted run left
/// without an outcome are resolved first and the plan is made on the state after
/// them, so that keys adopted from those generations count. Returns how many keys
/// were made.
pub fn generate(
    shell: &mut Shell<'_>,
    ctx: &Context,
    state: &State,
    plan: impl FnOnce(&State) -> Vec<KeyNeed>,
    actor: &Actor,
) -> Result<usize, Exit> {
    let mut repos = RepoRef::new(ctx);
    let needs = match resolve_pending(shell, ctx, state, &mut repos, actor)? {
        Some(resolved) => plan(&resolved),
        None => plan(state),
    };
    let mut made = 0;
    for need in needs.iter().filter(|n| n.missing() > 0) {
        let spec = &need.spec;
        let algorithm =
            Algorithm::from_number(spec.algorithm).map_err(|e| shell.fail(hsm_failure(&e)))?;
        let store = repos
            .get(ctx, &spec.repository)
            .map_err(|f| shell.fail(f))?;
        // Refuse before recording anything when the token cannot hold the keys.
        let held = store.count().map_err(|e| shell.fail(hsm_failure(&e)))?;
        if let Some(capacity) = repos.capacity(&spec.repository)
            && (held + need.missing()) as u64 > capacity
        {
            let e = HsmError::CapacityReached {
                repository: spec.repository.clone(),
                capacity,
            };
            return Err(shell.fail(hsm_failure(&e)));
        }
        let store = repos
            .get(ctx, &spec.repository)
            .map_err(|f| shell.fail(f))?;
        // Likewise when the token cannot make keys of this algorithm and size.
        store
            .check_support(algorithm, spec.bits)
            .map_err(|e| shell.fail(hsm_failure(&e)))?;
        // All intents of this need in one transaction, then one outcome per key.
        let mut keys = Vec::with_capacity(need.missing());
        for _ in 0..need.missing() {
            let locator = store
                .random_locator()
                .map_err(|e| shell.fail(hsm_failure(&e)))?;
            keys.push((locator, spec.clone()));
        }
        // OpenDNSSEC's key factory logs these (hsm_key_factory.c, ods_log_info); the command's
        // own output stays as OpenDNSSEC's, so scripts that read it see no new lines.
        logger::msg(&format!(
            "{} zone(s) found on policy \"{}\"",
            need.zones, spec.policy
        ));
        logger::msg(&format!(
            "[hsm_key_factory_generate] {} keys needed for {} zones covering {} seconds, \
             generating {} keys for policy {}",
            need.target,
            need.zones,
            need.duration.as_i64(),
            need.missing(),
            spec.policy
        ));
        logger::msg(&format!(
            "{} new {}(s) ({} bits) need to be created.",
            keys.len(),
            spec.role.as_str(),
            spec.bits,
        ));
        record(
            shell,
            ctx,
            actor,
            KeyCommand::StartGeneration { keys: keys.clone() },
        )?;
        let require_backup = repos.requires_backup(&spec.repository);
        // The outcomes of the batch are recorded together, after the HSM calls: a run
        // that dies in between leaves intents that the next run adopts or abandons.
        let mut outcomes = Vec::with_capacity(keys.len());
        let mut failure = None;
        for (i, (locator, _)) in keys.iter().enumerate() {
            let store = repos
                .get(ctx, &spec.repository)
                .map_err(|f| shell.fail(f))?;
            match store.generate(locator, algorithm, spec.bits) {
                Ok(public_key) => {
                    outcomes.push(KeyCommand::Generated {
                        locator: *locator,
                        public_key,
                        require_backup,
                        adopted: false,
                    });
                    if keys.len() >= 10 && (i + 1) % 10 == 0 {
                        logger::verbose(&format!(
                            "{}/{} {}(s) for policy {} generated in repository {}",
                            i + 1,
                            keys.len(),
                            spec.role.as_str(),
                            spec.policy,
                            spec.repository
                        ));
                    }
                }
                Err(e) => {
                    // A call that timed out may still have made the key: its intent stays
                    // open and is resolved (adopted or abandoned) by the next run. Keys
                    // never asked for are abandoned now.
                    let asked = if matches!(e, HsmError::Timeout { .. }) {
                        i + 1
                    } else {
                        i
                    };
                    for (rest, _) in &keys[asked..] {
                        let reason = if rest == locator {
                            e.to_string()
                        } else {
                            format!("not attempted after an earlier failure: {e}")
                        };
                        outcomes.push(KeyCommand::Abandon {
                            locator: *rest,
                            reason,
                        });
                    }
                    failure = Some(e);
                    break;
                }
            }
        }
        made += outcomes
            .iter()
            .filter(|o| matches!(o, KeyCommand::Generated { .. }))
            .count();
        record(shell, ctx, actor, KeyCommand::Batch(outcomes))?;
        if let Some(e) = failure {
            return Err(shell.fail(hsm_failure(&e)));
        }
    }
    Ok(made)
}

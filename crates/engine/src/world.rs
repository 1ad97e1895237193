//! The scheduler's ports for real (kasp_projector::scheduler): the event log as its
//! journal ([`LogJournal`], decisions appended by [`Session::run`]) and the real world
//! ([`RealWorld`]): random salts from the kernel, key material in the HSMs, signconf
//! files and the signer notify, DS hooks, the audit checkpoint and the daemon's log. What
//! the operator must be told is kept ([`RealWorld::warnings`]) for the binary to print.

use crate::dshook::{HookOutcome, run_ds_hook};
use crate::logger;
use crate::repositories::{Repositories, hsm_failure};
use crate::{RunError, Session, system_now};
use kasp_events::{Actor, KeySpec, Locator, SignconfWritten, Timestamp};
use kasp_hsm::{Algorithm, HsmError, KeyStore};
use kasp_projector::State;
use kasp_projector::decide::Command;
use kasp_projector::scheduler::{
    DsHookCall, Journal, KeyFailure, LogLevel, MaterialToDestroy, PendingKey, Recorded,
    SignconfFile, World,
};
use std::sync::Arc;

/// The event log of a command's [`Session`] as the scheduler's journal.
#[derive(Debug)]
pub struct LogJournal<'a> {
    pub ctx: &'a Session,
}

impl Journal for LogJournal<'_> {
    type Error = RunError;

    fn state(&mut self) -> Result<Arc<State>, RunError> {
        Ok(self.ctx.load()?.1)
    }

    fn now(&mut self, state: &State) -> Timestamp {
        state.now(system_now())
    }

    fn record(&mut self, actor: &Actor, command: &Command) -> Result<Recorded, RunError> {
        let done = self.ctx.run(actor.clone(), command)?;
        Ok(Recorded {
            state: done.state,
            decision: done.decision,
        })
    }

    fn exclusively<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, RunError>,
    ) -> Result<T, RunError> {
        let ctx = self.ctx;
        ctx.exclusively(|| f(self))
    }

    fn exclusively_once_it_records<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, RunError>,
    ) -> Result<T, RunError> {
        let ctx = self.ctx;
        ctx.exclusively_once_it_appends(|| f(self))
    }
}

/// The real world of one command (or one scheduler wake-up of the daemon): the
/// repositories it opens (the daemon's, open for its lifetime, or its own) and what the
/// operator must be told.
pub struct RealWorld<'a> {
    ctx: &'a Session,
    repos: std::cell::RefMut<'a, Repositories>,
    warnings: Vec<String>,
}

impl std::fmt::Debug for RealWorld<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealWorld")
            .field("repos", &self.repos)
            .finish()
    }
}

impl<'a> RealWorld<'a> {
    pub fn new(ctx: &'a Session) -> RealWorld<'a> {
        RealWorld {
            ctx,
            repos: ctx.repositories(),
            warnings: Vec::new(),
        }
    }

    /// What the operator must be told (the command's stderr), in order; the world lets
    /// go of its repositories.
    pub fn warnings(self) -> Vec<String> {
        self.warnings
    }

    fn hsm(&mut self, repository: &str) -> Result<&mut kasp_hsm::HsmThread, RunError> {
        Ok(self
            .repos
            .get(&self.ctx.conf, &self.ctx.conf_path, repository)?)
    }
}

/// Runs one DS hook; why it failed.
fn ds_hook(call: &DsHookCall) -> Result<(), String> {
    let outcome = run_ds_hook(
        Some(&call.command),
        &call.owner,
        call.ttl,
        call.algorithm,
        &call.public_key,
        &call.locator,
    );
    match outcome {
        HookOutcome::Ok => Ok(()),
        HookOutcome::Failed { reason } => Err(reason),
        HookOutcome::NotConfigured => Err(format!("no command configured for {}", call.zone)),
    }
}

/// An HSM failure as the scheduler's error.
fn hsm_error(e: &HsmError) -> RunError {
    RunError::Failed(hsm_failure(e))
}

impl World for RealWorld<'_> {
    type Error = RunError;

    fn salt(&mut self, length: u8) -> Result<String, RunError> {
        Ok(crate::random::hex(usize::from(length))?)
    }

    fn destroy(&mut self, keys: &[MaterialToDestroy]) -> Vec<Result<(), String>> {
        keys.iter()
            .map(|key| {
                let hsm = self
                    .hsm(&key.repository)
                    .map_err(|e| e.message().to_string())?;
                match hsm.destroy(&key.locator) {
                    // Already gone: an earlier run destroyed it and was interrupted before
                    // it could record that. Destroying is idempotent; record it now.
                    Err(HsmError::KeyNotFound { .. }) => Ok(()),
                    other => other.map_err(|e| e.to_string()),
                }
            })
            .collect()
    }

    fn write_signconfs(
        &mut self,
        _state: &State,
        files: Vec<SignconfFile>,
    ) -> Vec<Result<SignconfWritten, String>> {
        crate::signconf::write_signconfs(files)
    }

    fn run_ds_hook(&mut self, call: &DsHookCall) -> Result<(), String> {
        ds_hook(call)
    }

    /// The zones' hooks through the effect pool (crates/engine/src/effect_pool.rs): in
    /// order while each finishes promptly, the next zone's beside a slow one; the hooks
    /// of one zone one after another. Each is killed (with its process group) after its
    /// own timeout, so the pool waits for all of them.
    fn run_ds_hooks(&mut self, calls: &[&DsHookCall]) -> Vec<Result<(), String>> {
        use crate::effect_pool::{self, Outcome};
        if calls.len() < 2 {
            return calls.iter().map(|call| ds_hook(call)).collect();
        }
        let owned: Vec<DsHookCall> = calls.iter().map(|call| (*call).clone()).collect();
        let groups = effect_pool::grouped(owned, |call| call.zone.clone());
        effect_pool::run("ds-hook", groups, calls.len(), None, |call| ds_hook(&call))
            .into_iter()
            .map(|outcome| match outcome {
                Outcome::Done(result) => result,
                Outcome::Stuck | Outcome::NotStarted => Err(
                    "the DS hook was not run to its end (no thread for it, or it failed)"
                        .to_string(),
                ),
            })
            .collect()
    }

    fn new_locators(
        &mut self,
        _state: &State,
        spec: &KeySpec,
        count: usize,
    ) -> Result<Vec<Locator>, RunError> {
        let algorithm = Algorithm::from_number(spec.algorithm).map_err(|e| hsm_error(&e))?;
        let store = self.hsm(&spec.repository)?;
        // Refuse before recording anything when the token cannot hold the keys.
        let held = store.count().map_err(|e| hsm_error(&e))?;
        if let Some(capacity) = self.repos.capacity(&spec.repository)
            && (held + count) as u64 > capacity
        {
            let e = HsmError::CapacityReached {
                repository: spec.repository.clone(),
                capacity,
            };
            return Err(hsm_error(&e));
        }
        let store = self.hsm(&spec.repository)?;
        // Likewise when the token cannot make keys of this algorithm and size.
        store
            .check_support(algorithm, spec.bits)
            .map_err(|e| hsm_error(&e))?;
        (0..count)
            .map(|_| store.random_locator().map_err(|e| hsm_error(&e)))
            .collect()
    }

    fn generate_key(
        &mut self,
        spec: &KeySpec,
        locator: &Locator,
    ) -> Result<Vec<u8>, KeyFailure<RunError>> {
        let hsm_failed = |e: HsmError| KeyFailure {
            error: hsm_error(&e),
            reason: e.to_string(),
            maybe_made: matches!(e, HsmError::Timeout { .. }),
        };
        let algorithm = Algorithm::from_number(spec.algorithm).map_err(hsm_failed)?;
        let store = match self
            .repos
            .get(&self.ctx.conf, &self.ctx.conf_path, &spec.repository)
        {
            Ok(store) => store,
            Err(f) => {
                return Err(KeyFailure {
                    reason: f.message.clone(),
                    error: RunError::Failed(f),
                    maybe_made: false,
                });
            }
        };
        store
            .generate(locator, algorithm, spec.bits)
            .map_err(hsm_failed)
    }

    fn requires_backup(&mut self, repository: &str) -> bool {
        self.repos.requires_backup(repository)
    }

    fn find_pending(&mut self, spec: &KeySpec, locator: &Locator) -> Result<PendingKey, RunError> {
        let store = self.hsm(&spec.repository)?;
        if !store.exists(locator).map_err(|e| hsm_error(&e))? {
            // The HSM may have made the public half only: nothing of it may stay.
            match store.destroy(locator) {
                Ok(()) | Err(HsmError::KeyNotFound { .. }) => {}
                Err(e) => return Err(hsm_error(&e)),
            }
            return Ok(PendingKey::Absent);
        }
        let algorithm = Algorithm::from_number(spec.algorithm).map_err(|e| hsm_error(&e))?;
        match store.public_key(locator, algorithm) {
            Ok(public_key) => Ok(PendingKey::Present { public_key }),
            // Killed inside the HSM's key-pair generation: the private half exists, the
            // public half does not, so the key can never be published. It is our own
            // unfinished key: destroy it, then record the generation abandoned.
            Err(HsmError::PublicKeyUnavailable { .. }) => {
                store.destroy(locator).map_err(|e| hsm_error(&e))?;
                Ok(PendingKey::Incomplete)
            }
            Err(e) => Err(hsm_error(&e)),
        }
    }

    /// Appends a checkpoint when the interval has passed and the log grew since the
    /// last one. Nothing is printed when it is made (it is in the log); a failure is a
    /// warning, and the next run tries again.
    fn interval_checkpoint(&mut self) {
        let due = match self.ctx.load() {
            Ok((_, state, _)) => {
                kasp_projector::decide::audit::checkpoint_due(&state, state.now(system_now()))
            }
            Err(_) => false,
        };
        if !due {
            return;
        }
        if let Err(f) = crate::audit::sign_head(self.ctx, &Actor::Scheduler, &mut self.repos) {
            self.warnings.push(format!(
                "warning: the interval checkpoint was not made: {}\n",
                f.message
            ));
        }
    }

    fn warn(&mut self, text: &str) {
        self.warnings.push(text.to_string());
    }

    fn report(&mut self, error: &RunError) {
        self.warnings.push(error.report_text());
    }

    fn log(&mut self, level: LogLevel, line: &str) {
        match level {
            LogLevel::Error => logger::error(line),
            LogLevel::Info => logger::msg(line),
            LogLevel::Verbose => logger::verbose(line),
        }
    }
}

//! `decide` for key material: recording generations (before and after the HSM call),
//! backup state changes, and the repositories of conf.xml.

use crate::decide::{Decision, Outcome, Rejection};
use crate::state::State;
use kasp_events::{
    BackupCommitted, BackupPrepared, BackupRolledBack, BackupState, Event, KeyGenerated,
    KeyGenerationAbandoned, KeyGenerationStarted, KeySpec, Locator, RepositoriesConfigured,
    RepositoryInfo,
};
use std::collections::BTreeSet;

/// The three backup subcommands that change state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupAction {
    /// Required → Prepared.
    Prepare,
    /// Prepared → Done.
    Commit,
    /// Prepared → Required (undoes the prepares not yet committed).
    Rollback,
}

/// Key-material commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCommand {
    /// The shell is about to ask HSMs for these keys, under these locators.
    StartGeneration { keys: Vec<(Locator, KeySpec)> },
    /// The HSM made (or, `adopted`, already had) the key of a started generation.
    Generated {
        locator: Locator,
        public_key: Vec<u8>,
        /// The repository has RequireBackup (from conf.xml).
        require_backup: bool,
        adopted: bool,
    },
    /// A started generation produced no key.
    Abandon { locator: Locator, reason: String },
    /// `backup prepare|commit|rollback [--repository R]`.
    Backup {
        action: BackupAction,
        repository: Option<String>,
    },
    /// `update repositorylist` / `update all`: the repositories of conf.xml.
    ConfigureRepositories { repositories: Vec<RepositoryInfo> },
    /// Several of the above decided in order and appended in one transaction (e.g. the
    /// outcomes of one batch of generations).
    Batch(Vec<KeyCommand>),
}

/// Decides a key-material command.
pub fn decide_keys(state: &State, command: &KeyCommand) -> Result<Decision, Rejection> {
    match command {
        KeyCommand::StartGeneration { keys } => start(state, keys),
        KeyCommand::Generated {
            locator,
            public_key,
            require_backup,
            adopted,
        } => {
            let Some(p) = state.pool.pending.get(locator) else {
                return Err(Rejection::refused(format!(
                    "no generation of key {locator} is in progress"
                )));
            };
            let backup = if *require_backup {
                BackupState::Required
            } else {
                BackupState::NotRequired
            };
            Ok(one(KeyGenerated {
                locator: *locator,
                spec: p.spec.clone(),
                public_key: public_key.clone(),
                backup,
                adopted: *adopted,
            }))
        }
        KeyCommand::Abandon { locator, reason } => {
            if !state.pool.pending.contains_key(locator) {
                return Err(Rejection::refused(format!(
                    "no generation of key {locator} is in progress"
                )));
            }
            Ok(one(KeyGenerationAbandoned {
                locator: *locator,
                reason: reason.clone(),
            }))
        }
        KeyCommand::Backup { action, repository } => backup(state, *action, repository),
        KeyCommand::Batch(commands) => {
            let mut ahead = state.clone();
            let mut all = Decision::default();
            for c in commands {
                let d = decide_keys(&ahead, c)?;
                for e in &d.events {
                    // Times do not matter to these rules; the log stamps the real time.
                    ahead.apply_event(e, kasp_events::Timestamp(0));
                }
                all.events.extend(d.events);
                all.outcomes.extend(d.outcomes);
            }
            Ok(all)
        }
        KeyCommand::ConfigureRepositories { repositories } => {
            if &state.pool.repositories == repositories {
                return Ok(Decision {
                    events: vec![],
                    outcomes: vec![Outcome::RepositoriesRecorded { changed: false }],
                });
            }
            let mut d = one(RepositoriesConfigured {
                repositories: repositories.clone(),
            });
            d.outcomes = vec![Outcome::RepositoriesRecorded { changed: true }];
            Ok(d)
        }
    }
}

fn one(e: impl Into<Event>) -> Decision {
    Decision {
        events: vec![e.into()],
        outcomes: vec![],
    }
}

fn start(state: &State, keys: &[(Locator, KeySpec)]) -> Result<Decision, Rejection> {
    let mut seen = BTreeSet::new();
    let mut d = Decision::default();
    for (locator, spec) in keys {
        if !state.policies.contains_key(&spec.policy) {
            return Err(Rejection::refused(format!(
                "Unable to find policy {}!",
                spec.policy
            )));
        }
        let taken = state.pool.keys.contains_key(locator)
            || state.pool.pending.contains_key(locator)
            || !seen.insert(*locator);
        if taken {
            return Err(Rejection::refused(format!(
                "locator {locator} is already in use; not generating a second key under it"
            )));
        }
        d.events.push(
            KeyGenerationStarted {
                locator: *locator,
                spec: spec.clone(),
            }
            .into(),
        );
    }
    Ok(d)
}

fn backup(
    state: &State,
    action: BackupAction,
    repository: &Option<String>,
) -> Result<Decision, Rejection> {
    if let Some(r) = repository
        && !state.pool.repositories.iter().any(|i| &i.name == r)
        && !state.pool.keys.values().any(|k| &k.spec.repository == r)
    {
        return Err(Rejection::refused(format!(
            "error: no repository named {r} (see 'ods-enforcer repository list')"
        )));
    }
    let from = match action {
        BackupAction::Prepare => BackupState::Required,
        BackupAction::Commit | BackupAction::Rollback => BackupState::Prepared,
    };
    let keys: Vec<Locator> = state
        .pool
        .keys_in_order(repository.as_deref())
        .into_iter()
        .filter(|k| k.backup == from)
        .map(|k| k.locator)
        .collect();
    let outcome = Outcome::BackupChanged(keys.len());
    if keys.is_empty() {
        return Ok(Decision {
            events: vec![],
            outcomes: vec![outcome],
        });
    }
    let repository = repository.clone();
    let event: Event = match action {
        BackupAction::Prepare => BackupPrepared { repository, keys }.into(),
        BackupAction::Commit => BackupCommitted { repository, keys }.into(),
        BackupAction::Rollback => BackupRolledBack { repository, keys }.into(),
    };
    Ok(Decision {
        events: vec![event],
        outcomes: vec![outcome],
    })
}

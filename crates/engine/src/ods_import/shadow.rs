//! Shadowing a running OpenDNSSEC (`shadow`): kasp-ledger follows its database, read-only,
//! and at every change it sees compares OpenDNSSEC's decisions with its own
//! (kasp_projector::shadow), recording both in a log of its own (the shadow log, not the
//! enforcer's: `<WorkingDirectory>/shadow.redb` unless told otherwise).
//!
//! One look ([`look`]) reads the database as [`super::prepare`] does for an import (the
//! same checks; a signconf OpenDNSSEC has still to write is normal while it runs). The
//! first look creates the shadow log holding the import. A later one compares the
//! digest with the last import's: unchanged, nothing is written; changed, the new state
//! is imported into a fresh [`State`], compared with the log's, and the new import and
//! the comparison (`OdsShadowed`) are appended in one transaction. Nothing is ever
//! written to OpenDNSSEC's database (opened read-only, crates/ods-database) or to the
//! HSM (only public keys are read, each key once: later looks reuse the public keys the
//! log holds).

use super::{ImportOptions, prepare};
use crate::Failure;
use crate::repositories::Repositories;
use kasp_events::{
    Access, Actor, ClockMode, Event, EventLog, FORMAT, InstanceId, LogCreated, NewEvent,
    OdsShadowed, Timestamp,
};
use kasp_projector::formats::conf::Conf;
use kasp_projector::scheduler::plan::PlanConf;
use kasp_projector::shadow::{Comparison, compare};
use kasp_projector::state::State;
use std::path::Path;

/// What one look found.
#[derive(Debug)]
pub enum Look {
    /// The shadow log was created from the database as it is.
    Started { digest: String, zones: usize },
    /// The database is as the last look saw it.
    Unchanged { digest: String },
    /// It changed; kasp-ledger's decisions were compared with OpenDNSSEC's.
    Changed {
        digest: String,
        comparison: Comparison,
    },
}

/// Who looks and why, for the records appended.
#[derive(Debug, Clone)]
pub struct Looker {
    pub actor: Actor,
    pub cause: String,
    pub now: Timestamp,
    pub instance: InstanceId,
}

/// One look at the database of `conf` (see the module text), the shadow log at `log_path`.
pub fn look(
    conf: &Conf,
    conf_path: &Path,
    repositories: &mut Repositories,
    log_path: &Path,
    who: &Looker,
) -> Result<Look, Failure> {
    let record = |event: Event| NewEvent {
        at: who.now,
        actor: who.actor.clone(),
        cause: who.cause.clone(),
        event,
    };
    if !log_path.exists() {
        let import = prepare(conf, conf_path, repositories, &shadow_options(None))?;
        let digest = import.snapshot.digest.to_string();
        let zones = import.snapshot.zones.len();
        let created = LogCreated {
            format: FORMAT,
            instance: who.instance,
            clock: ClockMode::System,
        };
        let genesis = import.events.into_iter().map(record).collect();
        EventLog::create_with_genesis(
            log_path,
            created,
            who.now,
            who.actor.clone(),
            &who.cause,
            genesis,
        )?;
        return Ok(Look::Started { digest, zones });
    }
    let mut log = EventLog::open(log_path, Access::ReadWrite)?;
    let (before, _) = crate::replay::fold(&log)?;
    let import = prepare(
        conf,
        conf_path,
        repositories,
        &shadow_options(Some(&before)),
    )?;
    let digest = import.snapshot.digest.to_string();
    if before.ods_digest.as_deref() == Some(digest.as_str()) {
        return Ok(Look::Unchanged { digest });
    }
    let mut after = State::default();
    for e in &import.events {
        after.apply_event(e, who.now);
    }
    let comparison = compare(&before, &after, PlanConf::from_conf(conf));
    let shadowed = OdsShadowed {
        digest: digest.clone(),
        zones: comparison.zones.clone(),
        not_compared: comparison.not_compared.clone(),
        divergences: comparison.divergences.clone(),
    };
    let mut events: Vec<NewEvent> = import.events.into_iter().map(record).collect();
    events.push(record(shadowed.into()));
    let head = log.head();
    log.append(head, events, |_| None)?;
    Ok(Look::Changed { digest, comparison })
}

/// The import's options for a look: a signconf OpenDNSSEC has still to write is taken as
/// it is (OpenDNSSEC writes it soon), and the public keys the shadow log holds are not
/// read again.
fn shadow_options(before: Option<&State>) -> ImportOptions {
    ImportOptions {
        write_signconfs: true,
        known_public_keys: before
            .map(|s| {
                s.pool
                    .keys
                    .values()
                    .filter(|k| !k.public_key.is_empty())
                    .map(|k| (k.locator, k.public_key.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        ..ImportOptions::default()
    }
}

//! `log checkpoint`: signed checkpoints of the log head.
//!
//! * `log checkpoint --setup --repository R [--interval D] [--export-key FILE]`
//!   generates an audit key (ECDSA P-256) in repository R, records it, and signs a
//!   first checkpoint;
//! * `log checkpoint --interval D|off` changes how often runs of the enforcer append a
//!   checkpoint by themselves;
//! * `log checkpoint --export-key FILE` writes the audit public key, read from the HSM,
//!   for auditors (`log verify --audit-key FILE`);
//! * `log checkpoint` signs the current head now.
//!
//! Every HSM call happens before the event describing it is appended; a refused or
//! failed command leaves the log as it was.

use super::table::CommandSpec;
use super::{Exit, Ran, Shell};
use crate::getopt::Opt;
use kasp_engine::audit::{KeyFile, sign_head};
use kasp_engine::files::{Readers, write_atomic};
use kasp_engine::repositories::hsm_failure;
use kasp_engine::{Failure, RunError, Session, exit};
use kasp_events::{Actor, Seconds};
use kasp_hsm::{Algorithm, HsmError, KeyStore};
use kasp_projector::decide::Command;
use kasp_projector::decide::audit::{AUDIT_ALGORITHM, AuditCommand, NO_AUDIT_KEY};
use kasp_projector::formats::duration::{parse_seconds, render};

/// `log checkpoint [--setup --repository R] [--interval D] [--export-key FILE]`.
pub fn checkpoint(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let opts = [
        Opt::flag("setup", 's'),
        Opt::value("repository", 'r'),
        Opt::value("interval", 'i'),
        Opt::value("export-key", 'e'),
    ];
    let p = shell.opts(spec, args, &opts)?;
    let interval = match p.value("interval") {
        Some(text) => Some(parse_interval(text).map_err(|e| shell.misuse(e))?),
        None => None,
    };
    let export = p.value("export-key").map(str::to_string);
    let repository = p.value("repository").map(str::to_string);
    if p.has("setup") {
        let Some(repository) = repository else {
            return Err(shell.misuse("--setup needs --repository <name>"));
        };
        return setup(shell, &repository, interval, export.as_deref());
    }
    if repository.is_some() {
        return Err(shell.misuse("--repository goes with --setup"));
    }
    match (interval, export) {
        (Some(_), Some(_)) => {
            Err(shell.misuse("give --interval and --export-key separately (or both with --setup)"))
        }
        (Some(interval), None) => set_interval(shell, interval),
        (None, Some(file)) => {
            let ctx = shell.ctx()?;
            export_key(shell, &ctx, &file)?;
            Ok(exit::OK)
        }
        (None, None) => sign_now(shell),
    }
}

/// `off` (or a zero duration) turns interval checkpoints off.
fn parse_interval(text: &str) -> Result<Option<Seconds>, String> {
    if text == "off" {
        return Ok(None);
    }
    let s = parse_seconds(text).map_err(|e| {
        format!(
            "invalid --interval '{text}': {e} (an ISO 8601 duration such as PT1H or P1D, or 'off')"
        )
    })?;
    Ok((s.0 > 0).then_some(s))
}

fn interval_text(interval: Option<Seconds>) -> String {
    match interval {
        Some(s) => format!("every {} ({} seconds)", render(s), s.0),
        None => "off".to_string(),
    }
}

/// Records an audit command, printing a refusal or failure.
fn record(shell: &mut Shell<'_>, ctx: &Session, command: AuditCommand) -> Result<(), Exit> {
    let actor = Actor::Operator(ctx.user.clone());
    match ctx.run(actor, &Command::Audit(command)) {
        Ok(_) => Ok(()),
        Err(RunError::Rejected(r)) => Err(shell.refuse(&r.message)),
        Err(RunError::Failed(f)) => Err(shell.fail(f)),
    }
}

fn setup(
    shell: &mut Shell<'_>,
    repository: &str,
    interval: Option<Option<Seconds>>,
    export: Option<&str>,
) -> Ran {
    let ctx = shell.ctx()?;
    // The log must exist before the HSM is asked for anything.
    ctx.load().map_err(|f| shell.fail(f))?;
    if ctx.conf.repository(repository).is_none() {
        let known = ctx.conf.repository_names().join(", ");
        return Err(shell.refuse(&format!(
            "Unknown repository {repository}: {} configures {}",
            ctx.conf_path.display(),
            if known.is_empty() { "none" } else { &known }
        )));
    }
    let algorithm = Algorithm::EcdsaP256Sha256;
    let mut repos = ctx.repositories();
    let store = repos
        .get(&ctx.conf, &ctx.conf_path, repository)
        .map_err(|f| shell.fail(f))?;
    let hsm = |shell: &mut Shell<'_>, e: HsmError| shell.fail(hsm_failure(&e));
    store
        .check_support(algorithm, 256)
        .map_err(|e| hsm(shell, e))?;
    let locator = store.random_locator().map_err(|e| hsm(shell, e))?;
    let public_key = store
        .generate(&locator, algorithm, 256)
        .map_err(|e| hsm(shell, e))?;
    let command = AuditCommand::Configure {
        repository: repository.to_string(),
        locator,
        algorithm: AUDIT_ALGORITHM,
        public_key,
        interval,
    };
    if let Err(e) = record(shell, &ctx, command) {
        // Not recorded: the key must not stay in the HSM unknown to the log.
        if let Ok(store) = repos.get(&ctx.conf, &ctx.conf_path, repository)
            && let Err(d) = store.destroy(&locator)
        {
            shell.err(&format!(
                "warning: could not remove the unrecorded audit key {locator}: {d}\n"
            ));
        }
        return Err(e);
    }
    shell.out(&format!(
        "Audit key {locator} (ECDSA P-256, algorithm 13) generated in repository {repository}.\n"
    ));
    if let Some(interval) = interval {
        shell.out(&format!(
            "Interval checkpoints: {}.\n",
            interval_text(interval)
        ));
    }
    let actor = Actor::Operator(ctx.user.clone());
    let signed = sign_head(&ctx, &actor, &mut repos).map_err(|f| shell.fail(f))?;
    print_signed(shell, &signed);
    if let Some(file) = export {
        drop(repos);
        export_key(shell, &ctx, file)?;
    }
    Ok(exit::OK)
}

fn set_interval(shell: &mut Shell<'_>, interval: Option<Seconds>) -> Ran {
    let ctx = shell.ctx()?;
    record(shell, &ctx, AuditCommand::SetInterval { interval })?;
    shell.out(&format!(
        "Interval checkpoints: {}.\n",
        interval_text(interval)
    ));
    Ok(exit::OK)
}

fn print_signed(shell: &mut Shell<'_>, s: &kasp_engine::audit::Signed) {
    shell.out(&format!(
        "Checkpoint at record {}: record {} (hash {}) signed with audit key {}.\n",
        s.record, s.seq, s.hash, s.locator
    ));
}

/// `log checkpoint`: signs the head now (nothing when the head is a checkpoint).
fn sign_now(shell: &mut Shell<'_>) -> Ran {
    let ctx = shell.ctx()?;
    let state = shell.state(&ctx)?;
    if state.audit.current.is_none() {
        return Err(shell.refuse(NO_AUDIT_KEY));
    }
    if let Some(c) = state.audit.last_checkpoint
        && state.last_seq == Some(c.record)
    {
        shell.out(&format!(
            "The head (record {}) is a checkpoint already; nothing to sign.\n",
            c.record
        ));
        return Ok(exit::OK);
    }
    drop(state);
    let actor = Actor::Operator(ctx.user.clone());
    let mut repos = ctx.repositories();
    let signed = sign_head(&ctx, &actor, &mut repos).map_err(|f| shell.fail(f))?;
    print_signed(shell, &signed);
    Ok(exit::OK)
}

/// `--export-key FILE`: the current audit key's public key, read from the HSM and
/// checked against the one the log recorded, written for auditors.
fn export_key(shell: &mut Shell<'_>, ctx: &Session, file: &str) -> Result<(), Exit> {
    let state = shell.state(ctx)?;
    let Some(key) = state.audit.current_key().cloned() else {
        return Err(shell.refuse(NO_AUDIT_KEY));
    };
    let instance = state
        .instance
        .ok_or_else(|| shell.fail(Failure::integrity("the log has no LogCreated record")))?;
    drop(state);
    let algorithm =
        Algorithm::from_number(key.algorithm).map_err(|e| shell.fail(hsm_failure(&e)))?;
    let mut repos = ctx.repositories();
    let store = repos
        .get(&ctx.conf, &ctx.conf_path, &key.repository)
        .map_err(|f| shell.fail(f))?;
    let public_key = store
        .public_key(&key.locator, algorithm)
        .map_err(|e| shell.fail(hsm_failure(&e)))?;
    if public_key != key.public_key {
        return Err(shell.fail(Failure::integrity(format!(
            "the public key of audit key {} in repository {} differs from the one recorded \
             in the log; nothing was exported. Run 'ods-enforcer log verify'",
            key.locator, key.repository
        ))));
    }
    let text = KeyFile {
        instance,
        repository: key.repository.clone(),
        locator: key.locator,
        algorithm: key.algorithm,
        public_key,
    }
    .render();
    // Atomically, never through a symlink planted at the path (crates/engine/src/files.rs).
    write_atomic(std::path::Path::new(file), &text, Readers::Everyone).map_err(|e| {
        let e = e.replacen("cannot write", "cannot write the audit key to", 1);
        shell.fail(Failure::env(e))
    })?;
    shell.out(&format!(
        "Audit key {} of repository {} written to {file}.\n",
        key.locator, key.repository
    ));
    Ok(())
}

/// How long an overdue interval checkpoint waits before the daemon tries again (it is
/// overdue only when the last try failed or a command appended since the last run).
const CHECKPOINT_RETRY: i64 = 60;

/// When the daemon must wake next: the next scheduled task or the next interval
/// checkpoint, whichever comes first.
pub fn next_wake(
    state: &kasp_projector::State,
    now: kasp_events::Timestamp,
) -> Option<kasp_events::Timestamp> {
    next_wake_after(super::enforce::next_task(state), state, now)
}

/// [`next_wake`] with the next task already known (the daemon keeps it while the log
/// does not change: finding it scans every zone).
pub fn next_wake_after(
    task: Option<kasp_events::Timestamp>,
    state: &kasp_projector::State,
    now: kasp_events::Timestamp,
) -> Option<kasp_events::Timestamp> {
    let checkpoint = kasp_projector::decide::audit::next_checkpoint(state).map(|t| {
        t.max(kasp_events::Timestamp(
            now.0.saturating_add(CHECKPOINT_RETRY),
        ))
    });
    match (task, checkpoint) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kasp_events::{
        AuditKeyConfigured, Checkpoint, CheckpointIntervalSet, ClockMode, Event, Hash, InstanceId,
        Locator, LogCreated, Record, Seq, Timestamp,
    };

    fn state(events: Vec<(i64, Event)>) -> kasp_projector::State {
        let mut s = kasp_projector::State::default();
        for (seq, (at, event)) in events.into_iter().enumerate() {
            s.apply(&Record {
                seq: Seq(seq as u64),
                prev: Hash::GENESIS,
                at: Timestamp(at),
                actor: Actor::System,
                cause: String::new(),
                event,
            });
        }
        s
    }

    #[test]
    fn the_daemon_wakes_for_interval_checkpoints_and_retries_overdue_ones_later() {
        let created: Event = LogCreated {
            format: 1,
            instance: InstanceId([0; 16]),
            clock: ClockMode::System,
        }
        .into();
        let key: Event = AuditKeyConfigured {
            repository: "SoftHSM".to_string(),
            locator: Locator([1; 16]),
            algorithm: 13,
            public_key: vec![4; 64],
        }
        .into();
        let every: Event = CheckpointIntervalSet {
            interval: Some(Seconds(3600)),
        }
        .into();
        let checkpoint: Event = Checkpoint {
            seq: Seq(2),
            hash: Hash([0; 32]),
            locator: Locator([1; 16]),
            signature: vec![],
        }
        .into();
        let s = state(vec![(0, created.clone()), (0, key.clone())]);
        assert_eq!(next_wake(&s, Timestamp(10)), None, "no interval");
        let s = state(vec![
            (0, created.clone()),
            (0, key.clone()),
            (100, every.clone()),
        ]);
        assert_eq!(next_wake(&s, Timestamp(200)), Some(Timestamp(3700)));
        // Overdue (the last try failed): not before a minute from now.
        assert_eq!(next_wake(&s, Timestamp(5000)), Some(Timestamp(5060)));
        let s = state(vec![
            (0, created.clone()),
            (0, key.clone()),
            (100, every.clone()),
            (200, checkpoint.clone()),
        ]);
        assert_eq!(next_wake(&s, Timestamp(300)), None, "nothing new to sign");
        let s = state(vec![
            (0, created),
            (0, key),
            (100, every.clone()),
            (200, checkpoint),
            (300, every),
        ]);
        assert_eq!(next_wake(&s, Timestamp(300)), Some(Timestamp(3800)));
    }
}

//! `log verify [--from-checkpoint] [--audit-key FILE]`: the hash chain, and every signed
//! checkpoint against a trust anchor outside the log.
//!
//! The chain alone can be recomputed by whoever can write the file; a checkpoint cannot
//! be re-signed without the audit key. So each checkpoint must (1) sign the hash that
//! the record it names still has, and (2) carry a signature that verifies with the
//! audit key — taken from the HSM by the recorded locator (and compared with the key the
//! log recorded), or from an exported key file (`--audit-key`). Without either, the
//! signatures are checked against the recorded key and a warning says they prove
//! nothing against someone who rewrote the log. Integrity failures exit 3.

use super::table::CommandSpec;
use super::{Exit, Ran, Shell};
use crate::getopt::Opt;
use kasp_engine::audit::KeyFile;
use kasp_engine::files::read_text;
use kasp_engine::{Failure, Session, exit};
use kasp_events::{
    Checkpoint, Event, EventLog, Hash, Head, InstanceId, Locator, LogError, Seq, Timestamp,
    VerifyOutcome, checkpoint_message,
};
use kasp_hsm::{Algorithm, verify_signature};
use kasp_projector::decide::audit::AuditKeyView;
use std::collections::BTreeMap;

mod anchors;
use anchors::{Anchors, Trust};

/// `log verify`.
pub fn verify(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let opts = [
        Opt::flag("from-checkpoint", 'f'),
        Opt::value("audit-key", 'k'),
    ];
    let p = shell.opts(spec, args, &opts)?;
    let file = match p.value("audit-key") {
        Some(path) => Some(read_key_file(shell, path)?),
        None => None,
    };
    let ctx = shell.ctx()?;
    let log = ctx.reader().map_err(|e| shell.fail(e))?;
    // In the daemon: the log it holds must still be the file at its path, or what it
    // verifies is not the log (and what it appends would be lost).
    log.still_at_path().map_err(|e| shell.fail(e.into()))?;
    let mut anchors = Anchors::new(&ctx, file);
    if p.has("from-checkpoint") {
        from_checkpoint(shell, &ctx, &log, &mut anchors)
    } else {
        full(shell, &log, &mut anchors)
    }
}

/// Reads `--audit-key FILE`: unreadable is exit 4, not an audit key file exit 2.
fn read_key_file(shell: &mut Shell<'_>, path: &str) -> Result<(String, KeyFile), Exit> {
    let text = read_text(std::path::Path::new(path)).map_err(|e| {
        let e = match e.strip_prefix("cannot read ") {
            Some(rest) => format!("cannot read the audit key file {rest}"),
            None => format!("cannot read the audit key file: {e}"),
        };
        shell.fail(Failure::env(e))
    })?;
    let key = KeyFile::parse(&text).map_err(|e| {
        shell.err(&format!("error: {path}: {e}\n"));
        Exit(exit::USAGE)
    })?;
    Ok((path.to_string(), key))
}

/// A checkpoint as found in the log.
struct Found {
    record: Seq,
    at: Timestamp,
    checkpoint: Checkpoint,
}

/// What was checked and what failed.
#[derive(Default)]
struct Report {
    lines: Vec<String>,
    failures: Vec<String>,
    trusts: Vec<Trust>,
    /// Checkpoints that passed.
    checked: usize,
}

/// Why a checkpoint does not vouch for the log as it is: it names a record that is not
/// before it, or one whose hash (`stored`) is no longer the one it signed.
fn anchor_failure(cp: &Found, stored: Option<Hash>) -> Option<String> {
    let c = &cp.checkpoint;
    let name = format!("checkpoint at record {}", cp.record);
    if c.seq >= cp.record {
        return Some(format!(
            "{name} signs record {}, which is not before it",
            c.seq
        ));
    }
    match stored {
        Some(h) if h == c.hash => None,
        Some(h) => Some(format!(
            "{name} signed record {} with hash {}, but record {} now hashes to {h}: records \
             up to {} were changed and the hash chain recomputed",
            c.seq, c.hash, c.seq, c.seq
        )),
        None => Some(format!("{name} signs record {}, which is missing", c.seq)),
    }
}

/// Checks one checkpoint: its key, that record `seq` still has the signed hash, and
/// the signature.
fn check_one(
    anchors: &mut Anchors<'_>,
    instance: &InstanceId,
    key: Option<&AuditKeyView>,
    stored: Option<Hash>,
    cp: &Found,
    report: &mut Report,
) {
    let c = &cp.checkpoint;
    let name = format!("checkpoint at record {}", cp.record);
    let Some(key) = key else {
        report.failures.push(format!(
            "{name} is signed with audit key {}, which the log does not configure before \
             it",
            c.locator
        ));
        return;
    };
    let mut ok = true;
    if let Some(why) = anchor_failure(cp, stored) {
        report.failures.push(why);
        return;
    }
    match anchors.resolve(key) {
        Err(why) => {
            ok = false;
            report.failures.push(format!("{name}: {why}"));
        }
        Ok((public_key, trust)) => {
            let message = checkpoint_message(instance, c.seq, &c.hash);
            let valid = Algorithm::from_number(key.algorithm)
                .map_err(|e| e.to_string())
                .and_then(|alg| {
                    verify_signature(alg, &public_key, &message, &c.signature)
                        .map_err(|e| e.to_string())
                });
            if let Err(e) = valid {
                ok = false;
                report.failures.push(format!(
                    "{name}: the signature does not verify with audit key {} ({e})",
                    c.locator
                ));
            }
            report.trusts.push(trust);
        }
    }
    if ok {
        report.checked += 1;
        report.lines.push(format!(
            "Checkpoint at record {} (signs record {}, made {}): signature valid, record {} \
             unchanged.",
            cp.record, c.seq, cp.at, c.seq
        ));
    }
}

/// Prints the outcome of the checkpoint checks; exit 3 on any failure.
fn finish(shell: &mut Shell<'_>, log: &EventLog, anchors: &Anchors<'_>, report: Report) -> Ran {
    for l in &report.lines {
        shell.out(&format!("{l}\n"));
    }
    let n = report.checked;
    if !report.trusts.is_empty() && report.failures.is_empty() {
        let anchored = report
            .trusts
            .iter()
            .filter(|t| **t != Trust::Recorded)
            .count();
        let how = match (anchored, anchors.file_path()) {
            (0, _) => "against the audit key recorded in the log only".to_string(),
            (_, Some(path)) => format!("against the audit key in {path}"),
            (_, None) => "against the audit key in the HSM".to_string(),
        };
        shell.out(&format!(
            "{n} checkpoint{} verified {how}.\n",
            if n == 1 { "" } else { "s" }
        ));
    }
    let unanchored = report.trusts.contains(&Trust::Recorded);
    if unanchored {
        for w in &anchors.warnings {
            shell.err(&format!("warning: {w}\n"));
        }
        shell.err(
            "warning: checkpoints checked only against the audit key recorded in the log \
             are NOT anchored: whoever can rewrite the log can replace that key too. Verify \
             with the HSM available, or with --audit-key FILE (from 'ods-enforcer log \
             checkpoint --export-key FILE').\n",
        );
    }
    if report.failures.is_empty() {
        return Ok(exit::OK);
    }
    shell.err(&format!(
        "Event log {} FAILED checkpoint verification:\n",
        log.path().display()
    ));
    for f in &report.failures {
        shell.err(&format!("  {f}\n"));
    }
    Err(Exit(exit::INTEGRITY))
}

/// Reports a broken chain (exit 3) or a log that could not be read.
fn chain_failed(shell: &mut Shell<'_>, log: &EventLog, e: VerifyOutcome) -> Exit {
    match e {
        VerifyOutcome::Broken(e) => {
            shell.err(&format!(
                "Event log {} FAILED verification at record {}: {}\n",
                log.path().display(),
                e.seq,
                e.reason
            ));
            Exit(exit::INTEGRITY)
        }
        VerifyOutcome::Log(e) => shell.fail(e.into()),
    }
}

/// The whole chain, then every checkpoint.
fn full(shell: &mut Shell<'_>, log: &EventLog, anchors: &mut Anchors<'_>) -> Ran {
    let head = log.verify().map_err(|e| chain_failed(shell, log, e))?;
    shell.out(&format!(
        "Event log {} verified: {} records, chain intact.\nHead: seq {} hash {}\n",
        log.path().display(),
        head.seq.0 + 1,
        head.seq,
        head.hash
    ));
    let mut hashes: Vec<Hash> = Vec::new();
    let mut instance = None;
    let mut keys: BTreeMap<Locator, AuditKeyView> = BTreeMap::new();
    let mut found: Vec<(Found, Option<AuditKeyView>)> = Vec::new();
    let walked = log.for_each(Seq(0), |s| {
        let r = s.record;
        if r.seq > head.seq {
            return Ok(());
        }
        hashes.push(s.hash);
        match r.event {
            Event::LogCreated(e) => instance = Some(e.instance),
            Event::AuditKeyConfigured(e) => {
                keys.insert(
                    e.locator,
                    AuditKeyView {
                        repository: e.repository,
                        locator: e.locator,
                        algorithm: e.algorithm,
                        public_key: e.public_key,
                        configured: r.seq,
                    },
                );
            }
            Event::Checkpoint(c) => {
                let key = keys.get(&c.locator).cloned();
                found.push((
                    Found {
                        record: r.seq,
                        at: r.at,
                        checkpoint: c,
                    },
                    key,
                ));
            }
            _ => {}
        }
        Ok::<(), LogError>(())
    });
    walked.map_err(|e| shell.fail(e.into()))?;
    let Some(instance) = instance else {
        return Err(chain_failed(
            shell,
            log,
            VerifyOutcome::Log(LogError::Corrupt {
                path: log.path().to_path_buf(),
                detail: "record 0 is not LogCreated".to_string(),
            }),
        ));
    };
    let mut report = Report::default();
    if keys.is_empty() && found.is_empty() {
        shell.out(
            "No signed checkpoints: no audit key is configured (see 'ods-enforcer log \
             checkpoint --setup').\n",
        );
    }
    check_file(anchors, &instance, &mut report);
    for key in keys.values() {
        match anchors.resolve(key) {
            Ok((_, Trust::Hsm)) => report.lines.push(format!(
                "Audit key {} (repository {}): the key recorded in the log is the key in \
                 the HSM.",
                key.locator, key.repository
            )),
            Ok((_, Trust::File)) => report.lines.push(format!(
                "Audit key {}: the key recorded in the log is the key in {}.",
                key.locator,
                anchors.file_path().unwrap_or_default()
            )),
            Ok((_, Trust::Recorded)) => {}
            Err(why) => report.failures.push(why),
        }
    }
    if !keys.is_empty() && found.is_empty() {
        report.lines.push("No checkpoints yet.".to_string());
    }
    for (cp, key) in &found {
        let stored = hashes.get(cp.checkpoint.seq.0 as usize).copied();
        check_one(anchors, &instance, key.as_ref(), stored, cp, &mut report);
    }
    if let Some((path, file)) = &anchors.file
        && !found
            .iter()
            .any(|(c, _)| c.checkpoint.locator == file.locator)
    {
        report.failures.push(format!(
            "no checkpoint in the log is signed with the audit key in {path} ({}): \
             checkpoints were removed, or re-signed with another key",
            file.locator
        ));
    }
    finish(shell, log, anchors, report)
}

/// With `--audit-key`: the file must belong to this log.
fn check_file(anchors: &Anchors<'_>, instance: &InstanceId, report: &mut Report) {
    if let Some((path, file)) = &anchors.file
        && file.instance != *instance
    {
        report.failures.push(format!(
            "the audit key in {path} belongs to log instance {}, this log is instance \
             {instance}",
            file.instance
        ));
    }
}

/// The newest checkpoint, then only the chain from the record it signed to the head.
fn from_checkpoint(
    shell: &mut Shell<'_>,
    ctx: &Session,
    log: &EventLog,
    anchors: &mut Anchors<'_>,
) -> Ran {
    let mut newest = None;
    let walked = log.for_each_rev(|s| {
        if let Event::Checkpoint(c) = s.record.event {
            newest = Some(Found {
                record: s.record.seq,
                at: s.record.at,
                checkpoint: c,
            });
            return Ok(false);
        }
        Ok::<bool, LogError>(true)
    });
    walked.map_err(|e| shell.fail(e.into()))?;
    let Some(cp) = newest else {
        shell.out("No checkpoint in the log: verifying the whole chain instead.\n");
        return full(shell, log, anchors);
    };
    let start = Head {
        seq: cp.checkpoint.seq,
        hash: cp.checkpoint.hash,
    };
    // First the record the checkpoint signed (a rewrite at or before it, with the chain
    // recomputed, shows here), then the chain from it to the head, then the key and the
    // signature (which need the audit keys of the folded log).
    let stored = log
        .record_hash(start.seq)
        .map_err(|e| shell.fail(e.into()))?;
    if let Some(why) = anchor_failure(&cp, stored) {
        let report = Report {
            failures: vec![why],
            ..Report::default()
        };
        return finish(shell, log, anchors, report);
    }
    let head = log
        .verify_tail(start)
        .map_err(|e| chain_failed(shell, log, e))?;
    let (_, state, _) = ctx.load().map_err(|f| shell.fail(f))?;
    let instance = state.instance.ok_or_else(|| {
        shell.fail(kasp_engine::Failure::integrity(
            "the log has no LogCreated record",
        ))
    })?;
    let key = state
        .audit
        .keys
        .get(&cp.checkpoint.locator)
        .filter(|k| k.configured < cp.record)
        .cloned();
    drop(state);
    let mut report = Report::default();
    check_file(anchors, &instance, &mut report);
    if let Some((path, file)) = &anchors.file
        && file.locator != cp.checkpoint.locator
    {
        report.failures.push(format!(
            "the newest checkpoint (record {}) is signed with audit key {}, not with the key \
             in {path} ({})",
            cp.record, cp.checkpoint.locator, file.locator
        ));
    }
    check_one(anchors, &instance, key.as_ref(), stored, &cp, &mut report);
    if !report.failures.is_empty() {
        return finish(shell, log, anchors, report);
    }
    shell.out(&format!(
        "Event log {} verified from the checkpoint at record {} (signs record {}, made {}): \
         records {} to {}, chain intact.\nHead: seq {} hash {}\n",
        log.path().display(),
        cp.record,
        start.seq,
        cp.at,
        start.seq,
        head.seq,
        head.seq,
        head.hash
    ));
    finish(shell, log, anchors, report)
}

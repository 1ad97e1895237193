//! The side effects of enforcer decisions, each carried out first and recorded after:
//! signconf files (written atomically, checked against signconf.rng, followed by the
//! signer notify command) → `SignconfWritten`; key material no zone uses any more
//! destroyed in the HSM → `KeyMaterialDeleted`; the automatic ds-submit / ds-retract
//! tasks running the DS hooks → `DsStateChanged` (also when no hook is configured, as
//! in OpenDNSSEC 2.1) or, when the hook failed, `DsHookFailed` with a retry time
//! (OpenDNSSEC 2.1 moves the key on regardless; see the README's differences).
//!
//! A failure leaves the state as it was (the signconf stays "needed", the material
//! "destroying", the key in submit/retract), so the next run retries it.

use crate::daemon_support::logger;
use crate::dshook::{HookOutcome, run_ds_hook};
use crate::engine::Context;
use crate::files::write_atomic;
use crate::schema::{Schema, validate};
use kasp_events::{
    DsAtParent, Event, KeyMaterialDeleted, Locator, RecordType, SignconfWritten, Timestamp,
};
use kasp_hsm::{HsmError, KeyStore};
use kasp_projector::State;
use kasp_projector::ds_tasks::{DsCommands, ds_task_events, not_configured_message};
use kasp_projector::enforcer::ds::DsHook;
use kasp_projector::state::ZoneView;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long the signer notify command may take.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);

/// The signconf XML of a zone as the state says it should be.
pub use kasp_projector::signconf::zone_signconf as signconf_text;

/// Writes the signconf of `zone` and notifies the signer; the event to record, or
/// why nothing was written.
pub fn write_signconf(state: &State, zone: &ZoneView) -> Result<Event, String> {
    write_rendered(render(state, zone)?)
}

/// A signconf rendered from the state, to be written.
struct Rendered {
    zone: kasp_events::ZoneName,
    path: String,
    text: String,
}

fn render(state: &State, zone: &ZoneView) -> Result<Rendered, String> {
    let name = &zone.config.name;
    let text = signconf_text(state, zone)
        .ok_or_else(|| format!("zone {name}: policy {} not found", zone.config.policy))?;
    Ok(Rendered {
        zone: name.clone(),
        path: zone.config.signconf_path.clone(),
        text,
    })
}

fn write_rendered(r: Rendered) -> Result<Event, String> {
    let Rendered { zone, path, text } = r;
    if let Err(errors) = validate(&text, &path, Schema::Signconf) {
        let first = errors.first().map(|e| e.to_string()).unwrap_or_default();
        return Err(format!("signconf for {zone} fails signconf.rng: {first}"));
    }
    write_atomic(Path::new(&path), &text)?;
    let notify = notify_signer(zone.as_str());
    Ok(SignconfWritten {
        zone,
        path,
        digest: blake3::hash(text.as_bytes()).to_hex().to_string(),
        notify,
    }
    .into())
}

/// How long one signconf may take to be written and announced (the notify command has
/// its own limit, [`NOTIFY_TIMEOUT`], within it).
const SIGNCONF_TIMEOUT: Duration = Duration::from_secs(60);

/// Writes the signconfs of `zones` (rendered here) on a thread of their own, so that
/// a hung file system or signer cannot hang the caller (the daemon's writer): each
/// file gets [`SIGNCONF_TIMEOUT`]; one that takes longer is reported, and it and the
/// rest are left unrecorded — still "needed", so the next run writes them again.
/// One result per zone, in order.
pub fn write_signconfs(state: &State, zones: &[&ZoneView]) -> Vec<Result<Event, String>> {
    write_signconfs_within(state, zones, SIGNCONF_TIMEOUT)
}

fn write_signconfs_within(
    state: &State,
    zones: &[&ZoneView],
    limit: Duration,
) -> Vec<Result<Event, String>> {
    let mut results: Vec<Option<Result<Event, String>>> = Vec::with_capacity(zones.len());
    let mut work = Vec::new();
    for (i, zone) in zones.iter().enumerate() {
        match render(state, zone) {
            Ok(r) => {
                results.push(None);
                work.push((i, r));
            }
            Err(e) => results.push(Some(Err(e))),
        }
    }
    if !work.is_empty() {
        let order: Vec<(usize, String)> = work.iter().map(|(i, r)| (*i, r.path.clone())).collect();
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("signconf".into())
            .spawn(move || {
                for (i, r) in work {
                    if tx.send((i, write_rendered(r))).is_err() {
                        return;
                    }
                }
            });
        match spawned {
            Err(e) => {
                for (i, _) in &order {
                    results[*i] = Some(Err(format!("cannot start the signconf writer: {e}")));
                }
            }
            Ok(_) => {
                for (i, path) in &order {
                    match rx.recv_timeout(limit) {
                        Ok((done, result)) => results[done] = Some(result),
                        Err(_) => {
                            results[*i] = Some(Err(format!(
                                "writing {path} did not finish within {} s; it and the \
                                 signconfs after it are written again by the next run",
                                limit.as_secs()
                            )));
                            break;
                        }
                    }
                }
            }
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("not written: an earlier signconf timed out".into())))
        .collect()
}

/// `ods-signer update <zone>` (the program is looked up on PATH; environment
/// variable `KASP_SIGNER_COMMAND` names another one), with a time limit.
pub fn notify_signer(zone: &str) -> Result<(), String> {
    let program = std::env::var("KASP_SIGNER_COMMAND").unwrap_or_else(|_| "ods-signer".into());
    let mut child = Command::new(&program)
        .arg("update")
        .arg(zone)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {program}: {}", crate::files::io_text(&e)))?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("{program} update {zone}: {status}")),
            Ok(None) if start.elapsed() > NOTIFY_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{program} update {zone}: timed out"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("{program}: {e}")),
        }
    }
}

/// Destroys the material enforcer runs marked for destruction; the event for what
/// the HSM removed, and the failures.
pub fn destroy_material(ctx: &Context, state: &State) -> (Option<Event>, Vec<String>) {
    destroy(ctx, state, state.pool.destroying())
}

/// Destroys every unused material in DELETE state (`key purge --delete`).
pub fn destroy_now(ctx: &Context, state: &State) -> (Option<Event>, Vec<String>) {
    let mut all = state.pool.destroying();
    all.extend(state.pool.deletable().into_iter().map(|k| k.locator));
    destroy(ctx, state, all)
}

fn destroy(ctx: &Context, state: &State, locators: Vec<Locator>) -> (Option<Event>, Vec<String>) {
    let mut repos = crate::keygen::RepoRef::new(ctx);
    let mut done = Vec::new();
    let mut errors = Vec::new();
    for locator in locators {
        let Some(key) = state.pool.keys.get(&locator) else {
            continue;
        };
        let result = repos
            .get(ctx, &key.spec.repository)
            .map_err(|f| f.message)
            .and_then(|hsm| match hsm.destroy(&locator) {
                // Already gone: an earlier run destroyed it and was interrupted before
                // it could record that. Destroying is idempotent; record it now.
                Err(HsmError::KeyNotFound { .. }) => Ok(()),
                other => other.map_err(|e| e.to_string()),
            });
        match result {
            Ok(()) => done.push(locator),
            Err(e) => errors.push(format!("cannot delete key {locator} from the HSM: {e}")),
        }
    }
    let event = (!done.is_empty()).then(|| KeyMaterialDeleted { locators: done }.into());
    (event, errors)
}

/// The configured command of a DS hook and the word conf.xml names it by
/// (`DelegationSigner<Submit|Retract>Command`).
pub fn hook_config(ctx: &Context, hook: DsHook) -> (Option<&str>, &'static str) {
    match hook {
        DsHook::Submit => (ctx.conf.enforcer.ds_submit_command.as_deref(), "Submit"),
        DsHook::Retract => (ctx.conf.enforcer.ds_retract_command.as_deref(), "Retract"),
    }
}

/// The automatic ds-submit / ds-retract tasks of every zone with keys in SUBMIT or
/// RETRACT (the projector's `due_for_parent`) whose retry time has come, each hook run
/// for real. A hook that is not configured or fails is logged at error as 2.1.12's
/// `exec_dnskey_by_id` does (`[keystate_ds_x_cmd] No "DelegationSignersubmitCommand"
/// configured.`); the first moves the key on all the same (`ds_task_events`).
pub fn ds_tasks(ctx: &Context, state: &State, now: Timestamp) -> Vec<Event> {
    let commands = DsCommands {
        submit: ctx.conf.enforcer.ds_submit_command.as_deref(),
        retract: ctx.conf.enforcer.ds_retract_command.as_deref(),
    };
    let events = ds_task_events(state, now, commands, |h| {
        match run_hook(state, h.zone, h.key, h.command) {
            HookOutcome::Ok => None,
            HookOutcome::NotConfigured => Some(not_configured_message(h.hook)),
            HookOutcome::Failed { reason } => Some(reason),
        }
    });
    for event in &events {
        match event {
            Event::DsStateChanged(e) if e.hook.is_none() => {
                let hook = match e.to {
                    DsAtParent::Retracted => DsHook::Retract,
                    _ => DsHook::Submit,
                };
                log_hook_error(&not_configured_message(hook));
            }
            Event::DsHookFailed(e) => log_hook_error(&e.message),
            _ => {}
        }
    }
    events
}

/// Logs a DS hook problem as 2.1.12's `ods_log_error_and_printf` does from
/// `keystate_ds.c` (module `keystate_ds_x_cmd`, level error). Only the daemon's logger
/// writes it (a daemonless command's logger is not set up).
pub fn log_hook_error(message: &str) {
    logger::error(&format!("[keystate_ds_x_cmd] {message}"));
}

/// Runs a DS hook for one key of `zone` (its DNSKEY with the DNSKEY record's TTL).
pub fn run_hook(
    state: &State,
    zone: &ZoneView,
    key: &kasp_projector::enforcer::model::KeyModel,
    command: Option<&str>,
) -> HookOutcome {
    let Some(material) = key.hsm.and_then(|h| state.pool.by_id(h.0)) else {
        return HookOutcome::Failed {
            reason: format!("key {} has no key material", key.id),
        };
    };
    let owner = format!("{}.", zone.config.name.as_str().trim_end_matches('.'));
    run_ds_hook(
        command,
        &owner,
        key.records.get(RecordType::Dnskey).ttl.0,
        key.algorithm,
        &material.public_key,
        &material.locator,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use kasp_events::{PolicyCreated, ZoneAdded};
    use kasp_projector::testgen::{policy, zn, zone};

    /// A state with the stock `default` policy and zones writing into `dir`.
    fn state(dir: &Path, names: &[&str]) -> State {
        let mut s = State::default();
        let created = PolicyCreated {
            policy: policy("default"),
        };
        s.apply_event(&created.into(), Timestamp(1));
        for name in names {
            let mut config = zone(name, "default");
            config.signconf_path = dir.join(format!("{name}.xml")).display().to_string();
            let added = ZoneAdded {
                zone: config,
                suspended: false,
            };
            s.apply_event(&added.into(), Timestamp(2));
        }
        s
    }

    #[test]
    fn a_hung_signconf_write_is_reported_not_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let s = state(dir.path(), &["a.test", "b.test"]);
        let zones: Vec<&ZoneView> = ["a.test", "b.test"]
            .iter()
            .map(|n| s.zone(&zn(n)).unwrap())
            .collect();
        // Both written when nothing hangs (the notify fails: no signer here).
        let done = write_signconfs_within(&s, &zones, Duration::from_secs(30));
        assert!(done.iter().all(|r| r.is_ok()), "{done:?}");
        // A FIFO where the first write's temporary file goes: opening it for writing
        // blocks until someone reads, as a hung file system would.
        let fifo = dir
            .path()
            .join(format!(".a.test.xml.{}.tmp", std::process::id()));
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo on a NUL-terminated path we own.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let done = write_signconfs_within(&s, &zones, Duration::from_millis(300));
        match &done[..] {
            [Err(a), Err(b)] => {
                assert!(a.contains("did not finish within"), "{a}");
                assert!(b.contains("not written"), "{b}");
            }
            other => panic!("{other:?}"),
        }
        // Let the abandoned writer go (it reads the FIFO's other end).
        let _ = std::fs::File::open(&fifo);
    }
}

//! Signconf files as the real world writes them (kasp_projector::scheduler plans them,
//! crates/engine/src/world.rs carries them out): written atomically, checked against
//! signconf.rng, followed by the signer notify command, off the caller's thread with a
//! time limit. A failure leaves the zone's signconf "needed", so the next run retries it.

use crate::files::{Readers, write_atomic};
use crate::schema::{Schema, validate};
use kasp_events::{Event, SignconfWritten};
use kasp_projector::State;
use kasp_projector::scheduler::SignconfFile;
use kasp_projector::state::ZoneView;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long the signer notify command may take.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);

/// The signconf XML of a zone as the state says it should be.
pub use kasp_projector::formats::signconf::zone_signconf as signconf_text;

/// Writes the signconf of `zone` and notifies the signer; the event to record, or
/// why nothing was written.
pub fn write_signconf(state: &State, zone: &ZoneView) -> Result<Event, String> {
    write_file(render(state, zone)?).map(Event::from)
}

fn render(state: &State, zone: &ZoneView) -> Result<SignconfFile, String> {
    let name = &zone.config.name;
    let text = signconf_text(state, zone)
        .ok_or_else(|| format!("zone {name}: policy {} not found", zone.config.policy))?;
    Ok(SignconfFile {
        zone: name.clone(),
        path: zone.config.signconf_path.clone(),
        text,
    })
}

fn write_file(file: SignconfFile) -> Result<SignconfWritten, String> {
    let SignconfFile { zone, path, text } = file;
    if let Err(errors) = validate(&text, &path, Schema::Signconf) {
        let first = errors.first().map(|e| e.to_string()).unwrap_or_default();
        return Err(format!("signconf for {zone} fails signconf.rng: {first}"));
    }
    let previous = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
    write_atomic(Path::new(&path), &text, Readers::Everyone)?;
    if let Some(previous) = previous {
        newer_than(Path::new(&path), previous)?;
    }
    let notify = notify_signer(zone.as_str());
    Ok(SignconfWritten {
        zone,
        path,
        digest: blake3::hash(text.as_bytes()).to_hex().to_string(),
        notify,
    })
}

/// Makes the modification time of the file at `path`, just written, later than
/// `previous` (the one it replaced) in whole seconds: `ods-signerd` 2.1.12 reads a
/// signconf again on `update` only when its modification time, in seconds, is newer than
/// the one it read last (signconf_update in the signer's signconf.c), so a signconf
/// rewritten within the second of the previous write would be ignored.
fn newer_than(path: &Path, previous: std::time::SystemTime) -> Result<(), String> {
    use std::time::{Duration, UNIX_EPOCH};
    let seconds =
        |t: std::time::SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let fail = |e: std::io::Error| format!("cannot set the time of {}: {e}", path.display());
    let file = std::fs::File::options()
        .write(true)
        .open(path)
        .map_err(fail)?;
    let written = file.metadata().and_then(|m| m.modified()).map_err(fail)?;
    if seconds(written) <= seconds(previous) {
        let later = UNIX_EPOCH + Duration::from_secs(seconds(previous) + 1);
        file.set_modified(later).map_err(fail)?;
    }
    Ok(())
}

/// How long one signconf may take to be written and announced (the notify command has
/// its own limit, [`NOTIFY_TIMEOUT`], within it).
const SIGNCONF_TIMEOUT: Duration = Duration::from_secs(60);

/// Writes signconf `files` on threads of their own ([`crate::effect_pool`]: in order,
/// one at a time while each finishes promptly, the next beside a slow one, at most
/// [`crate::effect_pool::WORKERS`] at once, files of one path one after another), so
/// that a hung file system or signer cannot hang the caller (the daemon's writer) nor
/// hold up the other zones: when no file is done for [`SIGNCONF_TIMEOUT`], the ones
/// still being written are reported, and they and those not yet started are left
/// unrecorded — still "needed", so the next run writes them again. One result per file,
/// in order.
pub fn write_signconfs(files: Vec<SignconfFile>) -> Vec<Result<SignconfWritten, String>> {
    write_signconfs_within(files, SIGNCONF_TIMEOUT, write_file)
}

/// [`write_signconfs`] with another limit and the function writing each file.
fn write_signconfs_within(
    files: Vec<SignconfFile>,
    limit: Duration,
    write: fn(SignconfFile) -> Result<SignconfWritten, String>,
) -> Vec<Result<SignconfWritten, String>> {
    use crate::effect_pool::{self, Outcome};
    let paths: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
    let groups = effect_pool::grouped(files, |f| f.path.clone());
    let outcomes = effect_pool::run("signconf", groups, paths.len(), Some(limit), write);
    let stuck = outcomes.iter().any(|o| matches!(o, Outcome::Stuck));
    outcomes
        .into_iter()
        .zip(&paths)
        .map(|(outcome, path)| match outcome {
            Outcome::Done(result) => result,
            Outcome::Stuck => Err(format!(
                "writing {path} did not finish within {} s; it is written again by the \
                 next run",
                limit.as_secs()
            )),
            Outcome::NotStarted if stuck => {
                Err("not written: another signconf timed out; written by the next run".into())
            }
            Outcome::NotStarted => Err("cannot start the signconf writer".into()),
        })
        .collect()
}

/// `ods-signer update <zone>` (the program is looked up on PATH; environment
/// variable `KASP_SIGNER_COMMAND` names another one), with a time limit.
pub fn notify_signer(zone: &str) -> Result<(), String> {
    let program = std::env::var("KASP_SIGNER_COMMAND").unwrap_or_else(|_| "ods-signer".into());
    // A process group of its own: a timeout kills whatever it started as well.
    let mut child = Command::new(&program)
        .arg("update")
        .arg(zone)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run {program}: {}", crate::files::io_text(&e)))?;
    match crate::dshook::wait_until(&mut child, Instant::now() + NOTIFY_TIMEOUT) {
        Ok(Some(status)) if status.success() => Ok(()),
        Ok(Some(status)) => Err(format!("{program} update {zone}: {status}")),
        Ok(None) => {
            crate::dshook::kill_group(&mut child);
            Err(format!("{program} update {zone}: timed out"))
        }
        Err(e) => {
            crate::dshook::kill_group(&mut child);
            Err(format!("{program}: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kasp_events::{PolicyCreated, Timestamp, ZoneAdded};
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
    fn a_signconf_rewritten_within_a_second_is_dated_a_second_later() {
        let dir = tempfile::tempdir().unwrap();
        let s = state(dir.path(), &["a.test"]);
        let file = || render(&s, s.zone(&zn("a.test")).unwrap()).unwrap();
        let path = dir.path().join("a.test.xml");
        let seconds = || {
            std::fs::metadata(&path)
                .unwrap()
                .modified()
                .unwrap()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        };
        let mut last = None;
        for _ in 0..3 {
            write_file(file()).unwrap();
            let now = seconds();
            if let Some(before) = last {
                assert!(now > before, "{now} after {before}");
            }
            last = Some(now);
        }
    }

    #[test]
    fn a_hung_signconf_write_is_reported_not_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let s = state(dir.path(), &["a.test", "b.test"]);
        let files = || -> Vec<SignconfFile> {
            ["a.test", "b.test"]
                .iter()
                .map(|n| render(&s, s.zone(&zn(n)).unwrap()).unwrap())
                .collect()
        };
        // Both written when nothing hangs (the notify fails: no signer here).
        let done = write_signconfs_within(files(), Duration::from_secs(30), write_file);
        assert!(done.iter().all(|r| r.is_ok()), "{done:?}");
        // A writer that first opens `<path>.fifo` for reading: where that is a FIFO,
        // the open blocks until someone writes, as a hung file system would.
        fn hanging(file: SignconfFile) -> Result<SignconfWritten, String> {
            let _ = std::fs::File::open(format!("{}.fifo", file.path));
            write_file(file)
        }
        // Removed, so that its reappearance says the abandoned writer is done (below).
        std::fs::remove_file(dir.path().join("a.test.xml")).unwrap();
        let fifo = dir.path().join("a.test.xml.fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo on a NUL-terminated path we own.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // The limit leaves b.test's write time enough on a loaded machine.
        let done = write_signconfs_within(files(), Duration::from_secs(5), hanging);
        // The hung file is reported; the other zone's is written all the same.
        match &done[..] {
            [Err(a), Ok(b)] => {
                assert!(a.contains("did not finish within"), "{a}");
                assert_eq!(b.zone.as_str(), "b.test");
            }
            other => panic!("{other:?}"),
        }
        // Let the abandoned writer go (it waits for the FIFO's other end), and wait until it
        // has validated and written a.test's file: a thread still inside libxml2 when the
        // test process exits meets libxml2's own clean-up at exit (a segmentation fault).
        let _ = std::fs::OpenOptions::new().write(true).open(&fifo);
        let written = dir.path().join("a.test.xml");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !written.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(written.exists(), "the abandoned writer never finished");
    }
}

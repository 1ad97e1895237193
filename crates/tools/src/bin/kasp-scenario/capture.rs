//! The raw captures (shared/conformance/README.md): one `raw/NNN/` per step with
//! step.txt, cmd.txt, rc.txt, out.txt, then the state after the step — queue.txt and
//! now.txt (the enforcer's clock from `queue`), the four `key list` variants,
//! rollover.txt, copies of the signconfs, signconf-other.txt, zonelist.xml (only while
//! it differs from the initial one) and the cumulative signer and DS hook logs. Also
//! keeps the key names for placeholders and the rows of steps.tsv.

use crate::ids::{IdMap, parse_verbose_p};
use crate::sandbox::Sandbox;
use anyhow::{Context as _, Result, bail};
use std::fs;
use std::path::{Path, PathBuf};

/// At most this many steps: `raw/NNN` has three digits, four from step 1000 on
/// (normalize.py orders them by number).
const MAX_STEPS: u32 = 10_000;

/// The state captures after every step: file name and `ods-enforcer` arguments.
const CAPTURES: [(&str, &[&str]); 5] = [
    ("keys-verbose.txt", &["key", "list", "--verbose"]),
    (
        "keys-verbose-p.txt",
        &["key", "list", "--verbose", "--parsable"],
    ),
    ("keys-debug.txt", &["key", "list", "--debug"]),
    (
        "keys-debug-p.txt",
        &["key", "list", "--debug", "--parsable"],
    ),
    ("rollover.txt", &["rollover", "list"]),
];

/// The sandbox logs copied (cumulatively) into every step.
const LOGS: [&str; 2] = ["signer-calls.log", "ds-calls.log"];

/// Writes the steps and remembers what later steps need.
#[derive(Debug)]
pub struct Recorder {
    raw: PathBuf,
    next: u32,
    /// Key names seen so far (placeholders).
    pub ids: IdMap,
    /// The enforcer's clock after the last step.
    now: i64,
    /// When the next task is due, after the last step (`None`: no task or no queue).
    next_task: Option<i64>,
    queue_warned: bool,
    last_dir: Option<PathBuf>,
    steps_tsv: String,
}

impl Recorder {
    /// A recorder writing into `<outdir>/raw/`, the clock starting at `start`.
    pub fn new(outdir: &Path, start: i64) -> Result<Recorder> {
        let raw = outdir.join("raw");
        fs::create_dir_all(&raw).with_context(|| format!("cannot create {}", raw.display()))?;
        Ok(Recorder {
            raw,
            next: 0,
            ids: IdMap::default(),
            now: start,
            next_task: None,
            queue_warned: false,
            last_dir: None,
            steps_tsv: "step\tnow\trc\tline\n".to_string(),
        })
    }

    /// The enforcer's clock after the last step.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// When the next task is due after the last step.
    pub fn next_task(&self) -> Option<i64> {
        self.next_task
    }

    /// `key list --verbose` after the last step.
    pub fn last_keys_verbose_path(&self) -> Option<PathBuf> {
        self.last_dir.as_ref().map(|d| d.join("keys-verbose.txt"))
    }

    /// `key list --verbose` after the last step ("" before the first).
    pub fn last_keys_verbose(&self) -> String {
        self.last_keys_verbose_path()
            .and_then(|p| fs::read_to_string(p).ok())
            .unwrap_or_default()
    }

    /// The rows of steps.tsv so far.
    pub fn steps_tsv(&self) -> &str {
        &self.steps_tsv
    }

    /// Records one step: `act` writes the step's output into the file it is given and
    /// returns the exit code; then the state is captured. Returns the step number and
    /// exit code.
    pub fn step(
        &mut self,
        sb: &Sandbox,
        step_line: &str,
        cmd: &str,
        act: impl FnOnce(&Path) -> Result<i32>,
    ) -> Result<(String, i32)> {
        if self.next >= MAX_STEPS {
            bail!("more than {MAX_STEPS} steps: raw/NNN holds no more");
        }
        let nnn = format!("{:03}", self.next);
        self.next += 1;
        let dir = self.raw.join(&nnn);
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        fs::write(dir.join("step.txt"), format!("{step_line}\n"))?;
        fs::write(dir.join("cmd.txt"), format!("{cmd}\n"))?;
        let out = dir.join("out.txt");
        let rc = act(&out)?;
        if !out.exists() {
            fs::write(&out, "")?;
        }
        fs::write(dir.join("rc.txt"), format!("{rc}\n"))?;
        self.capture(sb, &dir)?;
        self.steps_tsv
            .push_str(&format!("{nnn}\t{}\t{rc}\t{step_line}\n", self.now));
        self.last_dir = Some(dir);
        Ok((nnn, rc))
    }

    /// The state after a step.
    fn capture(&mut self, sb: &Sandbox, dir: &Path) -> Result<()> {
        let queue = dir.join("queue.txt");
        sb.run(&["queue"], &queue, false)?;
        self.read_queue(&fs::read_to_string(&queue).unwrap_or_default());
        fs::write(dir.join("now.txt"), format!("{}\n", self.now))?;
        for (file, args) in CAPTURES {
            sb.run(args, &dir.join(file), false)?;
        }
        copy_signconfs(&sb.path("signconf"), dir)?;
        let zonelist = fs::read_to_string(sb.path("zonelist.xml")).unwrap_or_default();
        if zonelist != crate::sandbox::INITIAL_ZONELIST {
            fs::write(dir.join("zonelist.xml"), zonelist)?;
        }
        for log in LOGS {
            fs::write(dir.join(log), fs::read(sb.path(log)).unwrap_or_default())?;
        }
        let keys = fs::read_to_string(dir.join("keys-verbose-p.txt")).unwrap_or_default();
        self.ids.feed(&parse_verbose_p(&keys));
        Ok(())
    }

    /// Takes the clock and the next task from `queue` output; an unreadable queue keeps
    /// the clock where it was (with one warning) and means "no task".
    fn read_queue(&mut self, text: &str) {
        let (now, next) = parse_queue(text);
        match now {
            Some(now) => self.now = now,
            None if !self.queue_warned => {
                self.queue_warned = true;
                eprintln!(
                    "kasp-scenario: warning: `ods-enforcer queue` printed no clock; \
                     now.txt keeps the last known time"
                );
            }
            None => {}
        }
        self.next_task = next;
    }
}

/// `It is now <ctime> (<epoch> seconds since epoch)` and `Next task scheduled <ctime>
/// (<epoch> seconds since epoch)` of `queue` output.
pub fn parse_queue(text: &str) -> (Option<i64>, Option<i64>) {
    let find = |prefix: &str| {
        text.lines()
            .map(str::trim_start)
            .filter(|l| l.starts_with(prefix))
            .find_map(epoch_in)
    };
    (find("It is now"), find("Next task scheduled"))
}

/// The `<epoch>` of `… (<epoch> seconds since epoch)`.
fn epoch_in(line: &str) -> Option<i64> {
    let head = line.trim_end().strip_suffix(" seconds since epoch)")?;
    let open = head.rfind('(')?;
    head[open + 1..].trim().parse().ok()
}

/// Copies `*.xml` of the sandbox signconf dir into `<dir>/signconf/` and lists the other
/// files in `<dir>/signconf-other.txt` (each only when there are any).
fn copy_signconfs(from: &Path, dir: &Path) -> Result<()> {
    let mut names: Vec<String> = fs::read_dir(from)
        .with_context(|| format!("cannot read {}", from.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let (xml, other): (Vec<String>, Vec<String>) =
        names.into_iter().partition(|n| n.ends_with(".xml"));
    if !xml.is_empty() {
        fs::create_dir_all(dir.join("signconf"))?;
        for n in &xml {
            fs::copy(from.join(n), dir.join("signconf").join(n))
                .with_context(|| format!("cannot copy signconf {n}"))?;
        }
    }
    if !other.is_empty() {
        fs::write(dir.join("signconf-other.txt"), other.join("\n") + "\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_output() {
        let q = "All worker threads idle.\nThere are 2 tasks scheduled.\n\
                 It is now Thu Jan  2 12:00:00 2025 (1735819200 seconds since epoch)\n\
                 Next task scheduled Tue Apr  1 00:00:00 2025 (1743465600 seconds since epoch)\n\
                 On Tue Apr  1 00:00:00 2025 I will enforce zone example.com\n";
        assert_eq!(parse_queue(q), (Some(1_735_819_200), Some(1_743_465_600)));
        let none = "There are no tasks scheduled.\n\
                    It is now       Thu Jan  2 12:00:00 2025 (1735819200 seconds since epoch)\n";
        assert_eq!(parse_queue(none), (Some(1_735_819_200), None));
        assert_eq!(
            parse_queue("error: 'queue' is not available yet in kasp-ledger\n"),
            (None, None)
        );
    }
}

//! Recorded histories (`fixtures/histories/`): event logs kept as test fixtures, and
//! the sidecar file that holds the inputs of the enforcer's decisions the log itself
//! does not hold.
//!
//! A history is `<name>.redb`, a copy of a finished log (the file format is stable and
//! versioned), and `<name>.inputs`: lines of a key and its values, separated by tabs
//! (shown here as spaces), `#` comments:
//!
//! ```text
//! source                 fixtures/conformance/scenarios/b-ksk-rollover.scn
//! recorded-by            kasp-ledger 0.1.0 (git 827c1d6)
//! rollover-notification  0
//! worker-threads         1
//! head                   63  <blake3 hash of record 63>
//! ```
//!
//! `rollover-notification` is conf.xml's `Enforcer/RolloverNotification` in seconds and
//! `worker-threads` its `Enforcer/WorkerThreads`, the conf.xml settings `plan` reads
//! ([`PlanConf`]); a history without `worker-threads` was recorded when every key
//! generation was queued as with one worker thread, and reads as 1. `head` is the last record
//! when the history was recorded. The test `tests/histories` re-derives every recorded
//! decision from these. A recorded history is never regenerated to make a test pass:
//! [`record`] refuses to overwrite one.

use kasp_events::{Access, EventLog, Head};

use kasp_projector::scheduler::plan::PlanConf;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The sidecar of a recorded history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// What the history was recorded from (a scenario file, a random run's settings).
    pub source: String,
    /// The program and commit that recorded it.
    pub recorded_by: String,
    /// The conf.xml settings `plan` read while the log was written.
    pub conf: PlanConf,
    /// The log's last record (seq, hash as hex) when recorded.
    pub head: (u64, String),
}

impl Inputs {
    /// The sidecar text.
    pub fn render(&self) -> String {
        let mut s = String::from(
            "# Inputs of a recorded history that its log does not hold (see\n\
             # fixtures/histories/README.md). Never edited, never regenerated.\n",
        );
        let _ = writeln!(s, "source\t{}", self.source);
        let _ = writeln!(s, "recorded-by\t{}", self.recorded_by);
        let _ = writeln!(
            s,
            "rollover-notification\t{}",
            self.conf.rollover_notification.0
        );
        let _ = writeln!(s, "worker-threads\t{}", self.conf.worker_threads);
        let _ = writeln!(s, "head\t{}\t{}", self.head.0, self.head.1);
        s
    }

    /// Parses a sidecar; `Err` names the first bad line.
    pub fn parse(text: &str) -> Result<Inputs, String> {
        let (mut source, mut recorded_by, mut rn, mut head) = (None, None, None, None);
        let mut workers = 1;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = || format!("line {}: cannot read '{line}'", i + 1);
            let (key, value) = line.split_once('\t').ok_or_else(bad)?;
            match key {
                "source" => source = Some(value.to_string()),
                "recorded-by" => recorded_by = Some(value.to_string()),
                "rollover-notification" => {
                    rn = Some(value.parse::<u32>().map_err(|_| bad())?);
                }
                "worker-threads" => {
                    workers = value.parse::<u32>().map_err(|_| bad())?;
                }
                "head" => {
                    let (seq, hash) = value.split_once('\t').ok_or_else(bad)?;
                    head = Some((seq.parse::<u64>().map_err(|_| bad())?, hash.to_string()));
                }
                _ => return Err(format!("line {}: unknown key '{key}'", i + 1)),
            }
        }
        let missing = |k: &str| format!("no '{k}' line");
        Ok(Inputs {
            source: source.ok_or_else(|| missing("source"))?,
            recorded_by: recorded_by.ok_or_else(|| missing("recorded-by"))?,
            conf: PlanConf {
                rollover_notification: kasp_events::Seconds(
                    rn.ok_or_else(|| missing("rollover-notification"))?,
                ),
                worker_threads: workers,
            },
            head: head.ok_or_else(|| missing("head"))?,
        })
    }
}

/// The sidecar path of a history: `<name>.inputs` next to `<name>.redb`.
pub fn inputs_path(log: &Path) -> PathBuf {
    log.with_extension("inputs")
}

/// Copies the finished log `from` to `to` (`<name>.redb`) and writes its sidecar.
/// Refuses when either file exists: recorded histories are never regenerated.
pub fn record(from: &Path, to: &Path, source: &str, conf: PlanConf) -> Result<Head, String> {
    let sidecar = inputs_path(to);
    for p in [to, sidecar.as_path()] {
        if p.exists() {
            return Err(format!(
                "{} exists: recorded histories are never regenerated; record under a new name",
                p.display()
            ));
        }
    }
    let log = EventLog::open(from, Access::ReadOnly).map_err(|e| e.to_string())?;
    let head = log
        .verify()
        .map_err(|e| format!("{}: {e}", from.display()))?;
    drop(log);
    std::fs::copy(from, to).map_err(|e| format!("cannot copy to {}: {e}", to.display()))?;
    let copy = EventLog::open(to, Access::ReadOnly).map_err(|e| e.to_string())?;
    if copy
        .verify()
        .map_err(|e| format!("{}: {e}", to.display()))?
        != head
    {
        return Err(format!("{}: the copy has another head", to.display()));
    }
    drop(copy);
    let inputs = Inputs {
        source: source.to_string(),
        recorded_by: recorded_by(),
        conf,
        head: (head.seq.0, head.hash.to_string()),
    };
    std::fs::write(&sidecar, inputs.render())
        .map_err(|e| format!("cannot write {}: {e}", sidecar.display()))?;
    Ok(head)
}

/// `kasp-ledger <version> (git <commit>)`, the commit of the source tree if git knows it.
fn recorded_by() -> String {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    format!("kasp-ledger {} (git {commit})", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_round_trip() {
        let i = Inputs {
            source: "fixtures/conformance/scenarios/b-ksk-rollover.scn".into(),
            recorded_by: "kasp-ledger 0.1.0 (git abc)".into(),
            conf: PlanConf {
                rollover_notification: kasp_events::Seconds(86400),
                worker_threads: 4,
            },
            head: (63, "ab".repeat(32)),
        };
        assert_eq!(Inputs::parse(&i.render()), Ok(i.clone()));
        // Histories recorded before `worker-threads` queued every generation as with
        // one worker thread.
        let old: String = i
            .render()
            .lines()
            .filter(|l| !l.starts_with("worker-threads"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(Inputs::parse(&old).map(|o| o.conf.worker_threads), Ok(1));
        assert!(
            Inputs::parse("source\tx\n")
                .unwrap_err()
                .contains("recorded-by")
        );
        assert!(
            Inputs::parse("bogus line\n")
                .unwrap_err()
                .contains("line 1")
        );
    }
}

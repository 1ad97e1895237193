//! Corners where kasp-ledger once decided differently from OpenDNSSEC 2.1.12: each folder
//! of fixtures/conformance/corners holds a minimized scenario (`scenario.scn` and its kasp
//! files) and `golden/trace.txt`, captured from the real OpenDNSSEC twice with identical
//! results (`scripts/differential capture`). The scenario is run with this build's
//! binaries and compared in every category kasp-ledger can be compared in — commands,
//! exit codes and clock (STEP), command output (OUT), signer calls (NOTIFY), DS hook
//! calls (DSCALL), `key list` and `rollover list` (KEY, ROLL), the task queue in order
//! (TASK), signconf files (SIGNCONF, SIGNCONF_OTHER) and the signer's zone list
//! (ZONELIST) — the same lines `scripts/differential compare` compares.

use crate::conformance::{first_difference, repo, run_scenario_file};

/// The lines of a trace.txt that are compared (see the module text).
fn compared(trace: &str) -> Vec<&str> {
    const TAGS: [&str; 9] = [
        "OUT",
        "NOTIFY",
        "DSCALL",
        "KEY",
        "ROLL",
        "TASK",
        "SIGNCONF",
        "SIGNCONF_OTHER",
        "ZONELIST",
    ];
    trace
        .lines()
        .filter(|l| {
            l.starts_with("STEP ")
                || l.strip_prefix("  ")
                    .and_then(|r| r.split_once(' '))
                    .is_some_and(|(tag, _)| TAGS.contains(&tag))
        })
        .collect()
}

/// Runs the corner `name` and compares it with its golden trace. `diverges_at`: for a
/// documented difference (README, "Differences from OpenDNSSEC"), the first golden line
/// it changes; everything before must be equal and the traces must differ exactly there.
fn corner_until(name: &str, diverges_at: Option<&str>) {
    let dir = repo().join("fixtures/conformance/corners").join(name);
    let golden_path = dir.join("golden/trace.txt");
    let golden = std::fs::read_to_string(&golden_path)
        .unwrap_or_else(|e| panic!("{}: {e}", golden_path.display()));
    let (out, runner, ok) = run_scenario_file(&dir.join("scenario.scn"));
    let ours = std::fs::read_to_string(out.path().join("trace.txt"))
        .unwrap_or_else(|e| panic!("{name}: no trace.txt ({e}); {runner}"));
    let (g, o) = (compared(&golden), compared(&ours));
    assert!(
        g.iter().any(|l| l.starts_with("STEP ")),
        "{name}: the golden trace has no steps"
    );
    match diverges_at {
        None => {
            if let Some(hunk) = first_difference(&g, &o) {
                panic!(
                    "{name}: differs from OpenDNSSEC 2.1.12 (- golden, + ours)\n{hunk}\n{runner}"
                );
            }
        }
        Some(line) => {
            let i = g.iter().zip(&o).take_while(|(x, y)| x == y).count();
            assert_eq!(
                g.get(i).copied(),
                Some(line),
                "{name}: the traces should agree up to the documented difference\n{}",
                first_difference(&g, &o).unwrap_or_default()
            );
        }
    }
    assert!(ok, "{name}: traces compared, but {runner}");
}

fn corner(name: &str) {
    corner_until(name, None);
}

#[test]
fn compared_lines_are_the_categories_and_steps() {
    let trace = "# header\nSTEP 000 t=T+0 rc=0 cmd=policy import\n  OUT 000 x\n  KEYDB a\n  TASK T+1 enforce z\n  ZONE z\n  SIGNCONF_OTHER -\n";
    assert_eq!(
        compared(trace),
        [
            "STEP 000 t=T+0 rc=0 cmd=policy import",
            "  OUT 000 x",
            "  TASK T+1 enforce z",
            "  SIGNCONF_OTHER -"
        ]
    );
}

/// `time leap` says "There are 1 tasks scheduled." (`queue`: "There is 1 task
/// scheduled."); automatic key generation is not printed by the command.
#[test]
fn f1_time_leap_task_count() {
    corner("F1-time-leap-task-count");
}

/// `restart-at` is one restart with the clock set to that time: the daemon's start-up
/// (`ods-enforcerd -d -1 --set-time`) enforces every zone once, due or not, whatever was
/// due before; compound times (`+2d30s`, `+P2DT3H30M`).
#[test]
fn d1_restart_at_double_run() {
    corner("D1-restart-at-double-run");
}

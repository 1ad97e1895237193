//! Conformance with OpenDNSSEC 2.1.12: each scenario of fixtures/conformance/scenarios
//! is run by `scripts/run-scenario` (with the binaries cargo built for this test) and
//! its trace-cli.txt must equal fixtures/conformance/golden/<scenario>/trace-cli.txt,
//! the `#` header lines aside. A failure shows the first differing lines as a
//! unified-style hunk.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Lines of context around a difference.
const CONTEXT: usize = 3;
/// How far ahead the diff looks for the two traces to agree again.
const RESYNC_WINDOW: usize = 120;
/// At most this many lines per side in a hunk.
const MAX_HUNK_LINES: usize = 40;

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs one scenario of fixtures/conformance/scenarios and compares its trace with the
/// golden one.
fn conformance(name: &str) {
    let ours = run_scenario("scenarios", name);
    compare(name, &ours, "golden", None);
}

/// Runs one scenario of fixtures/conformance/scenarios-extra (goldens captured from
/// OpenDNSSEC 2.1.12 by fixtures/conformance/oracle, scenarios the 8 shared goldens do
/// not cover) and compares its trace with its golden one.
fn extra(name: &str) {
    let ours = run_scenario("scenarios-extra", name);
    compare(name, &ours, "golden-extra", None);
}

/// A scenario of fixtures/conformance/scenarios-more (a second set captured with the
/// oracle: CSK rolls, explicit DS commands, RolloverNotification, passthrough and
/// suspended zones, no purge, resalting, policy-wide rollover, three shared-key zones,
/// TTL changes).
fn more(name: &str) {
    let ours = run_scenario("scenarios-more", name);
    compare(name, &ours, "golden-more", None);
}

/// Runs a scenario; returns its trace-cli.txt, the runner's report and whether the runner
/// succeeded.
fn run_scenario(dir: &str, name: &str) -> (String, String, bool) {
    let scenario = repo().join(format!("fixtures/conformance/{dir}/{name}.scn"));
    let (out, runner, ok) = run_scenario_file(&scenario);
    let ours = std::fs::read_to_string(out.path().join("trace-cli.txt"))
        .unwrap_or_else(|e| panic!("{name}: no trace-cli.txt ({e}); {runner}"));
    (ours, runner, ok)
}

/// Runs a scenario file with this build's binaries into a temporary directory; returns
/// the directory (trace.txt, trace-cli.txt, raw/), the runner's report and whether the
/// runner succeeded.
pub(crate) fn run_scenario_file(scenario: &Path) -> (tempfile::TempDir, String, bool) {
    let out = tempfile::tempdir().expect("tempdir");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_kasp-scenario"))
        .parent()
        .expect("binary directory");
    // ods-enforcer and ods-enforcerd are kasp-cli's binaries, built into the same
    // directory (tests/tools.rs says how).
    for product in ["ods-enforcer", "ods-enforcerd"] {
        assert!(
            bin_dir.join(product).is_file(),
            "ods-enforcer, ods-enforcerd and kasp-scenario must be in one directory \
             (KASP_BIN_DIR): no {product} in {}; run `cargo test --workspace`, or \
             `cargo build --locked --bin ods-enforcer --bin ods-enforcerd` first",
            bin_dir.display()
        );
    }
    let run = Command::new(repo().join("scripts/run-scenario"))
        .env("KASP_BIN_DIR", bin_dir)
        .arg(scenario)
        .arg(out.path())
        .output()
        .expect("run scripts/run-scenario");
    let runner = format!(
        "runner exit {:?}, stderr:\n{}",
        run.status.code(),
        String::from_utf8_lossy(&run.stderr)
    );
    let ok = run.status.success();
    (out, runner, ok)
}

/// Compares a trace with the golden one. `diverges_at`: the first golden line that a
/// deliberate difference changes (everything before it must be equal, and the traces
/// must differ exactly there).
fn compare(
    name: &str,
    (ours, runner, ok): &(String, String, bool),
    golden: &str,
    diverges_at: Option<&str>,
) {
    let golden_path = repo().join(format!(
        "fixtures/conformance/{golden}/{name}/trace-cli.txt"
    ));
    let golden = std::fs::read_to_string(&golden_path)
        .unwrap_or_else(|e| panic!("{}: {e}", golden_path.display()));
    let (g, o) = (body(&golden), body(ours));
    compare_lines(
        name,
        "trace-cli.txt differs from the golden one (- golden, + ours; line numbers without the # header)",
        &g,
        &o,
        diverges_at,
        runner,
    );
    assert!(*ok, "{name}: traces compared, but {runner}");
}
/// Compares the lines of a golden trace (`g`) with ours (`o`). `diverges_at`: the first
/// golden line a documented difference changes — everything before it must be equal,
/// and the traces must differ exactly there; `None`: equal throughout (else panics with
/// `what`, the first difference and the runner's report).
pub(crate) fn compare_lines(
    name: &str,
    what: &str,
    g: &[&str],
    o: &[&str],
    diverges_at: Option<&str>,
    runner: &str,
) {
    match diverges_at {
        None => {
            if let Some(hunk) = first_difference(g, o) {
                panic!("{name}: {what}\n{hunk}\n{runner}");
            }
        }
        Some(line) => {
            let i = g.iter().zip(o).take_while(|(x, y)| x == y).count();
            assert_eq!(
                g.get(i).copied(),
                Some(line),
                "{name}: the traces should agree up to the documented difference\n{}",
                first_difference(g, o).unwrap_or_default()
            );
        }
    }
}

/// The trace without its `#` header lines.
fn body(trace: &str) -> Vec<&str> {
    trace.lines().filter(|l| !l.starts_with('#')).collect()
}

/// The first place where `a` and `b` differ, as a unified-style hunk; `None` when equal.
fn first_difference(a: &[&str], b: &[&str]) -> Option<String> {
    let i = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    if i == a.len() && i == b.len() {
        return None;
    }
    let (p, q) = resync(a, b, i).unwrap_or((
        (a.len() - i).min(MAX_HUNK_LINES),
        (b.len() - i).min(MAX_HUNK_LINES),
    ));
    let from = i.saturating_sub(CONTEXT);
    let after = (a.len() - i - p).min(b.len() - i - q).min(CONTEXT);
    let mut hunk = format!(
        "@@ -{},{} +{},{} @@\n",
        from + 1,
        i - from + p + after,
        from + 1,
        i - from + q + after
    );
    let mut push = |mark: char, lines: &[&str]| {
        for l in lines.iter().take(MAX_HUNK_LINES) {
            hunk.push(mark);
            hunk.push_str(l);
            hunk.push('\n');
        }
        if lines.len() > MAX_HUNK_LINES {
            hunk.push_str(&format!("{mark}… {} more\n", lines.len() - MAX_HUNK_LINES));
        }
    };
    push(' ', &a[from..i]);
    push('-', &a[i..i + p]);
    push('+', &b[i..i + q]);
    push(' ', &a[i + p..i + p + after]);
    Some(hunk)
}

/// The fewest lines (p of `a`, q of `b`) to skip from `i` so that the rest agrees for
/// [`CONTEXT`] lines (or to both ends).
fn resync(a: &[&str], b: &[&str], i: usize) -> Option<(usize, usize)> {
    (1..=RESYNC_WINDOW).find_map(|d| {
        (0..=d)
            .map(|p| (p, d - p))
            .find(|&(p, q)| match (a.get(i + p..), b.get(i + q..)) {
                (Some(ra), Some(rb)) => {
                    let n = ra.len().min(rb.len()).min(CONTEXT);
                    (n > 0 || (ra.is_empty() && rb.is_empty())) && ra[..n] == rb[..n]
                }
                _ => false,
            })
    })
}

#[test]
fn the_diff_shows_the_first_difference() {
    let a = ["S 1", "K a", "K b", "S 2", "K c", "S 3"];
    let b = ["S 1", "K a", "K x", "S 2", "K c", "S 3"];
    assert_eq!(first_difference(&a, &a), None);
    assert_eq!(
        first_difference(&a, &b).unwrap(),
        "@@ -1,6 +1,6 @@\n S 1\n K a\n-K b\n+K x\n S 2\n K c\n S 3\n"
    );
    assert_eq!(
        first_difference(&a, &a[..4]).unwrap(),
        "@@ -2,5 +2,3 @@\n K a\n K b\n S 2\n-K c\n-S 3\n"
    );
}

#[test]
fn a_default_zsk_rollover() {
    conformance("a-default-zsk-rollover");
}

#[test]
fn b_ksk_rollover() {
    conformance("b-ksk-rollover");
}

#[test]
fn c_manual_zsk_rollover() {
    conformance("c-manual-zsk-rollover");
}

#[test]
fn d_lab_nsec() {
    conformance("d-lab-nsec");
}

#[test]
fn e_csk_prepublication() {
    conformance("e-csk-prepublication");
}

#[test]
fn f_shared_keys() {
    conformance("f-shared-keys");
}

#[test]
fn g_zone_delete() {
    conformance("g-zone-delete");
}

#[test]
fn h_ecdsa_doublesig() {
    conformance("h-ecdsa-doublesig");
}

#[test]
fn i_auto_ds_ksk_rollover() {
    extra("i-auto-ds-ksk-rollover");
}

#[test]
fn j_policy_change() {
    extra("j-policy-change");
}

/// After the `policy import` that brings ECDSA keys, 2.1.12's key-generation tasks
/// replace each other in its queue: the zone runs before the generation of every
/// policy (its name sorts first), finds no key for the new ZSK and KSK and schedules a
/// generation for each, of which only the KSK's is left; the new ZSK waits for the
/// zone's 60-second retry.
#[test]
fn k_algorithm_rollover() {
    extra("k-algorithm-rollover");
}

#[test]
fn l_zonelist() {
    extra("l-zonelist");
}

#[test]
fn m_manual_keygen() {
    extra("m-manual-keygen");
}

#[test]
fn n_manual_rollover() {
    extra("n-manual-rollover");
}

#[test]
fn o_csk_doublesig() {
    more("o-csk-doublesig");
}

#[test]
fn p_csk_manual_doubleds() {
    more("p-csk-manual-doubleds");
}

#[test]
fn q_explicit_ds() {
    more("q-explicit-ds");
}

#[test]
fn r_rollover_notification() {
    more("r-rollover-notification");
}

#[test]
fn s_passthrough_suspend() {
    more("s-passthrough-suspend");
}

#[test]
fn t_no_purge() {
    more("t-no-purge");
}

#[test]
fn u_resalt() {
    more("u-resalt");
}

#[test]
fn w_shared_three() {
    more("w-shared-three");
}

#[test]
fn x_ttl_change() {
    more("x-ttl-change");
}

/// `key rollover --policy multi --keytype KSK` on three zones with one spare KSK:
/// the first zone takes it, the others find none, and the generation their runs
/// schedule (replacing each other in 2.1.12's one queue slot) re-runs them at once.
#[test]
fn v_policy_rollover() {
    more("v-policy-rollover");
}

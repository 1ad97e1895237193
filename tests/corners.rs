//! Corners where kasp-ledger once decided differently from OpenDNSSEC 2.1.12: each folder
//! of fixtures/conformance/corners holds a minimized scenario (`scenario.scn` and its kasp
//! files) and `golden/trace.txt`, captured from the real OpenDNSSEC twice with identical
//! results (`scripts/differential capture`). The scenario is run with this build's
//! binaries and compared in every category kasp-ledger can be compared in — commands,
//! exit codes and clock (STEP), command output (OUT), signer calls (NOTIFY), DS hook
//! calls (DSCALL), `key list` and `rollover list` (KEY, ROLL), the task queue in order
//! (TASK), signconf files (SIGNCONF, SIGNCONF_OTHER) and the signer's zone list
//! (ZONELIST) — the same lines `scripts/differential compare` compares.

use crate::conformance::{compare_lines, repo, run_scenario_file};

/// The lines of a trace.txt that are compared (see the module text).
pub(crate) fn compared(trace: &str) -> Vec<&str> {
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
    compare_lines(
        name,
        "differs from OpenDNSSEC 2.1.12 (- golden, + ours)",
        &g,
        &o,
        diverges_at,
        &runner,
    );
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

/// `key ds-seen --all` after a run at the same second that left the zone's next change
/// at -1: the `--all` form only flushes the zones, it does not set `next_change = 0`,
/// so `key list` still shows `-` (only `--zone` and the DS tasks reset it).
#[test]
fn f4_ds_seen_next_change() {
    corner("F4-ds-seen-next-change");
}

/// The list form of `key ds-seen` / `ds-gone` / `ds-submit` / `ds-retract` (no
/// `--zone`/`--all`) returns 0, so it still flushes every zone's enforce task.
#[test]
fn f7_bare_ds_list_runs_enforce() {
    corner("F7-bare-ds-list-runs-enforce");
}

/// No DS submit/retract command configured (`#@conf-remove`, see
/// fixtures/conformance/corners/README.md): the DS tasks mark the DS submitted and
/// retracted anyway, so `key ds-seen` / `key ds-gone` find the keys.
#[test]
fn f13_no_ds_commands() {
    corner("F13-no-ds-commands");
}

/// After a `policy import` that changes both key algorithms, 2.1.12 stores the new KSK
/// and ZSK in reverse file order: the zone added next gets its ZSK first, and `key
/// list` shows it first.
#[test]
fn f8_key_order_after_policy_change() {
    corner("F8-key-order-after-policy-change");
}

/// A short key pool: zone add tops up its policy's pool, each run schedules a key
/// generation for the last key it took or missed (one queue slot), and a zone that
/// found no key runs again at once after the generation its run scheduled.
#[test]
fn k1_short_key_pool_generation_queue() {
    corner("K1-short-key-pool-generation-queue");
}

/// Documented difference (README, "Differences from OpenDNSSEC", `WorkerThreads`): with
/// `WorkerThreads` 0, 2.1.12 runs no task on its own — the key generation and resalts
/// of the policy import and the zone's enforce wait in its queue until `time leap
/// --attach` performs them, one "Leaping to time" line per task. kasp-ledger's daemon
/// holds them too on a log that may leap (tests/upstream.rs runs OpenDNSSEC's tests that
/// rely on it), but scenarios run daemonless, and daemonless commands run what is due
/// as with one worker. The first line this changes is the queue after the import, which
/// holds 2.1.12's waiting key generation.
#[test]
fn w0_worker_threads_zero() {
    corner_until(
        "W0-worker-threads-zero",
        Some("  TASK T+0 hsmkeygen hsm_key_factory_schedule_generation"),
    );
}

/// Zones due at the same second run in name order (z1 before z2, whatever order they
/// were added in): z1's run deletes the released key material of the deleted z3 and
/// retries 60 s later, z2's runs normally; the queue lists them in that order too.
#[test]
fn f2_equal_time_run_order() {
    corner("F2-equal-time-run-order");
}

/// `key purge` leaves the signconf alone (its purged key stays listed with no role),
/// and neither the run that then deletes the key's material from the HSM (ending early,
/// retry 60 s later) nor the retry writes one when nothing else changed.
#[test]
fn f3_signconf_on_hsm_delete_run() {
    corner("F3-signconf-on-hsm-delete-run");
}

/// `zonelist import --remove-missing-zones` moving one zone to another policy and
/// removing another: of the flushed zones the first by name deletes the removed zone's
/// key material and retries 60 s later, the other (added first, untouched) runs
/// normally; the removed zone's enforce task stays queued, and `time leap` stops at it.
#[test]
fn i10_zonelist_remove_moved_zone() {
    corner("I10-zonelist-remove-moved-zone");
}

/// `restart-at` is one restart with the clock set to that time: the daemon's start-up
/// (`ods-enforcerd -d -1 --set-time`) enforces every zone once, due or not, whatever was
/// due before; compound times (`+2d30s`, `+P2DT3H30M`).
#[test]
fn d1_restart_at_double_run() {
    corner("D1-restart-at-double-run");
}

/// ShareKeys + Purge, two zones: the run that purges z1's old ZSK (its material still
/// used by z3) and introduces ZSK3. OpenDNSSEC leaves ZSK3's publish and active flags at
/// 0 until its next record transition, a documented difference (README, "Differences
/// from OpenDNSSEC"): kasp-ledger publishes and signs with the key from the run that
/// calls it rumoured.
#[test]
fn f5_sharekeys_purge_new_key_flags() {
    corner_until(
        "F5-sharekeys-purge-new-key-flags",
        Some(
            "  KEY z1.example ZSK3 role=ZSK alg=15 bits=256 state=ready DS=NA DNSKEY=rumoured RRSIGDNSKEY=NA RRSIG=rumoured pub=0 act=0 next=T+5492799",
        ),
    );
}

/// The number of the first step of `trace` with a line for which `is` holds.
fn first_step(trace: &str, is: impl Fn(&str) -> bool) -> Option<String> {
    let mut step = None;
    for line in trace.lines() {
        if let Some(rest) = line.strip_prefix("STEP ") {
            step = rest.split(' ').next().map(str::to_string);
        } else if is(line) {
            return step;
        }
    }
    None
}

/// Why F5 is kept different: in OpenDNSSEC's run (the golden) the state calls z1's new
/// ZSK3 DNSKEY and signatures rumoured at step 011, but the signconf of that run and the
/// next names ZSK3 with neither `publish` nor `zsk`; the signer first publishes and signs
/// with it at step 013, the very run that declares its signatures omnipresent — the
/// propagation time the state machine waited for ran while nothing was published. In
/// kasp-ledger the signconf publishes and signs with the key from the run that calls it
/// rumoured.
#[test]
fn f5_opendnssec_declares_signatures_propagated_that_the_signer_never_made() {
    let name = "F5-sharekeys-purge-new-key-flags";
    let dir = repo().join("fixtures/conformance/corners").join(name);
    let golden = std::fs::read_to_string(dir.join("golden/trace.txt")).expect("golden");
    let zsk3 = |record: &'static str| {
        move |l: &str| l.starts_with("  KEY z1.example ZSK3 ") && l.contains(record)
    };
    let signs = |l: &str| l.starts_with("  SIGNCONF z1.example ") && l.contains(",ZSK3/256/15/zsk");
    let publishes = |l: &str| {
        l.starts_with("  SIGNCONF z1.example ")
            && l.split(',')
                .any(|k| k.starts_with("ZSK3/") && k.contains("publish"))
    };
    let step = |trace: &str, is: &dyn Fn(&str) -> bool| first_step(trace, is);
    assert_eq!(
        step(&golden, &zsk3(" DNSKEY=rumoured ")).as_deref(),
        Some("011")
    );
    assert_eq!(
        step(&golden, &zsk3(" RRSIG=rumoured ")).as_deref(),
        Some("011")
    );
    assert_eq!(step(&golden, &publishes).as_deref(), Some("013"));
    assert_eq!(step(&golden, &signs).as_deref(), Some("013"));
    assert_eq!(
        step(&golden, &zsk3(" RRSIG=omnipresent ")).as_deref(),
        Some("013")
    );

    let (out, runner, ok) = run_scenario_file(&dir.join("scenario.scn"));
    assert!(ok, "{name}: {runner}");
    let ours = std::fs::read_to_string(out.path().join("trace.txt")).expect("trace.txt");
    assert_eq!(
        step(&ours, &zsk3(" RRSIG=rumoured ")).as_deref(),
        Some("011")
    );
    assert_eq!(step(&ours, &publishes).as_deref(), Some("011"));
    assert_eq!(step(&ours, &signs).as_deref(), Some("011"));
    assert_eq!(
        step(&ours, &zsk3(" RRSIG=omnipresent ")).as_deref(),
        Some("013")
    );
}

/// ShareKeys: a zone added while the other zones use both the old and the new material
/// gets the newest material, and of material generated in the same second the first
/// generated (getLastReusableKey); here both ZSKs were generated together at T+0.
#[test]
fn f6_sharekeys_material_choice() {
    corner("F6-sharekeys-material-choice");
}

/// A `policy import` that only adds a policy still writes every zone's signconf again
/// and notifies the signer.
#[test]
fn f9_policy_import_notify() {
    corner("F9-policy-import-notify");
}

/// The list form of a DS command (found by the differential fuzzer, seed 45): `key
/// ds-seen --all` changes a key of z4.example, just moved to a KSK+ZSK policy whose pool
/// holds a ZSK but no KSK. 2.1.12 flushes each changed key's zone and then every zone; its
/// idle worker runs z4.example at once (ZSK taken, no KSK: +60 s), again in the flush of
/// every zone, and once more after the KSK generation that run scheduled: z4.example ends
/// the command with its KSK, and one signconf.
#[test]
fn f10_ds_all_first_zone_at_once() {
    corner("F10-ds-all-first-zone-at-once");
}

/// `policy import --remove-missing-policies` refuses to delete a policy no zone uses while
/// key material of it is still held ("there are still hsm keys using this policy!", exit
/// 1 with the database help); `policy purge` deletes it.
#[test]
fn f11_policy_delete_with_hsm_keys() {
    corner("F11-policy-delete-with-hsm-keys");
}

/// Documented difference (README, "Differences from OpenDNSSEC", a DS command racing its
/// own flush; found by the differential fuzzer, seed 210): `key ds-seen --all` changing
/// two KSKs of one zone. 2.1.12's worker runs the zone as soon as the command flushes it
/// after the first key, so the command's write of the second key fails ("Error writing to
/// database", exit 12) and that key's DS, which the operator said is seen, stays waiting
/// for ds-seen (the golden shows it); kasp-ledger changes every key and exits 0.
#[test]
fn f12_ds_all_write_race() {
    corner_until(
        "F12-ds-all-write-race",
        Some("STEP 017 t=T+1476000 rc=12 cmd=key ds-seen --all"),
    );
}

/// `key ds-seen --zone Z --keytag T` moving one key (found by the differential fuzzer,
/// seed 279): 2.1.12 flushes Z, writes Z's next change (the zone form), then flushes every
/// zone; its idle worker runs Z during that write. Z's first run deletes the material of
/// a zone deleted at the same second and ends early (+60 s); the flush of every zone runs
/// it again and it goes on, its next change hours later. One key moved by `--all` has
/// nothing to write between the flushes and runs once (F10's seed 230 in the fuzzer's
/// runs).
#[test]
fn f14_ds_seen_zone_runs_first() {
    corner("F14-ds-seen-zone-runs-first");
}

/// `policy import --remove-missing-policies` that cannot delete a policy in use: exit 1
/// with the database help text, stderr before stdout (OpenDNSSEC's client buffers a
/// redirected stdout), every signconf written and notified, and, as a policy was
/// updated, every zone enforced by the key generation the import scheduled.
#[test]
fn f9_policy_import_in_use() {
    corner("F9-policy-import-in-use");
}

/// After a `policy import` that changes the CSK algorithm (found by the differential
/// fuzzer, seed 2): zones whose names sort after 2.1.12's key-generation task run after
/// it, and their signconf tasks wait with them, so each zone's signconf is written and
/// the signer notified once, with the new key.
#[test]
fn p1_policy_import_signconf_once() {
    corner("P1-policy-import-signconf-once");
}

/// A policy's resalt due at the same second as its zones' enforce tasks runs among them
/// in owner-name order (a.example, p0, z.example): a.example writes its signconf and
/// notifies the signer before the resalt, which writes it once more with the new salt;
/// z.example, after the resalt, writes once. The same at a start-up (`restart-at`) with
/// the resalt and the zones' runs overdue: all are queued at that moment.
#[test]
fn t1_resalt_task_owner_order() {
    corner("T1-resalt-task-owner-order");
}

/// A KSK rollover swapping the DS in one run: each zone's ds-retract task (old KSK) runs
/// before its ds-submit task (new KSK), zone by zone.
#[test]
fn t2_ds_retract_before_submit() {
    corner("T2-ds-retract-before-submit");
}

/// `time leap --time` before the clock leaps to the first task, as 2.1.12 does with every
/// `--time`.
#[test]
fn t3_time_leap_before_the_clock() {
    corner("T3-time-leap-before-the-clock");
}

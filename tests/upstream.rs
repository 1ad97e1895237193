//! OpenDNSSEC's own enforcer tests (fixtures/upstream-tests: testing/test-cases.d/enforcer.*
//! of 2.1.12 with their framework) run on this build's `ods-enforcer` and `ods-enforcerd`
//! by `scripts/upstream-tests`, each in its own mount and PID namespaces. Here: the tests
//! that pass on OpenDNSSEC 2.1.12 and on kasp-ledger today, and those that 2.1.12 itself
//! fails, which must stop where 2.1.12 stops; each checked against the committed results,
//! fixtures/upstream-tests/expected.tsv. The whole suite on both
//! enforcers: `scripts/upstream-tests --check fixtures/upstream-tests/expected.tsv`; the
//! table is in TESTING.md, "OpenDNSSEC's own test suite".
//!
//! Needs root (namespaces) and the packages scripts/deps.sh installs; not root, each test
//! fails and says so (a test never passes without running).

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs upstream test `name` on kasp-ledger (its log made by `setup --testing`, OpenDNSSEC's
/// clock) and checks the result against expected.tsv.
fn upstream(name: &str) {
    let impl_ = "kasp";
    // SAFETY: geteuid has no preconditions and cannot fail.
    assert!(
        unsafe { libc::geteuid() } == 0,
        "upstream::{name}: needs root (scripts/upstream-tests makes mount and PID namespaces); \
         run the test suite as root"
    );
    let repo = repo();
    let expected = repo.join("fixtures/upstream-tests/expected.tsv");
    let listed = std::fs::read_to_string(&expected)
        .unwrap_or_else(|e| panic!("{}: {e}", expected.display()))
        .lines()
        .any(|l| l.starts_with(&format!("enforcer.{name}\t{impl_}\t")));
    assert!(
        listed,
        "enforcer.{name} on {impl_} is not in {}",
        expected.display()
    );
    let out = tempfile::tempdir().expect("tempdir");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_ods-enforcer"))
        .parent()
        .expect("the binaries' directory");
    let run = Command::new(repo.join("scripts/upstream-tests"))
        .args([
            "--impl",
            impl_,
            "--jobs",
            "1",
            "--timeout",
            "900",
            "--check",
        ])
        .arg(&expected)
        .arg("--out")
        .arg(out.path())
        .arg(name)
        .env("KASP_BIN_DIR", bin_dir)
        .output()
        .expect("scripts/upstream-tests");
    let stdout = String::from_utf8_lossy(&run.stdout);
    if !run.status.success() {
        let log =
            std::fs::read_to_string(out.path().join(impl_).join(format!("enforcer.{name}.out")))
                .unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(60).collect();
        panic!(
            "upstream test enforcer.{name} on {impl_}: not as expected\n{stdout}{}\n\
             --- the test's last lines:\n{}",
            String::from_utf8_lossy(&run.stderr),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
}

// Each test's cost on a 2-core machine is in its comment (measured with two tests at once).

/// About 35 s: the DS submit command of conf.xml run for a new KSK, then `key ds-seen`.
#[test]
fn conf_dssubmit_good() {
    upstream("conf.dssubmit_good");
}

/// About 15 s: three zones with their own keys and three sharing them, all enforced at
/// the daemon's start with `WorkerThreads` 4: no key is given to two zones, the shared
/// zones share theirs, 12 keys in the HSM (every key generation a run schedules is
/// carried out, as 2.1.12's idle workers do).
#[test]
fn keys_allocation() {
    upstream("keys.allocation");
}

/// About 6.5 minutes (mostly the framework's waits for an idle enforcer): the keys
/// generated for zones added one by one on six policies (same and different algorithms,
/// standby keys, shared keys), `WorkerThreads` 4; the HSM's key count after each part.
#[test]
fn keys_generate() {
    upstream("keys.generate");
}

/// About 25 s: two zones share keys; a KSK rollover of one.
#[test]
fn keys_shared() {
    upstream("keys.shared");
}

/// About 35 s: policy import/export/purge, invalid kasp.xml.
#[test]
fn ods_enforcer_policy() {
    upstream("ods-enforcer.policy");
}

/// About 70 s: `ods-enforcer update` reloads the daemon; a zone added to it, then leaps
/// over 25 days.
#[test]
fn ods_enforcer_update_ok() {
    upstream("ods-enforcer.update_ok");
}

/// About 70 s: zones added and deleted one by one and through zonelist.xml imports; the
/// internal zone list's exports and their log lines.
#[test]
fn ods_enforcer_zones_and_zonelist() {
    upstream("ods-enforcer.zones_and_zonelist");
}

/// About 20 s: two zones on two policies, their signconf values.
#[test]
fn policy_dual_policy_check() {
    upstream("policy.dual_policy_check");
}

/// About 50 s: a TTL lowered mid-way, over time leaps.
#[test]
fn policy_ttl_change() {
    upstream("policy.ttl_change");
}

/// About 90 s: automatic KSK and ZSK rollovers over time leaps, the DS seen by `key ds-seen`.
#[test]
fn rollover_automatic_rollover() {
    upstream("rollover.automatic_rollover");
}

/// About 35 s: `key ds-seen` on a KSK waiting for it, over time leaps.
#[test]
fn rollover_dsseen_good() {
    upstream("rollover.dsseen_good");
}

/// About 20 s, `WorkerThreads` 0: the tasks wait for `time leap --attach`; an algorithm
/// change through a restart (which forgets the leapt time) and a policy import.
#[test]
fn policy_algorithm_change() {
    upstream("policy.algorithm_change");
}

/// About 25 s, `WorkerThreads` 0: six zones on four policies leapt through 30 steps with
/// `ds-seen`/`ds-gone --all`; stops at step 30 as 2.1.12 does (expected.tsv), every step
/// before it equal to the test's gold files made by OpenDNSSEC.
#[test]
fn timeleap_mongrel() {
    upstream("timeleap.mongrel");
}

/// About 20 s, `WorkerThreads` 0: KSK and ZSK rollovers over many leaps; stops at LINE 385
/// (the old KSK's purge) as 2.1.12 does (expected.tsv).
#[test]
fn keys_rollovers_many_timeleap() {
    upstream("keys.rollovers_many_timeleap");
}

/// About 100 s: zones deleted with their keys, shared and not.
#[test]
fn zones_delete_with_keys() {
    upstream("zones.delete_with_keys");
}

/// About 5 minutes (mostly the framework's waits for an idle enforcer): manual ZSK and KSK
/// rollovers (`key rollover --zone`), then both keys at once, over time leaps.
#[test]
fn rollover_manual_rollover() {
    upstream("rollover.manual_rollover");
}

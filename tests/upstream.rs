//! OpenDNSSEC's own enforcer tests (fixtures/upstream-tests: testing/test-cases.d/enforcer.*
//! of 2.1.12 with their framework) run on this build's `ods-enforcer` and `ods-enforcerd`
//! by `scripts/upstream-tests`, each in its own mount and PID namespaces. Here: the tests
//! that pass on OpenDNSSEC 2.1.12 and on kasp-ledger today, each checked against the
//! committed results, fixtures/upstream-tests/expected.tsv. The whole suite on both
//! enforcers: `scripts/upstream-tests --impl all` (about 25 minutes with `--jobs 4`); the
//! table is in fixtures/upstream-tests/README.md.
//!
//! Needs root (namespaces) and the packages scripts/deps.sh installs; not root, each test
//! fails and says so (a test never passes without running).

use std::path::Path;
use std::process::Command;

use crate::conformance::repo;

/// Runs upstream test `name` on kasp-ledger (`impl_`: "kasp", its log on the system clock,
/// or "kasp-sim", on a simulated clock) and checks the result against expected.tsv.
fn upstream(name: &str, impl_: &str) {
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

// Each test's cost on a 2-core machine is in its comment.

/// About 30 s: two zones share keys; a KSK rollover of one.
#[test]
fn keys_shared() {
    upstream("keys.shared", "kasp");
}

/// About 40 s: policy import/export/purge, invalid kasp.xml.
#[test]
fn ods_enforcer_policy() {
    upstream("ods-enforcer.policy", "kasp");
}

/// About 30 s: two zones on two policies, their signconf values.
#[test]
fn policy_dual_policy_check() {
    upstream("policy.dual_policy_check", "kasp");
}

/// About 150 s: shared and non-shared keys allocated to six zones.
#[test]
fn keys_allocation() {
    upstream("keys.allocation", "kasp");
}

/// About 100 s: a TTL lowered mid-way (time leaps: on a simulated clock until `time leap`
/// runs on a daemon following the system clock).
#[test]
fn policy_ttl_change() {
    upstream("policy.ttl_change", "kasp-sim");
}

/// About 6 minutes (mostly the framework's waits for an idle enforcer): a zone added to a
/// running enforcer, then leaps over 25 days (simulated clock, as `policy_ttl_change`).
#[test]
fn ods_enforcer_update_ok() {
    upstream("ods-enforcer.update_ok", "kasp-sim");
}

/// About 4 minutes: zones deleted with their keys, shared and not (simulated clock, as
/// `policy_ttl_change`).
#[test]
fn zones_delete_with_keys() {
    upstream("zones.delete_with_keys", "kasp-sim");
}

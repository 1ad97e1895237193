//! Same future: a captured OpenDNSSEC 2.1.12 installation (fixtures/ods-import) taken over
//! by `setup --import-ods` makes the decisions OpenDNSSEC makes continuing from its own
//! database. Each scenario of fixtures/ods-import/future starts from one installation
//! (`#@installation`, crates/tools/src/scenario.rs): its golden trace is OpenDNSSEC's run
//! from the database (fixtures/conformance/oracle/run-oracle), and this build's run from
//! the imported log must give the same lines in every compared category (tests/corners.rs:
//! commands, exit codes and clock, command output, signer and DS hook calls, `key list`,
//! `rollover list`, the task queue, signconfs and the signer's zone list).

use crate::conformance::{compare_lines, repo, run_scenario_file};
use crate::corners::compared;

fn future(name: &str) {
    future_until(name, None);
}

/// [`future`] for an installation on which a documented difference (README, "Differences
/// from OpenDNSSEC") shows: the traces agree up to `diverges_at`, the first golden line it
/// changes.
fn future_until(name: &str, diverges_at: Option<&str>) {
    let dir = repo().join("fixtures/ods-import/future");
    let golden_path = dir.join(format!("golden/{name}/trace.txt"));
    let golden = std::fs::read_to_string(&golden_path)
        .unwrap_or_else(|e| panic!("{}: {e}", golden_path.display()));
    let (out, runner, ok) = run_scenario_file(&dir.join(format!("{name}.scn")));
    let ours = std::fs::read_to_string(out.path().join("trace.txt"))
        .unwrap_or_else(|e| panic!("{name}: no trace.txt ({e}); {runner}"));
    let (g, o) = (compared(&golden), compared(&ours));
    assert!(
        g.iter().filter(|l| l.starts_with("STEP ")).count() > 10,
        "{name}: the golden trace has too few steps"
    );
    compare_lines(
        name,
        "differs from OpenDNSSEC 2.1.12 continuing from its database (- golden, + ours)",
        &g,
        &o,
        diverges_at,
        &runner,
    );
    assert!(ok, "{name}: traces compared, but {runner}");
}

/// Every scenario of fixtures/ods-import/future has a test here and a golden trace.
#[test]
fn every_installation_has_its_future() {
    let dir = repo().join("fixtures/ods-import/future");
    let this = std::fs::read_to_string(repo().join("tests/ods_futures.rs")).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "scn") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        assert!(
            this.contains(&format!("future(\"{name}\")"))
                || this.contains(&format!("\"{name}\",\n")),
            "{name}: no test runs it"
        );
        assert!(
            dir.join(format!("golden/{name}/trace.txt")).is_file(),
            "{name}: no golden trace"
        );
    }
}

#[test]
fn steady() {
    future("01-steady");
}

#[test]
fn zsk_prepublication() {
    future("02-zsk-prepublication");
}

/// The same installation continued for a whole simulated year (691 steps).
#[test]
fn zsk_prepublication_for_a_year() {
    future("02-zsk-prepublication-year");
}

#[test]
fn ksk_doubleds_waiting_for_ds_seen() {
    future("03-ksk-doubleds-ds-seen");
}

#[test]
fn ksk_doubleds_waiting_for_ds_gone() {
    future("04-ksk-doubleds-ds-gone");
}

#[test]
fn csk_rollover() {
    future("05-csk-rollover");
}

#[test]
fn several_zones_on_several_policies() {
    future("06-several-zones");
}

#[test]
fn manual_rollover_requested() {
    future("07-manual-rollover-requested");
}

#[test]
fn deleted_zone_keys_awaiting_deletion() {
    future("08-deleted-zone");
}

#[test]
fn nsec3_salt() {
    future("09-nsec3-salt");
}

/// ShareKeys with Purge: the run that purges a zone's old KSK, whose material the other
/// zone still uses, and introduces the next one. OpenDNSSEC leaves the new key's publish
/// and active flags at 0 until its next record transition; kasp-ledger publishes and
/// signs with it from the run that makes it rumoured (README, "Differences from
/// OpenDNSSEC"; the corner tests/corners.rs `f5_sharekeys_purge_new_key_flags`).
#[test]
fn shared_keys() {
    future_until(
        "10-shared-keys",
        Some(
            "  KEY a.example KSK2 role=KSK alg=13 bits=256 state=publish DS=hidden DNSKEY=rumoured RRSIGDNSKEY=rumoured RRSIG=NA pub=0 act=0 next=T+356400",
        ),
    );
}

#[test]
fn require_backup_after_the_backup() {
    future("11-require-backup-after");
}

#[test]
fn require_backup_before_the_backup() {
    future("11-require-backup-before");
}

#[test]
fn algorithm_rollover() {
    future("12-algorithm-rollover");
}

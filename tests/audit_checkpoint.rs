//! Signed checkpoints (`log checkpoint`, `log verify`): set-up, signing, interval
//! checkpoints, and the attacks they exist for — a record rewritten and the hash chain
//! recomputed, an audit key event forged and the checkpoints re-signed — against a real
//! SoftHSM token. Bad input leaves the log byte-for-byte as it was.

use crate::common::{PIN, Run, Sandbox, refused};
use kasp_events::chain::hash_record;
use kasp_events::codec::{decode_record, encode_record};
use kasp_events::{Event, Hash, InstanceId, Record, Seq, checkpoint_message};
use redb::{ReadableDatabase, ReadableTable};

/// A token sandbox with the policies imported and an audit key set up (which signs a
/// first checkpoint), exported to `audit.key` in the sandbox.
fn audited(extra: &str) -> Sandbox {
    let sb = Sandbox::with_token();
    sb.ok("policy import");
    let r = sb.ok(&format!(
        "log checkpoint --setup --repository SoftHSM --export-key {}{extra}",
        sb.path("audit.key").display()
    ));
    assert!(r.out.contains("generated in repository SoftHSM"), "{r:?}");
    assert!(r.out.contains("Checkpoint at record"), "{r:?}");
    assert!(r.out.contains("written to"), "{r:?}");
    sb
}

/// Runs with a copy of conf.xml in which `from` is replaced by `to`.
fn run_edited(sb: &Sandbox, from: &str, to: &str, line: &str) -> Run {
    let conf = std::fs::read_to_string(sb.conf()).unwrap();
    assert!(conf.contains(from), "{from} not in conf.xml");
    let edited = sb.path("conf-edited.xml");
    std::fs::write(&edited, conf.replace(from, to)).unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    sb.run_with(&edited, &words)
}

/// What an attacker with write access to the file does: decodes every record, lets
/// `edit` change it (given the new hashes of the records before it), and re-encodes the
/// whole log with every `prev` and the stored head recomputed, so that the hash chain
/// verifies again. The snapshots are dropped.
pub(crate) fn rewrite(sb: &Sandbox, mut edit: impl FnMut(&mut Record, &[Hash])) {
    let events = redb::TableDefinition::<u64, &[u8]>::new("events");
    let meta = redb::TableDefinition::<&str, &[u8]>::new("meta");
    let db = redb::Builder::new()
        .set_concurrency_mode(redb::ConcurrencyMode::SingleWriter)
        .open(sb.log_path())
        .unwrap();
    let rows: Vec<(u64, Vec<u8>)> = {
        let tx = db.begin_read().unwrap();
        let t = tx.open_table(events).unwrap();
        t.range(0..)
            .unwrap()
            .map(|r| {
                let (k, v) = r.unwrap();
                (k.value(), v.value().to_vec())
            })
            .collect()
    };
    let mut hashes: Vec<Hash> = Vec::new();
    let mut out = Vec::new();
    for (k, bytes) in rows {
        let mut record = decode_record(&bytes).unwrap();
        edit(&mut record, &hashes);
        record.prev = hashes.last().copied().unwrap_or(Hash::GENESIS);
        let bytes = encode_record(&record).unwrap();
        hashes.push(hash_record(&bytes));
        out.push((k, bytes));
    }
    let tx = db.begin_write().unwrap();
    {
        let mut t = tx.open_table(events).unwrap();
        for (k, bytes) in &out {
            t.insert(*k, bytes.as_slice()).unwrap();
        }
        let mut m = tx.open_table(meta).unwrap();
        let mut head = (out.len() as u64 - 1).to_le_bytes().to_vec();
        head.extend_from_slice(&hashes.last().unwrap().0);
        m.insert("head", head.as_slice()).unwrap();
    }
    let _ = tx.delete_table(redb::TableDefinition::<u64, &[u8]>::new("snapshots"));
    tx.commit().unwrap();
}

/// Seqs of the checkpoint records, from `log export --jsonl`.
fn checkpoints(sb: &Sandbox) -> Vec<(u64, String)> {
    sb.ok("log export --jsonl")
        .out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["kind"] == "Checkpoint")
        .map(|v| {
            (
                v["seq"].as_u64().unwrap(),
                v["actor"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn checkpoints_sign_the_head_and_verify_against_the_hsm() {
    let sb = audited("");
    sb.ok(&format!(
        "log checkpoint --export-key {}",
        sb.path("audit-2.key").display()
    ));
    assert_eq!(
        std::fs::read_to_string(sb.path("audit.key")).unwrap(),
        std::fs::read_to_string(sb.path("audit-2.key")).unwrap()
    );
    let key = std::fs::read_to_string(sb.path("audit-2.key")).unwrap();
    assert!(key.starts_with("; kasp-ledger audit key v1\n"), "{key}");
    assert!(!key.contains(PIN));
    // The head is the first checkpoint: nothing new to sign.
    let r = sb.ok("log checkpoint");
    assert!(r.out.contains("is a checkpoint already"), "{r:?}");
    sb.ok("policy resalt");
    let r = sb.ok("log checkpoint");
    assert!(r.out.starts_with("Checkpoint at record "), "{r:?}");
    let cps = checkpoints(&sb);
    assert_eq!(cps.len(), 2, "{cps:?}");
    let r = sb.ok("log verify");
    assert!(r.out.contains("chain intact"), "{r:?}");
    assert!(
        r.out
            .contains("the key recorded in the log is the key in the HSM"),
        "{r:?}"
    );
    for (seq, _) in &cps {
        assert!(
            r.out.contains(&format!(
                "Checkpoint at record {seq} (signs record {}",
                seq - 1
            )),
            "{r:?}"
        );
    }
    assert!(
        r.out
            .contains("2 checkpoints verified against the audit key in the HSM."),
        "{r:?}"
    );
    assert!(!r.err.contains("warning"), "{r:?}");
    // An auditor without the HSM, with the exported key.
    let r = sb.ok(&format!(
        "log verify --audit-key {}",
        sb.path("audit-2.key").display()
    ));
    assert!(
        r.out
            .contains("2 checkpoints verified against the audit key in")
    );
    let show = sb.ok("log show").out;
    assert!(show.contains("Audit key "), "{show}");
    assert!(show.contains("Checkpoint of record "), "{show}");
}

/// The acceptance test: one record rewritten and the chain recomputed verifies as a
/// chain, and is caught through the checkpoint.
#[test]
fn a_rewritten_record_with_a_recomputed_chain_is_caught_by_the_checkpoint() {
    let sb = audited("");
    sb.ok("policy resalt");
    let r = sb.ok("log checkpoint");
    assert!(r.out.contains("Checkpoint at record"), "{r:?}");
    let cps = checkpoints(&sb);
    let (newest, _) = *cps.last().unwrap();
    // Something after the newest checkpoint too.
    sb.ok("log checkpoint --interval PT1H");
    sb.ok("log verify");
    // Rewrite the cause of record 1 (the first policy import).
    rewrite(&sb, |r, _| {
        if r.seq == Seq(1) {
            r.cause = "policy import (as nobody)".to_string();
        }
    });
    // The rewrite is consistent as a chain: the log folds and reads fine.
    sb.ok("policy list");
    let r = sb.sh("log verify");
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.out.contains("chain intact"), "{r:?}");
    assert!(r.err.contains("FAILED checkpoint verification"), "{r:?}");
    for (seq, _) in &cps {
        assert!(
            r.err.contains(&format!(
                "checkpoint at record {seq} signed record {}",
                seq - 1
            )),
            "{r:?}"
        );
    }
    assert!(r.err.contains("hash chain recomputed"), "{r:?}");
    // --from-checkpoint starts at the newest checkpoint, whose record changed too.
    let r = sb.sh("log verify --from-checkpoint");
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.err
            .contains(&format!("checkpoint at record {newest} signed")),
        "{r:?}"
    );
}

/// A checkpoint whose signature was changed (and the chain recomputed) is caught by its
/// signature.
#[test]
fn a_bad_signature_is_caught() {
    let sb = audited("");
    let (record, _) = checkpoints(&sb)[0].clone();
    rewrite(&sb, |r, _| {
        if let Event::Checkpoint(c) = &mut r.event {
            c.signature[5] ^= 0x40;
        }
    });
    let r = sb.sh("log verify");
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.err.contains(&format!(
            "checkpoint at record {record}: the signature does not verify with audit key"
        )),
        "{r:?}"
    );
    let r = sb.sh("log verify --from-checkpoint");
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.err.contains("the signature does not verify"), "{r:?}");
}

/// An attacker who also replaces the audit key's public key with their own and re-signs
/// every checkpoint is caught by the key in the HSM, and by an exported key file; without
/// either, the verification passes with a warning that it is not anchored.
#[test]
fn a_forged_audit_key_is_caught_by_the_hsm_and_the_key_file() {
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    let sb = audited("");
    let key_file = sb.path("audit.key");
    sb.ok("policy resalt");
    sb.ok("log checkpoint");
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let theirs =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let mut instance = InstanceId([0; 16]);
    rewrite(&sb, |r, hashes| match &mut r.event {
        Event::LogCreated(e) => instance = e.instance,
        Event::PolicyCreated(e) => e.policy.description = "rewritten".to_string(),
        Event::AuditKeyConfigured(e) => e.public_key = theirs.public_key().as_ref()[1..].to_vec(),
        Event::Checkpoint(c) => {
            c.hash = hashes[c.seq.0 as usize];
            let message = checkpoint_message(&instance, c.seq, &c.hash);
            c.signature = theirs.sign(&rng, &message).unwrap().as_ref().to_vec();
        }
        _ => {}
    });
    let r = sb.sh("log verify");
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.err.contains(
            "differs from the key in repository SoftHSM: the audit key event was rewritten"
        ),
        "{r:?}"
    );
    let r = sb.sh(&format!("log verify --audit-key {}", key_file.display()));
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.err.contains("the audit key event was rewritten"), "{r:?}");
    // Without the HSM (wrong PIN) and without a key file: not anchored, and says so.
    let r = run_edited(
        &sb,
        &format!("<PIN>{PIN}</PIN>"),
        "<PIN>wrong-pin-0000</PIN>",
        "log verify",
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.err.contains("are NOT anchored"), "{r:?}");
    assert!(r.err.contains("incorrect PIN"), "{r:?}");
    assert!(
        !r.err.contains("wrong-pin-0000") && !r.out.contains(PIN),
        "{r:?}"
    );
}

#[test]
fn verify_from_checkpoint_checks_only_the_tail() {
    let sb = Sandbox::with_token();
    sb.ok("policy import");
    let r = sb.ok("log verify --from-checkpoint");
    assert!(
        r.out
            .starts_with("No checkpoint in the log: verifying the whole chain instead.\n"),
        "{r:?}"
    );
    assert!(r.out.contains("No signed checkpoints"), "{r:?}");
    sb.ok("log checkpoint --setup --repository SoftHSM");
    sb.ok("policy resalt");
    let signed = sb.ok("log checkpoint").out;
    let record: u64 = signed
        .trim_start_matches("Checkpoint at record ")
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    sb.ok("policy resalt");
    let r = sb.ok("log verify --from-checkpoint");
    assert!(
        r.out.contains(&format!(
            "verified from the checkpoint at record {record} (signs record {}",
            record - 1
        )),
        "{r:?}"
    );
    assert!(r.out.contains("chain intact"), "{r:?}");
    assert!(
        r.out
            .contains("1 checkpoint verified against the audit key in the HSM.")
    );
    // A record of the tail changed without recomputing the chain: caught.
    let events = redb::TableDefinition::<u64, &[u8]>::new("events");
    {
        let db = redb::Builder::new()
            .set_concurrency_mode(redb::ConcurrencyMode::SingleWriter)
            .open(sb.log_path())
            .unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table(events).unwrap();
            let bytes = t.get(record + 1).unwrap().unwrap().value().to_vec();
            let mut r = decode_record(&bytes).unwrap();
            r.cause = "changed".to_string();
            t.insert(record + 1, encode_record(&r).unwrap().as_slice())
                .unwrap();
        }
        tx.commit().unwrap();
    }
    let r = sb.sh("log verify --from-checkpoint");
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.err
            .contains(&format!("FAILED verification at record {}", record + 1)),
        "{r:?}"
    );
}

/// On a simulated clock: runs append a checkpoint once the interval passed and the log
/// grew, as the scheduler; `--interval off` stops them.
#[test]
fn interval_checkpoints_are_appended_by_runs() {
    let sb = audited(" --interval PT1H");
    assert_eq!(checkpoints(&sb).len(), 1);
    sb.ok("time leap --time 2025-01-01-00:30:00");
    assert_eq!(checkpoints(&sb).len(), 1, "before the interval");
    sb.ok("time leap --time 2025-01-01-01:30:00");
    let cps = checkpoints(&sb);
    assert_eq!(cps.len(), 2, "{cps:?}");
    assert_eq!(cps[1].1, "scheduler");
    let r = sb.ok("log checkpoint --interval off");
    assert_eq!(r.out, "Interval checkpoints: off.\n");
    sb.ok("time leap --time 2025-01-01-05:00:00");
    assert_eq!(checkpoints(&sb).len(), 2, "interval checkpoints are off");
    let r = sb.ok("log checkpoint --interval P1D");
    assert_eq!(r.out, "Interval checkpoints: every P1D (86400 seconds).\n");
    sb.ok("time leap --time 2025-01-03-00:00:00");
    assert_eq!(checkpoints(&sb).len(), 3);
    let r = sb.ok("log verify");
    assert!(r.out.contains("3 checkpoints verified"), "{r:?}");
}

#[test]
fn bad_checkpoint_input_is_refused_and_changes_nothing() {
    let sb = Sandbox::with_token();
    sb.ok("policy import");
    refused(&sb, "log checkpoint", 1, "No audit key is configured");
    refused(
        &sb,
        "log checkpoint --interval PT1H",
        1,
        "No audit key is configured",
    );
    refused(
        &sb,
        &format!("log checkpoint --export-key {}", sb.path("x.key").display()),
        1,
        "No audit key is configured",
    );
    assert!(!sb.path("x.key").exists());
    refused(
        &sb,
        "log checkpoint --setup --repository Nope",
        1,
        "Unknown repository Nope",
    );
    refused(
        &sb,
        "log checkpoint --setup",
        2,
        "--setup needs --repository",
    );
    refused(
        &sb,
        "log checkpoint --repository SoftHSM",
        2,
        "goes with --setup",
    );
    refused(
        &sb,
        "log checkpoint --setup --repository SoftHSM --interval soon",
        2,
        "invalid --interval 'soon'",
    );
    refused(&sb, "log checkpoint --bogus", 255, "unknown arguments");
    refused(
        &sb,
        "log verify --audit-key /nonexistent/audit.key",
        4,
        "cannot read the audit key file",
    );
    let conf = sb.conf().display().to_string();
    refused(
        &sb,
        &format!("log verify --audit-key {conf}"),
        2,
        "not a kasp-ledger audit key file",
    );
    // Without a usable HSM nothing is generated and nothing recorded.
    for (from, to, needle) in [
        (
            format!("<PIN>{PIN}</PIN>"),
            "<PIN>wrong-pin-0000</PIN>".to_string(),
            "incorrect PIN",
        ),
        (
            "/usr/lib/softhsm/libsofthsm2.so".to_string(),
            "/nonexistent/libsofthsm2.so".to_string(),
            "does not exist",
        ),
    ] {
        let before = sb.log_bytes();
        let r = run_edited(
            &sb,
            &from,
            &to,
            "log checkpoint --setup --repository SoftHSM",
        );
        assert_eq!(r.code, 4, "{r:?}");
        assert!(r.err.contains(needle), "{r:?}");
        assert!(before == sb.log_bytes(), "the log changed");
    }
    sb.ok("log checkpoint --setup --repository SoftHSM");
    sb.ok("policy resalt");
    let before = sb.log_bytes();
    let r = run_edited(
        &sb,
        &format!("<PIN>{PIN}</PIN>"),
        "<PIN>wrong-pin-0000</PIN>",
        "log checkpoint",
    );
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.err.contains("incorrect PIN") && !r.err.contains("wrong-pin-0000"),
        "{r:?}"
    );
    assert!(before == sb.log_bytes(), "the log changed");
    refused(
        &sb,
        "log checkpoint --export-key /nonexistent/dir/audit.key",
        4,
        "cannot write the audit key",
    );
    refused(
        &sb,
        "log checkpoint --interval PT1H --export-key x",
        2,
        "separately",
    );
    // The key file of another log.
    let other = audited("");
    refused(
        &sb,
        &format!(
            "log verify --audit-key {}",
            other.path("audit.key").display()
        ),
        3,
        "belongs to log instance",
    );
}

/// Through the daemon (which holds the log and the HSM session): set-up, a checkpoint,
/// both verifications and the export; daemonless verification afterwards agrees.
#[test]
fn checkpoints_through_the_daemon() {
    use crate::daemon::support::Daemon;
    let sb = Sandbox::with_token();
    sb.ok("policy import");
    let mut d = Daemon::start(&sb, &[]);
    let key = sb.path("audit.key");
    let r = sb.ok(&format!(
        "log checkpoint --setup --repository SoftHSM --interval PT1H --export-key {}",
        key.display()
    ));
    assert!(r.out.contains("Checkpoint at record"), "{r:?}");
    sb.ok("policy resalt");
    let r = sb.ok("log checkpoint");
    assert!(r.out.starts_with("Checkpoint at record"), "{r:?}");
    let through_daemon = sb.ok("log verify");
    assert!(
        through_daemon
            .out
            .contains("2 checkpoints verified against the audit key in the HSM."),
        "{through_daemon:?}"
    );
    let r = sb.ok("log verify --from-checkpoint");
    assert!(r.out.contains("verified from the checkpoint"), "{r:?}");
    let csv = sb.ok("log export --csv --since 2025-01-01T00:00:00Z").out;
    assert!(csv.contains(",Checkpoint,"), "{csv}");
    refused(
        &sb,
        "log checkpoint --setup --repository Nope",
        1,
        "Unknown repository",
    );
    assert_eq!(sb.sh("stop").code, 0);
    assert_eq!(d.wait(), Some(0), "{}", d.log());
    assert_eq!(sb.ok("log verify").out, through_daemon.out);
    sb.ok(&format!("log verify --audit-key {}", key.display()));
}

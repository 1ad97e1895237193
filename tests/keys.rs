//! Key material against a real SoftHSM2 token made by each test: the key pool, backup
//! states, crash-safe generation, and the HSM fault cases.

use crate::common::{PIN, Sandbox, refused};
use kasp_events::{
    Access, Actor, EventLog, KeyGenerationStarted, KeyRole, KeySpec, Locator, NewEvent, PolicyName,
    Timestamp,
};

/// Rows of `backup list` (stdout; the header goes to stderr, as in OpenDNSSEC).
fn backup_rows(sb: &Sandbox) -> Vec<String> {
    let r = sb.ok("backup list --repository SoftHSM");
    assert!(r.err.starts_with("Locator:"), "{r:?}");
    r.out.lines().map(str::to_string).collect()
}

fn edit_conf(sb: &Sandbox, from: &str, to: &str) {
    let conf = std::fs::read_to_string(sb.conf()).unwrap();
    assert!(conf.contains(from), "{from}");
    std::fs::write(sb.conf(), conf.replacen(from, to, 1)).unwrap();
}

/// `zone add`, then `key generate` for one policy and for all, with conf.xml's
/// `WorkerThreads` set to `workers` (None: absent, 2.1.12's default 4); the key count
/// after the zone's first enforce run.
fn pool_after_zone_add_and_key_generate(workers: Option<u32>, after_first_run: usize) {
    let sb = Sandbox::with_token();
    if let Some(n) = workers {
        crate::common::conf_element(&sb, &format!("<WorkerThreads>{n}</WorkerThreads>"));
    }
    sb.ok("policy import");
    // No zones yet: nothing to generate.
    assert!(backup_rows(&sb).is_empty());
    sb.ok("zone add --zone example.com --policy default");
    // default: KSK P1Y -> 1 key, ZSK P90D -> 5 keys for one year; the zone's first
    // enforce run then takes one KSK and one ZSK, and each schedules a generation for
    // its policy key.
    let rows = backup_rows(&sb);
    assert_eq!(rows.len(), after_first_run, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r.contains("SoftHSM") && r.contains("Not Required"))
    );
    let r = sb.ok("key generate --duration P1Y --policy default");
    assert_eq!(r.out, "Key generation task scheduled.\n");
    // The KSK the one worker's queue did not generate, if any.
    assert_eq!(backup_rows(&sb).len(), 8);
    sb.ok("key generate --duration P2Y --all");
    // Two years of unused keys: KSK 2, ZSK ceil(730/90) = 9, besides the 2 in use.
    assert_eq!(backup_rows(&sb).len(), 13);
    let log = sb.ok("log show").out;
    assert_eq!(log.matches("Generated KSK key").count(), 3, "{log}");
    assert_eq!(log.matches("Generated ZSK key").count(), 10, "{log}");
    sb.ok("log verify");
}

/// With idle worker threads (2.1.12's default 4) both generations the first run
/// schedules are carried out: 8 keys, as OpenDNSSEC's own test `enforcer.keys.generate`.
#[test]
fn zone_add_fills_the_pool_and_key_generate_tops_it_up() {
    pool_after_zone_add_and_key_generate(None, 8);
}

/// With one worker thread the ZSK's generation replaces the KSK's (2.1.12's one queue
/// slot), so only the ZSK is replaced at once: 7 keys until `key generate`.
#[test]
fn with_one_worker_thread_the_last_generation_scheduled_replaces_the_waiting_one() {
    pool_after_zone_add_and_key_generate(Some(1), 7);
}

#[test]
fn key_generate_errors_match_opendnssec() {
    let sb = Sandbox::with_token();
    sb.ok("policy import");
    refused(
        &sb,
        "key generate --policy nosuch",
        1,
        "Unable to find policy nosuch!",
    );
    refused(
        &sb,
        "key generate",
        1,
        "Either --all or --policy needs to be given!",
    );
    refused(
        &sb,
        "key generate --policy default --duration P1X",
        1,
        "Error parsing the specified duration!",
    );
    refused(
        &sb,
        "key generate --policy default --duration PT0S",
        1,
        "Error parsing the specified duration!",
    );
}

#[test]
fn backup_workflow() {
    let sb = Sandbox::with_token();
    edit_conf(
        &sb,
        "<SkipPublicKey/>",
        "<RequireBackup/>\n\t\t\t<SkipPublicKey/>",
    );
    sb.ok("update repositorylist");
    sb.ok("policy import");
    sb.ok("zone add --zone example.com");
    assert!(backup_rows(&sb).iter().all(|r| r.contains("Required")));
    // 8 keys: the zone add's top-up, then the generations its first run scheduled for
    // the KSK and the ZSK it took (`WorkerThreads` 4, zone_add_fills_the_pool_…).
    assert_eq!(
        sb.ok("backup prepare --repository SoftHSM").out,
        "info: keys flagged for backup: 8\n"
    );
    assert!(backup_rows(&sb).iter().all(|r| r.contains("Prepared")));
    assert_eq!(
        sb.ok("backup rollback --repository SoftHSM").out,
        "info: keys unflagged for backup: 8\n"
    );
    assert!(
        backup_rows(&sb)
            .iter()
            .all(|r| r.ends_with("Required        "))
    );
    sb.ok("backup prepare");
    assert_eq!(
        sb.ok("backup commit").out,
        "info: keys marked backup done: 8\n"
    );
    assert!(backup_rows(&sb).iter().all(|r| r.contains("Done")));
    assert_eq!(
        sb.ok("backup commit").out,
        "info: keys marked backup done: 0\n"
    );
    refused(&sb, "backup prepare --repository NoSuchHSM", 1, "NoSuchHSM");
    refused(&sb, "backup", 255, "Error parsing arguments backup");
}

#[test]
fn repository_list_and_update() {
    let sb = Sandbox::with_token();
    let r = sb.ok("repository list");
    assert_eq!(
        r.out,
        "Repositories:\nName:                           Capacity:     RequireBackup:\n\
         SoftHSM                         -             No           \n"
    );
    let r = sb.ok("update repositorylist");
    assert_eq!(
        r.out,
        "new repositories parsed successful.\nNotifying enforcer of new respositories.\n"
    );
    let log = sb.ok("log show").out;
    assert!(log.contains("Repositories configured: SoftHSM"), "{log}");
    // Unchanged: nothing appended.
    let before = sb.log_bytes();
    sb.ok("update repositorylist");
    assert!(before == sb.log_bytes());
}

#[test]
fn hsm_faults_are_reported_and_append_nothing() {
    let sb = Sandbox::with_token();
    sb.ok("policy import");
    sb.ok("zone add --zone example.com");
    let n = backup_rows(&sb).len();
    edit_conf(
        &sb,
        &format!("<PIN>{PIN}</PIN>"),
        "<PIN>wrong-pin-0000</PIN>",
    );
    let r = refused(
        &sb,
        "key generate --policy default --duration P5Y",
        4,
        "SoftHSM",
    );
    assert!(!r.err.contains("wrong-pin-0000"), "{r:?}");
    edit_conf(
        &sb,
        "<PIN>wrong-pin-0000</PIN>",
        &format!("<PIN>{PIN}</PIN>"),
    );
    edit_conf(
        &sb,
        "<TokenLabel>OpenDNSSEC</TokenLabel>",
        "<TokenLabel>NoSuchToken</TokenLabel>",
    );
    refused(
        &sb,
        "key generate --policy default --duration P5Y",
        4,
        "NoSuchToken",
    );
    edit_conf(
        &sb,
        "<TokenLabel>NoSuchToken</TokenLabel>",
        "<TokenLabel>OpenDNSSEC</TokenLabel>",
    );
    edit_conf(
        &sb,
        "/usr/lib/softhsm/libsofthsm2.so",
        "/nonexistent/libpkcs11.so",
    );
    refused(
        &sb,
        "key generate --policy default --duration P5Y",
        4,
        "/nonexistent/libpkcs11.so",
    );
    edit_conf(
        &sb,
        "/nonexistent/libpkcs11.so",
        "/usr/lib/softhsm/libsofthsm2.so",
    );
    edit_conf(
        &sb,
        "<SkipPublicKey/>",
        "<Capacity>8</Capacity>\n\t\t\t<SkipPublicKey/>",
    );
    refused(
        &sb,
        "key generate --policy default --duration P5Y",
        4,
        "capacity",
    );
    assert_eq!(backup_rows(&sb).len(), n);
}

const CHILD_ENV: &str = "KASP_TEST_MAKE_KEY";

/// Not a test of its own: when the parent test runs this binary again with
/// `KASP_TEST_MAKE_KEY=<locator>` (and SOFTHSM2_CONF), it makes that key in the token,
/// standing in for an enforcer that died after the HSM call and before the append.
/// Ignored in a plain run, where it would do nothing; the parent runs it with `--ignored`.
#[test]
#[ignore = "a child process of keys::an_interrupted_generation_is_adopted_or_abandoned_never_repeated"]
fn child_makes_a_key() {
    let locator = std::env::var(CHILD_ENV)
        .unwrap_or_else(|_| panic!("{CHILD_ENV} is not set: only the parent test runs this child"));
    let locator = Locator::parse(&locator).unwrap();
    let mut store = crate::common::open_token();
    use kasp_hsm::KeyStore;
    store
        .generate(&locator, kasp_hsm::Algorithm::from_number(8).unwrap(), 1024)
        .unwrap();
}

/// Appends a generation intent directly, as an enforcer would just before the HSM call.
fn start_generation(sb: &Sandbox, locator: Locator) {
    let mut log = EventLog::open(&sb.log_path(), Access::ReadWrite).unwrap();
    let event = KeyGenerationStarted {
        locator,
        spec: KeySpec {
            repository: "SoftHSM".into(),
            policy: PolicyName::new("default").unwrap(),
            role: KeyRole::Zsk,
            algorithm: 8,
            bits: 1024,
        },
    };
    let new = NewEvent {
        at: Timestamp(1_735_689_600),
        actor: Actor::Operator("test".into()),
        cause: "key generate --policy default".into(),
        event: event.into(),
    };
    log.append(log.head(), vec![new], |_| None).unwrap();
}

#[test]
fn an_interrupted_generation_is_adopted_or_abandoned_never_repeated() {
    let sb = Sandbox::with_token();
    sb.ok("policy import");
    sb.ok("zone add --zone example.com");
    let before = backup_rows(&sb).len();
    // Case 1: the HSM made the key, the process died before recording it.
    let made = Locator([0x5a; 16]);
    start_generation(&sb, made);
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "keys::child_makes_a_key",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, made.to_string())
        .envs(sb.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Case 2: the process died before the HSM made the key.
    let lost = Locator([0xa5; 16]);
    start_generation(&sb, lost);
    // A longer period than the pool holds, so that the run also generates: the key
    // it adopts counts towards the plan (made after the adoption, not before).
    let r = sb.ok("key generate --policy default --duration P5Y");
    assert!(r.err.contains(&format!("Adopted key {made}")), "{r:?}");
    assert!(
        r.err
            .contains(&format!("Key {lost} of an interrupted generation")),
        "{r:?}"
    );
    let rows = backup_rows(&sb);
    let control = Sandbox::with_token();
    control.ok("policy import");
    control.ok("zone add --zone example.com");
    control.ok("key generate --policy default --duration P5Y");
    let planned = backup_rows(&control).len();
    assert!(
        planned > before + 1,
        "the run generates: {planned} > {before} + 1"
    );
    assert_eq!(rows.len(), planned, "the adopted key counts: {rows:?}");
    assert!(rows.iter().any(|r| r.starts_with(&made.to_string())));
    assert!(!rows.iter().any(|r| r.starts_with(&lost.to_string())));
    let log = sb.ok("log show").out;
    assert!(log.contains(&format!("Adopted ZSK key {made}")), "{log}");
    assert!(
        log.contains(&format!("Generation of key {lost} abandoned")),
        "{log}"
    );
    // Nothing pending any more: the next run resolves nothing.
    let r = sb.ok("key generate --policy default --duration P1Y");
    assert!(!r.err.contains("interrupted"), "{r:?}");
}

#[test]
fn an_algorithm_the_token_refuses_is_reported_before_anything_is_recorded() {
    let sb = Sandbox::with_token();
    // kaspcheck only warns below 1024 bits; SoftHSM generates 512 to 16384. The
    // default policy's KSK (its first key, generated first) gets the refused size.
    let ksk = "<Algorithm length=\"2048\">8</Algorithm>";
    let kasp = std::fs::read_to_string(sb.path("kasp.xml")).unwrap();
    assert!(kasp.contains(ksk));
    std::fs::write(
        sb.path("kasp.xml"),
        kasp.replacen(ksk, "<Algorithm length=\"256\">8</Algorithm>", 1),
    )
    .unwrap();
    sb.ok("policy import");
    // The zone goes in; its automatic top-up fails with a warning at the KSKs.
    let r = sb.ok("zone add --zone example.com --policy default");
    assert!(
        r.err.contains("WARNING: key generation did not complete"),
        "{r:?}"
    );
    assert!(r.err.contains("8 (RSASHA256)"), "{r:?}");
    let log = sb.ok("log show").out;
    assert!(!log.contains("KSK"), "no KSK intent recorded: {log}");
    let r = refused(
        &sb,
        "key generate --policy default --duration P1Y",
        4,
        "does not support algorithm 8 (RSASHA256)",
    );
    assert!(r.err.contains("repository SoftHSM"), "{r:?}");
    assert!(r.err.contains("256 bits"), "{r:?}");
    assert!(r.err.contains("512 to 16384 bits"), "{r:?}");
    assert!(!sb.ok("log show").out.contains("abandoned"));
}

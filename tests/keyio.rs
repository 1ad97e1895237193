//! `key export` and `key import` against a real SoftHSM2 token: DNSKEY and DS text as
//! ldns prints it (and the same records as BIND's `dnssec-dsfromkey` computes), which
//! keys are exported, an imported key's states, pool entry and record, and every
//! refusal of OpenDNSSEC 2.1.12 with its exact text, exit 255 and the log untouched.

use crate::common::{PIN, Run, Sandbox, refused};
use kasp_events::Locator;
use std::process::Command;

/// A token sandbox (signer notify succeeding) with the stock policies and one zone.
fn zone_sandbox() -> Sandbox {
    let mut sb = Sandbox::with_token();
    sb.env
        .push(("KASP_SIGNER_COMMAND".into(), "/bin/true".into()));
    sb.ok("policy import");
    sb.ok("zone add --zone example.com --policy default");
    sb
}

/// The rows of `key list --verbose --parsable`, split on `;`: zone, role, state,
/// next transition, bits, algorithm, locator, repository, keytag.
fn key_rows(sb: &Sandbox) -> Vec<Vec<String>> {
    sb.ok("key list --verbose --parsable")
        .out
        .lines()
        .map(|l| l.split(';').map(str::to_string).collect())
        .collect()
}

fn row<'a>(rows: &'a [Vec<String>], zone: &str, role: &str) -> &'a Vec<String> {
    rows.iter()
        .find(|r| r[0] == zone && r[1] == role)
        .unwrap_or_else(|| panic!("no {role} of {zone} in {rows:?}"))
}

/// `refused` for OpenDNSSEC's -1 returns: exactly `message`, the parse-error line and
/// the command's usage block, exit 255, the log unchanged.
fn syntax_refusal(sb: &Sandbox, line: &str, message: &str) -> Run {
    let r = refused(sb, line, 255, message);
    assert_eq!(
        r.err,
        format!(
            "{message}\nError parsing arguments {} command line {line}\n",
            &line[..10]
        ),
        "{line}"
    );
    assert!(
        r.out.starts_with(&format!("Usage:\n\n{}\n", &line[..10])),
        "{r:?}"
    );
    r
}

const CHILD_ENV: &str = "KASP_TEST_IMPORT_KEY";

/// Not a test of its own: run again by [`make_key`] with `KASP_TEST_IMPORT_KEY=
/// <locator>:<algorithm>:<bits>` (and SOFTHSM2_CONF), it makes that key in the token
/// the way another enforcer or a tool outside OpenDNSSEC would. Ignored in a plain run,
/// where it would do nothing; [`make_key`] runs it with `--ignored`.
#[test]
#[ignore = "a child process of keyio::make_key"]
fn child_makes_a_key() {
    let spec = std::env::var(CHILD_ENV)
        .unwrap_or_else(|_| panic!("{CHILD_ENV} is not set: only make_key runs this child"));
    let parts: Vec<&str> = spec.split(':').collect();
    let locator = Locator::parse(parts[0]).unwrap();
    let mut store = crate::common::open_token();
    use kasp_hsm::KeyStore;
    let algorithm = kasp_hsm::Algorithm::from_number(parts[1].parse().unwrap()).unwrap();
    store
        .generate(&locator, algorithm, parts[2].parse().unwrap())
        .unwrap();
}

/// Makes a key in the sandbox's token that the log does not know.
fn make_key(sb: &Sandbox, byte: u8, algorithm: u8, bits: u32) -> Locator {
    let locator = Locator([byte; 16]);
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "keyio::child_makes_a_key",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, format!("{locator}:{algorithm}:{bits}"))
        .envs(sb.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    locator
}

/// BIND's DS records for the DNSKEY line (`-A`: ZSKs too, `-T`: with the TTL).
fn dsfromkey(sb: &Sandbox, dnskey: &str, digest: &str, ttl: &str) -> String {
    let file = sb.path("dnskey.txt");
    std::fs::write(&file, dnskey).unwrap();
    let out = Command::new("dnssec-dsfromkey")
        .args(["-A", "-T", ttl, digest, "-f"])
        .arg(&file)
        .arg("example.com.")
        .output()
        .expect("dnssec-dsfromkey (Debian package bind9-utils, see scripts/deps.sh)");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// A record's fields, lower case, separated by single spaces.
fn fields(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

#[test]
fn export_prints_ldns_records_that_match_dnssec_dsfromkey() {
    let sb = zone_sandbox();
    let rows = key_rows(&sb);
    for (role, state, flags) in [("KSK", "publish", "257"), ("ZSK", "ready", "256")] {
        let r = row(&rows, "example.com", role);
        assert_eq!(r[2], state, "{rows:?}");
        let tag = &r[8];
        let line = format!("key export --zone example.com --keytype {role} --keystate {state}");
        let dnskey = sb.ok(&line).out;
        let head = format!("example.com.\t3600\tIN\tDNSKEY\t{flags} 3 8 ");
        assert!(dnskey.starts_with(&head), "{dnskey:?}");
        assert_eq!(dnskey.lines().count(), 1, "{dnskey:?}");
        for (option, name, digest) in [("", "SHA256", "-2"), (" --sha1", "SHA1", "-1")] {
            let ds = sb.ok(&format!("{line} --ds{option}")).out;
            let (comment, record) = ds.split_once('\n').unwrap();
            assert_eq!(comment, format!(";{state} {role} DS record ({name}):"));
            let prefix = format!("example.com.\t3600\tIN\tDS\t{tag} 8 {} ", &digest[1..]);
            assert!(record.starts_with(&prefix), "{record:?}");
            let hex = record.trim_end().rsplit(' ').next().unwrap();
            assert_eq!(hex, hex.to_ascii_lowercase(), "ldns prints lower-case hex");
            assert_eq!(
                fields(record),
                fields(&dsfromkey(&sb, &dnskey, digest, "3600")),
                "{role} {name}"
            );
        }
    }
    // --all covers every zone, in key creation order; the owner is each key's zone.
    sb.ok("zone add --zone example.org --policy default");
    let all = sb.ok("key export --all --keytype zsk --keystate READY").out;
    let owners: Vec<&str> = all.lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(owners, ["example.com.", "example.org."], "{all}");
    // --cka_id selects that key whatever its DS state; without any filter only keys
    // waiting for a DS command are exported (none yet).
    let ksk = &row(&key_rows(&sb), "example.org", "KSK")[6].clone();
    let one = sb.ok(&format!("key export --all --cka_id {ksk}")).out;
    assert_eq!(one.lines().count(), 1, "{one}");
    assert!(
        one.starts_with("example.org.\t3600\tIN\tDNSKEY\t257 "),
        "{one}"
    );
    let none = sb.ok(&format!("key export --zone example.com --cka_id {ksk}"));
    assert_eq!(none.out, "");
    let r = sb.ok("key export --zone example.com");
    assert_eq!((r.out.as_str(), r.err.as_str()), ("", ""));
    let r = sb.ok("key export --zone example.com --keytype CSK --keystate active");
    assert_eq!(r.out, "");
}

#[test]
fn export_refusals_match_opendnssec() {
    let sb = zone_sandbox();
    syntax_refusal(&sb, "key export", "expected either --zone or --all ");
    syntax_refusal(
        &sb,
        "key export --all --zone example.com",
        "expected either --zone or --all ",
    );
    syntax_refusal(&sb, "key export --zone nosuch", "Unknown zone: nosuch");
    syntax_refusal(&sb, "key export -z bad..name", "Unknown zone: bad..name");
    syntax_refusal(
        &sb,
        "key export --all --keytype XSK",
        "unknown keytype, should be one of KSK, ZSK, or CSK",
    );
    // The type and state are checked before the zone.
    syntax_refusal(
        &sb,
        "key export --zone nosuch --keystate dead",
        "unknown keystate",
    );
    syntax_refusal(
        &sb,
        "key export --zone example.com --keytype KSK",
        "expected both --keystate and --keytype together or none of them",
    );
    syntax_refusal(
        &sb,
        "key export --all --keystate active",
        "expected both --keystate and --keytype together or none of them",
    );
    syntax_refusal(
        &sb,
        "key export --all --cka_id 00",
        "CKA_ID 00 can not be found!",
    );
    refused(&sb, "key export --all --bogus", 255, "unknown arguments");
    refused(
        &sb,
        "key export --all 1 2 3 4 5 6 7 8 9 10",
        255,
        "too many arguments",
    );
}

const IMPORT: &str = "key import --repository SoftHSM --zone example.com --bits 2048 \
                      --algorithm 8 --inception_time 2024-12-01-12:00:00";

#[test]
fn import_adds_the_key_with_opendnssecs_states_and_runs_the_zone() {
    let sb = zone_sandbox();
    let ksk = make_key(&sb, 0x4b, 8, 2048);
    let before = sb.log_bytes();
    let r = sb.ok(&format!(
        "{IMPORT} --cka_id {ksk} --keystate ready --keytype KSK"
    ));
    assert_eq!(r.out, "Key imported into zone example.com\n");
    // Changed, not necessarily longer: redb may give free pages at the end back.
    assert!(sb.log_bytes() != before);
    let rows = key_rows(&sb);
    let imported = rows.iter().find(|r| r[6] == ksk.to_string()).unwrap();
    assert_eq!(
        imported[..8],
        [
            "example.com",
            "KSK",
            "ready",
            "waiting for ds-seen",
            "2048",
            "8",
            &ksk.to_string(),
            "SoftHSM"
        ]
    );
    // Listed last: keys are in creation order.
    assert_eq!(rows.last().unwrap()[6], ksk.to_string());
    let debug = sb.ok("key list --debug --parsable").out;
    assert!(
        debug.contains(&format!(
            "example.com;KSK;rumoured;omnipresent;omnipresent;NA;1;1;{ksk}"
        )),
        "{debug}"
    );
    // Imported at "DS at parent submit"; the zone ran and, no DS hook being configured,
    // the ds-submit task marked the DS submitted, as 2.1.12 does. The default export
    // shows the ready key; the DS carries its key tag.
    let export = sb.ok("key export --zone example.com --ds").out;
    assert!(
        export.starts_with(&format!(
            ";ready KSK DS record (SHA256):\nexample.com.\t3600\tIN\tDS\t{} 8 2 ",
            imported[8]
        )),
        "{export}"
    );
    assert_eq!(export.lines().count(), 2, "{export}");
    // The material joined the pool, in use.
    let backup = sb.ok("backup list --repository SoftHSM").out;
    assert!(backup.contains(&ksk.to_string()), "{backup}");
    let log = sb.ok("log show --zone example.com").out;
    assert!(
        log.contains(&format!(
            "imported: KSK {ksk} (algorithm 8, 2048 bits, keytag {})",
            imported[8]
        )),
        "{log}"
    );
    assert!(log.contains("inception 2024-12-01T12:00:00Z"), "{log}");
    assert!(log.contains("DS at parent submit"), "{log}");
    let after_import = log.lines().skip_while(|l| !l.contains(" imported: "));
    assert!(
        after_import
            .skip(1)
            .any(|l| l.contains("example.com enforced")),
        "the zone ran after the import: {log}"
    );
    sb.ok("log verify");

    // A second import of the same material is refused.
    syntax_refusal(
        &sb,
        &format!("{IMPORT} --cka_id {ksk} --keystate ready --keytype KSK"),
        &format!("Already used this key with this locator: {ksk}"),
    );
    // A ZSK imported active, another retiring.
    let zsk = make_key(&sb, 0x5a, 8, 1024);
    sb.ok(&format!(
        "{IMPORT} --cka_id {zsk} --keystate ACTIVE --keytype zsk"
    ));
    let debug = sb.ok("key list --debug --parsable").out;
    assert!(
        debug.contains(&format!(
            "example.com;ZSK;NA;omnipresent;NA;omnipresent;1;1;{zsk}"
        )),
        "{debug}"
    );
    let old = make_key(&sb, 0x0d, 8, 1024);
    sb.ok(&format!(
        "{IMPORT} --cka_id {old} --keystate retire --keytype ZSK"
    ));
    let rows = key_rows(&sb);
    let r = rows.iter().find(|r| r[6] == old.to_string()).unwrap();
    assert_eq!(r[2], "retire", "{rows:?}");
    sb.ok("log verify");
}

#[test]
fn import_refusals_match_opendnssec_in_order() {
    let sb = zone_sandbox();
    let key = make_key(&sb, 0x77, 8, 2048);
    let k = format!("--cka_id {key}");
    let full = |rest: &str| format!("{IMPORT} {k} {rest}");
    let cases: Vec<(String, String)> = vec![
        (
            "key import".into(),
            "specify keytype: ZSK, KSK or CSK".into(),
        ),
        (
            full("--keytype XSK --keystate ready"),
            "unknown keytype, should be one of KSK, ZSK, or CSK".into(),
        ),
        (
            full("--keytype KSK"),
            "specify keystate: generate, publish, ready, active or retire".into(),
        ),
        (
            full("--keytype KSK --keystate revoke"),
            "unknown keystate: states are generate, publish, ready, active or retire".into(),
        ),
        (
            full("--keytype KSK --keystate mixed"),
            "unknown keystate: states are generate, publish, ready, active or retire".into(),
        ),
        (
            "key import --keytype KSK --keystate ready".into(),
            "expected --zone ".into(),
        ),
        (
            "key import --keytype KSK --keystate ready --zone nosuch".into(),
            "Unknown zone: nosuch".into(),
        ),
        (
            "key import --keytype KSK --keystate ready --zone example.com".into(),
            "specify an algorithm".into(),
        ),
        (
            "key import --keytype KSK --keystate ready --zone example.com --algorithm 8".into(),
            "specify bits".into(),
        ),
        (
            "key import --keytype KSK --keystate ready --zone example.com --algorithm 8 \
             --bits 2048"
                .into(),
            "specify repository ".into(),
        ),
        (
            "key import --keytype KSK --keystate ready --zone example.com --algorithm 8 \
             --bits 2048 --repository SoftHSM"
                .into(),
            "specify inception time YYYY-MM-DD-HH:MM:SS".into(),
        ),
        (
            format!(
                "key import {k} --keytype KSK --keystate ready --zone example.com \
                 --algorithm 8 --bits 2048 --repository SoftHSM --inception_time 2024-12-01"
            ),
            "specify inception time YYYY-MM-DD-HH:MM:SS".into(),
        ),
        (
            full("--keytype CSK --keystate ready"),
            "Unable to get policyKey, database error!".into(),
        ),
        (
            format!(
                "key import {k} --keytype KSK --keystate ready --zone example.com \
                 --algorithm 13 --bits 2048 --repository SoftHSM \
                 --inception_time 2024-12-01-12:00:00"
            ),
            "The given algorithm doesn't match the algorithm in kasp".into(),
        ),
        (
            format!(
                "key import {k} --keytype KSK --keystate ready --zone example.com \
                 --algorithm 8 --bits 2048 --repository Nope \
                 --inception_time 2024-12-01-12:00:00"
            ),
            "Unable to check for the repository Nope, HSM error: hsm_token_attached(): \
             Can't find repository: Nope"
                .into(),
        ),
        (
            format!("{IMPORT} --keytype KSK --keystate ready"),
            "Unable to find the key with this locator: (null)".into(),
        ),
        (
            format!("{IMPORT} --keytype KSK --keystate ready --cka_id 0011"),
            "Unable to find the key with this locator: 0011".into(),
        ),
        (
            format!(
                "{IMPORT} --keytype KSK --keystate ready --cka_id {}",
                Locator([0x99; 16])
            ),
            format!(
                "Unable to find the key with this locator: {}",
                Locator([0x99; 16])
            ),
        ),
    ];
    for (line, message) in &cases {
        syntax_refusal(&sb, line, message);
    }
    // A key the pool already holds (an unused pool key) is "already used".
    let pool_key = sb
        .ok("backup list --repository SoftHSM")
        .out
        .lines()
        .map(|l| l.split(' ').next().unwrap().to_string())
        .find(|l| *l != key.to_string())
        .unwrap();
    syntax_refusal(
        &sb,
        &format!("{IMPORT} --keytype ZSK --keystate ready --cka_id {pool_key}"),
        &format!("Already used this key with this locator: {pool_key}"),
    );
    refused(&sb, "key import --bogus", 255, "unknown arguments");
    // After all that, the key still imports.
    sb.ok(&full("--keytype KSK --keystate generate"));
}

#[test]
fn a_wrong_pin_is_reported_without_the_pin() {
    let sb = zone_sandbox();
    let key = make_key(&sb, 0x31, 8, 2048);
    let conf = std::fs::read_to_string(sb.conf()).unwrap();
    std::fs::write(sb.conf(), conf.replace(PIN, "wrong-pin-1234")).unwrap();
    let r = refused(
        &sb,
        &format!("{IMPORT} --cka_id {key} --keytype KSK --keystate ready"),
        255,
        "Unable to check for the repository SoftHSM, HSM error: ",
    );
    assert!(!r.err.contains("wrong-pin-1234"), "{r:?}");
}

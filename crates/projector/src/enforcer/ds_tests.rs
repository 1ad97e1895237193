//! Tests of [`super::ds`]: the texts of docs/cli.md, Key commands and DS commands and the
//! DS steps of the golden traces (`fixtures/conformance/ds/<scenario>-<step>-out.txt` are
//! the captured outputs of OpenDNSSEC 2.1.12, stdout and stderr together).

use super::ds::*;
use super::model::{DsAtParent, HsmKeyId, KeyId, KeyModel, ZoneModel};
use super::record::RecordType;
use kasp_events::{KeyRole, Seconds, Timestamp};

macro_rules! golden {
    ($name:literal) => {
        include_str!(concat!(
            "../../../../fixtures/conformance/ds/",
            $name,
            "-out.txt"
        ))
    };
}

fn key(id: u64, role: KeyRole, tag: u16, ds: DsAtParent) -> KeyModel {
    let mut k = KeyModel::new(KeyId(id), role, 8, 0, Timestamp(0), [Seconds(3600); 4]);
    k.key_tag = tag;
    k.hsm = Some(HsmKeyId(id));
    k.ds_at_parent = ds;
    k
}

fn zone(keys: Vec<KeyModel>) -> ZoneModel {
    ZoneModel {
        keys,
        ..ZoneModel::empty()
    }
}

const LOCATORS: &[(HsmKeyId, &str)] = &[
    (HsmKeyId(1), "6f8a0c6b1d2e4f5a9b3c7d8e9f0a1b2c"),
    (HsmKeyId(2), "1111aaaa2222bbbb3333cccc4444dddd"),
    (HsmKeyId(3), "e806d7d07e07b5804264d247a83c89d1"),
];

fn run(cmd: DsCommand, args: DsArgs<'_>, zones: &[(&str, &ZoneModel)]) -> DsResult {
    let zones: Vec<DsZone<'_>> = zones
        .iter()
        .map(|(name, model)| DsZone { name, model })
        .collect();
    let world = DsWorld {
        zones: &zones,
        locators: LOCATORS,
    };
    ds_command(cmd, &args, &world)
}

fn by_tag<'a>(zone: &'a str, tag: &'a str) -> DsArgs<'a> {
    DsArgs {
        zone: Some(zone),
        keytag: Some(tag),
        ..DsArgs::default()
    }
}

/// stdout followed by stderr, as the captured `out.txt`.
fn out(r: &DsResult) -> String {
    format!("{}{}", r.stdout, r.stderr)
}

/// b-ksk-rollover, steps 004/005 (T+129600): KSK1 (tag 50680) already SUBMITTED by the
/// automatic task; ds-submit matches nothing (exit 11), ds-seen moves it to SEEN.
#[test]
fn b_ksk_rollover_submit_then_seen() {
    let z = zone(vec![
        key(1, KeyRole::Ksk, 50680, DsAtParent::Submitted),
        key(2, KeyRole::Zsk, 1234, DsAtParent::Unsubmitted),
    ]);
    let r = run(
        DsCommand::Submit,
        by_tag("example.com", "50680"),
        &[("example.com", &z)],
    );
    assert_eq!(out(&r), golden!("b-ksk-rollover-004"));
    assert_eq!(r.status, DsStatus::Exit(11));
    assert!(r.changes.is_empty() && !r.flush_all && r.reset_next_change.is_none());

    let r = run(
        DsCommand::Seen,
        by_tag("example.com", "50680"),
        &[("example.com", &z)],
    );
    assert_eq!(out(&r), golden!("b-ksk-rollover-005"));
    assert_eq!(r.status, DsStatus::Exit(0));
    assert_eq!(
        r.changes,
        [DsChange {
            zone: "example.com".into(),
            key: KeyId(1),
            key_tag: 50680,
            hsm: Some(HsmKeyId(1)),
            from: DsAtParent::Submitted,
            to: DsAtParent::Seen,
            hook: None,
        }]
    );
    assert_eq!(r.reset_next_change.as_deref(), Some("example.com"));
    assert_eq!(r.flush_zones, ["example.com"]);
    assert!(r.flush_all);
}

/// b-ksk-rollover, steps 011/012 (T+5234400): old KSK1 already RETRACTED by the task;
/// ds-retract finds nothing, ds-gone moves it to UNSUBMITTED (2.1, Q12) and restarts the
/// DS timing (Q6).
#[test]
fn b_ksk_rollover_retract_then_gone() {
    let mut z = zone(vec![
        key(1, KeyRole::Ksk, 50680, DsAtParent::Retracted),
        key(2, KeyRole::Zsk, 1234, DsAtParent::Unsubmitted),
        key(3, KeyRole::Ksk, 777, DsAtParent::Seen),
    ]);
    let r = run(
        DsCommand::Retract,
        by_tag("example.com", "50680"),
        &[("example.com", &z)],
    );
    assert_eq!(out(&r), golden!("b-ksk-rollover-011"));
    assert_eq!(r.status, DsStatus::Exit(11));

    let r = run(
        DsCommand::Gone,
        by_tag("example.com", "50680"),
        &[("example.com", &z)],
    );
    assert_eq!(out(&r), golden!("b-ksk-rollover-012"));
    assert_eq!(r.status, DsStatus::Exit(0));
    assert_eq!(r.changes.len(), 1);
    let c = &r.changes[0];
    assert_eq!(
        (c.from, c.to),
        (DsAtParent::Retracted, DsAtParent::Unsubmitted)
    );

    let now = Timestamp(5_234_400);
    assert!(apply_change(&mut z, c, now));
    let k = z.key(KeyId(1)).unwrap();
    assert_eq!(k.ds_at_parent, DsAtParent::Unsubmitted);
    assert_eq!(k.records.get(RecordType::Ds).last_change, now);
    assert_eq!(
        k.records.get(RecordType::Dnskey).last_change,
        Timestamp(0),
        "only the DS record's last_change moves"
    );
    assert!(
        !apply_change(&mut z, c, now),
        "applied twice: no longer in `from`"
    );
}

/// d-lab-nsec, steps 006/007: a ZSK's key tag never matches; 99999 is refused.
#[test]
fn d_lab_zsk_tag_and_invalid_keytag() {
    let z = zone(vec![
        key(1, KeyRole::Ksk, 11111, DsAtParent::Submitted),
        key(2, KeyRole::Zsk, 36328, DsAtParent::Submitted),
    ]);
    let r = run(
        DsCommand::Seen,
        by_tag("example.com", "36328"),
        &[("example.com", &z)],
    );
    assert_eq!(out(&r), golden!("d-lab-nsec-006"));
    assert_eq!(r.status, DsStatus::Exit(11));

    let r = run(
        DsCommand::Seen,
        by_tag("example.com", "99999"),
        &[("example.com", &z)],
    );
    assert_eq!(out(&r), golden!("d-lab-nsec-007"));
    assert_eq!(r.stdout, "");
    assert_eq!(r.status, DsStatus::Exit(1));
    assert!(r.changes.is_empty());
}

/// e-csk-prepublication, steps 009/010: CSKs count as "KSK"; selection by CKA_ID.
#[test]
fn e_csk_gone_miss_and_seen_by_cka_id() {
    let z = zone(vec![
        key(2, KeyRole::Csk, 5555, DsAtParent::Retracted),
        key(3, KeyRole::Csk, 4300, DsAtParent::Submitted),
    ]);
    let r = run(
        DsCommand::Gone,
        by_tag("example.com", "4300"),
        &[("example.com", &z)],
    );
    assert_eq!(out(&r), golden!("e-csk-prepublication-009"));
    assert_eq!(r.status, DsStatus::Exit(11));

    let args = DsArgs {
        zone: Some("example.com"),
        cka_id: Some("e806d7d07e07b5804264d247a83c89d1"),
        ..DsArgs::default()
    };
    let r = run(DsCommand::Seen, args, &[("example.com", &z)]);
    assert_eq!(out(&r), golden!("e-csk-prepublication-010"));
    assert_eq!(r.status, DsStatus::Exit(0));
    assert_eq!(r.changes.len(), 1);
    assert_eq!(r.changes[0].key, KeyId(3));
}

/// f-shared-keys, step 009: `ds-seen --all` over two zones sharing key material; no
/// zone's next_change is reset (zone-less form), but both zones and then all are flushed.
#[test]
fn f_shared_keys_seen_all() {
    let mut a_ksk = key(1, KeyRole::Ksk, 50680, DsAtParent::Submitted);
    let mut b_ksk = key(11, KeyRole::Ksk, 50680, DsAtParent::Submitted);
    a_ksk.hsm = Some(HsmKeyId(1));
    b_ksk.hsm = Some(HsmKeyId(1));
    let a = zone(vec![
        a_ksk,
        key(2, KeyRole::Zsk, 1, DsAtParent::Unsubmitted),
    ]);
    let b = zone(vec![
        b_ksk,
        key(12, KeyRole::Zsk, 2, DsAtParent::Unsubmitted),
    ]);
    let zones = [("a.example", &a), ("b.example", &b)];
    let all = DsArgs {
        all: true,
        ..DsArgs::default()
    };
    let r = run(DsCommand::Seen, all, &zones);
    assert_eq!(out(&r), golden!("f-shared-keys-009"));
    assert_eq!(r.status, DsStatus::Exit(0));
    assert_eq!(r.flush_zones, ["a.example", "b.example"]);
    assert!(r.reset_next_change.is_none() && r.flush_all);

    // By CKA_ID in one zone: the shared hsm key selects only that zone's key_data row.
    let args = DsArgs {
        zone: Some("b.example"),
        cka_id: Some("6f8a0c6b1d2e4f5a9b3c7d8e9f0a1b2c"),
        ..DsArgs::default()
    };
    let r = run(DsCommand::Seen, args, &zones);
    assert_eq!(r.stdout, "1 KSK matches found.\n1 KSKs changed.\n");
    assert_eq!(r.changes[0].key, KeyId(11));
    assert_eq!(r.changes[0].zone, "b.example");
}

/// g-zone-delete, step 014: unknown zone is a syntax error (the handler adds the
/// "Error parsing arguments" line and the usage block, exit 255).
#[test]
fn g_zone_delete_unknown_zone() {
    let other = zone(vec![key(1, KeyRole::Ksk, 1234, DsAtParent::Submitted)]);
    let r = run(
        DsCommand::Seen,
        by_tag("example.com", "1234"),
        &[("example.net", &other)],
    );
    assert_eq!(r.status, DsStatus::SyntaxError);
    assert_eq!(r.stdout, "");
    let first = golden!("g-zone-delete-014").lines().next().unwrap();
    assert_eq!(r.stderr, format!("{first}\n"));
    assert!(golden!("g-zone-delete-014").contains(&format!(
        "Error parsing arguments {} command line",
        DsCommand::Seen.name()
    )));
}

/// The other argument errors of docs/cli.md, DS commands, in `run_ds_cmd`'s order.
#[test]
fn argument_errors() {
    let z = zone(vec![key(1, KeyRole::Ksk, 1, DsAtParent::Submitted)]);
    let zones = [("example.com", &z)];
    let err = |args: DsArgs<'_>| {
        let r = run(DsCommand::Seen, args, &zones);
        assert!(r.changes.is_empty() && r.stdout.is_empty());
        (r.status, r.stderr)
    };
    let syntax = |s: &str| (DsStatus::SyntaxError, s.to_string());
    let incomplete = "expected --zone and either --cka_id or --keytag option or expected --all.\n";
    assert_eq!(
        err(DsArgs {
            zone: Some("example.com"),
            ..DsArgs::default()
        }),
        syntax(incomplete)
    );
    assert_eq!(
        err(DsArgs {
            zone: Some("example.com"),
            keytag: Some("1"),
            cka_id: Some("6f8a0c6b1d2e4f5a9b3c7d8e9f0a1b2c"),
            all: false,
        }),
        syntax(incomplete)
    );
    assert_eq!(
        err(DsArgs {
            zone: Some("example.com"),
            all: true,
            ..DsArgs::default()
        }),
        syntax("Error: Unable to use --zone and --all together\n")
    );
    assert_eq!(
        err(DsArgs {
            keytag: Some("1"),
            ..DsArgs::default()
        }),
        syntax("Error: expected --zone <zone>\n")
    );
    assert_eq!(
        err(DsArgs {
            cka_id: Some("x"),
            all: true,
            ..DsArgs::default()
        }),
        syntax("Error: expected --zone <zone>\n")
    );
    assert_eq!(
        err(DsArgs {
            zone: Some("example.com"),
            cka_id: Some("nosuch"),
            ..DsArgs::default()
        }),
        syntax("CKA_ID nosuch can not be found!\n")
    );
    // The keytag is checked first, even before --zone/--all conflicts (exit 1).
    assert_eq!(
        err(DsArgs {
            zone: Some("nosuch"),
            keytag: Some("-3"),
            all: true,
            ..DsArgs::default()
        }),
        (
            DsStatus::Exit(1),
            "value \"-3\" for --keytag is invalid\n".to_string()
        )
    );
}

/// `--keytag` is read with glibc `atoi`; 0 disables the filter (Q13).
#[test]
fn keytag_parsing() {
    assert_eq!(parse_keytag("61127"), Ok(KeytagArg::Tag(61127)));
    assert_eq!(parse_keytag("65535"), Ok(KeytagArg::Tag(65535)));
    assert_eq!(parse_keytag("12abc"), Ok(KeytagArg::Tag(12)));
    assert_eq!(parse_keytag("+7"), Ok(KeytagArg::Tag(7)));
    assert_eq!(parse_keytag("0"), Ok(KeytagArg::Unfiltered));
    assert_eq!(parse_keytag("abc"), Ok(KeytagArg::Unfiltered));
    assert_eq!(parse_keytag("4294967296"), Ok(KeytagArg::Unfiltered));
    assert_eq!(
        parse_keytag("65536"),
        Err("value \"65536\" for --keytag is invalid\n".into())
    );
    assert_eq!(
        parse_keytag("-1"),
        Err("value \"-1\" for --keytag is invalid\n".into())
    );
    assert_eq!(
        parse_keytag("99999999999999999999"),
        Err("value \"-1\" for --keytag is invalid\n".into()),
        "strtol saturates at LONG_MAX, truncated to int that is -1"
    );
}

/// Keytag 0 selects every KSK/CSK of the zone in the "from" state.
#[test]
fn keytag_zero_matches_all_eligible_keys() {
    let z = zone(vec![
        key(1, KeyRole::Ksk, 10, DsAtParent::Submitted),
        key(2, KeyRole::Zsk, 20, DsAtParent::Submitted),
        key(3, KeyRole::Csk, 30, DsAtParent::Submitted),
        key(4, KeyRole::Ksk, 40, DsAtParent::Seen),
    ]);
    let r = run(
        DsCommand::Seen,
        by_tag("example.com", "x"),
        &[("example.com", &z)],
    );
    assert_eq!(r.stdout, "2 KSK matches found.\n2 KSKs changed.\n");
    let ids: Vec<KeyId> = r.changes.iter().map(|c| c.key).collect();
    assert_eq!(ids, [KeyId(1), KeyId(3)]);
}

/// Without any option the command lists the eligible keys of all zones (exit 0), and,
/// having returned 0, still flushes every zone's enforce task (corner
/// F7-bare-ds-list-runs-enforce).
#[test]
fn no_selector_lists_candidates() {
    let mut orphan = key(9, KeyRole::Csk, 7, DsAtParent::Submit);
    orphan.hsm = None;
    let a = zone(vec![
        key(1, KeyRole::Ksk, 61127, DsAtParent::Submit),
        key(2, KeyRole::Zsk, 5, DsAtParent::Submit),
    ]);
    let b = zone(vec![orphan, key(3, KeyRole::Ksk, 8, DsAtParent::Submitted)]);
    let r = run(
        DsCommand::Submit,
        DsArgs::default(),
        &[("example.com", &a), ("example.org", &b)],
    );
    assert_eq!(
        r.stdout,
        "Zone:                           Key role:     Keytag:       Id:                                     \n\
         example.com                     KSK           61127         6f8a0c6b1d2e4f5a9b3c7d8e9f0a1b2c        \n\
         example.org                     CSK           7             NOT_FOUND                               \n"
    );
    assert_eq!(r.status, DsStatus::Exit(0));
    assert!(r.changes.is_empty() && r.flush_all && r.reset_next_change.is_none());
}

/// The list and `--all` take the keys in OpenDNSSEC's database order, key creation order
/// across zones (ds_list_keys, change_keys_from_to: one key_data query), not zone by
/// zone: a key made later in the first zone comes after an earlier key of the second.
#[test]
fn list_and_all_follow_key_creation_order() {
    let a = zone(vec![key(4, KeyRole::Ksk, 400, DsAtParent::Submit)]);
    let b = zone(vec![key(2, KeyRole::Ksk, 200, DsAtParent::Submit)]);
    let zones = [("a.example", &a), ("b.example", &b)];
    let listed = run(DsCommand::Submit, DsArgs::default(), &zones).stdout;
    let rows: Vec<&str> = listed.lines().skip(1).map(|l| &l[..9]).collect();
    assert_eq!(rows, ["b.example", "a.example"], "{listed}");
    let all = DsArgs {
        all: true,
        ..DsArgs::default()
    };
    let changed: Vec<KeyId> = run(DsCommand::Submit, all, &zones)
        .changes
        .iter()
        .map(|c| c.key)
        .collect();
    assert_eq!(changed, [KeyId(2), KeyId(4)]);
}

/// ds-submit and ds-retract run their hook per changed key; ds-seen and ds-gone none.
#[test]
fn hooks_per_command() {
    assert_eq!(DsCommand::Submit.hook(), Some(DsHook::Submit));
    assert_eq!(DsCommand::Retract.hook(), Some(DsHook::Retract));
    assert_eq!(DsCommand::Seen.hook(), None);
    assert_eq!(DsCommand::Gone.hook(), None);
    let z = zone(vec![key(1, KeyRole::Ksk, 10, DsAtParent::Submit)]);
    let r = run(
        DsCommand::Submit,
        by_tag("example.com", "10"),
        &[("example.com", &z)],
    );
    assert_eq!(r.changes[0].hook, Some(DsHook::Submit));
    assert_eq!(r.changes[0].to, DsAtParent::Submitted);
}

/// After an enforce run (b-ksk-rollover step 008, T+5234400): KSK1 RETRACT, KSK2 SUBMIT
/// → warnings and one change for each task, which the trace shows as done in the same
/// second (retracted / submitted, DS last_change = T+5234400).
#[test]
fn automatic_tasks_after_enforce() {
    let mut z = zone(vec![
        key(1, KeyRole::Ksk, 50680, DsAtParent::Retract),
        key(2, KeyRole::Ksk, 4242, DsAtParent::Submit),
        key(3, KeyRole::Zsk, 999, DsAtParent::Unsubmitted),
    ]);
    assert_eq!(
        parent_warnings("example.com", &z),
        [
            "[enforce_task] please retract DS with keytag 50680 for zone example.com",
            "[enforce_task] please submit DS with keytag 4242 for zone example.com",
        ]
    );
    let due = due_for_parent("example.com", &z);
    assert_eq!(due.submit.len(), 1);
    assert_eq!(due.retract.len(), 1);
    assert_eq!(
        (due.submit[0].key, due.submit[0].hook, due.submit[0].to),
        (KeyId(2), Some(DsHook::Submit), DsAtParent::Submitted)
    );
    assert_eq!(
        (due.retract[0].key, due.retract[0].hook, due.retract[0].to),
        (KeyId(1), Some(DsHook::Retract), DsAtParent::Retracted)
    );
    let now = Timestamp(5_234_400);
    for c in due.submit.iter().chain(&due.retract) {
        assert!(apply_change(&mut z, c, now));
    }
    assert_eq!(z.keys[0].ds_at_parent, DsAtParent::Retracted);
    assert_eq!(z.keys[1].ds_at_parent, DsAtParent::Submitted);
    assert!(parent_warnings("example.com", &z).is_empty());
    let due = due_for_parent("example.com", &z);
    assert!(due.submit.is_empty() && due.retract.is_empty());
}

//! Tests of [`super::keylist`] (docs/state-machine.md, Key list states, docs/cli.md, Key
//! commands): the human state table, and `key list` in every format rendered from the key
//! states of golden scenario a (`trace-cli.txt`) and compared byte for byte with OpenDNSSEC
//! 2.1.12's captured output (`raw/NNN/keys-*.txt`, copied to
//! `fixtures/conformance/keylist/`).

use super::keylist::{
    HsmColumns, KeyRow, KeyState, ListFormat, key_state, next_transition, render_key_list,
};
use super::model::{DsAtParent, KeyId, KeyModel};
use super::record::RecordState::{self, *};
use kasp_events::{KeyRole, Seconds, Timestamp};

const START: i64 = 1_735_689_600;

fn t(offset: i64) -> Timestamp {
    Timestamp(START + offset)
}

/// One key of scenario a: (locator, keytag, bits) by name.
fn material(name: &str) -> (&'static str, u16, u32) {
    match name {
        "KSK1" => ("8eca0f5069420e23766c59669ce681ec", 56650, 2048),
        "ZSK1" => ("b5a1dc7843cdeaa0132dd960cdb7c574", 31273, 1024),
        "ZSK2" => ("e8c087e8710e6d73606a132e62433018", 41076, 1024),
        _ => ("b107d36e98ca48257ef25bf2e190c71f", 61015, 1024),
    }
}

/// A key of scenario a with the record states of the trace; `None` = no states yet.
struct K {
    name: &'static str,
    states: Option<[RecordState; 4]>,
    introducing: bool,
    ds: DsAtParent,
}

fn k(name: &'static str, states: [RecordState; 4], introducing: bool, ds: DsAtParent) -> K {
    K {
        name,
        states: Some(states),
        introducing,
        ds,
    }
}

fn rows(keys: &[K], next: i64, now: i64) -> Vec<KeyRow> {
    keys.iter()
        .map(|key| {
            let role = if key.name.starts_with("KSK") {
                KeyRole::Ksk
            } else {
                KeyRole::Zsk
            };
            let (locator, key_tag, bits) = material(key.name);
            let mut m = KeyModel::new(KeyId(1), role, 8, 0, Timestamp(START), [Seconds(0); 4]);
            m.key_tag = key_tag;
            m.introducing = key.introducing;
            m.ds_at_parent = key.ds;
            match key.states {
                Some(states) => {
                    for (r, s) in m.records.0.iter_mut().zip(states) {
                        r.state = s;
                    }
                }
                None => m.states_created = false,
            }
            let hsm = HsmColumns {
                bits,
                locator: locator.to_string(),
                repository: "SoftHSM".to_string(),
            };
            KeyRow::of("example.com", &m, hsm, Some(t(next)), t(now))
        })
        .collect()
}

/// The captured file `fixtures/conformance/keylist/<step>-<name>.txt`.
macro_rules! golden {
    ($step:literal, $name:literal) => {
        include_str!(concat!(
            "../../../../fixtures/conformance/keylist/",
            $step,
            "-",
            $name,
            ".txt"
        ))
    };
}

/// Compares all five captured formats of step `$step` with the rendering of `$rows`.
macro_rules! check_step {
    ($step:literal, $rows:expr) => {{
        let rows = $rows;
        let cases = [
            (ListFormat::Verbose, golden!($step, "keys-verbose")),
            (
                ListFormat::VerboseParsable,
                golden!($step, "keys-verbose-p"),
            ),
            (ListFormat::Debug, golden!($step, "keys-debug")),
            (ListFormat::DebugParsable, golden!($step, "keys-debug-p")),
            (ListFormat::Full, golden!($step, "keys-full")),
        ];
        for (format, golden) in cases {
            assert_eq!(
                render_key_list(format, &rows),
                golden,
                "step {} {:?}",
                $step,
                format
            );
        }
    }};
}

const KSK_OMN: [RecordState; 4] = [Omnipresent, Omnipresent, Omnipresent, Na];
const ZSK_OMN: [RecordState; 4] = [Na, Omnipresent, Na, Omnipresent];
const UNS: DsAtParent = DsAtParent::Unsubmitted;

#[test]
fn step_001_first_keys_publish_and_ready() {
    let keys = [
        k("KSK1", [Hidden, Rumoured, Rumoured, Na], true, UNS),
        k("ZSK1", [Na, Rumoured, Na, Rumoured], true, UNS),
    ];
    check_step!("001", rows(&keys, 50_400, 0));
}

#[test]
fn step_003_ksk_waits_for_ds_seen() {
    let keys = [
        k(
            "KSK1",
            [Rumoured, Omnipresent, Omnipresent, Na],
            true,
            DsAtParent::Submitted,
        ),
        k("ZSK1", ZSK_OMN, true, UNS),
    ];
    check_step!("003", rows(&keys, 7_776_000, 129_600));
}

#[test]
fn step_004_ksk_is_active_right_after_ds_seen() {
    let keys = [
        k(
            "KSK1",
            [Rumoured, Omnipresent, Omnipresent, Na],
            true,
            DsAtParent::Seen,
        ),
        k("ZSK1", ZSK_OMN, true, UNS),
    ];
    check_step!("004", rows(&keys, 143_199, 129_600));
}

#[test]
fn step_006_successor_zsk_is_published() {
    let keys = [
        k("KSK1", KSK_OMN, true, DsAtParent::Seen),
        k("ZSK1", ZSK_OMN, false, UNS),
        k("ZSK2", [Na, Rumoured, Na, Hidden], true, UNS),
    ];
    check_step!("006", rows(&keys, 7_826_400, 7_776_000));
}

#[test]
fn step_007_old_zsk_retires_new_one_ready() {
    let keys = [
        k("KSK1", KSK_OMN, true, DsAtParent::Seen),
        k("ZSK1", [Na, Omnipresent, Na, Unretentive], false, UNS),
        k("ZSK2", [Na, Omnipresent, Na, Rumoured], true, UNS),
    ];
    check_step!("007", rows(&keys, 8_956_800, 7_826_400));
}

#[test]
fn step_009_old_dnskey_withdrawn() {
    let keys = [
        k("KSK1", KSK_OMN, true, DsAtParent::Seen),
        k("ZSK1", [Na, Unretentive, Na, Hidden], false, UNS),
        k("ZSK2", ZSK_OMN, true, UNS),
    ];
    check_step!("009", rows(&keys, 9_007_200, 8_956_800));
}

#[test]
fn step_011_key_without_states_is_unknown_with_null_records() {
    let keys = [
        k("KSK1", KSK_OMN, true, DsAtParent::Seen),
        k("ZSK2", ZSK_OMN, true, UNS),
        K {
            name: "ZSK3",
            states: None,
            introducing: true,
            ds: UNS,
        },
    ];
    check_step!("011", rows(&keys, 15_552_060, 15_552_000));
}

#[test]
fn plain_format_matches_the_reference_example() {
    let mut r = rows(
        &[
            k(
                "KSK1",
                [Rumoured, Omnipresent, Omnipresent, Na],
                true,
                DsAtParent::Submitted,
            ),
            k("ZSK1", ZSK_OMN, true, UNS),
        ],
        0,
        100,
    );
    r[1].next_transition = "2022-11-10 14:05:12".to_string();
    let expected = "Keys:\n\
        Zone:                           Keytype: State:    Date of next transition:\n\
        example.com                     KSK      ready     waiting for ds-seen\n\
        example.com                     ZSK      active    2022-11-10 14:05:12\n";
    assert_eq!(render_key_list(ListFormat::Plain, &r), expected);
    assert_eq!(
        render_key_list(ListFormat::DebugParsable, &[]),
        "",
        "parsable formats have no header"
    );
}

#[test]
fn next_transition_text() {
    let now = t(100);
    let ds = DsAtParent::Unsubmitted;
    assert_eq!(next_transition(ds, None, now), "-");
    assert_eq!(next_transition(ds, Some(Timestamp(-1)), now), "-");
    assert_eq!(next_transition(ds, Some(t(99)), now), "now");
    assert_eq!(
        next_transition(ds, Some(t(100)), now),
        "2025-01-01 00:01:40"
    );
    assert_eq!(next_transition(DsAtParent::Seen, Some(t(0)), now), "now");
    let waits = [
        (DsAtParent::Submit, "waiting for ds-submit"),
        (DsAtParent::Submitted, "waiting for ds-seen"),
        (DsAtParent::Retract, "waiting for ds-retract"),
        (DsAtParent::Retracted, "waiting for ds-gone"),
    ];
    for (ds, text) in waits {
        assert_eq!(next_transition(ds, None, now), text);
    }
}

#[test]
fn format_options_follow_the_precedence() {
    use ListFormat::*;
    assert_eq!(ListFormat::from_options(true, true, true, true), Full);
    assert_eq!(
        ListFormat::from_options(true, true, false, true),
        DebugParsable
    );
    assert_eq!(ListFormat::from_options(true, true, false, false), Debug);
    assert_eq!(
        ListFormat::from_options(true, false, false, true),
        VerboseParsable
    );
    assert_eq!(ListFormat::from_options(true, false, false, false), Verbose);
    assert_eq!(ListFormat::from_options(false, false, false, true), Plain);
}

fn zsk(dnskey: RecordState, rrsig: RecordState, introducing: bool) -> KeyState {
    key_state(
        KeyRole::Zsk,
        Some([Na, dnskey, Na, rrsig]),
        introducing,
        UNS,
    )
}

#[test]
fn human_states_of_section_11() {
    use KeyState::*;
    // The ZSK lifecycle of docs/state-machine.md, Key list states and Timeline.
    assert_eq!(zsk(Hidden, Hidden, true), Generate);
    assert_eq!(zsk(Rumoured, Hidden, true), Publish);
    assert_eq!(zsk(Rumoured, Rumoured, true), Ready);
    assert_eq!(zsk(Omnipresent, Rumoured, true), Ready);
    assert_eq!(zsk(Omnipresent, Omnipresent, true), Active);
    assert_eq!(zsk(Omnipresent, Omnipresent, false), Active);
    assert_eq!(zsk(Omnipresent, Unretentive, false), Retire);
    assert_eq!(zsk(Unretentive, Hidden, false), Retire);
    assert_eq!(zsk(Hidden, Hidden, false), Retire);
    assert_eq!(
        zsk(Rumoured, Hidden, false),
        Ready,
        "2.1 has no develop RUM/HID rule"
    );
    assert_eq!(zsk(Unretentive, Unretentive, true), Unknown);
    assert_eq!(zsk(Na, Na, false), Retire);
    // KSK: the DS decides, ds-seen makes a rumoured DS active.
    let ksk = |s: [RecordState; 4], ds| key_state(KeyRole::Ksk, Some(s), true, ds);
    let rum = [Rumoured, Omnipresent, Omnipresent, Na];
    assert_eq!(ksk(rum, DsAtParent::Submitted), Ready);
    assert_eq!(ksk(rum, DsAtParent::Seen), Active);
    let ret = [Unretentive, Omnipresent, Omnipresent, Na];
    assert_eq!(
        key_state(KeyRole::Ksk, Some(ret), false, DsAtParent::Retracted),
        Retire
    );
    // CSK: mixed when the views differ, else the common name.
    let csk = |s| key_state(KeyRole::Csk, Some(s), true, DsAtParent::Submitted);
    assert_eq!(
        csk([Rumoured, Omnipresent, Omnipresent, Omnipresent]),
        Mixed
    );
    assert_eq!(csk([Omnipresent; 4]), Active);
    assert_eq!(csk([Hidden, Hidden, Hidden, Hidden]), Generate);
    // No key states: every comparison fails.
    assert_eq!(key_state(KeyRole::Ksk, None, true, UNS), Unknown);
    assert_eq!(key_state(KeyRole::Zsk, None, false, UNS), Retire);
    assert_eq!(Dead.as_str(), "dead");
}

//! The human-readable key state and `ods-enforcer key list` —
//! docs/state-machine.md, Key list states (`keystate/keystate_list_cmd.c:map_keystate`,
//! `map_keytime`) and docs/cli.md, Key commands (`key list` output formats).
//!
//! [`key_state`] maps record states to the name `key list` shows; [`next_transition`]
//! is the "Date of next transition" column (the *zone's* next change, or a DS wait);
//! [`render_key_list`] prints rows ([`KeyRow`], plain data, however the caller got
//! it) byte for byte as OpenDNSSEC 2.1.12, in the order given (2.1.12: DB order).
//! Times are printed as `%Y-%m-%d %H:%M:%S` in UTC (the enforcer's local time zone).

use super::flags::KeyFlags;
use super::model::{DsAtParent, KeyModel, has_ksk, has_zsk};
use super::record::{RecordState, RecordType};
use kasp_events::{KeyRole, Timestamp};
use std::fmt::Write as _;

/// The human key state of `key list` (docs/state-machine.md, Key list states; `dead` is in
/// 2.1's table, never produced).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyState {
    Generate,
    Publish,
    Ready,
    Active,
    Retire,
    Dead,
    Unknown,
    /// A CSK whose KSK and ZSK views differ.
    Mixed,
}

impl KeyState {
    /// OpenDNSSEC's name (`generate`, `publish`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Generate => "generate",
            KeyState::Publish => "publish",
            KeyState::Ready => "ready",
            KeyState::Active => "active",
            KeyState::Retire => "retire",
            KeyState::Dead => "dead",
            KeyState::Unknown => "unknown",
            KeyState::Mixed => "mixed",
        }
    }
}

/// `keystate(p, c, introducing, ds)` of docs/state-machine.md, Key list states over one
/// view; `None` is a missing key_state row (matches no state).
fn view(
    p: Option<RecordState>,
    c: Option<RecordState>,
    introducing: bool,
    ds: Option<DsAtParent>,
) -> KeyState {
    use RecordState::*;
    let either = |s: RecordState| p == Some(s) || c == Some(s);
    if p == Some(Omnipresent) && c == Some(Omnipresent) {
        return KeyState::Active;
    }
    if p == Some(Rumoured) && ds == Some(DsAtParent::Seen) && c == Some(Omnipresent) {
        return KeyState::Active;
    }
    let both_hidden = p == Some(Hidden) && c == Some(Hidden);
    if introducing {
        if both_hidden {
            KeyState::Generate
        } else if either(Hidden) {
            KeyState::Publish
        } else if either(Omnipresent) || either(Rumoured) {
            KeyState::Ready
        } else {
            KeyState::Unknown
        }
    } else if both_hidden || either(Unretentive) {
        KeyState::Retire
    } else if either(Omnipresent) || either(Rumoured) {
        KeyState::Ready
    } else {
        KeyState::Retire
    }
}

/// The human state of a key (docs/state-machine.md, Key list states): KSK view (DS, DNSKEY,
/// ds_at_parent), ZSK view (DNSKEY, RRSIG), a CSK is `mixed` when they differ. `states` are
/// DS, DNSKEY, RRSIGDNSKEY, RRSIG; `None` = the key states do not exist yet.
pub fn key_state(
    role: KeyRole,
    states: Option<[RecordState; 4]>,
    introducing: bool,
    ds_at_parent: DsAtParent,
) -> KeyState {
    let s = |t: RecordType| states.map(|st| st[t.index()]);
    let ksk = || {
        view(
            s(RecordType::Ds),
            s(RecordType::Dnskey),
            introducing,
            Some(ds_at_parent),
        )
    };
    let zsk = || {
        view(
            s(RecordType::Dnskey),
            s(RecordType::Rrsig),
            introducing,
            None,
        )
    };
    match (has_ksk(role), has_zsk(role)) {
        (true, true) if ksk() != zsk() => KeyState::Mixed,
        (true, _) => ksk(),
        _ => zsk(),
    }
}

/// The DS wait text that replaces the next transition time (docs/state-machine.md, DS at
/// the parent, `map_keytime`).
pub fn ds_wait(ds_at_parent: DsAtParent) -> Option<&'static str> {
    match ds_at_parent {
        DsAtParent::Submit => Some("waiting for ds-submit"),
        DsAtParent::Submitted => Some("waiting for ds-seen"),
        DsAtParent::Retract => Some("waiting for ds-retract"),
        DsAtParent::Retracted => Some("waiting for ds-gone"),
        DsAtParent::Unsubmitted | DsAtParent::Seen => None,
    }
}

/// `%Y-%m-%d %H:%M:%S` in UTC.
pub fn format_time(t: Timestamp) -> String {
    let c = t.civil();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// "Date of next transition" (`map_keytime`): the DS wait text if any, else `-` when
/// the zone has no next change (`None` or negative), `now` when it lies before `now`,
/// else the zone's next change time.
pub fn next_transition(
    ds_at_parent: DsAtParent,
    next_change: Option<Timestamp>,
    now: Timestamp,
) -> String {
    if let Some(text) = ds_wait(ds_at_parent) {
        return text.to_string();
    }
    match next_change {
        Some(t) if t.0 >= 0 && t < now => "now".to_string(),
        Some(t) if t.0 >= 0 => format_time(t),
        _ => "-".to_string(),
    }
}

/// One row of `key list`, in any format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    /// Zone name.
    pub zone: String,
    /// KSK, ZSK or CSK.
    pub role: KeyRole,
    /// Human state ([`key_state`]).
    pub state: KeyState,
    /// "Date of next transition" text ([`next_transition`]).
    pub next_transition: String,
    /// Key size in bits (`hsm_key.bits`).
    pub bits: u32,
    /// DNSSEC algorithm.
    pub algorithm: u8,
    /// CKA_ID (`hsm_key.locator`).
    pub locator: String,
    /// Repository name.
    pub repository: String,
    /// `key_data.keytag`.
    pub key_tag: u16,
    /// DS, DNSKEY, RRSIGDNSKEY, RRSIG; `None` prints `(null)` (no key states yet).
    pub records: Option<[RecordState; 4]>,
    /// `key_data.publish`.
    pub publish: bool,
    /// `active_ksk | active_zsk`.
    pub active: bool,
}

/// The HSM side of a row: what the key model does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HsmColumns {
    /// Key size in bits.
    pub bits: u32,
    /// CKA_ID.
    pub locator: String,
    /// Repository name.
    pub repository: String,
}

impl KeyRow {
    /// The row of `key` in `zone` whose next change is `next_change`, listed at `now`.
    pub fn of(
        zone: &str,
        key: &KeyModel,
        hsm: HsmColumns,
        next_change: Option<Timestamp>,
        now: Timestamp,
    ) -> KeyRow {
        let records = key.states_created.then(|| key.records.states());
        let flags = KeyFlags::of(key);
        KeyRow {
            zone: zone.to_string(),
            role: key.role,
            state: key_state(key.role, records, key.introducing, key.ds_at_parent),
            next_transition: next_transition(key.ds_at_parent, next_change, now),
            bits: hsm.bits,
            algorithm: key.algorithm,
            locator: hsm.locator,
            repository: hsm.repository,
            key_tag: key.key_tag,
            records,
            publish: flags.publish,
            active: flags.active(),
        }
    }

    fn record(&self, t: RecordType) -> &'static str {
        self.records.map_or("(null)", |r| r[t.index()].as_str())
    }

    fn records_text(&self) -> [&'static str; 4] {
        RecordType::ALL.map(|t| self.record(t))
    }
}

/// The output format of `key list` (`-f` > `-d` > `-v` > plain, docs/cli.md, Key commands).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    Plain,
    Verbose,
    VerboseParsable,
    Debug,
    DebugParsable,
    Full,
}

impl ListFormat {
    /// The format selected by the options; `-p` alone selects plain (the caller prints
    /// the `-p option only available …` warning).
    pub fn from_options(verbose: bool, debug: bool, full: bool, parsable: bool) -> Self {
        match (full, debug, verbose, parsable) {
            (true, ..) => ListFormat::Full,
            (_, true, _, true) => ListFormat::DebugParsable,
            (_, true, _, false) => ListFormat::Debug,
            (_, _, true, true) => ListFormat::VerboseParsable,
            (_, _, true, false) => ListFormat::Verbose,
            _ => ListFormat::Plain,
        }
    }
}

const DEBUG_HEADER: &str = "Zone:                           Key role:     DS:          DNSKEY:      \
                            RRSIGDNSKEY: RRSIG:       Pub: Act: Id:\n";

/// `key list` output for `rows` in `format`, exactly as OpenDNSSEC 2.1.12 prints it.
pub fn render_key_list(format: ListFormat, rows: &[KeyRow]) -> String {
    let mut out = String::new();
    match format {
        ListFormat::Plain => {
            out.push_str("Keys:\n");
            let _ = writeln!(
                out,
                "{:<31} {:<8} {:<9} Date of next transition:",
                "Zone:", "Keytype:", "State:"
            );
        }
        ListFormat::Verbose => {
            out.push_str("Keys:\n");
            let _ = writeln!(
                out,
                "{:<31} {:<8} {:<9} {:<24} {:<5} {:<10} {:<32} {:<11} KeyTag:",
                "Zone:",
                "Keytype:",
                "State:",
                "Date of next transition:",
                "Size:",
                "Algorithm:",
                "CKA_ID:",
                "Repository:"
            );
        }
        ListFormat::Debug => {
            out.push_str("Keys:\n");
            out.push_str(DEBUG_HEADER);
        }
        ListFormat::VerboseParsable | ListFormat::DebugParsable | ListFormat::Full => {}
    }
    for r in rows {
        let role = r.role.as_str();
        let state = r.state.as_str();
        let [ds, dk, rd, rs] = r.records_text();
        let (p, a) = (u8::from(r.publish), u8::from(r.active));
        let _ = match format {
            ListFormat::Plain => writeln!(
                out,
                "{:<31} {:<8} {:<9} {}",
                r.zone, role, state, r.next_transition
            ),
            ListFormat::Verbose => writeln!(
                out,
                "{:<31} {:<8} {:<9} {:<24} {:<5} {:<10} {:<32} {:<11} {}",
                r.zone,
                role,
                state,
                r.next_transition,
                r.bits,
                r.algorithm,
                r.locator,
                r.repository,
                r.key_tag
            ),
            ListFormat::VerboseParsable => writeln!(
                out,
                "{};{};{};{};{};{};{};{};{}",
                r.zone,
                role,
                state,
                r.next_transition,
                r.bits,
                r.algorithm,
                r.locator,
                r.repository,
                r.key_tag
            ),
            ListFormat::Debug => writeln!(
                out,
                "{:<31} {:<13} {:<12} {:<12} {:<12} {:<12} {} {:>4}    {}",
                r.zone, role, ds, dk, rd, rs, p, a, r.locator
            ),
            ListFormat::DebugParsable => writeln!(
                out,
                "{};{};{};{};{};{};{};{};{}",
                r.zone, role, ds, dk, rd, rs, p, a, r.locator
            ),
            ListFormat::Full => writeln!(
                out,
                "{:<31} {:<8} {:<9} {} {} {:<12} {:<12} {:<12} {:<12} {} {:>4}    {}",
                r.zone, role, state, r.key_tag, r.locator, ds, dk, rd, rs, p, a, r.next_transition
            ),
        };
    }
    out
}

//! The DS commands and tasks as pure decisions — docs/state-machine.md, DS at the parent,
//! and docs/cli.md, DS commands (`key ds-submit|ds-seen|ds-retract|ds-gone`),
//! after 2.1.12 `keystate/keystate_ds.c` (`run_ds_cmd`, `change_keys_from_to`,
//! `ds_list_keys`), `keystate_ds_*_cmd.c` and `enforcer/enforce_task.c:perform_enforce`.
//!
//! [`ds_command`] decides one command line (options as getopt left them) over the zones it
//! may touch: which keys change `ds_at_parent` from what to what, the exact stdout and
//! stderr text and the run status. [`apply_change`] performs one change on a [`ZoneModel`]
//! (`ds_at_parent` and the DS record's `last_change`, docs/state-machine.md, DS at the
//! parent; `ds_changed`). After an enforce run, [`parent_warnings`] gives the "please
//! submit/retract DS" log lines and [`due_for_parent`] the keys the ds-submit / ds-retract
//! task would change.
//!
//! No I/O here: the hook (crates/engine/src/dshook.rs) runs elsewhere; for ds-submit and
//! ds-retract its output (`key submited to …`, `error: …`) is printed per changed key, in
//! change order, *before* [`DsResult::stdout`]. 2.1 moves the key whatever the hook did
//! (Q11); a caller that only advances after a successful hook simply skips those changes.

use super::model::{DsAtParent, HsmKeyId, KeyId, ZoneModel};
use super::record::RecordType;
use kasp_events::{KeyRole, Timestamp};
use std::fmt::Write as _;

/// One of the four DS commands (and, for submit/retract, the automatic task).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DsCommand {
    /// `key ds-submit`: submit → submitted, runs the submit hook.
    Submit,
    /// `key ds-seen`: submitted → seen.
    Seen,
    /// `key ds-retract`: retract → retracted, runs the retract hook.
    Retract,
    /// `key ds-gone`: retracted → unsubmitted (2.1, Q12).
    Gone,
}

impl DsCommand {
    /// The command's table name, e.g. `key ds-seen` (used in the parse-error text).
    pub fn name(self) -> &'static str {
        match self {
            DsCommand::Submit => "key ds-submit",
            DsCommand::Seen => "key ds-seen",
            DsCommand::Retract => "key ds-retract",
            DsCommand::Gone => "key ds-gone",
        }
    }

    /// The `ds_at_parent` a key must have to be selected.
    pub fn from(self) -> DsAtParent {
        match self {
            DsCommand::Submit => DsAtParent::Submit,
            DsCommand::Seen => DsAtParent::Submitted,
            DsCommand::Retract => DsAtParent::Retract,
            DsCommand::Gone => DsAtParent::Retracted,
        }
    }

    /// The `ds_at_parent` a selected key gets.
    pub fn to(self) -> DsAtParent {
        match self {
            DsCommand::Submit => DsAtParent::Submitted,
            DsCommand::Seen => DsAtParent::Seen,
            DsCommand::Retract => DsAtParent::Retracted,
            DsCommand::Gone => DsAtParent::Unsubmitted,
        }
    }

    /// The hook run for each selected key before it changes, if any
    /// (crates/engine/src/dshook.rs).
    pub fn hook(self) -> Option<DsHook> {
        match self {
            DsCommand::Submit => Some(DsHook::Submit),
            DsCommand::Retract => Some(DsHook::Retract),
            DsCommand::Seen | DsCommand::Gone => None,
        }
    }
}

/// Which delegation-signer hook a change runs (`DelegationSigner{Submit,Retract}Command`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DsHook {
    /// `DelegationSignerSubmitCommand`.
    Submit,
    /// `DelegationSignerRetractCommand`.
    Retract,
}

/// The options of one DS command line, as `getopt_long` left them (the last occurrence
/// of a repeated option wins). Tokenizing, `too many arguments` and `unknown arguments`
/// are the caller's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DsArgs<'a> {
    /// `--zone|-z`.
    pub zone: Option<&'a str>,
    /// `--cka_id|-k` (an `hsm_key` locator).
    pub cka_id: Option<&'a str>,
    /// `--keytag|-x`, unparsed (2.1 reads it with `atoi`, see [`parse_keytag`]).
    pub keytag: Option<&'a str>,
    /// `--all|-a`.
    pub all: bool,
}

/// One zone as the DS commands see it.
#[derive(Debug, Clone, Copy)]
pub struct DsZone<'a> {
    /// The zone name.
    pub name: &'a str,
    /// Its keys (in key_data order).
    pub model: &'a ZoneModel,
}

/// Everything a DS command reads. `zones` must be in zone-row order and each zone's keys
/// in key_data order: `--all` and the no-selector listing walk them in that order (2.1
/// walks all key_data rows by id, which interleaves zones when keys were created at
/// different times; only the order of changes, hook runs and listed rows depends on it).
#[derive(Debug, Clone, Copy)]
pub struct DsWorld<'a> {
    /// All zones.
    pub zones: &'a [DsZone<'a>],
    /// All `hsm_key` rows as (id, locator), in row order; a locator found twice resolves
    /// to its first row, as `hsm_key_new_get_by_locator`.
    pub locators: &'a [(HsmKeyId, &'a str)],
}

impl DsWorld<'_> {
    fn locator(&self, id: Option<HsmKeyId>) -> Option<&str> {
        let id = id?;
        self.locators
            .iter()
            .find(|(h, _)| *h == id)
            .map(|(_, l)| *l)
    }

    fn hsm_by_locator(&self, locator: &str) -> Option<HsmKeyId> {
        self.locators
            .iter()
            .find(|(_, l)| *l == locator)
            .map(|(h, _)| *h)
    }
}

/// One key changing `ds_at_parent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsChange {
    /// The key's zone.
    pub zone: String,
    /// The key.
    pub key: KeyId,
    /// Its key tag (for the hook's log and the caller's event).
    pub key_tag: u16,
    /// Its key material (the hook rebuilds the DNSKEY from it).
    pub hsm: Option<HsmKeyId>,
    /// `ds_at_parent` before.
    pub from: DsAtParent,
    /// `ds_at_parent` after.
    pub to: DsAtParent,
    /// The hook to run for this key before the change, if any.
    pub hook: Option<DsHook>,
}

/// How the command's `run` ended (docs/cli.md, Conventions and Exit codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsStatus {
    /// `run` returned this exit code (0 success, 1 bad keytag, 11 nothing matched).
    Exit(u8),
    /// `run` returned -1: the command handler adds `Error parsing arguments <name> command
    /// line <line>` to stderr and `Usage:`, an empty line and the usage block to stdout;
    /// the client exits 255.
    SyntaxError,
}

/// The decision for one DS command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsResult {
    /// Keys to change, in order; for each, the hook (if any) runs first.
    pub changes: Vec<DsChange>,
    /// Exact stdout text of the command itself (after any hook output).
    pub stdout: String,
    /// Exact stderr text.
    pub stderr: String,
    /// The run status.
    pub status: DsStatus,
    /// A zone whose `next_change` is set to 0 (single-zone form with ≥ 1 change); the
    /// `--all` form only flushes (`DsStateChanged::next_change_now`).
    pub reset_next_change: Option<String>,
    /// Zones to flush (enforce now), one per changed key, in change order.
    pub flush_zones: Vec<String>,
    /// Whether enforce is then flushed for *all* zones (the run returned 0, the
    /// listing form included).
    pub flush_all: bool,
}

impl DsResult {
    fn error(status: DsStatus, stderr: String) -> DsResult {
        DsResult {
            changes: Vec::new(),
            stdout: String::new(),
            stderr,
            status,
            reset_next_change: None,
            flush_zones: Vec::new(),
            flush_all: false,
        }
    }
}

/// A `--keytag` value as 2.1 reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeytagArg {
    /// 1..=65535: only that key tag matches.
    Tag(u16),
    /// 0 (also any text `atoi` reads as 0, e.g. `abc`): the keytag filter is not applied
    /// (Q13), every KSK/CSK of the zone in the right state matches.
    Unfiltered,
}

/// `atoi` as glibc: `(int) strtol(s, NULL, 10)` — leading white space, an optional sign,
/// decimal digits up to the first other character; saturated at the `long` range, then
/// truncated to 32 bits.
fn atoi(s: &str) -> i32 {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut negative = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        negative = b[i] == b'-';
        i += 1;
    }
    let mut v: i64 = 0;
    let mut overflow = false;
    while i < b.len() && b[i].is_ascii_digit() {
        let d = i64::from(b[i] - b'0');
        match v.checked_mul(10).and_then(|x| {
            if negative {
                x.checked_sub(d)
            } else {
                x.checked_add(d)
            }
        }) {
            Some(x) => v = x,
            None => {
                overflow = true;
                break;
            }
        }
        i += 1;
    }
    if overflow {
        v = if negative { i64::MIN } else { i64::MAX };
    }
    v as i32
}

/// Parses `--keytag` as `run_ds_cmd`: `atoi`, then anything outside 0..65536 is refused
/// with `value "<atoi result>" for --keytag is invalid` (stderr, exit 1).
pub fn parse_keytag(s: &str) -> Result<KeytagArg, String> {
    let v = atoi(s);
    match u16::try_from(v) {
        Ok(0) => Ok(KeytagArg::Unfiltered),
        Ok(t) => Ok(KeytagArg::Tag(t)),
        Err(_) => Err(format!("value \"{v}\" for --keytag is invalid\n")),
    }
}

/// Decides one `key ds-*` command line (`run_ds_cmd` then the command's `run`).
pub fn ds_command(cmd: DsCommand, args: &DsArgs<'_>, world: &DsWorld<'_>) -> DsResult {
    if !args.all && args.zone.is_none() && args.cka_id.is_none() && args.keytag.is_none() {
        return list_keys(cmd, world);
    }
    let keytag = match args.keytag.map(parse_keytag).transpose() {
        Ok(k) => k,
        Err(e) => return DsResult::error(DsStatus::Exit(1), e),
    };
    let syntax = |text: String| DsResult::error(DsStatus::SyntaxError, text);
    if args.all && args.zone.is_some() {
        return syntax("Error: Unable to use --zone and --all together\n".into());
    }
    let zone = match args.zone {
        Some(name) => match world.zones.iter().find(|z| z.name == name) {
            Some(z) => Some(z),
            None => {
                return syntax(format!(
                    "Error: Unable to find a zone named \"{name}\" in database\n"
                ));
            }
        },
        None => None,
    };
    if zone.is_none() && (keytag.is_some() || args.cka_id.is_some()) {
        return syntax("Error: expected --zone <zone>\n".into());
    }
    if zone.is_some() && keytag.is_some() == args.cka_id.is_some() {
        return syntax(
            "expected --zone and either --cka_id or --keytag option or expected --all.\n".into(),
        );
    }
    let hsm = match args.cka_id {
        Some(id) => match world.hsm_by_locator(id) {
            Some(h) => Some(h),
            None => return syntax(format!("CKA_ID {id} can not be found!\n")),
        },
        None => None,
    };
    let zones: Vec<&DsZone<'_>> = match zone {
        Some(z) => vec![z],
        None => world.zones.iter().collect(),
    };
    let changes = select(cmd, &zones, hsm, keytag);
    let mut result = report(changes, zone.map(|z| z.name));
    result.flush_all = result.status == DsStatus::Exit(0);
    result
}

/// The keys of `zones` in OpenDNSSEC's database order: key creation order across zones
/// (the key ids), as its key_data list queries return them.
fn keys_in_db_order<'a, 'b>(
    zones: impl IntoIterator<Item = &'b DsZone<'a>>,
) -> Vec<(&'b DsZone<'a>, &'b crate::enforcer::model::KeyModel)>
where
    'a: 'b,
{
    let mut keys: Vec<_> = zones
        .into_iter()
        .flat_map(|z| z.model.keys.iter().map(move |k| (z, k)))
        .collect();
    keys.sort_by_key(|(_, k)| k.id);
    keys
}

/// The keys of `zones` a command changes, in database order ([`keys_in_db_order`]):
/// role ≠ ZSK, `ds_at_parent` = the command's "from" state, and the key material / key
/// tag filters when given.
fn select(
    cmd: DsCommand,
    zones: &[&DsZone<'_>],
    hsm: Option<HsmKeyId>,
    keytag: Option<KeytagArg>,
) -> Vec<DsChange> {
    let mut out = Vec::new();
    {
        for (z, k) in keys_in_db_order(zones.iter().copied()) {
            let tag_ok = match keytag {
                Some(KeytagArg::Tag(t)) => k.key_tag == t,
                Some(KeytagArg::Unfiltered) | None => true,
            };
            if k.role != KeyRole::Zsk
                && k.ds_at_parent == cmd.from()
                && hsm.is_none_or(|h| k.hsm == Some(h))
                && tag_ok
            {
                out.push(DsChange {
                    zone: z.name.to_string(),
                    key: k.id,
                    key_tag: k.key_tag,
                    hsm: k.hsm,
                    from: cmd.from(),
                    to: cmd.to(),
                    hook: cmd.hook(),
                });
            }
        }
    }
    out
}

/// `change_keys_from_to`'s report over the selected keys (no DB write errors here).
fn report(changes: Vec<DsChange>, zone: Option<&str>) -> DsResult {
    let n = changes.len();
    let stdout = format!("{n} KSK matches found.\n{n} KSKs changed.\n");
    DsResult {
        flush_zones: changes.iter().map(|c| c.zone.clone()).collect(),
        reset_next_change: zone.filter(|_| n > 0).map(str::to_string),
        changes,
        stdout,
        stderr: String::new(),
        status: DsStatus::Exit(if n == 0 { 11 } else { 0 }),
        flush_all: false,
    }
}

/// `ds_list_keys`: the eligible keys of all zones (role ≠ ZSK, in the "from" state).
/// It returns 0, so the command's `run` still flushes every zone's enforce task
/// (`keystate_ds_*_cmd.c`: `if (error == 0) enforce_task_flush_all`).
fn list_keys(cmd: DsCommand, world: &DsWorld<'_>) -> DsResult {
    let mut out = format!(
        "{:<31} {:<13} {:<13} {:<40}\n",
        "Zone:", "Key role:", "Keytag:", "Id:"
    );
    {
        for (z, k) in keys_in_db_order(world.zones) {
            if k.role != KeyRole::Zsk && k.ds_at_parent == cmd.from() {
                let _ = writeln!(
                    out,
                    "{:<31} {:<13} {:<13} {:<40}",
                    z.name,
                    k.role.as_str(),
                    k.key_tag,
                    world.locator(k.hsm).unwrap_or("NOT_FOUND")
                );
            }
        }
    }
    DsResult {
        stdout: out,
        flush_all: true,
        ..DsResult::error(DsStatus::Exit(0), String::new())
    }
}

/// Performs one change on its zone's model: sets `ds_at_parent` and the DS record's
/// `last_change = now` (docs/state-machine.md, DS at the parent; `ds_changed`, Q6). Returns
/// `false` (model untouched) if the key is absent or no longer in the change's "from"
/// state.
pub fn apply_change(zone: &mut ZoneModel, change: &DsChange, now: Timestamp) -> bool {
    match zone.keys.iter_mut().find(|k| k.id == change.key) {
        Some(k) if k.ds_at_parent == change.from => {
            k.ds_at_parent = change.to;
            k.records.get_mut(RecordType::Ds).last_change = now;
            true
        }
        _ => false,
    }
}

/// The warnings `perform_enforce` logs after a run, one per key in SUBMIT or RETRACT:
/// `[enforce_task] please submit DS with keytag <n> for zone <z>` (or `retract`).
pub fn parent_warnings(zone_name: &str, zone: &ZoneModel) -> Vec<String> {
    zone.keys
        .iter()
        .filter_map(|k| {
            let verb = match k.ds_at_parent {
                DsAtParent::Submit => "submit",
                DsAtParent::Retract => "retract",
                _ => return None,
            };
            Some(format!(
                "[enforce_task] please {verb} DS with keytag {} for zone {zone_name}",
                k.key_tag
            ))
        })
        .collect()
}

/// What the automatic tasks would do after an enforce run of one zone
/// (docs/state-machine.md, DS at the parent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsDue {
    /// The ds-submit task's changes (SUBMIT → SUBMITTED, submit hook), key order.
    pub submit: Vec<DsChange>,
    /// The ds-retract task's changes (RETRACT → RETRACTED, retract hook), key order.
    pub retract: Vec<DsChange>,
}

/// The keys due for the ds-submit and ds-retract tasks. In 2.1 a task is scheduled for
/// "now" whenever the list is non-empty and applies every change regardless of the hook
/// (then sets the zone's `next_change` to 0 and flushes its enforce task, so the zone
/// runs again at once). A caller that advances only after a successful hook applies
/// ([`apply_change`]) just the changes whose hook succeeded.
pub fn due_for_parent(zone_name: &str, zone: &ZoneModel) -> DsDue {
    let z = DsZone {
        name: zone_name,
        model: zone,
    };
    DsDue {
        submit: select(DsCommand::Submit, &[&z], None, None),
        retract: select(DsCommand::Retract, &[&z], None, None),
    }
}

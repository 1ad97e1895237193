//! `key list` and `rollover list`: read-only views of the zones' keys, in OpenDNSSEC
//! 2.1.12's formats (docs/state-machine.md, Key list states, docs/cli.md, Key commands).
//! Keys appear in creation order (OpenDNSSEC's database order).

use super::table::CommandSpec;
use super::{Ran, Shell};
use crate::getopt::Opt;
use kasp_engine::exit;
use kasp_events::{KeyRole, ZoneName};
use kasp_projector::State;
use kasp_projector::enforcer::keylist::{
    HsmColumns, KeyRow, ListFormat, ds_wait, format_time, render_key_list,
};
use kasp_projector::enforcer::model::KeyModel;
use kasp_projector::state::ZoneView;

/// Every (zone, key) of the state in key creation order, optionally one zone only.
pub fn keys_in_order<'a>(
    state: &'a State,
    zone: Option<&ZoneName>,
) -> Vec<(&'a ZoneView, &'a KeyModel)> {
    let mut v: Vec<(&ZoneView, &KeyModel)> = state
        .zones
        .values()
        .filter(|z| zone.is_none_or(|n| n.key() == z.config.name.key()))
        .flat_map(|z| z.model.keys.iter().map(move |k| (z, k)))
        .collect();
    v.sort_by_key(|(_, k)| k.id);
    v
}

/// The HSM columns of a key from the pool.
pub fn hsm_columns(state: &State, key: &KeyModel) -> HsmColumns {
    match key.hsm.and_then(|h| state.pool.by_id(h.0)) {
        Some(m) => HsmColumns {
            bits: m.spec.bits,
            locator: m.locator.to_string(),
            repository: m.spec.repository.clone(),
        },
        None => HsmColumns {
            bits: 0,
            locator: "(null)".to_string(),
            repository: "(null)".to_string(),
        },
    }
}

fn parse_role(text: &str) -> Option<KeyRole> {
    match text.to_ascii_uppercase().as_str() {
        "KSK" => Some(KeyRole::Ksk),
        "ZSK" => Some(KeyRole::Zsk),
        "CSK" => Some(KeyRole::Csk),
        _ => None,
    }
}

/// `key list [--verbose] [--debug] [--full] [--parsable] [--zone Z] [--keytype T]
/// [--keystate S | --all] [--at M]`.
pub fn list(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let opts = [
        Opt::flag("verbose", 'v'),
        Opt::flag("debug", 'd'),
        Opt::flag("full", 'f'),
        Opt::flag("parsable", 'p'),
        Opt::value("zone", 'z'),
        Opt::value("keytype", 't'),
        Opt::value("keystate", 'e'),
        Opt::flag("all", 'a'),
    ];
    let (at, args) = super::at::take(shell, args)?;
    let p = shell.opts(spec, &args, &opts)?;
    if p.has("keystate") && p.has("all") {
        shell.out("Error: --keystate and --all option cannot be given together\n");
        return Err(super::Exit(super::syntax_error(shell, spec)));
    }
    let (v, d, f, parsable) = (
        p.has("verbose"),
        p.has("debug"),
        p.has("full"),
        p.has("parsable"),
    );
    if parsable && !v && !d && !f {
        shell.err("-p option only available in combination with -v and -d.\n");
    }
    let format = ListFormat::from_options(v, d, f, parsable);
    let ctx = shell.ctx()?;
    let super::at::View { state, now } = super::at::view(shell, &ctx, at)?;
    // An unknown zone (or a name that is not one) lists nothing.
    let zone = p.value("zone").map(|z| ZoneName::new(z).ok());
    if matches!(zone, Some(None)) {
        shell.out(&render_key_list(format, &[]));
        return Ok(exit::OK);
    }
    let keytype = p.value("keytype").map(parse_role);
    let keystate = p.value("keystate").map(|s| s.to_ascii_lowercase());
    let rows: Vec<KeyRow> = keys_in_order(&state, zone.flatten().as_ref())
        .into_iter()
        .filter(|(_, k)| keytype.is_none_or(|t| t == Some(k.role)))
        .map(|(z, k)| {
            KeyRow::of(
                z.config.name.as_str(),
                k,
                hsm_columns(&state, k),
                z.next_change,
                now,
            )
        })
        .filter(|r| keystate.as_ref().is_none_or(|s| r.state.as_str() == s))
        .collect();
    shell.out(&render_key_list(format, &rows));
    Ok(exit::OK)
}

/// `rollover list [--zone Z] [--at M]`.
pub fn rollover_list(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let (at, args) = super::at::take(shell, args)?;
    let p = shell.opts(spec, &args, &[Opt::value("zone", 'z')])?;
    let ctx = shell.ctx()?;
    let state = super::at::view(shell, &ctx, at)?.state;
    let zone = match p.value("zone") {
        None => None,
        Some(z) => match ZoneName::new(z).ok().filter(|n| state.zone(n).is_some()) {
            Some(n) => Some(n),
            None => {
                shell.out(&format!("zone '{z}' not found\n"));
                return Ok(1);
            }
        },
    };
    let mut out = String::from("Keys:\n");
    out.push_str(&format!(
        "{:<31} {:<8} {:<30}\n",
        "Zone:", "Keytype:", "Rollover expected:"
    ));
    // 2.1.12 walks the zones in zone order and lists each zone's keys together
    // (rollover_list_cmd.c); `key list` uses the global key order.
    let zones: Vec<_> = state
        .zones_in_order()
        .into_iter()
        .filter(|z| zone.as_ref().is_none_or(|n| n.key() == z.config.name.key()))
        .collect();
    let rows = zones.into_iter().flat_map(|z| {
        let mut keys: Vec<_> = z.model.keys.iter().collect();
        keys.sort_by_key(|k| k.id);
        keys.into_iter().map(move |k| (z, k))
    });
    for (z, k) in rows {
        let expected = match ds_wait(k.ds_at_parent) {
            Some(text) => text.to_string(),
            None => match z.model.next_roll.get(k.role) {
                Some(t) if t.0 != 0 => format_time(t),
                _ => "No roll scheduled".to_string(),
            },
        };
        out.push_str(&format!(
            "{:<31} {:<8} {:<30}\n",
            z.config.name.as_str(),
            k.role.as_str(),
            expected
        ));
    }
    shell.out(&out);
    Ok(exit::OK)
}

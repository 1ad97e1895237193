//! The text report of a [`Simulation`]: the zone's keys at the start, the timeline
//! (one `<time> <tag> <what>` line per item, oldest first), the keys at the end and the
//! operator actions still open. Deterministic: the same simulation gives the same bytes.

use crate::state::State;
use crate::whatif::items::Item;
use crate::whatif::simulate::{DsAnswers, Simulation, next_task, waiting_for};
use kasp_events::{RecordType, ZoneName};
use std::fmt::Write as _;

/// Renders the report.
pub fn render_report(sim: &Simulation, ds: DsAnswers, until_text: &str) -> String {
    let mut out = String::new();
    let policy = sim
        .state
        .zone(&sim.zone)
        .map(|z| z.config.policy.to_string())
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "Simulation of zone {} (policy {policy}) from {} until {} ({until_text}); the log is not changed.",
        sim.zone, sim.start, sim.end
    );
    let _ = writeln!(
        out,
        "DS answers: {}",
        match ds {
            DsAnswers::Auto => "auto (the simulation gives the operator's DS commands at once)",
            DsAnswers::Manual => "manual (listed as operator actions; the keys keep waiting)",
        }
    );
    out.push('\n');
    out.push_str("Keys at the start:\n");
    keys(&mut out, &sim.initial, &sim.zone);
    out.push('\n');
    out.push_str("Timeline:\n");
    if sim.items.is_empty() {
        out.push_str("  nothing happens\n");
    }
    for (at, item) in &sim.items {
        let (tag, what) = line(item);
        let _ = writeln!(out, "{at} {tag:<8} {what}");
    }
    if let Some(why) = &sim.stopped {
        let _ = writeln!(out, "{} stopped  {why}", sim.end);
    }
    out.push('\n');
    out.push_str("Keys at the end:\n");
    keys(&mut out, &sim.state, &sim.zone);
    out.push('\n');
    out.push_str("Operator actions still needed:");
    let open = open_actions(sim);
    if open.is_empty() {
        out.push_str(" none\n");
    } else {
        out.push('\n');
        for a in open {
            let _ = writeln!(out, "  {a}");
        }
    }
    match next_task(&sim.state) {
        Some(t) if t > sim.end => {
            let _ = writeln!(out, "Next scheduled task after the horizon: {t}");
        }
        _ => {}
    }
    out
}

/// One timeline item as (tag, text).
pub fn line(item: &Item) -> (&'static str, String) {
    match item {
        Item::Change(c) => ("change", c.clone()),
        Item::Answered(c) => ("operator", format!("{c} (given by the simulation)")),
        Item::KeyIntroduced(k) => ("key", format!("{k} introduced")),
        Item::KeyRetired(k) => ("key", format!("{k} retired")),
        Item::KeyPurged(k) => ("key", format!("{k} purged")),
        Item::Record {
            key,
            record,
            from,
            to,
        } => (
            "record",
            format!(
                "{key} {} {} -> {}",
                record.as_str(),
                from.as_str(),
                to.as_str()
            ),
        ),
        Item::Ds { key, from, to, by } => (
            "ds",
            format!(
                "{key} ds-at-parent {} -> {} ({by})",
                from.as_str(),
                to.as_str()
            ),
        ),
        Item::DsHookFailed {
            key,
            message,
            retry_at,
        } => (
            "ds-hook",
            format!(
                "{key} {message} Retried from {retry_at} on, backing off to daily \
                 (further failures not listed)."
            ),
        ),
        Item::Signconf { changes, digest } => (
            "signconf",
            format!("{} [digest {digest}]", changes.join("; ")),
        ),
        Item::Action { key, command } => (
            "action",
            format!("{command} (needed for {key} from this time on)"),
        ),
    }
}

fn keys(out: &mut String, state: &State, zone: &ZoneName) {
    let Some(z) = state.zone(zone) else {
        out.push_str("  (zone gone)\n");
        return;
    };
    if z.model.keys.is_empty() {
        out.push_str("  none\n");
    }
    for k in &z.model.keys {
        let _ = write!(out, "  {} {} {}", k.id, k.role.as_str(), k.key_tag);
        for r in RecordType::ALL {
            let state = if k.states_created {
                k.state(r).as_str()
            } else {
                "-"
            };
            let _ = write!(out, " {} {state}", r.as_str());
        }
        let _ = write!(out, " ds-at-parent {}", k.ds_at_parent.as_str());
        if !k.introducing {
            out.push_str(" (retired)");
        }
        out.push('\n');
    }
}

/// The DS commands keys of the zone still wait for at the end, with their key.
fn open_actions(sim: &Simulation) -> Vec<String> {
    let Some(z) = sim.state.zone(&sim.zone) else {
        return Vec::new();
    };
    z.model
        .keys
        .iter()
        .filter_map(|k| {
            let c = waiting_for(k.ds_at_parent)?;
            let since = k.records.get(RecordType::Ds).last_change;
            Some(format!(
                "{} --zone {} --keytag {} (key {} {} waits since {since})",
                c.name(),
                sim.zone,
                k.key_tag,
                k.id,
                k.role.as_str()
            ))
        })
        .collect()
}

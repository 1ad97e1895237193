//! `key export` (DNSKEY or DS records of a zone's keys) and `key import` (add a key made
//! outside the enforcer to a zone), with OpenDNSSEC 2.1.12's texts and exit codes
//! (docs/cli.md, Key commands, `keystate/keystate_export_cmd.c`, `keystate_import_cmd.c`;
//! docs/state-machine.md, Key list states for the states an import gives).
//!
//! Export rebuilds each DNSKEY from the public key the pool recorded when the key was
//! made (OpenDNSSEC reads it from the HSM) and prints it as ldns does. Import checks the
//! key in its repository first and records `KeyImported` after that, then runs the zone.

mod import;
#[cfg(test)]
mod tests;

pub use import::import;

use super::keylist::keys_in_order;
use super::table::CommandSpec;
use super::{Ran, Shell};
use crate::getopt::Opt;
use kasp_engine::exit;
use kasp_events::{DsAtParent, KeyRole, RecordType, ZoneName};
use kasp_hsm::dnssec::{dnskey_rdata, dnskey_zonefile, ds};
use kasp_hsm::{Algorithm, FLAGS_KSK, FLAGS_ZSK};
use kasp_projector::enforcer::keylist::key_state;
use kasp_projector::enforcer::model::{HsmKeyId, KeyModel, has_ksk};
use kasp_projector::state::pool::HsmKeyView;

/// The TTL ldns gives a new record (`LDNS_DEFAULT_TTL`); the DNSKEY keeps it when its
/// key state has no TTL (`get_dnskey` overrides only a non-zero TTL).
const LDNS_DEFAULT_TTL: u32 = 3600;

/// The states `key export --keystate` accepts (`map_keystate`'s names but `dead`).
const EXPORT_STATES: [&str; 7] = [
    "generate", "publish", "ready", "active", "retire", "unknown", "mixed",
];

/// `KSK`, `ZSK` or `CSK` in any letter case.
fn parse_role(text: &str) -> Option<KeyRole> {
    [KeyRole::Ksk, KeyRole::Zsk, KeyRole::Csk]
        .into_iter()
        .find(|r| r.as_str().eq_ignore_ascii_case(text))
}

/// The owner name of a zone's records, fully qualified.
fn owner(zone: &str) -> String {
    format!("{}.", zone.trim_end_matches('.'))
}

/// The DNSKEY flags of a role: zone key, plus SEP for KSK and CSK.
fn flags(role: KeyRole) -> u16 {
    if has_ksk(role) { FLAGS_KSK } else { FLAGS_ZSK }
}

/// One key's `key export` text as `print_ds_from_id` prints it, or `None` when the
/// DNSKEY cannot be built (`Error in print_ds_from_id`).
fn export_text(
    zone: &str,
    key: &KeyModel,
    material: &HsmKeyView,
    state: &str,
    digest: Option<u8>,
) -> Option<String> {
    let algorithm = Algorithm::from_number(key.algorithm).ok()?;
    let rdata = dnskey_rdata(flags(key.role), algorithm, &material.public_key);
    let owner = owner(zone);
    let Some(digest_type) = digest else {
        let ttl = match key.records.get(RecordType::Dnskey).ttl.0 {
            0 => LDNS_DEFAULT_TTL,
            ttl => ttl,
        };
        let line = dnskey_zonefile(&owner, ttl, &rdata).ok()?;
        return Some(format!("{}\n", ldns_fields(&line)));
    };
    let record = ds(&owner, &rdata, digest_type).ok()?;
    let hex: String = record.digest.iter().map(|b| format!("{b:02x}")).collect();
    Some(format!(
        ";{state} {} DS record ({}):\n{owner}\t{}\tIN\tDS\t{} {} {} {hex}\n",
        key.role.as_str(),
        if digest_type == 1 { "SHA1" } else { "SHA256" },
        key.records.get(RecordType::Ds).ttl.0,
        record.key_tag,
        record.algorithm,
        record.digest_type,
    ))
}

/// A zone-file line `owner ttl class type rdata…` with ldns' separators: TABs between
/// the first five fields, single spaces inside the RDATA.
fn ldns_fields(line: &str) -> String {
    let mut parts = line.split_whitespace();
    let head: Vec<&str> = parts.by_ref().take(4).collect();
    let rdata: Vec<&str> = parts.collect();
    format!("{}\t{}", head.join("\t"), rdata.join(" "))
}

/// `key export (--zone Z | --all) [--keystate S --keytype T] [--cka_id C] [--ds [--sha1]]`.
pub fn export(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let opts = [
        Opt::value("zone", 'z'),
        Opt::value("keytype", 't'),
        Opt::value("keystate", 'e'),
        Opt::value("cka_id", 'k'),
        Opt::flag("all", 'a'),
        Opt::flag("ds", 'd'),
        Opt::flag("sha1", 's'),
    ];
    let p = shell.opts(spec, args, &opts)?;
    let keytype = match p.value("keytype") {
        None => None,
        Some(t) => match parse_role(t) {
            Some(r) => Some(r),
            None => {
                return Err(
                    shell.usage_error(spec, "unknown keytype, should be one of KSK, ZSK, or CSK")
                );
            }
        },
    };
    let keystate = p.value("keystate");
    if keystate.is_some_and(|s| !EXPORT_STATES.iter().any(|k| k.eq_ignore_ascii_case(s))) {
        return Err(shell.usage_error(spec, "unknown keystate"));
    }
    let (zone, all) = (p.value("zone"), p.has("all"));
    if zone.is_some() == all {
        return Err(shell.usage_error(spec, "expected either --zone or --all "));
    }
    let ctx = shell.ctx()?;
    let state = shell.state(&ctx)?;
    let zone_name = match zone {
        None => None,
        Some(z) => match ZoneName::new(z).ok().filter(|n| state.zone(n).is_some()) {
            Some(n) => Some(n),
            None => return Err(shell.usage_error(spec, &format!("Unknown zone: {z}"))),
        },
    };
    if keytype.is_some() != keystate.is_some() {
        return Err(shell.usage_error(
            spec,
            "expected both --keystate and --keytype together or none of them",
        ));
    }
    let material = match p.value("cka_id") {
        None => None,
        Some(id) => match state
            .pool
            .keys
            .values()
            .find(|k| k.locator.to_string() == id)
        {
            Some(k) => Some(HsmKeyId(k.id)),
            None => {
                return Err(shell.usage_error(spec, &format!("CKA_ID {id} can not be found!")));
            }
        },
    };
    let digest = p.has("ds").then_some(if p.has("sha1") { 1 } else { 2 });
    for (z, k) in keys_in_order(&state, zone_name.as_ref()) {
        if material.is_some_and(|m| k.hsm != Some(m)) || keytype.is_some_and(|t| t != k.role) {
            continue;
        }
        let records = k.states_created.then(|| k.records.states());
        let human = key_state(k.role, records, k.introducing, k.ds_at_parent).as_str();
        if keystate.is_some_and(|s| !s.eq_ignore_ascii_case(human)) {
            continue;
        }
        let waiting = matches!(
            k.ds_at_parent,
            DsAtParent::Submit
                | DsAtParent::Submitted
                | DsAtParent::Retract
                | DsAtParent::Retracted
        );
        if keytype.is_none() && keystate.is_none() && material.is_none() && !waiting {
            continue;
        }
        let Some(hsm) = k.hsm else {
            shell.err("Error in print_ds_from_id \n");
            continue;
        };
        let Some(m) = state.pool.by_id(hsm.0) else {
            shell.err("Error fetching from database \n");
            continue;
        };
        match export_text(z.config.name.as_str(), k, m, human, digest) {
            Some(text) => shell.out(&text),
            None => shell.err("Error in print_ds_from_id \n"),
        }
    }
    Ok(exit::OK)
}
